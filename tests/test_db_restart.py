"""PostgreSQL drops the connections (a restart): durable transactions start again on a
new connection when their BEGIN finds the old one dead, HTTP requests are pinged first,
and a transaction that loses its connection part way fails once, committing nothing.
A transaction cancelled mid-statement throws its connection away, as SQLAlchemy does."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.util import await_

from server.db.engine import Database
from server.db.models import Meeting
from server.db.prepared import Prepared
from server.services import events
from tests.helpers import new_meeting


@pytest.fixture
async def pg(db: Database) -> Database:
    if db.is_sqlite:
        pytest.skip("PostgreSQL's connections")
    return db


def _admin_dsn(db: Database) -> str:
    return make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _drop_connections(db: Database) -> int:
    """What a restart does to the pool: every server connection of the database ends."""
    admin = await asyncpg.connect(_admin_dsn(db))
    try:
        return len(await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()", make_url(db.url).database))
    finally:
        await admin.close()


def _backend(session: Session) -> int:
    return int(session.execute(select(func.pg_backend_pid())).scalar_one())


async def test_a_durable_transaction_after_a_restart_runs_once_on_a_new_connection(
        pg: Database) -> None:
    meeting_id = await new_meeting(pg, "Kỳ họp bất thường")
    before = await pg.transact(_backend)
    assert await _drop_connections(pg) >= 1
    ran: list[int] = []

    def change(session: Session) -> int:
        ran.append(_backend(session))
        return events.next_seq(session, meeting_id)

    assert await pg.transact(change) == 1  # no error: BEGIN found it dead, then again
    assert len(ran) == 1 and ran[0] != before  # the change ran once, on a new connection
    async with pg.read() as session:
        assert (await session.execute(select(Meeting.last_seq))).scalar_one() == 1


async def test_a_request_after_a_restart_is_pinged_first(pg: Database) -> None:
    await new_meeting(pg, "Kỳ họp bất thường")
    await _drop_connections(pg)
    async with pg.read() as session:  # as with pool_pre_ping: no error
        assert (await session.execute(text("SELECT 1"))).scalar_one() == 1


async def test_only_requests_are_pinged(pg: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    meeting_id = await new_meeting(pg, "Kỳ họp bất thường")
    pings: list[Any] = []
    dialect = pg.write_engine.dialect
    real_ping = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda conn: pings.append(conn) or real_ping(conn))

    await pg.transact(lambda session: events.next_seq(session, meeting_id))
    assert pings == []  # the transaction's BEGIN is its check
    async with pg.read() as session:
        await session.execute(text("SELECT 1"))
    assert len(pings) == 1

    # As pre-ping, a connection just opened is not pinged, however it is first used.
    await pg.write_engine.dispose()
    async with pg.read() as session:
        await session.execute(text("SELECT 1"))
    assert len(pings) == 1
    async with pg.read() as session:  # the same connection, not fresh any more
        await session.execute(text("SELECT 1"))
    assert len(pings) == 2


async def test_a_connection_lost_part_way_fails_the_transaction_once(pg: Database) -> None:
    meeting_id = await new_meeting(pg, "Kỳ họp bất thường")
    admin = await asyncpg.connect(_admin_dsn(pg))
    ran: list[int] = []

    def change(session: Session) -> None:
        ran.append(events.next_seq(session, meeting_id))  # sent, on the asyncpg road
        await_(admin.execute("SELECT pg_terminate_backend($1)", _backend(session)))
        events.append(session, meeting_id, "presentation.changed", {"page": 2})

    try:
        with pytest.raises(DBAPIError) as failed:
            await pg.transact(change)
    finally:
        await admin.close()
    assert failed.value.connection_invalidated and ran == [1]  # not started again
    async with pg.read() as session:
        assert (await session.execute(select(Meeting.last_seq))).scalar_one() == 0
    # The client sends it again: a new connection, and it applies.
    assert await pg.transact(lambda session: events.next_seq(session, meeting_id)) == 1


SLEEP = Prepared(select(func.pg_sleep(bindparam("seconds"))))


async def test_a_transaction_cancelled_mid_statement_leaves_no_broken_connection(
        pg: Database) -> None:
    """A cancelled task (a socket gone mid-command) ends its statement on the asyncpg road
    as SQLAlchemy ends its own: the connection, in an unknown state, is thrown away."""
    meeting_id = await new_meeting(pg, "Kỳ họp bất thường")
    started = asyncio.Event()

    cancelled_on: list[int] = []

    def slow(session: Session) -> None:
        events.next_seq(session, meeting_id)
        cancelled_on.append(_backend(session))
        started.set()
        SLEEP.rows(session, {"seconds": 5})

    task = asyncio.create_task(pg.transact(slow))
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.sleep(0.2)  # inside pg_sleep
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for seq in (1, 2, 3):  # whichever pooled connection comes next is fit, and the
        # cancelled transaction's number was not committed
        assert await pg.transact(lambda session: events.next_seq(session, meeting_id)) == seq
        async with pg.read() as session:
            await session.execute(text("SELECT 1"))
        assert await pg.transact(_backend) not in cancelled_on  # that one was thrown away
