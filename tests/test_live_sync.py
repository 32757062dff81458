"""Live sync as people meet it: the chair turns pages, tablets follow, notes travel."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from server.protocol import CLOSE_SLOW
from tests.conftest import PASSWORD, LiveServer
from tests.helpers import CommandFailed, LiveClient, wait_for


async def sign_in(server: LiveServer, username: str) -> LiveClient:
    client = server.client()
    await client.login(username, PASSWORD)
    live = await LiveClient.open(server.url, client)
    await client.http.aclose()
    return live


async def first_document(server: LiveServer, meeting_id: int) -> dict[str, Any]:
    async with server.client() as c:
        await c.login("thu", PASSWORD)
        docs = (await c.get(f"/api/meetings/{meeting_id}/documents")).json()
    return next(d for d in docs if d["guest_visible"])


def ink(points: int = 3) -> dict[str, Any]:
    # Small coordinates keep a 4001-point stroke under the 64 KiB message limit.
    return {"tool": "pen", "color": "#c0392b", "width": 2.5,
            "points": [[i % 9, 2, 0.5] for i in range(points)]}


async def test_chair_turns_the_page_and_followers_and_late_joiners_land_on_it(
    server: LiveServer, meeting: Any
) -> None:
    mid = meeting["a"]
    doc = await first_document(server, mid)
    chair, delegate = await sign_in(server, "chu"), await sign_in(server, "dbieu1")
    joined = await delegate.command("meeting.join", mid)
    assert joined["snapshot"]["presentation"]["document_id"] is None
    await chair.command("meeting.join", mid)
    result = await chair.command("presentation.show", mid, document_id=doc["id"], page=2)
    event = await delegate.wait_event("presentation.changed")
    assert event["seq"] == result["seq"]
    assert (event["data"]["document_id"], event["data"]["page"]) == (doc["id"], 2)
    late = await sign_in(server, "dbieu2")
    snapshot = (await late.command("meeting.join", mid))["snapshot"]
    assert (snapshot["presentation"]["document_id"], snapshot["presentation"]["page"]) == (
        doc["id"], 2)
    for client in (chair, delegate, late):
        await client.close()


async def test_a_private_note_never_leaves_its_author(server: LiveServer, meeting: Any) -> None:
    mid = meeting["a"]
    doc = await first_document(server, mid)
    author, other, chair = [await sign_in(server, n) for n in ("dbieu1", "dbieu2", "chu")]
    for c in (author, other, chair):
        await c.command("meeting.join", mid)
    private = str(uuid.uuid4())
    await author.command("annotation.create", mid, id=private, document_id=doc["id"], page=1,
                         kind="ink", data=ink())
    chair_only = str(uuid.uuid4())
    await author.command("annotation.create", mid, id=chair_only, document_id=doc["id"],
                         page=1, kind="note", visibility="chair",
                         data={"x": 50, "y": 60, "text": "Đề nghị làm rõ số liệu"})
    shared = str(uuid.uuid4())
    await author.command("annotation.create", mid, id=shared, document_id=doc["id"], page=1,
                         kind="ink", visibility="shared", data=ink())
    await other.wait_event("annotation.created", lambda e: e["data"]["id"] == shared)
    await chair.wait_event("annotation.created", lambda e: e["data"]["id"] == chair_only)
    # On the wire: the other delegate received neither the private nor the chair note.
    wire = json.dumps(other.events)
    assert private not in wire and chair_only not in wire and "làm rõ" not in wire
    assert private not in json.dumps(chair.events)
    assert {e["data"]["id"] for e in author.named("annotation.created")} == {
        private, chair_only, shared}
    # The per-page fetch honours the same rule, over the websocket and over HTTP.
    seen = await other.command("annotation.list", mid, document_id=doc["id"], page=1)
    assert [a["id"] for a in seen["annotations"]] == [shared]
    async with server.client() as c:
        await c.login("dbieu2", PASSWORD)
        listed = (await c.get(f"/api/documents/{doc['id']}/annotations?page=1")).json()
        assert [a["id"] for a in listed] == [shared]
    for c in (author, other, chair):
        await c.close()


async def test_a_note_made_private_disappears_and_the_chair_erases_shared_ones(
    server: LiveServer, meeting: Any
) -> None:
    mid = meeting["a"]
    doc = await first_document(server, mid)
    author, other, chair = [await sign_in(server, n) for n in ("dbieu1", "dbieu2", "chu")]
    for c in (author, other, chair):
        await c.command("meeting.join", mid)
    note, stroke = str(uuid.uuid4()), str(uuid.uuid4())
    await author.command("annotation.create", mid, id=note, document_id=doc["id"], page=1,
                         kind="note", visibility="shared", data={"x": 1, "y": 2, "text": "A"})
    await author.command("annotation.create", mid, id=stroke, document_id=doc["id"], page=1,
                         kind="ink", visibility="shared", data=ink())
    # The author edits the note and makes it private: the other delegate is told it is gone.
    changed = await author.command("annotation.update", mid, id=note, visibility="private",
                                   data={"x": 1, "y": 2, "text": "B"})
    gone = await other.wait_event("annotation.deleted", lambda e: e["data"]["id"] == note)
    assert gone["seq"] == changed["seq"] + 1
    updated = await author.wait_event("annotation.updated", lambda e: e["data"]["id"] == note)
    assert (updated["data"]["visibility"], updated["data"]["data"]["text"]) == ("private", "B")
    with pytest.raises(CommandFailed) as refused:
        await other.command("annotation.delete", mid, id=stroke)
    assert refused.value.code == "forbidden"
    await chair.command("annotation.delete", mid, id=stroke)
    await other.wait_event("annotation.deleted", lambda e: e["data"]["id"] == stroke)
    seen = await other.command("annotation.list", mid, document_id=doc["id"], page=1)
    assert seen["annotations"] == []
    for c in (author, other, chair):
        await c.close()


async def test_a_retried_command_is_applied_once(server: LiveServer, meeting: Any) -> None:
    mid = meeting["a"]
    doc = await first_document(server, mid)
    author = await sign_in(server, "dbieu1")
    await author.command("meeting.join", mid)
    note = str(uuid.uuid4())
    args = {"id": note, "document_id": doc["id"], "page": 1, "kind": "note",
            "visibility": "shared", "data": {"x": 1, "y": 2, "text": "Một lần"}}
    first = await author.command("annotation.create", mid, command_id="retry-1", **args)
    again = await author.command("annotation.create", mid, command_id="retry-1", **args)
    assert again["seq"] == first["seq"] and again.get("duplicate") is True
    await author.close()
    author = await sign_in(server, "dbieu1")
    joined = await author.command("meeting.join", mid, last_seq=first["seq"] - 1)
    assert joined["replayed"] == 1
    assert [e["data"]["id"] for e in author.named("annotation.created")] == [note]
    await author.close()


async def test_shared_ink_shows_live_while_it_is_drawn(server: LiveServer, meeting: Any) -> None:
    mid = meeting["a"]
    doc = await first_document(server, mid)
    drawer, watcher = await sign_in(server, "dbieu1"), await sign_in(server, "dbieu2")
    for c in (drawer, watcher):
        await c.command("meeting.join", mid)
    for n in range(3):
        await drawer.command("ink.progress", mid, stroke_id="s1", document_id=doc["id"],
                             page=1, points=[[10 + n, 20 + n, 0.4]])
    await wait_for(lambda: len(watcher.named("ink.progress")) == 3, what="three live parts")
    assert all(e["seq"] is None for e in watcher.named("ink.progress"))
    assert not drawer.named("ink.progress")  # the drawer is not echoed its own stroke
    await drawer.close()
    await watcher.close()


async def test_presence_shows_who_is_here_and_who_follows(server: LiveServer, meeting: Any) -> None:
    mid = meeting["a"]
    chair, delegate = await sign_in(server, "chu"), await sign_in(server, "dbieu1")
    await chair.command("meeting.join", mid)
    await delegate.command("meeting.join", mid)
    joined = await chair.wait_event("presence.joined", lambda e: e["data"]["username"] == "dbieu1")
    await delegate.command("presence.update", mid, following=False, document_id=1, page=4)
    updated = await chair.wait_event("presence.updated",
                                     lambda e: e["data"]["following"] is False)
    assert updated["data"]["page"] == 4 and updated["data"]["role"] == "delegate"
    await delegate.close()
    left = await chair.wait_event("presence.left")
    assert left["data"]["key"] == joined["data"]["key"]
    await chair.close()


async def test_only_the_chair_hands_over_and_only_the_presenter_presents(
    server: LiveServer, meeting: Any
) -> None:
    mid = meeting["a"]
    doc = await first_document(server, mid)
    chair, delegate = await sign_in(server, "chu"), await sign_in(server, "dbieu1")
    for c in (chair, delegate):
        await c.command("meeting.join", mid)
    with pytest.raises(CommandFailed) as refused:
        await delegate.command("presentation.show", mid, document_id=doc["id"], page=1)
    assert refused.value.code == "forbidden"
    with pytest.raises(CommandFailed):
        await delegate.command("presentation.hand_over", mid, user_id=delegate.hello["user"]["id"])
    await chair.command("presentation.hand_over", mid, user_id=delegate.hello["user"]["id"])
    shown = await delegate.command("presentation.show", mid, document_id=doc["id"], page=2)
    assert shown["presentation"]["presenter_id"] == delegate.hello["user"]["id"]
    # The chair presenting takes the role back.
    back = await chair.command("presentation.show", mid, document_id=doc["id"], page=1)
    assert back["presentation"]["presenter_id"] == chair.hello["user"]["id"]
    for c in (chair, delegate):
        await c.close()


async def test_bad_input_gets_its_error_and_changes_nothing(
    server: LiveServer, meeting: Any
) -> None:
    mid, other_mid = meeting["a"], meeting["b"]
    doc = await first_document(server, mid)
    delegate = await sign_in(server, "dbieu1")
    await delegate.command("meeting.join", mid)
    before = (await delegate.command("meeting.join", mid))["seq"]
    await delegate.send_raw("{not json")
    await wait_for(lambda: delegate.results.get(""), what="an error for bad JSON")
    assert delegate.results.pop("")["error"]["code"] == "bad_json"
    cases = [
        ("unknown.command", mid, {}, "unknown_command"),
        ("meeting.join", other_mid, {}, "not_found"),  # a forged meeting id
        ("presentation.show", other_mid, {"document_id": doc["id"], "page": 1}, "not_joined"),
        ("presentation.hand_over", mid, {"user_id": None}, "forbidden"),
        ("annotation.create", mid, {"id": "not-a-uuid", "document_id": doc["id"], "page": 1,
                                    "kind": "ink", "data": ink()}, "invalid"),
        ("annotation.create", mid, {"id": str(uuid.uuid4()), "document_id": doc["id"],
                                    "page": 1, "kind": "ink", "data": ink(4001)}, "limit"),
        ("annotation.create", mid, {"id": str(uuid.uuid4()), "document_id": doc["id"],
                                    "page": 99, "kind": "ink", "data": ink()}, "invalid"),
        ("annotation.create", mid, {"id": str(uuid.uuid4()), "document_id": doc["id"],
                                    "page": 1, "kind": "note",
                                    "data": {"x": 1, "y": 1, "text": "x" * 2001}}, "invalid"),
    ]
    for cmd, meeting_id, args, code in cases:
        with pytest.raises(CommandFailed) as failed:
            await delegate.command(cmd, meeting_id, **args)
        assert failed.value.code == code, (cmd, failed.value.error)
    assert (await delegate.command("meeting.join", mid))["seq"] == before
    await delegate.close()


async def test_a_guest_cannot_read_private_or_chair_data(server: LiveServer, meeting: Any) -> None:
    mid = meeting["a"]
    doc = await first_document(server, mid)
    author, guest = await sign_in(server, "dbieu1"), await sign_in(server, "khach")
    for c in (author, guest):
        await c.command("meeting.join", mid)
    for visibility in ("private", "chair"):
        await author.command("annotation.create", mid, id=str(uuid.uuid4()),
                             document_id=doc["id"], page=1, kind="note",
                             visibility=visibility, data={"x": 1, "y": 1, "text": "bí mật"})
    seen = await guest.command("annotation.list", mid, document_id=doc["id"])
    assert seen["annotations"] == []
    assert "bí mật" not in json.dumps(guest.events)
    with pytest.raises(CommandFailed):
        await guest.command("annotation.create", mid, id=str(uuid.uuid4()),
                            document_id=doc["id"], page=1, kind="note", visibility="shared",
                            data={"x": 1, "y": 1, "text": "x"})
    for c in (author, guest):
        await c.close()


async def test_the_upgrade_is_refused_without_credentials_or_from_elsewhere(
    server: LiveServer, meeting: Any
) -> None:
    url = server.url.replace("http", "ws", 1) + "/ws"
    with pytest.raises(InvalidStatus) as anonymous:
        await connect(url, origin=server.url)
    assert anonymous.value.response.status_code == 403
    async with server.client() as c:
        await c.login("dbieu1", PASSWORD)
        cookie = "; ".join(f"{k}={v}" for k, v in c.http.cookies.items())
    with pytest.raises(InvalidStatus) as foreign:
        await connect(url, origin="http://evil.example", additional_headers={"Cookie": cookie})
    assert foreign.value.response.status_code == 403


async def test_an_oversized_message_closes_the_socket(server: LiveServer, meeting: Any) -> None:
    delegate = await sign_in(server, "dbieu1")
    await delegate.send_raw(json.dumps({"id": "big", "cmd": "meeting.join", "meeting_id": 1,
                                        "args": {"pad": "x" * 70_000}}))
    await wait_for(lambda: delegate.closed_code is not None, what="the close")
    assert delegate.closed_code == 1009


async def test_a_bearer_token_opens_the_socket(server: LiveServer, meeting: Any) -> None:
    async with server.client() as admin:
        await admin.login("admin", PASSWORD)
        token = (await admin.post("/api/auth/tokens", json={"label": "agent",
                                                            "username": "xa"})).json()["token"]
    site = await LiveClient.open(server.url, headers={"Authorization": f"Bearer {token}"})
    assert site.hello and site.hello["user"]["username"] == "xa"
    assert (await site.command("meeting.join", meeting["a"]))["role"] == "site"
    await site.close()
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/healthz")).status_code == 200


def big_stroke(n: int) -> dict[str, Any]:
    return {"tool": "pen", "color": "#1f3a93", "width": 2,
            "points": [[(i + n) % 500, i % 700, 0.5] for i in range(3000)]}


async def test_a_stalled_tablet_is_dropped_and_recovers_everything_by_replay(
    server: LiveServer, meeting: Any
) -> None:
    mid = meeting["a"]
    doc = await first_document(server, mid)
    async with server.client() as c:
        await c.login("dbieu2", PASSWORD)
        cookie = "; ".join(f"{k}={v}" for k, v in c.http.cookies.items())
    # A tablet that stops reading: a 4 KiB receive window, and no reads after joining.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
    stalled = await connect(server.url.replace("http", "ws", 1) + "/ws", sock=sock,
                            origin=server.url, additional_headers={"Cookie": cookie},
                            max_queue=1, compression=None, max_size=2**22)
    await stalled.recv()  # hello
    await stalled.send(json.dumps({"id": "j", "cmd": "meeting.join", "meeting_id": mid}))
    last_seq = json.loads(await stalled.recv())["data"]["seq"]

    writer, watcher = await sign_in(server, "dbieu1"), await sign_in(server, "chu")
    for client in (writer, watcher):
        await client.command("meeting.join", mid)
    hub = server.app.state.hub
    written: list[str] = []
    for n in range(400):
        if hub.slow_drops:
            break
        note = str(uuid.uuid4())
        try:
            await writer.command("annotation.create", mid, id=note, document_id=doc["id"],
                                 page=1, kind="ink", visibility="shared", data=big_stroke(n))
        except CommandFailed as error:
            assert error.code == "rate_limited"
            await asyncio.sleep(0.2)
            continue
        written.append(note)
    assert hub.slow_drops == 1, "the stalled tablet was never dropped"
    # The others were not held back: the watcher has every stroke.
    await wait_for(lambda: len(watcher.named("annotation.created")) == len(written),
                   what="the watcher to have every stroke")

    # The tablet wakes up: it reads what reached it, then finds the socket closed.
    seen: set[str] = set()
    try:
        async with asyncio.timeout(30):
            async for raw in stalled:
                frame = json.loads(raw)
                if frame.get("name") == "annotation.created":
                    seen.add(frame["data"]["id"])
                    last_seq = frame["seq"]
    except ConnectionClosed:
        pass
    assert stalled.close_code == CLOSE_SLOW
    assert set(written) - seen, "the tablet should have missed strokes while stalled"
    # It reconnects and replays from the last event it saw: nothing is missing.
    back = await sign_in(server, "dbieu2")
    await back.command("meeting.join", mid, last_seq=last_seq)
    seen |= {e["data"]["id"] for e in back.named("annotation.created")}
    assert set(written) <= seen
    for client in (writer, watcher, back):
        await client.close()
