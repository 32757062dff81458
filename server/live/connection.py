"""One client's websocket: what it has joined, and the one road its frames travel.

Sending must never let a slow tablet delay the others. uvicorn's `send` only waits when
the socket's transport is above its high-water mark (64 KiB unsent); otherwise it writes
and returns without suspending. So `offer` runs the send coroutine one step by hand:
for a socket that keeps up, that step completes the send — the same cost as a plain
send loop, with no queue and no task. A send that would wait marks the socket as
behind: a drain task finishes that send and what queues after it, and a socket whose
backlog passes the hub's limit (PHONGHOP_WS_BACKLOG) is closed with CLOSE_SLOW; it reconnects and replays.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket

from server.live.ratelimit import RateLimits
from server.protocol import CLOSE_SLOW
from server.security.credentials import Identity

if TYPE_CHECKING:
    from server.live.context import Joined
    from server.live.hub import Hub

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 5.0
_serials = itertools.count(1)


async def _resume(coro: Coroutine[Any, Any, Any], waiting: Any) -> None:
    """Finish a coroutine that was stepped by hand and stopped on the future `waiting`.

    This does for it what asyncio's Task step does: a yielded future still carries the
    `_asyncio_future_blocking` flag from the hand step and must have it cleared before
    it is awaited again (the C future refuses otherwise), and a bare `yield` means
    "run me again soon".
    """
    while True:
        try:
            if waiting is None:
                await asyncio.sleep(0)
            else:
                waiting._asyncio_future_blocking = False
                await waiting
        except BaseException as error:  # noqa: BLE001 - handed to the coroutine
            try:
                waiting = coro.throw(error)
            except StopIteration:
                return
            continue
        try:
            waiting = coro.send(None)
        except StopIteration:
            return


class Connection:
    def __init__(self, websocket: WebSocket, identity: Identity, hub: Hub, process_id: str
                 ) -> None:
        self.ws = websocket
        self.identity = identity
        self.hub = hub
        self.serial = next(_serials)
        self.key = f"{process_id}:{self.serial}"
        self.meetings: set[int] = set()
        self.joined: dict[int, Joined] = {}
        self.rate = RateLimits()
        self.last_pointer = 0.0
        self.closed = False
        self.close_code: int | None = None
        self._backlog: deque[str] | None = None
        self._drain: asyncio.Task[None] | None = None
        self._stop: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def __hash__(self) -> int:
        return self.serial

    def __eq__(self, other: object) -> bool:
        return self is other

    # ---- sending ------------------------------------------------------------------------

    def offer(self, frame: str) -> None:
        """Send a frame now if the socket can take it; never waits."""
        if self.closed:
            return
        if self._backlog is not None:
            if len(self._backlog) >= self.hub.backlog:
                self.stop(CLOSE_SLOW)
                return
            self._backlog.append(frame)
            return
        coro = self.ws.send({"type": "websocket.send", "text": frame})
        try:
            waiting = coro.send(None)
        except StopIteration:
            return
        except Exception:
            self.stop(1006)
            return
        self._backlog = deque()
        self._drain = asyncio.get_running_loop().create_task(self._drain_backlog(coro, waiting))

    async def _drain_backlog(self, coro: Coroutine[Any, Any, Any], waiting: Any) -> None:
        try:
            await _resume(coro, waiting)
            while self._backlog:
                await self.ws.send({"type": "websocket.send", "text": self._backlog.popleft()})
        except asyncio.CancelledError:
            raise
        except Exception:
            self.stop(1006)
        finally:
            self._backlog = None

    async def send(self, frame: str) -> None:
        """Send a frame in order with everything offered before it, waiting if needed.

        For a socket's own replies (results, snapshots): a large snapshot may fill the
        transport, and the socket that asked for it may wait for it; others never do.
        """
        self.offer(frame)
        while self._drain is not None and not self._drain.done() and not self.closed:
            waiters: set[asyncio.Future[Any]] = {self._drain, self._stop}
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)

    # ---- closing ------------------------------------------------------------------------

    def stop(self, code: int) -> None:
        """Stop serving this socket: leave every meeting, end its reader, close it."""
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        if code == CLOSE_SLOW:
            self.hub.slow_drops += 1
            log.info("socket %s of %s could not keep up; closing it", self.key,
                     self.identity.username)
        # Not now: this may run inside a fan-out loop over the meeting's members.
        asyncio.get_running_loop().call_soon(self.hub.drop, self)
        if not self._stop.done():
            self._stop.set_result(code)

    @property
    def stopped(self) -> asyncio.Future[int]:
        return self._stop

    async def finish(self) -> None:
        """After the reader ends: cancel the drain and send the close frame if we can."""
        if self._drain is not None:
            self._drain.cancel()
            await asyncio.gather(self._drain, return_exceptions=True)
        if self.close_code not in (None, 1006):
            with contextlib.suppress(TimeoutError, RuntimeError, OSError):
                await asyncio.wait_for(self.ws.close(self.close_code), CLOSE_TIMEOUT)

