"""Redis pub/sub between server processes, reconnecting by itself.

One subscriber connection per process, whatever the number of meetings and sockets:
the hub subscribes once per meeting and fans out locally. When the connection fails,
`next_message` keeps retrying with back-off, subscribes again to every channel, and then
yields RESYNC: messages published meanwhile are gone, and the hub reads them from the
database instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from server.broker.base import RESYNC, Broker, Message, _Resync

log = logging.getLogger(__name__)

BACKOFF_START = 0.1
BACKOFF_MAX = 5.0


class RedisBroker(Broker):
    def __init__(self, url: str) -> None:
        self.url = url
        self._channels: set[str] = set()
        self._publisher: aioredis.Redis | None = None
        self._subscriber: aioredis.Redis | None = None
        self._pubsub: aioredis.client.PubSub | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        self._publisher = aioredis.from_url(self.url, socket_timeout=5,
                                            socket_connect_timeout=5)
        await self._open_pubsub()

    async def _open_pubsub(self) -> None:
        self._subscriber = aioredis.from_url(self.url, socket_connect_timeout=5)
        self._pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
        if self._channels:
            await self._pubsub.subscribe(*self._channels)
        else:
            # A PubSub with no subscription has no connection to wait on; a private
            # channel gives it one, so a Redis outage is noticed even while idle.
            await self._pubsub.subscribe("phonghop:keepalive")

    async def _close_pubsub(self) -> None:
        for closing in (self._pubsub, self._subscriber):
            if closing is not None:
                with contextlib.suppress(RedisError, OSError):
                    await closing.aclose()
        self._pubsub = self._subscriber = None

    async def disconnect(self) -> None:
        await self._close_pubsub()
        if self._publisher is not None:
            await self._publisher.aclose()
            self._publisher = None

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)
        async with self._lock:
            if self._pubsub is not None:
                try:
                    await self._pubsub.subscribe(channel)
                except (RedisError, OSError):
                    log.warning("subscribe to %s failed; it is retried on reconnect", channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        async with self._lock:
            if self._pubsub is not None:
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(channel)

    async def publish(self, channel: str, data: bytes) -> None:
        assert self._publisher is not None
        try:
            await self._publisher.publish(channel, data)
        except (RedisError, OSError) as error:
            # The event is already committed; other processes find it by sequence number.
            log.warning("publish to %s failed (%s); receivers will fill the gap", channel, error)

    async def next_message(self) -> Message | _Resync:
        backoff = BACKOFF_START
        while True:
            try:
                if self._pubsub is None:
                    async with self._lock:
                        await self._open_pubsub()
                    log.info("reconnected to Redis; resynchronising")
                    return RESYNC
                # Block until a message comes (no timer set and cancelled per message):
                # an outage still ends the read at once with an error, and an idle
                # connection always has the keepalive channel to wait on.
                message = await self._pubsub.get_message(timeout=None)
                backoff = BACKOFF_START
                if message is not None and message["type"] == "message":
                    channel = message["channel"]
                    if isinstance(channel, bytes):
                        channel = channel.decode()
                    return Message(channel, message["data"])
            except (RedisError, OSError) as error:
                log.warning("Redis subscription lost (%s); retrying in %.1fs", error, backoff)
                async with self._lock:
                    await self._close_pubsub()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
