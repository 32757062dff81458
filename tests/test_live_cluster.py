"""Several server processes behind one Redis and one database, and what goes wrong there:
a process killed with SIGKILL, Redis restarted mid-session."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from server.config import Settings
from server.db.engine import Database
from server.db.models import Annotation, Document
from server.runtime import open_services
from server.services.agenda_import import import_folder
from server.services.users import ensure_user
from tests.conftest import PASSWORD, free_port
from tests.helpers import (
    Client,
    CommandFailed,
    ConnectionLost,
    LiveClient,
    make_meeting_folder,
    wait_for,
)

pytestmark = pytest.mark.slow
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


class ServerProcess:
    """`phonghop serve` as a real process of its own."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT)
        async with httpx.AsyncClient(base_url=self.url) as http:
            async def healthy() -> bool:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise AssertionError(self.log.read_text())
                try:
                    return (await http.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_for(healthy, timeout=60, interval=0.1, what=f"server on {self.port}")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Cluster:
    a: ServerProcess
    b: ServerProcess
    meeting_id: int
    document_id: int

    async def signed_in(self, server: ServerProcess, username: str) -> tuple[LiveClient, str]:
        async with Client(server.url) as client:
            response = await client.login(username, PASSWORD)
            assert response.status_code == 200, response.text
            cookie = "; ".join(f"{k}={v}" for k, v in client.http.cookies.items())
        live = await LiveClient.open(server.url, headers={"Cookie": cookie})
        return live, cookie


async def prepare(tmp_path: Path, database_url: str) -> tuple[Settings, int, int]:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url,
                        render_workers=1)
    async with open_services(settings) as svc:
        result = await import_folder(svc, make_meeting_folder(tmp_path / "hop", "hop-c", ""),
                                     render=False)
        async with svc.db.write() as session:
            for username in result.usernames:
                await ensure_user(session, username, "", password=PASSWORD)
    db = Database(database_url)
    async with db.read() as session:
        document_id = (await session.execute(select(Document.id).where(
            Document.meeting_id == result.meeting_id, Document.guest_visible))).scalar_one()
    await db.dispose()
    return settings, result.meeting_id, document_id


def server_env(settings: Settings, redis_url: str, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATABASE_URL=settings.database_url, REDIS_URL=redis_url,
               PHONGHOP_DATA_DIR=str(settings.data_dir), PHONGHOP_REDIS_PREFIX=prefix,
               PHONGHOP_RENDER_WORKERS="1", PHONGHOP_SECRET_KEY="cluster-test")
    return env


@contextlib.asynccontextmanager
async def running_cluster(tmp_path: Path, database_url: str, redis_url: str
                          ) -> AsyncIterator[Cluster]:
    """Two server processes on one database and one Redis, with a prepared meeting."""
    settings, meeting_id, document_id = await prepare(tmp_path, database_url)
    env = server_env(settings, redis_url, f"t{uuid.uuid4().hex[:10]}")
    a, b = ServerProcess(env, tmp_path / "a.log"), ServerProcess(env, tmp_path / "b.log")
    try:
        await asyncio.gather(a.start(), b.start())
        yield Cluster(a, b, meeting_id, document_id)
    finally:
        a.stop()
        b.stop()


@pytest.fixture
async def cluster(tmp_path: Path, database_url: str) -> AsyncIterator[Cluster]:
    async with running_cluster(tmp_path, database_url, REDIS_URL) as running:
        yield running


def shared_ink(annotation_id: str, document_id: int, n: int = 0) -> dict[str, Any]:
    return {"id": annotation_id, "document_id": document_id, "page": 1, "kind": "ink",
            "visibility": "shared",
            "data": {"tool": "pen", "color": "#1f3a93", "width": 2,
                     "points": [[10 + n % 50, 20, 0.5], [30, 40 + n % 50, 0.7]]}}


def contiguous(seqs: list[int]) -> bool:
    return seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True


async def test_page_turns_and_shared_ink_cross_between_processes_in_order(
    cluster: Cluster,
) -> None:
    mid, doc = cluster.meeting_id, cluster.document_id
    chair, _ = await cluster.signed_in(cluster.a, "chu")
    d1, _ = await cluster.signed_in(cluster.b, "dbieu1")
    d2, _ = await cluster.signed_in(cluster.b, "dbieu2")
    for client in (chair, d1, d2):
        await client.command("meeting.join", mid)
    ink_ids = []
    for page in range(1, 3):
        await chair.command("presentation.show", mid, document_id=doc, page=page)
        ink_ids.append(str(uuid.uuid4()))
        await d1.command("annotation.create", mid, **shared_ink(ink_ids[-1], doc))
    last = (await chair.command("presentation.show", mid, document_id=doc, page=1))["seq"]
    for client in (chair, d1, d2):
        await wait_for(lambda c=client: c.seqs(mid) and c.seqs(mid)[-1] == last,
                       what="every event everywhere")
        assert contiguous(client.seqs(mid)), client.seqs(mid)
    # Ink drawn on B reached the chair on A; page turns made on A reached B.
    assert [e["data"]["id"] for e in chair.named("annotation.created")] == ink_ids
    assert [e["data"]["page"] for e in d2.named("presentation.changed")] == [1, 2, 1]
    # Presence is the same from both processes.
    async def everyone_seen_from_b() -> bool:
        presence = (await d2.command("meeting.join", mid))["presence"]
        return {"chu", "dbieu1", "dbieu2"} <= {p["username"] for p in presence}

    await wait_for(everyone_seen_from_b, what="the chair on A in B's presence list")
    await chair.wait_event("presence.joined", lambda e: e["data"]["username"] == "dbieu2")
    for client in (chair, d1, d2):
        await client.close()


async def write_notes(cluster: Cluster, username: str, count: int, acked: list[int],
                      received: set[str]) -> list[str]:
    """Write `count` shared notes on A; when A dies, go on at B with replay and retry."""
    mid, doc = cluster.meeting_id, cluster.document_id
    ids = [str(uuid.uuid4()) for _ in range(count)]
    server = cluster.a
    live, _ = await cluster.signed_in(server, username)
    last_seq = (await live.command("meeting.join", mid))["seq"]
    n = 0
    while n < count:
        try:
            await live.command("annotation.create", mid, command_id=f"{username}-{n}",
                               **shared_ink(ids[n], doc, n))
            n += 1
            acked.append(1)
        except ConnectionLost:
            received.update(e["data"]["id"] for e in live.named("annotation.created"))
            last_seq = max([last_seq, *live.seqs(mid)])
            server = cluster.b
            live, _ = await cluster.signed_in(server, username)
            await live.command("meeting.join", mid, last_seq=last_seq)
        except CommandFailed as error:
            if error.code != "rate_limited":
                raise
            await asyncio.sleep(0.2)
    live_ids = {e["data"]["id"] for e in live.named("annotation.created")}
    received.update(live_ids)
    await live.close()
    return ids


async def test_a_killed_process_loses_nothing(cluster: Cluster, database_url: str) -> None:
    """kill -9 the server three writers are on: they go on at the other one, and every
    note is stored exactly once and reaches every other writer."""
    acked: list[int] = []
    received: dict[str, set[str]] = {name: set() for name in ("dbieu1", "dbieu2", "chu")}
    writers = [asyncio.create_task(write_notes(cluster, name, 200, acked, received[name]))
               for name in received]
    await wait_for(lambda: len(acked) >= 150, timeout=60, what="writing under way")
    assert cluster.a.process is not None
    dead = f"{cluster.a.process.pid}-"
    observer, _ = await cluster.signed_in(cluster.b, "dbieu1")
    await observer.command("meeting.join", cluster.meeting_id)

    async def on_a() -> int:
        presence = (await observer.command("meeting.join", cluster.meeting_id))["presence"]
        return sum(p["key"].startswith(dead) for p in presence)

    await wait_for(on_a, timeout=15, what="B to list the writers connected to A")
    cluster.a.kill()
    written = dict(zip(received, await asyncio.gather(*writers), strict=True))

    db = Database(database_url)
    async with db.read() as session:
        stored = (await session.execute(select(Annotation.id))).scalars().all()
        assert (await session.execute(select(func.count(Annotation.id)))).scalar_one() == 600
    await db.dispose()
    assert sorted(stored) == sorted(i for ids in written.values() for i in ids)
    # Each writer saw every note of the others, live or by replay after reconnecting.
    # The people who were on the killed process leave the presence list by themselves.
    async def none_on_a() -> bool:
        return await on_a() == 0

    await wait_for(none_on_a, timeout=30, interval=0.5,
                   what="the killed process's presence to expire")
    for name, seen in received.items():
        others = {i for other, ids in written.items() if other != name for i in ids}
        missing = others - seen
        if missing:  # a writer that finished first stopped listening; replay proves delivery
            replay, _ = await cluster.signed_in(cluster.b, name)
            await replay.command("meeting.join", cluster.meeting_id, last_seq=0)
            seen |= {e["data"]["id"] for e in replay.named("annotation.created")}
            await replay.close()
        assert others <= seen, (name, len(others - seen))
    await observer.close()


async def start_redis(port: int, tmp_path: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def up() -> bool:
        reader_writer = None
        try:
            reader_writer = await asyncio.open_connection("127.0.0.1", port)
            return True
        except OSError:
            return False
        finally:
            if reader_writer:
                reader_writer[1].close()

    await wait_for(up, timeout=10, what="redis-server")
    return process


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[tuple[str, Any]]:
    """A redis-server of this test's own, which the test may stop and start again."""
    port = free_port()
    state = {"process": await start_redis(port, tmp_path)}

    async def restart() -> None:
        state["process"].terminate()
        state["process"].wait(10)
        await asyncio.sleep(0.5)
        state["process"] = await start_redis(port, tmp_path)

    try:
        yield f"redis://127.0.0.1:{port}/0", restart
    finally:
        state["process"].terminate()
        state["process"].wait(10)


async def test_a_redis_restart_loses_no_event(
    tmp_path: Path, database_url: str, own_redis: Any
) -> None:
    redis_url, restart = own_redis
    async with running_cluster(tmp_path, database_url, redis_url) as cluster:
        await turn_pages_through_a_restart(cluster, restart)


async def turn_pages_through_a_restart(cluster: Cluster, restart: Any) -> None:
    mid, doc = cluster.meeting_id, cluster.document_id
    chair, _ = await cluster.signed_in(cluster.a, "chu")
    followers = [(await cluster.signed_in(cluster.b, n))[0] for n in ("dbieu1", "dbieu2")]
    for client in (chair, *followers):
        await client.command("meeting.join", mid)
    first = None
    for page in range(1, 41):
        result = await chair.command("presentation.show", mid, document_id=doc,
                                     page=1 + page % 2)
        first = first or result["seq"]
        if page == 15:
            await restart()
    last = result["seq"]
    for client in followers:
        await wait_for(lambda c=client: c.seqs(mid) and c.seqs(mid)[-1] == last, timeout=20,
                       what="the followers to catch up")
        seqs = client.seqs(mid)
        assert seqs == list(range(first, last + 1)), seqs
    for client in (chair, *followers):
        await client.close()
