"""How late durable page turns make the event loop, with and without disk write-back.

    PYTHONPATH=. .venv/bin/python bench/loop_stall.py [--url sqlite|URL] [--turns 3000]
                                                      [--disk-load]

SQLite's writer commits on the event loop when the write lock is free
(`server/db/writer.py`), so a commit that blocks in the kernel would hold up every
socket of the process. A ticker task sleeps 1 ms at a time and records how late it
wakes; the page turns (`bench/durable.py`'s) run 2 ms apart beside it. The baseline, in
the same run, is the ticker alone. `--disk-load` writes and syncs large files in the
working directory meanwhile (at most three passes of 1.5 GB): the write-back that can
stall a `pwrite`. Run it from the repository, so that the database is on the disk a
deployment would use (`data/`, which git ignores), not a tmpfs. The last line is
`RESULT key=value ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import time
from pathlib import Path

from durable import measure, scratch, setup

from server.db.engine import Database

TICK = 0.001
GAP = 0.002  # between turns, so that the ticker runs between them as other sockets would
LOAD = ("for i in 1 2 3; do dd if=/dev/zero of={file} bs=1M count=1500 conv=fdatasync "
        "2>/dev/null; done")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def ticking(until: asyncio.Event) -> list[float]:
    """How late each 1 ms sleep wakes, until `until` is set."""
    lateness: list[float] = []
    while not until.is_set():
        started = time.perf_counter()
        await asyncio.sleep(TICK)
        lateness.append(time.perf_counter() - started - TICK)
    return lateness


async def beside_ticker(work: asyncio.Future[None] | None, seconds: float) -> list[float]:
    done = asyncio.Event()
    ticker = asyncio.create_task(ticking(done))
    if work is None:
        await asyncio.sleep(seconds)
    else:
        await work
    done.set()
    return await ticker


async def run(url: str, turns: int, disk_load: bool) -> None:
    data = Path("data")
    data.mkdir(exist_ok=True)
    async with scratch(url, folder=data) as database_url:
        db = Database(database_url)
        load = None
        try:
            await db.migrate()
            ids = await setup(db)
            await measure(db, 200, *ids, prefix="warm-")  # caches, compiled statements
            if disk_load:
                load = subprocess.Popen(["sh", "-c", LOAD.format(file=data / "load")])
            idle = await beside_ticker(None, 3.0)
            walls: list[float] = []

            async def turning() -> None:
                for i in range(turns):
                    started = time.perf_counter()
                    await measure(db, 1, *ids, prefix=f"t{i}-", notes=False)
                    walls.append(time.perf_counter() - started)
                    await asyncio.sleep(GAP)

            busy = await beside_ticker(asyncio.ensure_future(turning()), 0)
        finally:
            if load is not None:
                load.kill()
                load.wait()
                (data / "load").unlink(missing_ok=True)
            await db.dispose()

    def ms(values: list[float], q: float) -> float:
        return percentile(values, q) * 1e3

    print(f"{turns} page turns on {url.split(':')[0]}{' under disk load' if disk_load else ''}")
    print(f"  turn wall time p50 {ms(walls, 0.5):.3f} ms, p99 {ms(walls, 0.99):.3f} ms, "
          f"max {max(walls) * 1e3:.1f} ms")
    print(f"  loop lateness, ticker alone: p99 {ms(idle, 0.99):.2f} ms, max "
          f"{max(idle) * 1e3:.1f} ms; beside the turns: p99 {ms(busy, 0.99):.2f} ms, max "
          f"{max(busy) * 1e3:.1f} ms")
    print(f"RESULT disk_load={int(disk_load)} wall_p99_ms={ms(walls, 0.99):.3f} "
          f"late_p99_ms_idle={ms(idle, 0.99):.2f} late_p99_ms_turns={ms(busy, 0.99):.2f} "
          f"late_max_ms_idle={max(idle) * 1e3:.1f} late_max_ms_turns={max(busy) * 1e3:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--url", default="sqlite")
    parser.add_argument("--turns", type=int, default=3000)
    parser.add_argument("--disk-load", action="store_true")
    args = parser.parse_args()
    asyncio.run(run(args.url, args.turns, args.disk_load))


if __name__ == "__main__":
    main()
