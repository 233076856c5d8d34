"""What every command shares: option aliases, input parsing, error handling, the ledger.

Nothing here imports SQLAlchemy; the ledger is opened inside the command that needs it.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from vbcli import render as out
from vbcli.domain import numbers
from vbcli.domain.timeparse import parse_time
from vbcli.domain.words import did_you_mean
from vbcli.errors import ExitCode, UsageError, VbError

if TYPE_CHECKING:
    from sqlmodel import Session

    from vbcli.store.ledger import Ledger

F = TypeVar("F", bound=Callable[..., Any])
DISK_ERRNOS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO)


class State:
    """Root options, set by the root callback for the command that follows."""

    db: str | None = None


# ---- option aliases ---------------------------------------------------------------------

def choices(*values: str) -> Callable[[str], list[str]]:
    """A Tab completer for an option with a fixed set of values."""
    return lambda incomplete: [value for value in values if value.startswith(incomplete or "")]


def complete_ids(kind: str) -> Callable[[typer.Context, str], list[str]]:
    """A Tab completer of live ids of `kind` (order, trade, dividend), stdlib sqlite3 only."""
    def complete(ctx: typer.Context, incomplete: str) -> list[str]:
        from vbcli.cli.completion_refs import id_candidates

        return id_candidates(kind, incomplete, db=ctx.find_root().params.get("db") if ctx is not None else None)
    return complete


FormatOpt = Annotated[
    str | None,
    typer.Option("--format", "-f", autocompletion=choices("table", "plain", "csv", "json", "ndjson"), help="table, plain, csv, json or ndjson (default: table on a terminal, else plain; env VB_FORMAT)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Same as --format json.")]
KeyOpt = Annotated[str | None, typer.Option("--key", help="Idempotency key: a retry with the same key and request does nothing new.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show what would be written, write nothing.")]
PortfolioOpt = Annotated[str | None, typer.Option("--portfolio", "-p", help="Portfolio name (new positions: default; listings: every portfolio).")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="From this date or time, inclusive (2026-01-01, RFC 3339, now, today).")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Up to this date or time, inclusive.")]
LimitOpt = Annotated[int | None, typer.Option("--limit", "-n", min=1, max=1_000_000_000, help="At most this many rows.")]
LotOpt = Annotated[list[str] | None, typer.Option("--lot", help="A sell's lot: TRADE[:QTY] (the buy's trade id, or `opening`); repeatable. "
                                                         "Lots not named are closed by the portfolio's cost basis.", show_default=False)]


def complete_position(ctx: typer.Context, incomplete: str) -> list[str]:
    from vbcli.cli.completion_refs import position_candidates

    # The root callback does not run while completing, so take --db from the parsed root context.
    db = ctx.find_root().params.get("db") if ctx is not None else None
    return position_candidates(incomplete, db=db)


PosArg = Annotated[str, typer.Argument(help="Position: id, symbol or PORTFOLIO/SYMBOL.", autocompletion=complete_position, show_default=False)]
OptionalPosArg = Annotated[str | None, typer.Argument(help="Position: id, symbol or PORTFOLIO/SYMBOL.", autocompletion=complete_position, show_default=False)]


# ---- parsing ------------------------------------------------------------------------------

def output_format(format: str | None, as_json: bool) -> str:
    """--format / --json / VB_FORMAT → a format of render.FORMATS (exit 2 for anything else)."""
    chosen = choice(format, out.FORMATS, "--format") if format is not None else None
    if as_json and chosen not in (None, "json"):
        raise UsageError(f"--json and --format {chosen} ask for different formats; give one of them.")
    if as_json:
        return "json"
    if chosen is not None:
        return chosen
    env = os.environ.get("VB_FORMAT", "").strip()
    if env:
        return choice(env, out.FORMATS, "VB_FORMAT")
    return out.default_format()


def choice(value: str, valid: Iterable[str], what: str) -> str:
    """`value` as one of `valid` (case-insensitive), else exit 2 naming the nearest."""
    options = tuple(valid)
    chosen = value.strip().lower()
    if chosen not in options:
        listed = " or ".join(options) if len(options) == 2 else f"one of {', '.join(options)}"
        raise UsageError(f"{what} must be {listed}, not {value[:20]!r}{did_you_mean(value, options)}.")
    return chosen


def decimal_opt(value: str | None, what: str, *, positive: bool = False) -> Decimal | None:
    if value is None:
        return None
    if positive:
        return numbers.parse_positive(value, what=what)
    return numbers.parse_decimal(value, what=what)


def time_opt(value: str | None, what: str, *, end_of_day: bool = False) -> datetime | None:
    return None if value is None else parse_time(value, what=what, end_of_day=end_of_day)


def lots_opt(values: list[str] | None) -> list[tuple[str, Decimal | None]] | None:
    """--lot TRADE[:QTY] values as (reference, quantity or None); exit 2 when malformed."""
    from vbcli.domain.picks import parse_pick

    return [parse_pick(value) for value in values] if values else None


def window_opt(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """--since and --until (both inclusive); since after until is exit 2, not an empty list."""
    start, end = time_opt(since, "--since"), time_opt(until, "--until", end_of_day=True)
    if start is not None and end is not None and start > end:
        raise UsageError(f"--since {since} is after --until {until}; nothing could match (swap them?).")
    return start, end


def side_arg(value: str) -> str:
    return choice(value, ("buy", "sell"), "Side")


_NEGATIVE = re.compile(r"-[0-9][0-9.,]*")
_SIGN_ADVICE = {
    "positions deposit": "amounts are positive; use `vb positions withdraw POS AMOUNT` to take cash out",
    "positions withdraw": "amounts are positive; use `vb positions deposit POS AMOUNT` to put cash in",
    "orders place": "quantities are positive; the side (buy or sell) says which way",
    "trades add": "quantities are positive; the side (buy or sell) says which way",
}


def negative_argument(error: Exception, argv: list[str]) -> str | None:
    """What to do instead, when Click took a negative number typed as an argument for an option."""
    name = getattr(error, "option_name", None)
    if not name or not _NEGATIVE.fullmatch(name + "0" if name == "-" else name[:2]):
        return None
    token = next((arg for arg in argv if arg.startswith(name) and _NEGATIVE.fullmatch(arg)), None)
    if token is None:
        return None
    ctx = getattr(error, "ctx", None)
    path = ctx.command_path if ctx is not None else "vb"
    advice = _SIGN_ADVICE.get(" ".join(path.split()[-2:]), "numbers typed as arguments are positive")
    return f"{token}: {advice} (see `{path} --help`)."


def key_opt(value: str | None) -> str | None:
    """An idempotency key: 1 to 200 printable characters."""
    if value is None:
        return None
    if not 1 <= len(value) <= 200 or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value):
        raise UsageError("--key must be 1 to 200 printable characters.")
    return value


# ---- running --------------------------------------------------------------------------------

def handle_errors(func: F) -> F:
    """Turn vb errors into one sentence on stderr and the documented exit code (SPEC §6)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = func(*args, **kwargs)
            sys.stdout.flush()  # a full disk behind stdout shows here, not as an exit-time traceback
            return result
        except typer.Exit:
            raise
        except VbError as error:
            if os.environ.get("VB_DEBUG") == "1":
                traceback.print_exc()
            fail(error.message, error.exit_code, error.details)
        except KeyboardInterrupt:
            fail(interrupted_message(), ExitCode.INTERRUPTED)
        except BrokenPipeError:
            _silence_broken_pipe()
            raise typer.Exit(ExitCode.OK) from None
        except OSError as error:
            if error.errno not in DISK_ERRNOS:
                _internal_error(error)
            _silence_broken_pipe()  # drop what is still buffered, or Python reports it again at exit
            fail(f"Cannot write the output: {error.strerror}; it is incomplete.", ExitCode.DATABASE_UNAVAILABLE)
        except Exception as error:  # a bug: one line and a hint
            _internal_error(error)

    return wrapper  # type: ignore[return-value]


def _internal_error(error: BaseException) -> None:
    if os.environ.get("VB_DEBUG") == "1":
        traceback.print_exception(error)
    fail(f"Internal error ({type(error).__name__}); set VB_DEBUG=1 to see the traceback.", ExitCode.INTERNAL)


def interrupted_message(what: str = "Interrupted") -> str:
    """What an interrupt left behind: nothing, or (if it came after a commit) the whole change."""
    engine = sys.modules.get("vbcli.store.transaction")  # never imported just to answer this
    if engine is not None and getattr(engine, "committed_writes", 0):
        return f"{what} after the change was saved; run the same command with the same --key to see its result."
    return f"{what}; nothing was written."


def fail(message: str, code: int, details: Iterable[str] = ()) -> None:
    out.error(message, details)
    raise typer.Exit(code)


def _silence_broken_pipe() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def open_ledger(create: bool | None = None, upgrade: bool | None = None, access: str = "write") -> Ledger:
    from vbcli.config import resolve_location
    from vbcli.store.ledger import open_ledger as _open

    return _open(resolve_location(State.db), create=create, upgrade=upgrade, warn=out.warning, access=access)


def read(work: Callable[[Session], Any]) -> Any:
    """Run `work` in one read transaction of the ledger."""
    ledger = open_ledger(access="read")
    try:
        with ledger.read() as session:
            return work(session)
    finally:
        ledger.close()


def read_labelled(fmt: str, noun: str | None, work: Callable[[Session], Any]) -> tuple[Any, dict[str, Any] | None]:
    """`work` in one read; for a terminal table also what it needs to label rows (services.shared.labels)."""
    if fmt != "table":
        return read(work), None
    from vbcli.services.shared.labels import labels

    return read(lambda session: (work(session), labels(session, noun)))


def labels_for(fmt: str, noun: str | None = None) -> dict[str, Any] | None:
    """Only the labels (after a write), for a terminal table."""
    if fmt != "table":
        return None
    from vbcli.services.shared.labels import labels

    return read(lambda session: labels(session, noun))


def write(command: str, request: dict[str, Any], key: str | None, dry_run: bool, work: Callable[[Session], Any]) -> Any:
    """Run `work` in one write transaction with idempotency and dry-run; returns its result."""
    from vbcli.services.shared.runner import perform

    ledger = open_ledger()
    try:
        outcome = perform(ledger, command=command, request=request, key=key, dry_run=dry_run, work=work)
    finally:
        ledger.close()
    from vbcli import faults

    faults.point("after_commit")
    if outcome.dry_run:
        out.note("dry run: nothing was written.")
    elif outcome.replayed:
        out.note(f"key {key!r} was already used for this request; nothing new was written.")
    return outcome.result


def show(data: Any, format: str, **kwargs: Any) -> None:
    out.render(data, format, **kwargs)
