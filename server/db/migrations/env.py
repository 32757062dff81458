"""Alembic environment: migrations run on a connection the server hands in.

`Database.migrate()` opens an async connection and runs Alembic inside `run_sync`, so
the same code path serves `phonghop migrate`, the demo's start-up and the tests.
"""

from __future__ import annotations

from alembic import context

from server.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `phonghop migrate`, which supplies a connection")
run_migrations(connection)
