"""Where the ledger lives and which settings apply (SPEC §1). Light: no SQLAlchemy here."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from vbcli.errors import UsageError

DB_FILENAME = "vb.sqlite"
TYPED_PASSWORD_WARNING = ("a password typed in --db is visible to every local user in the process list; put the URL in "
                          "the SQL_URL environment variable, or the password in a PGPASSFILE (~/.pgpass), instead.")


@dataclass(frozen=True)
class Location:
    """A resolved ledger location: the SQLAlchemy URL and where the choice came from."""

    url: str  # with the driver, e.g. sqlite:///… or postgresql+psycopg://…, percent-encoded
    source: str  # "flag", "env SQL_URL", "default" or "memory"
    path: Path | None  # the SQLite file, if any (handed to the driver as a path, never as a URL)
    masked: str = ""  # a PostgreSQL URL with its password replaced by ***
    secret: str | None = None  # the password, so driver messages can be scrubbed of it

    @property
    def engine(self) -> str:
        return "postgresql" if self.url.startswith("postgresql") else "sqlite"

    @property
    def display(self) -> str:
        """The location for people: a path, or the URL with any password masked."""
        if self.path is not None:
            return str(self.path)
        return self.masked or self.url

    @property
    def typed_password(self) -> bool:
        """A password given on the command line, where every local user can read it."""
        return self.source == "flag" and self.secret is not None


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
    return sqlite_location(data_dir() / DB_FILENAME, "default")


def _location_from(value: str, source: str) -> Location:
    if re.match(r"^(postgresql|postgres)(\+psycopg)?://", value):
        return _postgres_location(value, source)
    if value.startswith("sqlite://"):
        # The rest of a sqlite:/// URL is the file path, literally: "?" and "%" are file name characters.
        raw_path = value[len("sqlite:///"):] if value.startswith("sqlite:///") else ""
        if not raw_path:
            raise UsageError("A sqlite URL needs a file path, such as sqlite:///ledger.sqlite.")
        return sqlite_location(Path(raw_path), source)
    if "://" in value:
        scheme = value.split("://", 1)[0]
        raise UsageError(f"Unsupported database URL scheme {mask_password(scheme)[:40]!r}; use a file path, sqlite:/// or postgresql://.")
    return sqlite_location(Path(value), source)


def sqlite_location(path: Path, source: str) -> Location:
    path = path.expanduser().absolute()
    return Location(url="sqlite:///" + quote(str(path)), source=source, path=path)


def _postgres_location(value: str, source: str) -> Location:
    """Parse a PostgreSQL URL once, by hand: a password may hold "/", "@", ":" or "?" unencoded.

    The user information runs to the last "@" (host names and database names have none), so
    whatever the password holds it is never mistaken for the host, and never printed.
    """
    rest = value.split("://", 1)[1]
    user = password = None
    if "@" in rest:
        userinfo, rest = rest.rsplit("@", 1)
        user, colon, raw_password = userinfo.partition(":")
        password = unquote(raw_password) if colon else None
        user = unquote(user)
    hostport, slash, tail = rest.partition("/")
    database, question, query = tail.partition("?")
    if not slash and "?" in hostport:
        hostport, question, query = hostport.partition("?")
    query_password = next((unquote(v) for k, v in (p.partition("=")[::2] for p in query.split("&")) if k == "password"), None)
    auth = ""
    if user is not None:
        auth = quote(user, safe="") + (":" + quote(password, safe="") if password is not None else "") + "@"
    url = f"postgresql+psycopg://{auth}{hostport}/{database}" + (f"?{query}" if question else "")
    shown_auth = "" if user is None else user + (":***" if password is not None else "") + "@"
    shown_query = re.sub(r"(^|&)password=[^&]*", r"\1password=***", query)
    masked = f"postgresql://{shown_auth}{hostport}/{database}" + (f"?{shown_query}" if question else "")
    return Location(url=url, source=source, path=None, masked=masked, secret=password or query_password)


def mask_password(text: str) -> str:
    """Replace passwords in any text that may hold a URL or a conninfo string with ***."""
    # The password may hold "@" or "/": mask from the user's ":" to the last "@" of the word.
    text = re.sub(r"(://[^:/@\s]*:)\S*@", r"\1***@", text)
    return re.sub(r"(?i)(password\s*=\s*)('[^']*'|[^&\s]+)", r"\1***", text)
