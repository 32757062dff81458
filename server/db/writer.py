"""SQLite's writer: a whole write transaction at once, on the event loop when it can be.

Through aiosqlite every statement crosses to its thread three or four times (open a
cursor, execute, fetch, close), each crossing a thread wake-up and a hand-over of the
GIL on the way there and back; a page turn made 24 of them, most of its CPU. Here a
durable change's statements run synchronously with the standard library's `sqlite3`.

A page turn's transaction takes a few hundred microseconds of CPU and, with WAL and
`synchronous=NORMAL`, no disk wait: its COMMIT appends to the WAL without an fsync. Even
handing it whole to a thread cost about 0.2 ms more per change than running it where it
is (a wake-up each way, a future and the loop's self-pipe), so it runs on the event loop
(`_Line` "here") whenever that cannot wait:
- the write lock is asked for without waiting (busy timeout 0). When another writer holds
  it (the HTTP API, through aiosqlite, or another process), the change goes to the writer
  thread instead ("there"), whose connection waits on the busy timeout; while anything is
  queued there, later changes queue behind it, so none overtakes another;
- that connection never checkpoints the WAL itself (a checkpoint fsyncs); after every
  CHECKPOINT_EVERY changes made here, the thread runs a passive checkpoint, and changes
  queue behind it there until it is done.
The lock is still taken up front (`BEGIN IMMEDIATE`, see `server/db/engine.py`) because
other writers share the database.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from server.db.prepared import SQLITE_CONNECTION

log = logging.getLogger(__name__)

T = TypeVar("T")
CHECKPOINT_EVERY = 200  # changes made on the loop between two checkpoints (~1000 WAL pages)


class _Busy(Exception):
    """The write lock is held elsewhere, and this connection does not wait for it."""


class _Line:
    """One synchronous connection to the file, with one session that joins its transactions.

    A connection belongs to the thread that opened it (sqlite3 checks), so it is opened
    on first use, by the thread that will always use it.
    """

    def __init__(self, url: str, on_connect: Callable[[Any], None], *, waits: bool) -> None:
        self.waits = waits
        self.engine: Engine = create_engine(make_url(url).set(drivername="sqlite"),
                                            poolclass=StaticPool)

        def connected(dbapi_connection: Any, _record: Any) -> None:
            on_connect(dbapi_connection)
            if not waits:
                dbapi_connection.execute("PRAGMA busy_timeout=0")
                dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")

        event.listen(self.engine, "connect", connected)
        self._connection: Connection | None = None
        self._session: Session | None = None

    def _open(self) -> tuple[Connection, Session]:
        if self._connection is None or self._session is None:
            self._connection = self.engine.connect()
            # One session for every transaction: it joins each and is closed (emptied)
            # after it; building a new one per change cost more than its statements.
            self._session = Session(self._connection, expire_on_commit=False,
                                    join_transaction_mode="rollback_only")
            # `Prepared` statements run straight on the driver (`server/db/prepared.py`).
            self._session.info[SQLITE_CONNECTION] = self._connection.connection.driver_connection
        return self._connection, self._session

    def transaction(self, work: Callable[[Session], T]) -> T:
        """Run `work` in a transaction: commit if it returns, roll back if it raises."""
        connection, session = self._open()
        driver = session.info[SQLITE_CONNECTION]
        # BEGIN IMMEDIATE goes straight to the driver, not through a "begin" listener: a
        # listener on the engine makes every statement dispatch execution events.
        with connection.begin():
            try:
                driver.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if not self.waits and error.sqlite_errorcode == sqlite3.SQLITE_BUSY:
                    raise _Busy from error
                raise
            try:
                result = work(session)
                session.flush()  # what the ORM still holds, before the connection commits
            finally:
                session.close()
        return result

    def checkpoint(self) -> None:
        """Copy what the WAL holds into the database file, without waiting for anyone."""
        try:
            # Straight on the driver: through the SQLAlchemy connection the statement
            # would begin a transaction there that the next change's `begin` refuses.
            self._open()[1].info[SQLITE_CONNECTION].execute(
                "PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except Exception:
            log.exception("checkpointing the SQLite WAL failed")

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
        if self._connection is not None:
            self._connection.close()
        self.engine.dispose()


class SQLiteWriter:
    """`run` applies a change in one transaction: here on the loop, or on the writer thread."""

    def __init__(self, url: str, on_connect: Callable[[Any], None]) -> None:
        self._here = _Line(url, on_connect, waits=False)
        self._there = _Line(url, on_connect, waits=True)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._queued = 0  # changes handed to the thread and not finished yet
        self._since_checkpoint = 0
        self._checkpoint: asyncio.Future[None] | None = None
        self.handed_over = 0  # how many changes found the lock taken (for tests and logs)

    async def run(self, work: Callable[[Session], T]) -> T:
        """Run `work` in a transaction: commit if it returns, roll back if it raises."""
        if not self._queued:
            try:
                result = self._here.transaction(work)
            except _Busy:
                self.handed_over += 1
            else:
                self._committed_here()
                return result
        self._queued += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._thread, self._there.transaction, work)
        finally:
            self._queued -= 1

    def _committed_here(self) -> None:
        self._since_checkpoint += 1
        if self._since_checkpoint < CHECKPOINT_EVERY:
            return
        self._since_checkpoint = 0
        # Changes queue behind the checkpoint on the thread while it runs. The WAL is
        # reused from its start only by a change that begins once every frame in it is
        # copied; changes made here meanwhile would append to it, and under a steady
        # stream of them it would never be reused and would grow without end.
        self._queued += 1
        self._checkpoint = asyncio.get_running_loop().run_in_executor(
            self._thread, self._there.checkpoint)
        self._checkpoint.add_done_callback(self._checkpointed)

    def _checkpointed(self, _done: asyncio.Future[None]) -> None:
        self._queued -= 1

    async def close(self) -> None:
        self._here.close()  # the loop's thread opened it, and closes it
        # The thread's connection may only be closed by the thread.
        await asyncio.get_running_loop().run_in_executor(self._thread, self._there.close)
        self._thread.shutdown()
