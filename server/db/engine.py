"""Engines and sessions: one `Database` per process, reads and writes kept apart.

On SQLite every write transaction starts with `BEGIN IMMEDIATE`: with WAL and a plain
deferred `BEGIN`, two transactions that read and then write both hold a read snapshot,
and the second to write fails at once with "database is locked" whatever the busy
timeout. Taking the write lock up front makes writers queue on the busy timeout
instead. Reads stay deferred so they never wait for a writer. PostgreSQL needs none of
this; there one engine serves both (`server/db/postgresql.py`: how it checks that a
connection is alive).

The live commands' durable changes go through `transact`, which on SQLite makes the
whole transaction at once with the standard library's `sqlite3`: on the event loop when
the write lock is free, on one writer thread when it is not (`server/db/writer.py`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.util import await_

from server.db import postgresql
from server.db.writer import SQLiteWriter

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
T = TypeVar("T")


def _sqlite_settings(dbapi_connection: Any) -> None:
    """What every connection to the SQLite file sets first, async or not."""
    # Hand transaction control to SQLAlchemy: pysqlite's own implicit BEGIN would
    # otherwise run first and make our BEGIN fail.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    # The pool's reset is ours (`_on_reset`): by default it rolls back on every return.
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                                 pool_reset_on_return=None)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        _sqlite_settings(dbapi_connection)

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Straight to aiosqlite: one hop to its thread, where `exec_driver_sql` took three
        # (open a cursor, execute, close it) and an execution context. A cursor that ran
        # BEGIN holds nothing, so it is left to the garbage collector unclosed.
        await_(conn.connection.driver_connection.execute(begin))

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, record: Any, state: Any) -> None:
        # Every session ends its transaction itself (commit, or rollback on error), so the
        # pool's default ROLLBACK on return was almost always empty, yet cost a hop to
        # aiosqlite's thread per command. Roll back only what is still open; like the
        # default, do nothing where no await is possible (a connection garbage-collected).
        if not state.asyncio_safe:
            return
        try:
            still_open = record.driver_connection.in_transaction
        except ValueError:  # aiosqlite: the connection is closed already
            return
        if still_open:
            dbapi_connection.rollback()

    return engine


class Database:
    """The process's engines and session factories."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            database = make_url(url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.write_engine = _sqlite_engine(url, immediate=True)
            self.read_engine = _sqlite_engine(url, immediate=False)
            self._writer: SQLiteWriter | None = SQLiteWriter(url, _sqlite_settings)
        else:
            self.write_engine = postgresql.engine(url)
            self.read_engine = self.write_engine
            self._writer = None
        self._write = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._read = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on error."""
        async with self._write() as session, session.begin():
            yield session

    async def transact(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one write transaction: commit if it returns, roll back if it raises.

        `work` is synchronous and gets a synchronous session: on SQLite it runs whole,
        without waiting for a lock on the loop (`server/db/writer.py`); on PostgreSQL in
        the event loop's greenlet, its `Prepared` statements straight on asyncpg
        (`server/db/prepared.py`).
        """
        if self._writer is not None:
            return await self._writer.run(work)
        with postgresql.BeginPings():  # the BEGIN checks the connection: no ping first
            try:
                async with self.write() as session:
                    return await session.run_sync(postgresql.transaction, work, False)
            except postgresql.DeadOnBegin:
                # Nothing was sent on the dead connection, and the pool has replaced it
                # (and every older one): once more, on a new connection.
                async with self.write() as session:
                    return await session.run_sync(postgresql.transaction, work, True)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading; nothing it does is committed."""
        async with self._read() as session:
            yield session

    async def migrate(self) -> None:
        """Bring the schema to the newest migration."""
        async with self.write_engine.connect() as conn:
            await conn.run_sync(_upgrade_to_head)
            await conn.commit()

    async def dispose(self) -> None:
        if self._writer is not None:
            await self._writer.close()
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()


def alembic_config(connection: Any = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade_to_head(connection: Any) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


def migrate_sync(url: str) -> None:
    """Run migrations from synchronous code (the `phonghop migrate` command)."""

    async def run() -> None:
        db = Database(url)
        try:
            await db.migrate()
        finally:
            await db.dispose()

    asyncio.run(run())
