"""Running Alembic migrations programmatically on an open connection."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection

from vbcli import faults
from vbcli.store.tables import APP_MARKER, SCHEMA_REVISION

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def current_revision(connection: Connection) -> str | None:
    """The ledger's schema revision, or None where there is no vb schema yet."""
    if connection.dialect.name == "postgresql":
        exists = connection.execute(text("SELECT to_regclass('alembic_version')")).scalar()
    else:
        exists = connection.execute(
            text("SELECT name FROM sqlite_master WHERE type='table' AND name='alembic_version'")
        ).scalar()
    if not exists:
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade_to_head(connection: Connection) -> None:
    """Apply every missing migration inside the caller's transaction, then mark the ledger."""
    from alembic import command

    command.upgrade(alembic_config(connection), SCHEMA_REVISION)
    faults.point("mid_migration")
    marker = connection.execute(text("SELECT value FROM vb_meta WHERE key = 'app'")).scalar()
    if marker is None:
        connection.execute(text("INSERT INTO vb_meta (key, value) VALUES ('app', :marker)"), {"marker": APP_MARKER})
    head = connection.execute(text("SELECT id FROM ledger_head WHERE id = 1")).scalar()
    if head is None:
        connection.execute(text("INSERT INTO ledger_head (id, event_count, last_hash) VALUES (1, 0, '')"))
        _create_default_portfolio(connection)


def _create_default_portfolio(connection: Connection) -> None:
    """A portfolio named `default` exists from the start (SPEC §2)."""
    from vbcli.domain.ids import new_id
    from vbcli.store.tables import Portfolio

    now = datetime.now(timezone.utc)
    connection.execute(
        Portfolio.__table__.insert().values(  # type: ignore[attr-defined]
            id=new_id("portfolio"), name="default", currency="USD", description="", created_at=now, updated_at=now
        )
    )
