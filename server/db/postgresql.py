"""PostgreSQL's engine: a durable transaction's BEGIN is its connection's liveness check.

`pool_pre_ping` checks every connection the pool hands out before use; on asyncpg that
is BEGIN, an empty statement and ROLLBACK, three round trips, for a page turn that then
makes seven of its own (BEGIN, five statements, COMMIT). The pool here pings from a
checkout listener instead, exactly as often, except for `Database.transact`: there the
transaction's own BEGIN comes first, before any of the change is sent (`begin_asyncpg`
in `server/db/prepared.py`), so a connection found dead by it loses nothing and the
transaction simply starts again on a new one.

What a user sees after PostgreSQL restarts (or drops the connections): nothing on a
durable command that starts afterwards (its BEGIN fails, the connection and every older
one in the pool are replaced, the command runs once), and nothing on an HTTP request
(pinged as before; as before, one in flight at that moment fails). A command whose
connection is lost part way, after its BEGIN, fails once: SQLAlchemy invalidates the
connection, the client is told "internal" (the change did not commit, unless the loss
came during COMMIT itself), and its outbox sends the same command again with the same
id, which applies it once (`CommandContext.durable`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import Session

from server.db.prepared import begin_asyncpg, end_asyncpg

T = TypeVar("T")

# True while `Database.transact` checks a connection out: its BEGIN is the ping.
_BEGIN_PINGS: ContextVar[bool] = ContextVar("phonghop_begin_pings", default=False)
_FRESH = "phonghop.fresh"  # `record.info` key: opened, not yet checked out


class DeadOnBegin(Exception):
    """The connection was found dead by the transaction's BEGIN: nothing was sent."""


def engine(url: str) -> AsyncEngine:
    """An engine whose pool pings each connection it hands out, but to `transaction`."""
    created = create_async_engine(url)
    dialect = created.dialect

    @event.listens_for(created.sync_engine, "connect")
    def _fresh(_dbapi_connection: Any, record: Any) -> None:
        # As pre-ping, a connection just opened is not pinged. (`record.info` lives as
        # long as the driver's connection: a new one starts without the mark.)
        record.info[_FRESH] = True

    @event.listens_for(created.sync_engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        fresh = record.info.pop(_FRESH, False)  # taken off by whoever checks it out first
        if fresh or _BEGIN_PINGS.get():
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            if (isinstance(error, dialect.loaded_dbapi.Error)
                    and dialect.is_disconnect(error, dbapi_connection, None)):
                # The pool replaces this connection and every older one, and retries.
                raise InvalidatePoolError(str(error)) from error
            raise

    return created


class BeginPings:
    """While entered, connections checked out in this task are not pinged."""

    def __enter__(self) -> None:
        self._token = _BEGIN_PINGS.set(True)

    def __exit__(self, *exc_info: object) -> None:
        _BEGIN_PINGS.reset(self._token)


def transaction(session: Session, work: Callable[[Session], T], last_try: bool) -> T:
    """`work` in the session's transaction, begun at once so that `Prepared` statements
    run straight on asyncpg inside it (in the session's greenlet)."""
    try:
        begin_asyncpg(session)
    except DBAPIError as error:
        if error.connection_invalidated and not last_try:
            raise DeadOnBegin from error
        raise
    try:
        return work(session)
    finally:
        end_asyncpg(session)
