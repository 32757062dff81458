"""The hub's ephemeral budget: a flood of live ink is cut short, a page turn never is."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from server.config import Settings
from tests.conftest import LiveServer
from tests.test_live_sync import first_document, sign_in


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Ten live deliveries a second for the whole process: one tablet can flood it.
    return replace(settings, ephemeral_budget=10)


async def test_a_flood_of_live_ink_is_dropped_but_the_page_turn_arrives(
    server: LiveServer, meeting: Any
) -> None:
    mid = meeting["a"]
    doc = await first_document(server, mid)
    drawer, watcher, chair = [await sign_in(server, n) for n in ("dbieu1", "dbieu2", "chu")]
    for c in (drawer, watcher, chair):
        await c.command("meeting.join", mid)
    replies = [await drawer.command("ink.progress", mid, stroke_id="s1",
                                    document_id=doc["id"], page=1, points=[[n, 2, 0.5]])
               for n in range(60)]
    dropped = sum(1 for reply in replies if reply.get("dropped"))
    assert 0 < dropped < 60
    shown = await chair.command("presentation.show", mid, document_id=doc["id"], page=2)
    await watcher.wait_event("presentation.changed", lambda e: e["seq"] == shown["seq"])
    # One socket's frames arrive in order: every part not dropped came before the page.
    assert len(watcher.named("ink.progress")) == 60 - dropped
    for c in (drawer, watcher, chair):
        await c.close()
