"""Media tests: real aiortc peers on 127.0.0.1, no STUN, one event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aioice.ice
import pytest
from media_sites import loopback_only

from media.relay import Relay, RelayConfig


@pytest.fixture(autouse=True)
def loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # aioice never offers 127.0.0.1 as a host candidate; on this machine every peer is
    # on loopback, so that is the only candidate we want.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", loopback_only)


@pytest.fixture
async def relay() -> AsyncIterator[Relay]:
    relay = Relay(RelayConfig(silence_timeout=1.5, always_heard=frozenset({"hall"})))
    yield relay
    await relay.close()
