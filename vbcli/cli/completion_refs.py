"""Tab completion of position references, fast and harmless.

Runs on every <TAB>: it reads the SQLite ledger with the standard library only, read-only,
never creates it, never imports SQLAlchemy and never raises. A PostgreSQL ledger gets no
candidates (no network round trip on a key press).
"""

from __future__ import annotations

import sqlite3

_QUERY = (
    "SELECT p.id, p.symbol, f.name FROM positions p JOIN portfolios f ON f.id = p.portfolio_id "
    "WHERE p.status = 'open' ORDER BY p.symbol, f.name, p.id"
)


def _open_positions(db: str | None) -> list[tuple[str, str, str]]:
    from vbcli.config import resolve_location

    location = resolve_location(db)
    path = location.path
    if location.engine != "sqlite" or path is None or not path.is_file():
        return []
    conn = sqlite3.connect(path.absolute().as_uri() + "?mode=ro", uri=True, timeout=1.0)
    try:
        return [(str(a), str(b), str(c)) for a, b, c in conn.execute(_QUERY)]
    finally:
        conn.close()


def candidates_from(rows: list[tuple[str, str, str]], incomplete: str) -> list[str]:
    """Symbols, PORTFOLIO/SYMBOL and ids (ids once the text looks like one) matching the prefix."""
    every = [symbol for _, symbol, _ in rows]
    symbols = [symbol for symbol in every if every.count(symbol) == 1]  # an ambiguous symbol only as PORTFOLIO/SYMBOL
    qualified = [f"{portfolio}/{symbol}" for _, symbol, portfolio in rows]
    ids = [pid for pid, _, _ in rows] if incomplete and ("pos_".startswith(incomplete) or incomplete.startswith("pos_")) else []
    found: list[str] = []
    for candidate in (*symbols, *qualified, *ids):
        matches = candidate.startswith(incomplete) or candidate.upper().startswith(incomplete.upper())
        if matches and candidate not in found:
            found.append(candidate)
    return found


def position_candidates(incomplete: str, db: str | None = None) -> list[str]:
    """Completion candidates for a position reference (`db`: the --db value); [] on any problem."""
    try:
        return candidates_from(_open_positions(db), incomplete or "")
    except Exception:  # noqa: BLE001 - completion must never break the shell
        return []


_ID_QUERIES = {
    "order": "SELECT id FROM orders WHERE status IN ('open', 'partially_filled') ORDER BY id DESC LIMIT 200",
    "trade": "SELECT id FROM trades WHERE status = 'executed' ORDER BY executed_at DESC, id DESC LIMIT 50",
    "dividend": "SELECT id FROM dividends WHERE status = 'announced' ORDER BY ex_date, id LIMIT 200",
}


def id_candidates(kind: str, incomplete: str, db: str | None = None) -> list[str]:
    """Live ids for a Tab: open orders (fill, cancel), recent trades (void), announced dividends (pay)."""
    try:
        from vbcli.config import resolve_location

        location = resolve_location(db)
        path = location.path
        if location.engine != "sqlite" or path is None or not path.is_file():
            return []
        conn = sqlite3.connect(path.absolute().as_uri() + "?mode=ro", uri=True, timeout=1.0)
        try:
            ids = [str(row[0]) for row in conn.execute(_ID_QUERIES[kind])]
        finally:
            conn.close()
        return [ident for ident in ids if ident.startswith(incomplete or "")]
    except Exception:  # noqa: BLE001 - completion must never break the shell
        return []
