"""Alembic environment: vb always hands over an open connection inside its own transaction."""

from alembic import context

from vbcli.store.tables import SQLModel  # noqa: F401  (registers every table on the metadata)
import vbcli.store.tables  # noqa: F401

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
