"""Driver errors that mean "the database is unavailable", turned into the user's sentence."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from vbcli.config import Location, mask_password
from vbcli.errors import DatabaseUnavailable
from vbcli.store.settings import busy_timeout_seconds, connect_timeout_seconds

PG_RETRYABLE = ("40001", "40P01")  # serialization failure, deadlock


def translate_db_error(exc: BaseException, location: Location) -> DatabaseUnavailable | None:
    """Turn a driver error that means "database unavailable" into the user's sentence."""
    full = str(getattr(exc, "orig", None) or exc).strip()
    message = _scrub(full.splitlines()[0] if full else "", location)
    lowered = message.lower()
    where = location.display
    if location.engine == "postgresql":
        return _translate_pg(exc, lowered, message, location)
    if "database is locked" in lowered or "database is busy" in lowered:
        return DatabaseUnavailable(f"The ledger {where} stayed locked by another program for {busy_timeout_seconds():g}s; try again later.")
    if "readonly" in lowered or "read-only" in lowered:
        return DatabaseUnavailable(f"The ledger {where} is read-only; nothing was written.")
    if "disk" in lowered and ("full" in lowered or "i/o" in lowered):
        return DatabaseUnavailable(f"The disk holding {where} is full or failing; nothing was written.")
    if "unable to open" in lowered:
        return DatabaseUnavailable(f"Cannot open the ledger {where}; check the path and its permissions.")
    if "malformed" in lowered or "not a database" in lowered:
        return DatabaseUnavailable(f"The ledger {where} is corrupt ({message}).")
    return None


def _translate_pg(exc: BaseException, lowered: str, message: str, location: Location) -> DatabaseUnavailable | None:
    state = pg_sqlstate(exc)
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return None  # integrity and programming errors are bugs (exit 1), not an unavailable database
    url = make_url(location.url)
    server = f"{url.host or 'localhost'}:{url.port or 5432}"
    if state in PG_RETRYABLE:
        return DatabaseUnavailable(f"The ledger {location.display} stayed busy with conflicting writers after several attempts; try again.")
    if state == "55P03" or "lock timeout" in lowered:
        return DatabaseUnavailable(f"The ledger {location.display} stayed locked by another program for {busy_timeout_seconds():g}s; try again later.")
    if state == "25006" or "read-only transaction" in lowered:
        return DatabaseUnavailable(f"The PostgreSQL ledger at {server} is read-only; nothing was written.")
    if state == "53100" or "no space left" in lowered:
        return DatabaseUnavailable(f"The PostgreSQL server at {server} is out of disk space; nothing was written.")
    if "role" in lowered and "does not exist" in lowered or "authentication failed" in lowered or "no password" in lowered:
        return DatabaseUnavailable(f"The PostgreSQL server at {server} refused the login of user {url.username or '(default)'!r}; check the user and password in the URL.")
    if "database" in lowered and "does not exist" in lowered:
        return DatabaseUnavailable(f"The database {url.database!r} does not exist on the PostgreSQL server at {server}; create it first (createdb).")
    if "timeout expired" in lowered or "timed out" in lowered:
        return DatabaseUnavailable(f"The PostgreSQL server at {server} did not answer within {connect_timeout_seconds()}s (VB_CONNECT_TIMEOUT); check the host and the network.")
    if "connection refused" in lowered or "resolve host" in lowered or "could not connect" in lowered or "connection failed" in lowered:
        return DatabaseUnavailable(f"Cannot reach the PostgreSQL server at {server} ({_reason(message)}); check that it runs and the URL.")
    return DatabaseUnavailable(f"Cannot use the PostgreSQL ledger {location.display}: {message}.")


def _reason(message: str) -> str:
    return message.rsplit("failed:", 1)[-1].strip().rstrip(".") or message


def _scrub(message: str, location: Location) -> str:
    """Remove the URL's password from a driver message, whatever the driver chose to quote."""
    message = mask_password(message)
    if location.secret:
        message = message.replace(location.secret, "***")
    return message


def pg_sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None)
