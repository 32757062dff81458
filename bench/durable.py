"""A durable page turn in-process: its CPU, and how late it makes the event loop.

    .venv/bin/python bench/durable.py [--backend sqlite|postgresql] [--turns 3000]
                                      [--disk-load]

Each turn is what `presentation.show` does inside `CommandContext.durable`: the
presentation state, the document check, the upsert, the sequence number and the event
row, in one `Database.transact`. First the turns run back to back, for their CPU; then
again, 2 ms apart, beside a ticker task that sleeps 1 ms at a time and records how late
it wakes: what every other socket of the process would wait. The baseline, in the same
run, is the ticker alone with no turns. `--disk-load` writes and syncs a large file
beside the database meanwhile (at most three passes of 1.5 GB): the write-back that
could stall a commit. Ends with one `RESULT key=value ...` line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.db.engine import Database  # noqa: E402
from server.db.models import Document, DocumentFile, IntakeState, Meeting, Role, User  # noqa: E402
from server.services import events, presentation  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
TICK = 0.001
GAP = 0.002  # between turns, so the ticker runs between them as other sockets would


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


@contextlib.asynccontextmanager
async def database(backend: str, folder: Path) -> AsyncIterator[Database]:
    if backend == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{folder / 'phonghop.db'}")
        name = None
    else:
        name = f"phonghop_durable_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        db = Database(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
    try:
        await db.migrate()
        yield db
    finally:
        await db.dispose()
        if name is not None:
            admin = await asyncpg.connect(PG_ADMIN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


async def ticking(seconds: float | None, until: asyncio.Event | None = None) -> list[float]:
    """How late each 1 ms sleep wakes, for `seconds` or until `until` is set."""
    lateness: list[float] = []
    end = time.perf_counter() + seconds if seconds is not None else None
    while (end is None or time.perf_counter() < end) and not (until and until.is_set()):
        started = time.perf_counter()
        await asyncio.sleep(TICK)
        lateness.append(time.perf_counter() - started - TICK)
    return lateness


async def run(backend: str, turns: int, disk_load: bool) -> None:
    # Under data/ (git ignores it): on the disk a deployment would use, not a tmpfs.
    (ROOT / "data").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="durable-", dir=ROOT / "data") as work:
        folder = Path(work)
        async with database(backend, folder) as db:
            async with db.write() as session:
                chair = User(username="chu-toa", full_name="Chủ tọa")
                meeting = Meeting(title="Kỳ họp thứ mười hai")
                file = DocumentFile(sha256="b" * 64, size=1, page_count=20, pages=[],
                                    state=IntakeState.READY)
                session.add_all([chair, meeting, file])
                await session.flush()
                document = Document(meeting_id=meeting.id, sha256=file.sha256,
                                    title="Báo cáo", original_filename="bao-cao.pdf")
                session.add(document)
                await session.flush()
                ids = chair.id, meeting.id, document.id

            def turn(k: int) -> object:
                user_id, meeting_id, document_id = ids

                def change(session: Session) -> object:
                    state = presentation.show(
                        session, meeting_id, user_id=user_id, role=Role.CHAIR,
                        is_admin=False, document_id=document_id, page=k % 20 + 1, zoom=1.0,
                        viewport=None)
                    return events.append(session, meeting_id, "presentation.changed", state,
                                         command_key=f"{user_id}:t{k}",
                                         result={"presentation": state})
                return change

            for k in range(200):  # warm caches and compiled statements
                await db.transact(turn(k))
            cpu = time.process_time()
            for k in range(200, 200 + turns):  # back to back: the CPU of a turn alone
                await db.transact(turn(k))
            cpu = time.process_time() - cpu

            load = None
            if disk_load:
                load = subprocess.Popen(
                    ["sh", "-c", f"for i in 1 2 3; do dd if=/dev/zero of={folder}/load "
                     "bs=1M count=1500 conv=fdatasync 2>/dev/null; done"])
            try:
                idle = await ticking(3.0)
                done = asyncio.Event()
                ticker = asyncio.create_task(ticking(None, done))
                walls = []
                for k in range(200 + turns, 200 + 2 * turns):
                    started = time.perf_counter()
                    await db.transact(turn(k))
                    walls.append(time.perf_counter() - started)
                    await asyncio.sleep(GAP)
                done.set()
                busy = await ticker
            finally:
                if load is not None:
                    load.kill()
                    load.wait()

    def ms(values: list[float], q: float) -> float:
        return percentile(values, q) * 1e3

    print(f"{backend}: {turns} page turns{' under disk load' if disk_load else ''}")
    print(f"  process CPU per turn {cpu / turns * 1e3:.3f} ms (back to back, no ticker)")
    print(f"  turn wall time p50 {ms(walls, 0.5):.3f} ms, p99 {ms(walls, 0.99):.3f} ms, "
          f"max {max(walls) * 1e3:.1f} ms")
    print(f"  loop lateness, ticker alone: p99 {ms(idle, 0.99):.2f} ms, max "
          f"{max(idle) * 1e3:.1f} ms; with turns: p99 {ms(busy, 0.99):.2f} ms, max "
          f"{max(busy) * 1e3:.1f} ms")
    print(f"RESULT backend={backend} disk_load={int(disk_load)} "
          f"cpu_ms_per_turn={cpu / turns * 1e3:.3f} wall_p99_ms={ms(walls, 0.99):.3f} "
          f"late_p99_ratio={ms(busy, 0.99) / max(ms(idle, 0.99), 1e-3):.2f} "
          f"late_max_ms_idle={max(idle) * 1e3:.1f} late_max_ms_turns={max(busy) * 1e3:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--turns", type=int, default=3000)
    parser.add_argument("--disk-load", action="store_true")
    args = parser.parse_args()
    asyncio.run(run(args.backend, args.turns, args.disk_load))


if __name__ == "__main__":
    main()
