"""The in-process broker: the demo and single-process deployments.

With one process there is no one else to tell: the hub has already delivered every
event to its own sockets before it publishes, so publishing is nothing at all, and no
message ever arrives.
"""

from __future__ import annotations

import asyncio

from server.broker.base import Broker, Message, _Resync


class MemoryBroker(Broker):
    reaches_others = False

    async def connect(self) -> None:
        return None

    async def disconnect(self) -> None:
        return None

    async def subscribe(self, channel: str) -> None:
        return None

    async def unsubscribe(self, channel: str) -> None:
        return None

    async def publish(self, channel: str, data: bytes) -> None:
        return None

    async def next_message(self) -> Message | _Resync:
        await asyncio.Event().wait()  # nothing ever comes: the caller is cancelled at close
        raise AssertionError("unreachable")
