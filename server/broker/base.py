"""The broker interface."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Message:
    channel: str
    data: bytes


class _Resync:
    def __repr__(self) -> str:
        return "RESYNC"


# Yielded by next_message() after a reconnect: anything may have been missed.
RESYNC: Final = _Resync()


class Broker(abc.ABC):
    # Whether anything published reaches another process; the hub encodes nothing for
    # a broker that reaches nobody.
    reaches_others = True

    @abc.abstractmethod
    async def connect(self) -> None: ...

    @abc.abstractmethod
    async def disconnect(self) -> None: ...

    @abc.abstractmethod
    async def subscribe(self, channel: str) -> None: ...

    @abc.abstractmethod
    async def unsubscribe(self, channel: str) -> None: ...

    @abc.abstractmethod
    async def publish(self, channel: str, data: bytes) -> None:
        """Send to the other processes subscribed to `channel`. May be lost; this
        process may or may not get it back (the hub has delivered it here already)."""

    @abc.abstractmethod
    async def next_message(self) -> Message | _Resync:
        """The next message on a subscribed channel, or RESYNC after a reconnect."""
