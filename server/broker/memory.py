"""The in-process broker: the demo and single-process deployments."""

from __future__ import annotations

import asyncio

from server.broker.base import Broker, Message, _Resync


class MemoryBroker(Broker):
    def __init__(self) -> None:
        self._channels: set[str] = set()
        # Unbounded on purpose: the only consumer is the hub's loop in this process, which
        # never awaits anything slow; a bound here would just move the backlog elsewhere.
        self._queue: asyncio.Queue[Message] = asyncio.Queue()

    async def connect(self) -> None:
        return None

    async def disconnect(self) -> None:
        self._channels.clear()

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)

    async def publish(self, channel: str, data: bytes) -> None:
        if channel in self._channels:
            self._queue.put_nowait(Message(channel, data))

    async def next_message(self) -> Message | _Resync:
        return await self._queue.get()
