"""Where the ledger lives and which settings apply (SPEC §1). Light: no SQLAlchemy here."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from vbcli.errors import UsageError

DB_FILENAME = "vb.sqlite"


@dataclass(frozen=True)
class Location:
    """A resolved ledger location: the SQLAlchemy URL and where the choice came from."""

    url: str  # with the driver, e.g. sqlite:///… or postgresql+psycopg://…
    source: str  # "flag", "env SQL_URL", "default" or "memory"
    path: Path | None  # the SQLite file, if any

    @property
    def engine(self) -> str:
        return "postgresql" if self.url.startswith("postgresql") else "sqlite"

    @property
    def display(self) -> str:
        """The location for people: a path, or the URL with any password masked."""
        if self.path is not None:
            return str(self.path)
        return mask_password(self.url.replace("postgresql+psycopg://", "postgresql://"))


def data_dir() -> Path:
    """The user's data directory; VB_DATA_DIR overrides it (also the test seam)."""
    override = os.environ.get("VB_DATA_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir("vb"))


def env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise UsageError(f"{name} must be true or false, not {raw!r}.")


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    raw = os.environ.get(name, "").strip().lower() or default
    if raw not in choices:
        raise UsageError(f"{name} must be one of {', '.join(choices)}, not {raw!r}.")
    return raw


def resolve_location(db_option: str | None) -> Location:
    """Pick the ledger: `--db`, else env SQL_URL, else the default file; memory if asked."""
    if env_choice("APP_PERSISTENCE", ("sql", "memory"), "sql") == "memory":
        return Location(url="sqlite://", source="memory", path=None)
    if db_option:
        return _location_from(db_option, "flag")
    env_url = os.environ.get("SQL_URL", "").strip()
    if env_url:
        return _location_from(env_url, "env SQL_URL")
    path = data_dir() / DB_FILENAME
    return Location(url=f"sqlite:///{path}", source="default", path=path)


def _location_from(value: str, source: str) -> Location:
    if value.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        url = re.sub(r"^(postgresql|postgres)(\+psycopg)?://", "postgresql+psycopg://", value)
        return Location(url=url, source=source, path=None)
    if value.startswith("sqlite://"):
        raw_path = value[len("sqlite:///"):] if value.startswith("sqlite:///") else ""
        if not raw_path:
            raise UsageError("A sqlite URL needs a file path, such as sqlite:///ledger.sqlite.")
        path = Path(raw_path).expanduser().absolute()
        return Location(url=f"sqlite:///{path}", source=source, path=path)
    if "://" in value:
        scheme = value.split("://", 1)[0]
        raise UsageError(f"Unsupported database URL scheme {scheme!r}; use a file path, sqlite:/// or postgresql://.")
    path = Path(value).expanduser().absolute()
    return Location(url=f"sqlite:///{path}", source=source, path=path)


def mask_password(url: str) -> str:
    """Replace the password in a URL with ***."""
    # The user may be empty and the password may hold "@": mask up to the last "@" of the authority.
    return re.sub(r"(://[^:/@]*:)[^/]*@", r"\1***@", url)
