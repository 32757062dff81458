"""The render pool: bad jobs cost a worker, never the pool or the server."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

import documents_jobs as jobs
import pytest

from server.documents.errors import IntakeError, RenderError
from server.documents.pool import RenderPool
from server.documents.render import render_page

pytestmark = pytest.mark.slow


async def until(predicate: Callable[[], bool], deadline: float = 10.0) -> None:
    async with asyncio.timeout(deadline):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_job_runs_in_a_worker_process(pool: RenderPool) -> None:
    assert await pool.run(jobs.add, 2, 3) == 5
    assert await pool.run(jobs.pid) != os.getpid()


async def test_intake_error_arrives_intact(pool: RenderPool) -> None:
    with pytest.raises(IntakeError) as caught:
        await pool.run(jobs.refuse_encrypted)

    error = caught.value
    assert (error.code, error.status) == ("encrypted", 422)
    assert error.message.startswith("This PDF is protected by a password.")


async def test_job_exception_propagates_with_the_worker_traceback(pool: RenderPool) -> None:
    with pytest.raises(ValueError, match="bad agenda") as caught:
        await pool.run(jobs.fail, "bad agenda")

    assert any("documents_jobs.py" in note for note in caught.value.__notes__)
    assert await pool.run(jobs.add, 1, 1) == 2


async def test_exception_that_cannot_be_unpickled_becomes_runtime_error(pool: RenderPool) -> None:
    with pytest.raises(RuntimeError, match="unreadable answer"):
        await pool.run(jobs.fail_unpicklably)


async def test_job_past_its_time_limit_is_stopped(pool: RenderPool) -> None:
    with pytest.raises(RenderError) as caught:
        await pool.run(jobs.sleep, 30, timeout=0.5)

    assert caught.value.code == "render_timeout"
    assert await pool.run(jobs.add, 1, 2) == 3


async def test_worker_that_exits_is_replaced(pool: RenderPool) -> None:
    with pytest.raises(RenderError) as caught:
        await pool.run(jobs.exit_abruptly)

    assert caught.value.code == "render_crashed"
    assert "exit code 1" in caught.value.message
    assert [await pool.run(jobs.add, i, 0) for i in range(4)] == [0, 1, 2, 3]


async def test_job_beyond_the_memory_limit_fails_cleanly(pool: RenderPool) -> None:
    with pytest.raises(RenderError) as caught:
        await pool.run(jobs.allocate, 2048)

    assert caught.value.code == "render_memory"
    assert await pool.run(jobs.allocate, 16) == 16 * 1024 * 1024


async def test_mupdf_running_out_of_memory_fails_cleanly(
    pool: RenderPool, agenda_pdf: Path
) -> None:
    # 12000 px wide A4 is ~17000 px tall: a 600 MB pixmap, beyond the 768 MB worker.
    with pytest.raises(RenderError) as caught:
        await pool.run(render_page, str(agenda_pdf), 1, 10_000, "png", 80, 10**9)

    assert caught.value.code == "render_memory"
    assert len(await pool.run(render_page, str(agenda_pdf), 1, 200, "webp")) > 0


async def test_other_jobs_finish_while_one_hangs(pool: RenderPool) -> None:
    hanging = asyncio.create_task(pool.run(jobs.sleep, 60))
    await until(lambda: len(pool._busy) == 1)

    assert await asyncio.gather(*(pool.run(jobs.add, i, i) for i in range(6))) == [
        0, 2, 4, 6, 8, 10,
    ]
    assert not hanging.done()

    # Giving up on the hanging job stops its worker, and the pool is whole again.
    hanging.cancel()
    with pytest.raises(asyncio.CancelledError):
        await hanging
    assert await asyncio.gather(pool.run(jobs.sleep, 0.1), pool.run(jobs.sleep, 0.1)) == [
        0.1, 0.1,
    ]


async def test_worker_killed_while_idle_is_replaced(pool: RenderPool) -> None:
    # pebble's pool breaks for good on this one ("All workers expired").
    victim = await pool.run(jobs.pid)
    os.kill(victim, signal.SIGKILL)
    await until(lambda: not _alive(victim))

    pids = await asyncio.gather(*(pool.run(jobs.pid) for _ in range(4)))

    assert victim not in pids


async def test_closed_pool_refuses_work() -> None:
    pool = RenderPool(workers=1, timeout=5, memory_mb=512)
    await pool.start()
    await pool.close()

    with pytest.raises(RuntimeError, match="closed"):
        await pool.run(jobs.add, 1, 1)


async def test_closing_stops_every_worker_even_mid_job() -> None:
    pool = RenderPool(workers=2, timeout=30, memory_mb=512)
    await pool.start()
    pids = set(await asyncio.gather(pool.run(jobs.sleep_then_pid, 0.2), pool.run(jobs.pid)))
    hanging = asyncio.create_task(pool.run(jobs.sleep, 60))
    await until(lambda: len(pool._busy) == 1)

    await pool.close()

    with pytest.raises(RuntimeError, match="closed"):
        await hanging
    await until(lambda: not any(_alive(pid) for pid in pids))


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
