"""Live page-turn fan-out over websockets: phonghop against a bare send loop, in one run.

    .venv/bin/python bench/fanout.py [--sizes 100,500,1000] [--turns 50] [--quick]

Three server configurations, in fresh processes for every size N:
  bare     bench/fanout_bare.py: a set of sockets and a plain `await send_text` loop,
           under uvicorn with the server's own websocket options;
  memory   `phonghop serve`, one process, in-process broker, SQLite;
  redis    `phonghop serve` twice (two ports), Redis pub/sub, one scratch PostgreSQL
           database; the chair is on process A, the followers are split over A and B.
For each, one client process (this one) opens N followers and a chair. The chair turns
pages one at a time and waits until all N followers have the page; a turn's latency is
the chair's send to the last follower's receipt (time.perf_counter, this process). The
three are up at once and take turns in batches, so that the machine's drift hits each
alike; "client CPU" says how busy this process was: near 100% it, not the server, would
set the latency.
Server CPU is read from /proc before and after the turns and divided by turns x N;
memory per idle connection is the server RSS grown by connecting and joining N sockets.
Then, phonghop only: shared ink (annotation.create) from 3 sockets into 200 followers,
every stroke counted at every follower; and a follower that stops reading, which must be
closed (4008) while the others' latency stays as it was.

Ratios against bare, measured in the same run, are the result: the machine is shared and
noisy. The last line is `RESULT key=value ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import uvloop

from server.security.credentials import new_secret

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the C extension is missing
    from websockets.utils import apply_mask

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
PAGES = 20  # of the bench document; successive turns always show another page
TURN_GAP = 0.03  # seconds from one turn's send to the next: keeps the chair under its limit
OPEN_AT_ONCE = 50  # sockets connecting and joining concurrently
INK_SENDERS = 3
INK_POINTS = 30
SLOW_FOLLOWERS = 50
FILL_RATE = 50.0  # ink.progress frames/s per filler socket: well below saturating the
# server here, or the page turns would queue behind the filler whether a client stalls or not
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_RE = re.compile(rb'"page":(\d+)')
STROKE_RE = re.compile(rb'"annotation\.created","data":\{"id":"([^"]+)"')


# ---- a lean websocket client ------------------------------------------------------------

Sink = Callable[["WsClient", bytes], None]


class WsClient(asyncio.Protocol):
    """One websocket, framed by hand.

    The client's receive cost is part of every latency measured. The websockets library
    spends several times the server's per-frame send cost, so with it the clients, not
    the server, would set the latency of all three configurations alike and hide the
    difference this bench is for.
    """

    def __init__(self, sink: Sink | None) -> None:
        loop = asyncio.get_running_loop()
        self.sink = sink  # called with every event frame
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded: asyncio.Future[None] = loop.create_future()
        self.hello: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[int] = loop.create_future()
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.frames = 0
        self._ids = itertools.count(1)
        self._prefix = uuid.uuid4().hex[:12]

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def connection_lost(self, exc: Exception | None) -> None:
        for future in (self.upgraded, self.hello):
            if not future.done():
                future.set_exception(ConnectionError("the server closed the connection"))
        if not self.closed.done():
            self.closed.set_result(1006)

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        if not self.upgraded.done() and not self._handshake():
            return
        pos, end_of_data = 0, len(buf)
        while end_of_data - pos >= 2:
            head, size, start = buf[pos], buf[pos + 1] & 0x7F, pos + 2
            if size == 126:
                size, start = int.from_bytes(buf[pos + 2:pos + 4]), pos + 4
            elif size == 127:
                size, start = int.from_bytes(buf[pos + 2:pos + 10]), pos + 10
            if start + size > end_of_data:
                break
            # Server frames are unmasked, and uvicorn never fragments a message.
            self._frame(head & 0x0F, bytes(buf[start:start + size]))
            pos = start + size
        del buf[:pos]

    def _handshake(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        status = bytes(self.buffer[:end]).split(b"\r\n", 1)[0]
        del self.buffer[:end + 4]
        if not status.startswith(b"HTTP/1.1 101"):
            self.upgraded.set_exception(ConnectionError(status.decode(errors="replace")))
            return False
        self.upgraded.set_result(None)
        return True

    def _frame(self, opcode: int, payload: bytes) -> None:
        self.frames += 1
        if opcode == 0x1:
            if payload.startswith(b'{"type":"event"'):
                if self.sink is not None:
                    self.sink(self, payload)
            elif payload.startswith(b'{"type":"result"'):
                frame = json.loads(payload)
                future = self.pending.pop(frame["id"], None)
                if future is not None and not future.done():
                    future.set_result(frame)
            elif payload.startswith(b'{"type":"hello"') and not self.hello.done():
                self.hello.set_result(None)
        elif opcode == 0x8:
            code = int.from_bytes(payload[:2]) if len(payload) >= 2 else 1005
            if not self.closed.done():
                self.closed.set_result(code)
            self._send(0x8, payload[:2])
            assert self.transport is not None
            self.transport.close()
        elif opcode == 0x9:
            self._send(0xA, payload)  # uvicorn pings every 20 s and drops the silent

    # -- sending

    def _send(self, opcode: int, payload: bytes) -> None:
        assert self.transport is not None
        if self.transport.is_closing():
            return
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0xFE, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0xFF, n)
        mask = os.urandom(4)
        self.transport.write(head + mask + apply_mask(payload, mask))

    def send_text(self, text: str) -> None:
        self._send(0x1, text.encode())

    def send_command(self, cmd: str, meeting_id: int, args: dict[str, Any]
                     ) -> asyncio.Future[dict[str, Any]]:
        """Send a command now; the future gets its result frame."""
        # Unique across sockets and runs: the server answers a (user, id) it has seen
        # with the first attempt's result and applies nothing.
        command_id = f"{self._prefix}{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[command_id] = future
        self.send_text(json.dumps({"id": command_id, "cmd": cmd, "meeting_id": meeting_id,
                                   "args": args}, separators=(",", ":")))
        return future

    async def command(self, cmd: str, meeting_id: int, **args: Any) -> dict[str, Any]:
        frame = await asyncio.wait_for(self.send_command(cmd, meeting_id, args), 60)
        if not frame["ok"]:
            raise RuntimeError(f"{cmd} failed: {frame['error']}")
        return dict(frame["data"])

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


async def open_socket(port: int, token: str | None, sink: Sink | None = None,
                      rcvbuf: int | None = None) -> WsClient:
    """Connect, upgrade (bearer token, no Origin) and wait for the hello frame."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:  # before connecting, so the window is small from the start
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    _, client = await loop.create_connection(lambda: WsClient(sink), sock=sock)
    key = base64.b64encode(os.urandom(16)).decode()
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    assert client.transport is not None
    client.transport.write(
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"{auth}\r\n".encode())
    await asyncio.wait_for(client.upgraded, 60)
    await asyncio.wait_for(client.hello, 60)
    return client


# ---- the database: one meeting, a chair, delegates with bearer tokens --------------------

@dataclass(frozen=True)
class Roster:
    meeting_id: int
    document_id: int
    chair: str  # bearer token
    delegates: list[str]


async def prepare_database(url: str, delegates: int, secret_key: str) -> Roster:
    """Migrate, then write the meeting's rows directly: no HTTP logins, no PDF."""
    from server.db.engine import Database
    from server.db.models import (
        Credential,
        CredentialKind,
        Document,
        DocumentFile,
        IntakeState,
        Meeting,
        MeetingStatus,
        Participant,
        Role,
        User,
    )
    from server.security.credentials import hash_secret

    db = Database(url)
    try:
        await db.migrate()
        async with db.write() as session:
            users = [User(username=f"bench{i}", full_name=f"Đại biểu {i}")
                     for i in range(delegates + 1)]
            meeting = Meeting(title="Bench fan-out", status=MeetingStatus.PUBLISHED)
            session.add_all([*users, meeting])
            await session.flush()
            file = DocumentFile(sha256=uuid.uuid4().hex * 2, size=1, page_count=PAGES,
                                pages=[{"width": 595, "height": 842, "rotation": 0}] * PAGES,
                                state=IntakeState.READY, pages_ready=PAGES)
            session.add(file)
            await session.flush()
            document = Document(meeting_id=meeting.id, sha256=file.sha256, title="Bench",
                                original_filename="bench.pdf")
            session.add(document)
            session.add_all(Participant(meeting_id=meeting.id, user_id=user.id,
                                        role=Role.CHAIR if i == 0 else Role.DELEGATE)
                            for i, user in enumerate(users))
            # What CredentialStore.issue writes, in one transaction instead of thousands.
            tokens = [new_secret() for _ in users]
            session.add_all(Credential(token_hash=hash_secret(token, secret_key.encode()),
                                       user_id=user.id,
                                       kind=CredentialKind.BEARER, label="bench")
                            for token, user in zip(tokens, users, strict=True))
            await session.flush()
            return Roster(meeting.id, document.id, tokens[0], tokens[1:])
    finally:
        await db.dispose()


async def create_pg_database(name: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def drop_pg_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# ---- server processes -------------------------------------------------------------------

@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime

    def rss_kib(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

    def kill(self) -> None:
        # The group: phonghop's render workers go with it. Nothing is kept, so no grace.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(argv: list[str], env: dict[str, str], log: Path) -> Server:
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen([*argv, str(port)], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    return Server(process, port)


async def wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + 90
    async with httpx.AsyncClient(timeout=5) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise SystemExit(f"server on port {server.port} exited during start-up")
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"http://127.0.0.1:{server.port}/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise SystemExit(f"server on port {server.port} did not start")


@dataclass
class Config:
    """A server configuration: how to start its processes, and whom to log in as."""

    name: str
    processes: int
    env: dict[str, str] | None  # None: the bare baseline
    roster: Roster | None
    work: Path

    def argv(self) -> list[str]:
        if self.env is None:
            return [sys.executable, str(ROOT / "bench" / "fanout_bare.py")]
        return [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port"]

    async def start(self) -> list[Server]:
        env = dict(self.env or {k: v for k, v in os.environ.items()
                                if k not in ("DATABASE_URL", "REDIS_URL")})
        env["PYTHONPATH"] = str(ROOT)
        servers: list[Server] = []
        try:
            for i in range(self.processes):
                data = self.work / f"{self.name}-{i}"
                data.mkdir(exist_ok=True)
                servers.append(spawn(self.argv(), {**env, "PHONGHOP_DATA_DIR": str(data)},
                                     self.work / f"{self.name}-{i}.log"))
            for server in servers:
                await wait_healthy(server)
        except BaseException:
            for server in servers:
                server.kill()
            raise
        return servers

    def token(self, delegate: int) -> str | None:
        return self.roster.delegates[delegate] if self.roster else None


def phonghop_env(database_url: str, secret_key: str, redis: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATABASE_URL=database_url, PHONGHOP_RENDER_WORKERS="1",
               PHONGHOP_SECRET_KEY=secret_key)
    if redis:
        # Redis channels are global to the Redis server: keep other runs' meetings out.
        env.update(REDIS_URL=REDIS_URL, PHONGHOP_REDIS_PREFIX=f"phonghop-bench-{os.getpid()}")
    return env


# ---- one meeting room: servers, a chair and followers ------------------------------------

@dataclass
class Room:
    config: Config
    servers: list[Server]
    chair: WsClient
    followers: list[WsClient] = field(default_factory=list)

    async def join(self, client: WsClient) -> dict[str, Any]:
        if self.config.roster is None:
            return {}  # bare: a socket is in the set once it has its hello
        return await client.command("meeting.join", self.config.roster.meeting_id)

    async def open(self, delegates: range, sink: Sink | None, *, spread: bool = True
                   ) -> list[WsClient]:
        """Open and join sockets for these delegates, round-robin over the processes."""
        gate = asyncio.Semaphore(OPEN_AT_ONCE)

        async def one(i: int) -> WsClient:
            async with gate:
                port = self.servers[i % len(self.servers) if spread else 0].port
                client = await open_socket(port, self.config.token(i), sink)
                await self.join(client)
                return client

        return list(await asyncio.gather(*(one(i) for i in delegates)))

    def clients(self) -> Iterator[WsClient]:
        yield self.chair
        yield from self.followers

    async def settle(self, quiet: float = 0.5, limit: float = 60) -> None:
        """Wait until no frame has arrived for `quiet` seconds (the presence burst after
        many joins), so that it is not measured as part of a page turn."""
        deadline = time.monotonic() + limit
        last = -1
        while time.monotonic() < deadline:
            count = sum(c.frames for c in self.clients())
            if count == last:
                return
            last = count
            await asyncio.sleep(quiet)

    def rss_kib(self) -> int:
        return sum(s.rss_kib() for s in self.servers)

    def cpu_seconds(self) -> float:
        return sum(s.cpu_seconds() for s in self.servers)

    def turn(self, page: int, seq: int) -> asyncio.Future[dict[str, Any]] | None:
        """The chair shows a page; phonghop answers with a result, bare does not."""
        roster = self.config.roster
        if roster is None:  # the frame phonghop would send for this turn, sent as is
            self.chair.send_text(json.dumps({
                "type": "event", "meeting_id": 1, "seq": seq, "name": "presentation.changed",
                "data": {"presenter_id": 1, "document_id": 1, "page": page, "zoom": 1.0,
                         "viewport": None, "agenda_item_id": None}},
                separators=(",", ":")))
            return None
        return self.chair.send_command("presentation.show", roster.meeting_id,
                                       {"document_id": roster.document_id, "page": page})


@contextlib.asynccontextmanager
async def room(config: Config, chair_sink: Sink | None = None) -> AsyncIterator[Room]:
    servers = await config.start()
    the_room: Room | None = None
    try:
        chair = await open_socket(servers[0].port, config.roster.chair if config.roster
                                  else None, chair_sink)
        the_room = Room(config, servers, chair)
        await the_room.join(chair)
        yield the_room
    finally:
        for server in servers:  # first: closing 1000 sockets one by one would cost the
            server.kill()       # server O(N^2) presence frames that nobody measures
        for client in the_room.clients() if the_room else ():
            client.abort()


# ---- page turns -------------------------------------------------------------------------

class TurnCounter:
    """Counts the followers that have the page now being turned to."""

    def __init__(self, followers: int) -> None:
        self.followers = followers
        self.page = 0
        self.count = 0
        self.done: asyncio.Future[float] | None = None

    def expect(self, page: int) -> asyncio.Future[float]:
        self.page, self.count = page, 0
        self.done = asyncio.get_running_loop().create_future()
        return self.done

    def __call__(self, client: WsClient, payload: bytes) -> None:
        if b'"presentation.changed"' not in payload:
            return
        match = PAGE_RE.search(payload)
        if match is None or int(match[1]) != self.page:
            return
        self.count += 1
        if self.count == self.followers and self.done is not None:
            self.done.set_result(time.perf_counter())


@dataclass
class TurnResult:
    config: str
    n: int
    latencies: list[float]
    cpu_us: float  # server CPU per delivered message
    mem_kib: float  # server RSS per idle connection
    client_load: float  # this process's CPU time / wall time during the turns

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) * 1e3


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


async def run_turns(the_room: Room, counter: TurnCounter, turns: int, start: int = 0
                    ) -> list[float]:
    """Turn pages one at a time, each once every follower has the previous one."""
    latencies = []
    for k in range(start, start + turns):
        page = k % PAGES + 1
        done = counter.expect(page)
        sent = time.perf_counter()
        reply = the_room.turn(page, k)
        try:
            last = await asyncio.wait_for(done, 30)
        except TimeoutError:
            closed = [c.closed.result() for c in the_room.followers if c.closed.done()]
            raise RuntimeError(f"{the_room.config.name}: page {page} reached {counter.count} "
                               f"of {counter.followers} followers in 30 s; closed sockets' "
                               f"codes: {closed}; reply: {reply}") from None
        if reply is not None:
            frame = await asyncio.wait_for(reply, 30)
            if not frame["ok"]:
                raise RuntimeError(f"presentation.show failed: {frame['error']}")
        latencies.append(last - sent)
        await asyncio.sleep(max(0.0, sent + TURN_GAP - time.perf_counter()))
    return latencies


@dataclass
class Measured:
    """One configuration's room during the page-turn test, and what it has cost so far."""

    room: Room
    counter: TurnCounter
    mem_kib: float
    latencies: list[float] = field(default_factory=list)
    cpu: float = 0.0
    own: float = 0.0  # this process's CPU seconds during the turns
    wall: float = 0.0

    async def batch(self, turns: int, start: int) -> None:
        cpu, own, wall = self.room.cpu_seconds(), time.process_time(), time.perf_counter()
        self.latencies += await run_turns(self.room, self.counter, turns, start)
        self.cpu += self.room.cpu_seconds() - cpu
        self.own += time.process_time() - own
        self.wall += time.perf_counter() - wall

    def result(self, n: int) -> TurnResult:
        return TurnResult(self.room.config.name, n, self.latencies,
                          self.cpu / (len(self.latencies) * n) * 1e6, self.mem_kib,
                          self.own / self.wall)


async def page_turns(configs: list[Config], n: int, turns: int, warmup: int, batch: int
                     ) -> list[TurnResult]:
    """All configurations up at once, their turns interleaved batch by batch: the load
    of this shared machine swings within minutes, and must hit every side alike."""
    async with contextlib.AsyncExitStack() as stack:
        measured = []
        for config in configs:
            the_room = await stack.enter_async_context(room(config))
            counter = TurnCounter(n)
            await the_room.settle()
            rss_before = the_room.rss_kib()
            the_room.followers = await the_room.open(range(n), counter)
            await the_room.settle()
            measured.append(Measured(the_room, counter, (the_room.rss_kib() - rss_before) / n))
        for m in measured:
            await run_turns(m.room, m.counter, warmup)
        for start in range(warmup, warmup + turns, batch):
            for m in measured:
                await m.batch(min(batch, warmup + turns - start), start)
        return [m.result(n) for m in measured]


# ---- shared ink -------------------------------------------------------------------------

class InkCounter:
    """Which follower has which stroke, and when the last follower got each one."""

    def __init__(self, followers: int) -> None:
        self.followers = followers
        self.sent: dict[bytes, float] = {}
        self.got: dict[WsClient, set[bytes]] = {}
        self.counts: dict[bytes, int] = {}
        self.complete: dict[bytes, float] = {}

    def __call__(self, client: WsClient, payload: bytes) -> None:
        match = STROKE_RE.search(payload)
        if match is None:
            return
        stroke = match[1]
        self.got.setdefault(client, set()).add(stroke)
        count = self.counts[stroke] = self.counts.get(stroke, 0) + 1
        if count == self.followers:
            self.complete[stroke] = time.perf_counter()


@dataclass
class InkResult:
    config: str
    followers: int
    sent: int
    rejected: int
    lost: int  # (follower, stroke) pairs that never arrived
    rate: float  # strokes/s fully delivered
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # server CPU per stroke (all its deliveries): the headroom left


def stroke(i: int) -> list[list[float]]:
    return [[100.0 + 3 * j + i % 50, 200.0 + 2 * j, 0.5] for j in range(INK_POINTS)]


async def shared_ink(config: Config, followers: int, rate: float, seconds: float) -> InkResult:
    assert config.roster is not None
    roster = config.roster
    counter = InkCounter(followers)
    async with room(config) as the_room:
        the_room.followers = await the_room.open(range(followers), counter)
        # The chair's socket would do, but 3 writers look more like a meeting and keep
        # each socket far below its 50 commands/s.
        first = len(roster.delegates) - INK_SENDERS
        senders = await the_room.open(range(first, first + INK_SENDERS), None, spread=False)
        the_room.followers += senders
        await the_room.settle()
        replies = []
        cpu, start = the_room.cpu_seconds(), time.perf_counter()
        for i in range(round(rate * seconds)):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            stroke_id = str(uuid.uuid4())
            counter.sent[stroke_id.encode()] = time.perf_counter()
            replies.append(senders[i % INK_SENDERS].send_command("annotation.create",
                roster.meeting_id, {"id": stroke_id, "document_id": roster.document_id,
                                    "page": 1, "kind": "ink", "visibility": "shared",
                                    "data": {"tool": "pen", "color": "#c0392b", "width": 2,
                                             "points": stroke(i)}}))
        deadline = time.monotonic() + 30
        while len(counter.complete) < len(counter.sent) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        cpu = the_room.cpu_seconds() - cpu
        done, _ = await asyncio.wait(replies, timeout=10)
        rejected = sum(1 for r in replies if r not in done or not r.result()["ok"])
        lost = sum(len(counter.sent.keys() - counter.got.get(f, set()))
                   for f in the_room.followers[:followers])
    latencies = [counter.complete[s] - counter.sent[s] for s in counter.complete]
    # Delivery throughput: strokes completed per second between the first and the last.
    ends = sorted(counter.complete.values())
    achieved = (len(ends) - 1) / (ends[-1] - ends[0]) if len(ends) > 1 else 0.0
    return InkResult(config.name, followers, len(counter.sent), rejected, lost, achieved,
                     percentile(latencies, 0.5) * 1e3, percentile(latencies, 0.99) * 1e3,
                     cpu / len(counter.sent) * 1e3)


# ---- a follower that stops reading -------------------------------------------------------

@dataclass
class SlowResult:
    p99_without_ms: float
    p99_with_ms: float
    close_code: int | None
    dropped_after_s: float | None  # from pausing its reads to the others seeing it leave


async def slow_client(config: Config, turns: int) -> SlowResult:
    """Turn pages with steady live-ink traffic, first without, then with a follower
    that joined and stopped reading; the server must drop it and nobody else may wait."""
    assert config.roster is not None
    roster = config.roster
    counter = TurnCounter(SLOW_FOLLOWERS)
    left: dict[str, float] = {}

    def watch_leaving(client: WsClient, payload: bytes) -> None:
        if b'"presence.left"' in payload:
            left[json.loads(payload)["data"]["key"]] = time.perf_counter()

    async with room(config, watch_leaving) as the_room:
        the_room.followers = await the_room.open(range(SLOW_FOLLOWERS), counter)
        first = len(roster.delegates) - 2
        fillers = await the_room.open(range(first, first + 2), None, spread=False)
        the_room.followers += fillers
        await the_room.settle()
        filling = asyncio.create_task(fill(fillers, roster, per_socket=FILL_RATE))
        try:
            without = await run_turns(the_room, counter, turns)
            stalled = await open_socket(the_room.servers[0].port,
                                        config.token(SLOW_FOLLOWERS), rcvbuf=4096)
            the_room.followers.append(stalled)  # closed with the room
            joined = await the_room.join(stalled)
            key = next(e["key"] for e in joined["presence"]
                       if e["username"] == f"bench{SLOW_FOLLOWERS + 1}")
            assert stalled.transport is not None
            stalled.transport.pause_reading()
            paused = time.perf_counter()
            with_stalled: list[float] = []
            deadline = time.monotonic() + 30
            while (len(with_stalled) < turns or key not in left) and time.monotonic() < deadline:
                with_stalled += await run_turns(the_room, counter, 10,
                                                start=turns + len(with_stalled))
        finally:
            filling.cancel()
            await asyncio.gather(filling, return_exceptions=True)
        stalled.transport.resume_reading()  # read what was sent, then the close frame
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(stalled.closed), 15)
    return SlowResult(percentile(without, 0.99) * 1e3, percentile(with_stalled, 0.99) * 1e3,
                      stalled.closed.result() if stalled.closed.done() else None,
                      left[key] - paused if key in left else None)


async def fill(senders: list[WsClient], roster: Roster, per_socket: float) -> None:
    """Strokes being drawn (ink.progress, ~6 KiB each): traffic that fills a stalled
    socket's buffers (MiBs in the kernel, then 512 frames) in seconds, not minutes."""
    points = [[100.0 + i, 200.0 + i, 0.5] for i in range(200)]
    start = time.perf_counter()
    for i in itertools.count():
        await asyncio.sleep(max(0.0, start + i / per_socket - time.perf_counter()))
        for sender in senders:
            sender.send_text(json.dumps({
                "id": f"f{i}", "cmd": "ink.progress", "meeting_id": roster.meeting_id,
                "args": {"stroke_id": f"s{i // 20}", "document_id": roster.document_id,
                         "page": 1, "points": points}}, separators=(",", ":")))


# ---- the report -------------------------------------------------------------------------

def report(turns: list[TurnResult], ink: list[InkResult], slow: SlowResult | None) -> None:
    print("\npage turns: chair's send to the last follower's receipt")
    print(f"{'config':<8} {'N':>5} {'p50 ms':>8} {'p99 ms':>8} {'CPU µs/deliv':>13} "
          f"{'KiB/conn':>9} {'client CPU':>11}")
    for r in turns:
        print(f"{r.config:<8} {r.n:>5} {r.p(0.5):>8.1f} {r.p(0.99):>8.1f} {r.cpu_us:>13.1f} "
              f"{r.mem_kib:>9.1f} {r.client_load:>10.0%}")
    bare = {r.n: r for r in turns if r.config == "bare"}
    keys: dict[str, str] = {}
    print("\nratios against bare (same run)")
    print(f"{'config':<8} {'N':>5} {'p50':>6} {'p99':>6} {'CPU/deliv':>10}")
    for r in turns:
        base = bare.get(r.n)
        if r.config == "bare" or base is None:
            continue
        p99, cpu = r.p(0.99) / base.p(0.99), r.cpu_us / base.cpu_us
        print(f"{r.config:<8} {r.n:>5} {r.p(0.5) / base.p(0.5):>6.2f} {p99:>6.2f} {cpu:>10.2f}")
        keys[f"p99_ratio_{r.config}_{r.n}"] = f"{p99:.2f}"
        keys[f"cpu_ratio_{r.config}_{r.n}"] = f"{cpu:.2f}"
    for r in turns:  # absolute figures at the largest N only: the ratios carry the rest
        if r.n == max(t.n for t in turns):
            keys[f"p99_ms_{r.config}_{r.n}"] = f"{r.p(0.99):.1f}"
            keys[f"mem_kib_per_conn_{r.config}_{r.n}"] = f"{r.mem_kib:.1f}"
    if ink:
        print("\nshared ink: annotation.create from 3 sockets; every stroke to every follower")
        print(f"{'config':<8} {'followers':>9} {'strokes':>8} {'rejected':>8} {'lost':>5} "
              f"{'strokes/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/stroke':>13}")
        for i in ink:
            print(f"{i.config:<8} {i.followers:>9} {i.sent:>8} {i.rejected:>8} {i.lost:>5} "
                  f"{i.rate:>9.1f} {i.p50_ms:>7.1f} {i.p99_ms:>7.1f} {i.cpu_ms:>13.2f}")
            keys[f"ink_rate_{i.config}"] = f"{i.rate:.1f}"
            keys[f"ink_p99_ms_{i.config}"] = f"{i.p99_ms:.1f}"
            keys[f"ink_cpu_ms_per_stroke_{i.config}"] = f"{i.cpu_ms:.2f}"
        keys["ink_lost"] = str(sum(i.lost + i.rejected for i in ink))
    if slow is not None:
        dropped = f"{slow.dropped_after_s:.1f} s" if slow.dropped_after_s else "never"
        print(f"\nslow client (memory, {SLOW_FOLLOWERS} followers + live ink): p99 without "
              f"{slow.p99_without_ms:.1f} ms, with a stalled follower {slow.p99_with_ms:.1f} ms; "
              f"it was dropped after {dropped}, close code {slow.close_code}")
        keys["slow_p99_ratio"] = f"{slow.p99_with_ms / slow.p99_without_ms:.2f}"
        keys["slow_close_code"] = str(slow.close_code)
    print("RESULT " + " ".join(f"{k}={v}" for k, v in keys.items()))


# ---- main -------------------------------------------------------------------------------

async def run(args: argparse.Namespace) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    names = args.configs.split(",")
    delegates = max(*sizes, args.ink_followers, SLOW_FOLLOWERS + 1) + INK_SENDERS
    work = Path(tempfile.mkdtemp(prefix="phonghop-fanout-"))
    pg_name = f"phonghop_fanout_{os.getpid()}"
    pg_created = False
    secret_key = new_secret()  # keys the stored token hashes, here and in the servers
    try:
        configs: dict[str, Config] = {"bare": Config("bare", 1, None, None, work)}
        if "memory" in names:
            url = f"sqlite+aiosqlite:///{work / 'memory.db'}"
            configs["memory"] = Config("memory", 1, phonghop_env(url, secret_key, redis=False),
                                       await prepare_database(url, delegates, secret_key),
                                       work)
        if "redis" in names:
            url = await create_pg_database(pg_name)
            pg_created = True
            configs["redis"] = Config("redis", 2, phonghop_env(url, secret_key, redis=True),
                                      await prepare_database(url, delegates, secret_key),
                                      work)
        turns: list[TurnResult] = []
        for n in sizes:
            for result in await page_turns([configs[name] for name in names], n,
                                           args.turns, args.warmup, args.batch):
                print(f"  {result.config:<7} N={n:<5} p50 {result.p(0.5):6.1f} ms  p99 "
                      f"{result.p(0.99):6.1f} ms  {result.cpu_us:5.1f} µs/delivery  "
                      f"{result.mem_kib:5.1f} KiB/conn  client CPU {result.client_load:.0%}",
                      flush=True)
                turns.append(result)
        ink: list[InkResult] = []
        for name in [n for n in names if n != "bare"] if args.ink_seconds > 0 else []:
            ink.append(await shared_ink(configs[name], args.ink_followers, args.ink_rate,
                                        args.ink_seconds))
            print(f"  ink {name}: {ink[-1]}", flush=True)
        slow = None
        if "memory" in names and not args.no_slow:
            slow = await slow_client(configs["memory"], args.turns)
            print(f"  slow client: {slow}", flush=True)
        report(turns, ink, slow)
    except BaseException:
        print(f"failed; the servers' logs are kept in {work}", file=sys.stderr)
        raise
    else:
        shutil.rmtree(work, ignore_errors=True)
    finally:
        if pg_created:
            await drop_pg_database(pg_name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,500,1000", help="followers per run")
    parser.add_argument("--turns", type=int, default=50, help="timed page turns per run")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch", type=int, default=10,
                        help="turns per configuration before the next one takes its turn")
    parser.add_argument("--configs", default="bare,memory,redis")
    parser.add_argument("--ink-followers", type=int, default=200)
    parser.add_argument("--ink-rate", type=float, default=50.0, help="strokes/s offered")
    parser.add_argument("--ink-seconds", type=float, default=10.0, help="0 skips the ink test")
    parser.add_argument("--no-slow", action="store_true", help="skip the slow-client test")
    parser.add_argument("--quick", action="store_true",
                        help="N=100 only, 20 turns, 3 s of ink: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.turns, args.ink_seconds = "100", 20, min(args.ink_seconds, 3.0)
    if "bare" not in args.configs.split(","):
        parser.error("--configs must include bare: every ratio is against it")
    # One socket per follower here and in the servers (which inherit the limit).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    uvloop.run(run(args))


if __name__ == "__main__":
    main()
