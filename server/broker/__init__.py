"""The seam between server processes: move messages on named channels, nothing more.

A backend delivers at most once: Redis pub/sub drops what a subscriber misses while its
link blinks, silently. Correctness therefore never rests on the broker: events carry
sequence numbers, and the hub fills gaps from the database. After a backend reconnects
it yields `RESYNC`, so the hub checks every meeting against the database at once.
"""

from __future__ import annotations

from server.broker.base import RESYNC, Broker, Message
from server.config import Settings


def create_broker(settings: Settings) -> Broker:
    if settings.redis_url:
        from server.broker.redis import RedisBroker

        return RedisBroker(settings.redis_url)
    from server.broker.memory import MemoryBroker

    return MemoryBroker()


__all__ = ["RESYNC", "Broker", "Message", "create_broker"]
