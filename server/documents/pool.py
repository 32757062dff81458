"""Render workers: processes that run PyMuPDF jobs under a time and a memory limit.

Why our own pool and not pebble.ProcessPool (installed, and it does have timeouts):
pebble's workers share one task pipe guarded by a process-shared lock. A worker that dies
while holding it (OOM killer, a segfault in MuPDF at the wrong moment) leaves the pool
deadlocked for good (noxdafox/pebble#163, #97); a worker that dies while idle makes the
pool raise BrokenProcessPool("All workers expired") and refuse all further work; and a
timed-out worker gets SIGTERM, which Python cannot act on while MuPDF is inside C code,
so the kill waits 3 s on pebble's manager thread. Its futures also live in threads that
we would have to bridge into asyncio. Hostile PDFs make all of these routine for us.

So each worker here owns a private socketpair: one job at a time, length-prefixed
pickles, read with asyncio streams. Nothing is shared, so a dead worker can only fail
its own job; a timeout is a SIGKILL (workers hold no state worth saving); and there is
no thread besides the one that starts a process.

Workers are started with "forkserver": never fork the server itself (its event loop,
sockets and database connections would be copied into the child), and the fork server
imports PyMuPDF once so each new worker starts warm. Measured on this 2-core box, from
Process.start to the worker's "ready": forkserver 7-19 ms per worker (median 9 ms), after
a one-time ~250 ms to boot the fork server and preload; "spawn" 190-220 ms per worker,
as every worker starts a fresh interpreter and imports PyMuPDF. That matters because a
worker is replaced after every timeout, crash or memory failure.

One caveat: multiprocessing re-imports the parent's main script in every child (not for
`python -m package`). Preloading "__main__" in the fork server is meant to do that once,
but it is broken before CPython 3.13.8 (gh-137996), so on 3.11 a main script that
imports starlette, SQLAlchemy, pydantic and uvicorn costs ~330 ms per worker. It is in
the preload list anyway, for the Pythons where it works.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import multiprocessing
import os
import pickle
import resource
import signal
import socket
import struct
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from server.documents.errors import RenderError

logger = logging.getLogger(__name__)

T = TypeVar("T")

_HEADER = struct.Struct("!Q")
_START_TIMEOUT = 60.0  # a cold start of a spawned worker, generously
# What the fork server imports once for all workers. This module is in the list because
# the worker's entry point lives here and it imports asyncio: without it, 50 ms a worker.
_DEFAULT_PRELOAD = (
    "__main__", "server.documents.pool", "server.documents.render", "server.documents.intake",
)
# Render workers yield the CPU to the server process: on a 2-core council PC a burst of
# pre-rendering must not make the chair's page turns late.
_WORKER_NICENESS = 5


def set_worker_limits(memory_mb: int) -> None:
    """Limit this process's address space, and make it nice; call in a worker only."""
    limit = memory_mb * 1024 * 1024
    # A page that needs more memory fails with MemoryError (Python) or a malloc failure
    # (MuPDF) in this worker, instead of waking the kernel's OOM killer on the server.
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # A segfault in a 1 GiB worker must not write a 1 GiB core file into the data dir.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.nice(_WORKER_NICENESS)


class RenderPool:
    """A fixed number of worker processes; `run` sends one job to an idle one."""

    def __init__(
        self,
        workers: int,
        timeout: float,
        memory_mb: int,
        *,
        start_method: str = "forkserver",
        preload: Sequence[str] = _DEFAULT_PRELOAD,
        initializer: Callable[[], None] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("a render pool needs at least one worker")
        self.workers = workers
        self.timeout = timeout
        self.memory_mb = memory_mb
        self._context = multiprocessing.get_context(start_method)
        self._preload = tuple(preload)
        self._initializer = initializer if initializer is not None else _default_initializer
        # None is the closing signal: each waiter that gets it puts it back for the next.
        # Last in, first out: the worker that just finished goes next, and it most likely
        # has the document open already (each worker caches a few). With FIFO, sequential
        # jobs alternate workers and every document is opened and warmed in each of them.
        self._idle: asyncio.Queue[_Worker | None] = asyncio.LifoQueue()
        self._busy: set[_Worker] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._start_lock = asyncio.Lock()
        self._closed = False

    async def start(self) -> None:
        if self._context.get_start_method() == "forkserver":
            # Only takes effect if this process has not started its fork server yet.
            self._context.set_forkserver_preload(list(self._preload))
        started = await asyncio.gather(
            *(self._spawn() for _ in range(self.workers)), return_exceptions=True
        )
        failures = [w for w in started if isinstance(w, BaseException)]
        for worker in started:
            if isinstance(worker, _Worker):
                self._idle.put_nowait(worker)
        if failures:
            await self.close()
            raise RuntimeError("render workers failed to start") from failures[0]

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Take every worker before the first await: from now on `run` hands none back.
        busy = list(self._busy)
        idle = []
        while not self._idle.empty():
            worker = self._idle.get_nowait()
            if worker is not None:
                idle.append(worker)
        self._idle.put_nowait(None)
        for task in list(self._background):
            task.cancel()  # a replacement being started stops itself
        await asyncio.gather(*self._background, return_exceptions=True)
        await asyncio.gather(
            *(w.stop(graceful=False) for w in busy), *(w.stop(graceful=True) for w in idle)
        )

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        """Run `fn(*args)` in a worker and return its result (or raise its exception).

        RenderError codes: render_timeout (killed after the time limit), render_crashed
        (the worker died), render_memory (the job ran out of the worker's memory). The
        worker is replaced in each case, and when the caller is cancelled mid-job.
        """
        payload = pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)
        limit = self.timeout if timeout is None else timeout
        worker = await self._checkout()
        healthy = False
        try:
            ok, value = await worker.call(payload, limit)
            healthy = True
        except RenderError as exc:
            if self._closed and exc.code == "render_crashed":
                raise RuntimeError("the render pool was closed during the job") from exc
            raise
        finally:
            self._busy.discard(worker)
            if self._closed:
                pass  # close() stops every worker it found busy
            elif healthy:
                self._idle.put_nowait(worker)
            else:
                self._replace(worker)
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    async def _checkout(self) -> _Worker:
        while True:
            if self._closed:
                raise RuntimeError("the render pool is closed")
            worker = await self._idle.get()
            if worker is None:
                self._idle.put_nowait(None)
                raise RuntimeError("the render pool is closed")
            if worker.process.is_alive():  # it may have been killed while idle
                self._busy.add(worker)
                return worker
            logger.warning("render worker %s died while idle (exit %s)",
                           worker.process.pid, worker.process.exitcode)
            self._replace(worker)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()  # now: the task below may be cancelled by close() before it runs
        task = asyncio.get_running_loop().create_task(self._replace_worker(worker))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _replace_worker(self, worker: _Worker) -> None:
        await worker.stop(graceful=False)
        delay = 0.5
        while not self._closed:
            try:
                fresh = await self._spawn()
            except Exception:
                logger.exception("could not start a render worker; retrying in %.1f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            if self._closed:
                await fresh.stop(graceful=True)
            else:
                self._idle.put_nowait(fresh)
            return

    async def _spawn(self) -> _Worker:
        parent_end, child_end = socket.socketpair()
        process: BaseProcess = self._context.Process(  # type: ignore[attr-defined]
            target=_worker_main,
            args=(child_end, self.memory_mb, self._preload, self._initializer),
            name="phonghop-render",
            daemon=True,
        )
        try:
            try:
                async with self._start_lock:
                    await _start_process(process)
            finally:
                child_end.close()
            reader, writer = await asyncio.open_connection(sock=parent_end)
        except BaseException:
            parent_end.close()
            raise
        worker = _Worker(process, reader, writer)
        try:
            async with asyncio.timeout(_START_TIMEOUT):
                hello = pickle.loads(await _read_frame(reader))
            if hello != ("ready", process.pid):
                raise RuntimeError(f"render worker sent {hello!r} instead of ready")
        except BaseException:
            await worker.stop(graceful=False)
            raise
        return worker


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    stopped: bool = field(default=False)
    exitcode: int | None = field(default=None)

    async def call(self, payload: bytes, timeout: float) -> tuple[bool, Any]:
        """Send one job; return (True, result) or (False, the job's exception).

        Raises RenderError when the worker itself failed; it is then stopped.
        """
        try:
            async with asyncio.timeout(timeout):
                self.writer.write(_HEADER.pack(len(payload)) + payload)
                await self.writer.drain()
                frame = await _read_frame(self.reader)
        except TimeoutError:
            await self.stop(graceful=False)
            raise RenderError(
                "render_timeout", f"Drawing took longer than {timeout:g} s and was stopped."
            ) from None
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            await self.stop(graceful=False)
            raise RenderError(
                "render_crashed",
                f"The renderer stopped unexpectedly ({_describe_exit(self.exitcode)}).",
            ) from exc
        try:
            status, value = pickle.loads(frame)
        except Exception as exc:  # noqa: BLE001 - e.g. an exception class that does not unpickle
            return False, RuntimeError(f"unreadable answer from a render worker: {exc}")
        if status == "memory":
            await self.stop(graceful=False)
            raise RenderError(
                "render_memory", "The page needs more memory than a renderer may use."
            )
        return status == "ok", value

    def kill(self) -> None:
        if not self.stopped and self.process.is_alive():
            self.process.kill()

    async def stop(self, *, graceful: bool) -> None:
        if self.stopped:
            return
        if not graceful:
            self.kill()
        self.stopped = True
        self.writer.close()  # a graceful worker sees end-of-file and exits
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()
        await asyncio.to_thread(self.process.join, 5.0)
        if self.process.is_alive():
            self.process.kill()
            await asyncio.to_thread(self.process.join)
        self.exitcode = self.process.exitcode
        self.process.close()


async def _start_process(process: BaseProcess) -> None:
    # Process.start blocks (it talks to the fork server, or execs Python), so a thread
    # does it; if we are cancelled meanwhile, the process still starts: stop it then.
    starting = asyncio.ensure_future(asyncio.to_thread(process.start))
    try:
        await asyncio.shield(starting)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await starting
            process.kill()
            await asyncio.to_thread(process.join)
        raise


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    return await reader.readexactly(size)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit code {code}"


def _default_initializer() -> None:
    from server.documents.render import init_worker

    init_worker()


# ---- inside the worker process ------------------------------------------------------


def _worker_main(
    sock: socket.socket,
    memory_mb: int,
    preload: tuple[str, ...],
    initializer: Callable[[], None],
) -> None:
    # Ctrl-C in a terminal signals the whole process group; the server decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_worker_limits(memory_mb)
    for name in preload:
        importlib.import_module(name)
    initializer()
    with sock:
        _send_frame(sock, ("ready", os.getpid()))
        _serve(sock)


def _serve(sock: socket.socket) -> None:
    while True:
        try:
            frame = _recv_frame(sock)
        except (EOFError, ConnectionError):
            return  # the pool closed our socket: shut down
        reply = _execute(frame)
        try:
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - an unpicklable result (MuPDF's errors are)
            error = RuntimeError(f"{_qualname(reply[1])}: {reply[1]} (unpicklable: {exc})")
            data = pickle.dumps(("error", error))
        try:
            _send_frame_bytes(sock, data)
        except ConnectionError:
            return  # the pool gave up on this job (timeout, or it is closing)
        if reply[0] == "memory":
            # Python survived the MemoryError, but MuPDF's caches may be half-built after
            # a failed allocation: leave, and let the pool start a fresh worker.
            os._exit(0)


def _execute(frame: bytearray) -> tuple[str, Any]:
    try:
        fn, args = pickle.loads(frame)
        return "ok", fn(*args)
    except MemoryError as exc:
        return "memory", str(exc)
    except Exception as exc:  # noqa: BLE001 - whatever the job raises goes to the caller
        # The traceback cannot travel with the exception; a note can (PEP 678).
        exc.add_note("Render worker traceback:\n" + "".join(traceback.format_exception(exc)))
        return "error", exc


def _qualname(obj: object) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"


def _send_frame(sock: socket.socket, obj: object) -> None:
    _send_frame_bytes(sock, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def _send_frame_bytes(sock: socket.socket, data: bytes) -> None:
    sock.sendall(_HEADER.pack(len(data)))
    sock.sendall(data)


def _recv_frame(sock: socket.socket) -> bytearray:
    (size,) = _HEADER.unpack(_recv_exactly(sock, _HEADER.size))
    return _recv_exactly(sock, size)


def _recv_exactly(sock: socket.socket, size: int) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            raise EOFError
        got += n
    return buffer
