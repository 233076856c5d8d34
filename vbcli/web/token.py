"""The access token: VB_TOKEN, else a file `serve-token` (0600) in the data directory."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from vbcli.config import data_dir
from vbcli.errors import DatabaseUnavailable, UsageError

TOKEN_FILE = "serve-token"
MIN_LENGTH = 16


def token_path() -> Path:
    return data_dir() / TOKEN_FILE


def load_or_create() -> tuple[str, bool]:
    """(token, created): VB_TOKEN if set, else the stored token, generated on first start."""
    given = os.environ.get("VB_TOKEN")
    if given is not None:
        return _checked(given.strip(), "VB_TOKEN"), False
    path = token_path()
    try:
        return _checked(path.read_text(encoding="utf-8").strip(), str(path)), False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise DatabaseUnavailable(f"Cannot read the token file {path}: {exc.strerror}.") from None
    return _create(path), True


def _checked(token: str, source: str) -> str:
    if len(token) < MIN_LENGTH or not token.isascii() or not token.isprintable() or " " in token:
        raise UsageError(f"The token from {source} must be at least {MIN_LENGTH} printable ASCII characters without spaces.")
    return token


def _create(path: Path) -> str:
    token = secrets.token_urlsafe(32)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:  # another server started at the same moment: use its token
        return _checked(path.read_text(encoding="utf-8").strip(), str(path))
    except OSError as exc:
        raise DatabaseUnavailable(f"Cannot create the token file {path}: {exc.strerror}.") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token
