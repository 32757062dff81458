"""CPU of a durable command's transaction in this process: a page turn and a new note.

    PYTHONPATH=. .venv/bin/python bench/durable.py [--url URL] [--turns 1000] [--rounds 5]

What `CommandContext.durable` runs for `presentation.show` and `annotation.create`, less
the socket: `Database.transact` with the change and its `events.append`. CPU is
`time.process_time()` of this process (the client side of the database: SQLAlchemy,
asyncpg or sqlite3, the event loop), divided by the number of transactions; PostgreSQL's
own work is another process and not counted. URL is a server database to create scratch
databases under (default: postgresql+asyncpg://postgres@127.0.0.1:5432/test) or
`sqlite`. Every round gets a fresh database. To compare two versions of the code, run
this script from each tree in turn (PYTHONPATH picks the tree), several rounds each.
The baseline, in the same round: the page turn's five statements (compiled from the
server's own) with BEGIN and COMMIT through the bare driver on a connection of its own,
no SQLAlchemy and no rules: the least such a transaction costs. With `--gap`, each
transaction (ours and the baseline's) is followed by a sleep, as in a server between
two page turns, and the CPU of the sleeps alone is taken off. The last line is
`RESULT key=value ...`, with `turn_vs_bare` the ratio of the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import Session

import server
from server.db.engine import Database
from server.db.models import (
    AnnotationKind,
    Document,
    DocumentFile,
    IntakeState,
    Meeting,
    Role,
    User,
    Visibility,
    utcnow,
)
from server.db.prepared import _compile, _Parameter
from server.services import annotation, events, presentation

PAGES = 20


@asynccontextmanager
async def scratch(url: str, folder: Path | None = None) -> AsyncIterator[str]:
    """A new empty database (dropped afterwards), or a SQLite file (in `folder`)."""
    if url == "sqlite":
        with tempfile.TemporaryDirectory(dir=folder) as directory:
            yield f"sqlite+aiosqlite:///{directory}/bench.db"
        return
    base = make_url(url)
    admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"phonghop_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def setup(db: Database) -> tuple[int, int, int]:
    async with db.write() as session:
        user = User(username="chu-toa", full_name="Chủ tọa Lê Văn An")
        meeting = Meeting(title="Kỳ họp thứ nhất")
        file = DocumentFile(sha256="b" * 64, size=1, page_count=PAGES, pages=[],
                            state=IntakeState.READY)
        session.add_all([user, meeting, file])
        await session.flush()
        document = Document(meeting_id=meeting.id, sha256=file.sha256, title="Tờ trình",
                            original_filename="to-trinh.pdf")
        session.add(document)
        await session.flush()
        return meeting.id, user.id, document.id


async def measure(db: Database, turns: int, meeting_id: int, user_id: int,
                  document_id: int, prefix: str, notes: bool = True, gap: float = 0.0
                  ) -> tuple[float, float]:
    """CPU ms per page turn and per `annotation.create`, `turns` of each (or no notes),
    each transaction followed by `gap` seconds of sleep (whose own CPU is counted)."""

    def turn(i: int) -> Any:
        def work(session: Session) -> Any:
            state = presentation.show(session, meeting_id, user_id=user_id, role=Role.CHAIR,
                                      is_admin=False, document_id=document_id,
                                      page=i % PAGES + 1, zoom=1.0,
                                      viewport=[0.0, 0.0, 1.0, 0.5])
            return events.append(session, meeting_id, "presentation.changed", state,
                                 command_key=f"{user_id}:{prefix}t{i}", result={})
        return work

    def create(i: int) -> Any:
        def work(session: Session) -> Any:
            row = annotation.create(
                session, meeting_id, user_id, annotation_id=f"{prefix}n{i}",
                document_id=document_id, page=i % PAGES + 1, kind=AnnotationKind.INK,
                visibility=Visibility.SHARED,
                data={"points": [[10.5, 20.25], [11.0, 21.5], [12.5, 22.75]],
                      "color": "#d00", "width": 2}, guest=False)
            return events.append(session, meeting_id, "annotation.created",
                                 annotation.as_dict(row), command_key=f"{user_id}:{prefix}a{i}",
                                 result={"id": row.id})
        return work

    started = time.process_time()
    for i in range(turns):
        await db.transact(turn(i))
        await asyncio.sleep(gap)
    turned = time.process_time()
    for i in range(turns if notes else 0):
        await db.transact(create(i))
        await asyncio.sleep(gap)
    created = time.process_time()
    return (turned - started) * 1000 / turns, (created - turned) * 1000 / turns


# ---- the baseline: the same SQL through the bare driver ---------------------------------

def _bare_statements(dialect: Dialect) -> list[tuple[str, list[_Parameter], bool]]:
    """A page turn's five statements, compiled from the server's own `Prepared` ones,
    each with whether it returns the event's sequence number."""
    state = ("meeting_id", "presenter_id", "document_id", "page", "zoom", "viewport",
             "agenda_item_id", "updated_at")
    event = ("meeting_id", "seq", "name", "data", "visibility", "author_id", "command_key",
             "result", "created_at")
    plan: list[tuple[Any, tuple[str, ...]]] = [
        (presentation._STATE, ("meeting_id",)),
        (presentation._DOCUMENT, ("document_id", "meeting_id")),
        (presentation._UPSERT, state),
        (events._NEXT_SEQ, ("meeting_id",)),
        (events._INSERT, event),
    ]
    compiled = [(_compile(p._for(dialect), dialect, frozenset(names)), p is events._NEXT_SEQ)
                for p, names in plan]
    return [(c.sql, list(c.parameters), numbers) for c, numbers in compiled]


def _values(parameters: list[_Parameter], given: dict[str, Any]) -> list[Any]:
    # The values as SQLAlchemy's type processors hand them to the driver (JSON as text,
    # the enum as its name), so the driver does exactly the work it does for the server.
    out = []
    for parameter in parameters:
        if parameter.key is not None:
            value = given[parameter.key]
        else:
            value = parameter.default() if parameter.default is not None else parameter.fixed
        out.append(value if parameter.process is None else parameter.process(value))
    return out


async def bare_turns(url: str, turns: int, meeting_id: int, user_id: int, document_id: int,
                     prefix: str, gap: float = 0.0) -> float:
    """CPU ms per page turn made of the same five statements, BEGIN and COMMIT through
    the bare driver (asyncpg or sqlite3), with no SQLAlchemy and no rules: the least a
    durable page turn can cost on this connection."""
    is_sqlite = url.startswith("sqlite")
    dialect: Dialect = sqlite.dialect() if is_sqlite else postgresql.asyncpg.dialect()
    statements = _bare_statements(dialect)

    def given(i: int, seq: int | None) -> dict[str, Any]:
        return {"meeting_id": meeting_id, "document_id": document_id,
                "presenter_id": user_id, "page": i % PAGES + 1, "zoom": 1.0,
                "viewport": [0.0, 0.0, 1.0, 0.5], "agenda_item_id": None,
                "updated_at": utcnow(), "seq": seq, "name": "presentation.changed",
                "data": {"page": i % PAGES + 1}, "visibility": Visibility.SHARED,
                "author_id": None, "command_key": f"{user_id}:{prefix}bare{i}", "result": {},
                "created_at": utcnow()}

    if is_sqlite:
        driver = sqlite3.connect(make_url(url).database or "", isolation_level=None)
        driver.execute("PRAGMA journal_mode=WAL")
        driver.execute("PRAGMA synchronous=NORMAL")
        driver.execute("PRAGMA foreign_keys=ON")
        started = time.process_time()
        for i in range(turns):
            driver.execute("BEGIN IMMEDIATE")
            seq = None
            for sql, parameters, numbers in statements:
                rows = driver.execute(sql, _values(parameters, given(i, seq))).fetchall()
                seq = rows[0][0] if numbers else seq
            driver.execute("COMMIT")
            await asyncio.sleep(gap)
        spent = time.process_time() - started
        driver.close()
        return spent * 1000 / turns
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        started = time.process_time()
        for i in range(turns):
            async with connection.transaction():
                seq = None
                for sql, parameters, numbers in statements:
                    rows = await connection.fetch(sql, *_values(parameters, given(i, seq)))
                    seq = rows[0][0] if numbers else seq
            await asyncio.sleep(gap)
        spent = time.process_time() - started
    finally:
        await connection.close()
    return spent * 1000 / turns


async def sleeping(times: int, gap: float) -> float:
    """CPU ms of one sleep of `gap` seconds alone, to take off the paced figures."""
    if not gap:
        return 0.0
    started = time.process_time()
    for _ in range(times):
        await asyncio.sleep(gap)
    return (time.process_time() - started) * 1000 / times


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--gap", type=float, default=0.0, help=(
        "ms of sleep after each transaction, as a server idles between page turns: the "
        "process wakes on cold caches, and a transaction then costs several times more"))
    args = parser.parse_args()
    gap = args.gap / 1000
    turn_ms: list[float] = []
    create_ms: list[float] = []
    bare_ms: list[float] = []
    for _ in range(args.rounds):
        async with scratch(args.url) as url:
            db = Database(url)
            try:
                await db.migrate()
                ids = await setup(db)
                await measure(db, 50, *ids, prefix="warm-")  # caches, prepared statements
                turn, new_note = await measure(db, args.turns, *ids, prefix="", gap=gap)
            finally:
                await db.dispose()
            await bare_turns(url, 50, *ids, prefix="warm-")  # its statement cache too
            bare = await bare_turns(url, args.turns, *ids, prefix="", gap=gap)
            asleep = await sleeping(args.turns, gap)
            turn, new_note, bare = turn - asleep, new_note - asleep, bare - asleep
        turn_ms.append(turn)
        create_ms.append(new_note)
        bare_ms.append(bare)
        print(f"turn {turn:.3f} ms  annotation.create {new_note:.3f} ms  "
              f"bare-driver turn {bare:.3f} ms", flush=True)
    print(f"RESULT code={server.__file__} gap_ms={args.gap:g} turn_ms={statistics.median(turn_ms):.3f} "
          f"bare_turn_ms={statistics.median(bare_ms):.3f} "
          f"turn_vs_bare={statistics.median(turn_ms) / statistics.median(bare_ms):.2f} "
          f"turn_min={min(turn_ms):.3f} turn_max={max(turn_ms):.3f} "
          f"create_ms={statistics.median(create_ms):.3f} create_min={min(create_ms):.3f} "
          f"create_max={max(create_ms):.3f}")


if __name__ == "__main__":
    asyncio.run(main())
