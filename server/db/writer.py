"""SQLite's writer: a whole write transaction in one hop to one thread.

Through aiosqlite every statement crosses to its thread three or four times (open a
cursor, execute, fetch, close), each crossing a thread wake-up and a hand-over of the
GIL on the way there and back; a page turn made 24 of them, most of its CPU. Here the
transaction's statements run synchronously, with the standard library's `sqlite3`, on
one thread that owns one connection: the event loop hands it the whole transaction and
waits once. One thread also means durable changes queue in order instead of taking
turns at SQLite's lock on the busy timeout. The lock is still taken up front
(`BEGIN IMMEDIATE`, see `server/db/engine.py`) because other writers (the HTTP API,
through aiosqlite) share the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from server.db.prepared import SQLITE_CONNECTION

T = TypeVar("T")


class SQLiteWriter:
    """One connection on one thread; `run` applies a change there in one transaction."""

    def __init__(self, url: str, on_connect: Callable[[Any], None]) -> None:
        # The same file through the synchronous driver. StaticPool keeps the one
        # connection, opened on first use by the thread that will always use it.
        self.engine = create_engine(make_url(url).set(drivername="sqlite"),
                                    poolclass=StaticPool)
        event.listen(self.engine, "connect", lambda dbapi_connection, _record:
                     on_connect(dbapi_connection))
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._connection: Connection | None = None  # the writer thread's, once opened

    async def run(self, work: Callable[[Session], T]) -> T:
        """Run `work` in a transaction on the writer's thread: commit, or roll back on error."""
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, self._transaction, work)

    def _transaction(self, work: Callable[[Session], T]) -> T:
        if self._connection is None:
            self._connection = self.engine.connect()
        connection = self._connection
        driver = connection.connection.driver_connection
        assert driver is not None
        # The transaction is the connection's, and the session joins it: a session that
        # checked a connection out of the pool and began and committed its own cost
        # about 55 µs of CPU per command, more than the hop to this thread; joined, it
        # costs nothing until a change uses the ORM. BEGIN IMMEDIATE is sent straight to
        # the driver, not from a "begin" listener: a listener on the engine makes every
        # statement dispatch execution events.
        with connection.begin():
            driver.execute("BEGIN IMMEDIATE")
            with Session(connection, expire_on_commit=False,
                         join_transaction_mode="rollback_only") as session:
                # `Prepared` statements run straight on the driver (`server/db/prepared.py`).
                session.info[SQLITE_CONNECTION] = driver
                result = work(session)
                session.flush()  # what the ORM still holds, before the connection commits
            return result

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self.engine.dispose()

    async def close(self) -> None:
        # The connection may only be closed by the thread that opened it.
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown()
