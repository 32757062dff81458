"""Migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from server.db.engine import Database
from server.db.models import Base


def _diff(connection: Any) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_match_the_models_and_run_twice(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.migrate()
        await db.migrate()  # a second run is a no-op, not an error
        async with db.write_engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            assert {"users", "meetings", "participants", "agenda_items", "documents",
                    "document_files", "page_texts", "audit_log", "credentials",
                    "alembic_version"} <= tables
            assert await conn.run_sync(_diff) == []
    finally:
        await db.dispose()
