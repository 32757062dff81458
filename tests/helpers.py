"""Test helpers: a browser-like HTTP client, waiting on conditions, making PDFs and folders,
and a bare meeting row for tests below the HTTP layer."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pymupdf

from server.db.engine import Database
from server.db.models import Meeting


async def wait_for(
    condition: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.02,
    what: str = "condition",
) -> Any:
    """Poll until `condition()` (sync or async) is truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


class Client:
    """Speaks to the server as a browser does: session cookie plus the CSRF header."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30,
                                      headers={"Origin": base_url})
        self.csrf: str | None = None

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def login(self, username: str, password: str) -> httpx.Response:
        response = await self.http.post("/api/auth/login",
                                        json={"username": username, "password": password})
        if response.status_code == 200:
            self.csrf = response.json()["csrf_token"]
        return response

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        out = dict(headers or {})
        if self.csrf:
            out.setdefault("X-CSRF-Token", self.csrf)
        return out

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        return await self.http.get(url, **kw)

    async def post(self, url: str, headers: dict[str, str] | None = None, **kw: Any
                   ) -> httpx.Response:
        return await self.http.post(url, headers=self._headers(headers), **kw)

    async def patch(self, url: str, headers: dict[str, str] | None = None, **kw: Any
                    ) -> httpx.Response:
        return await self.http.patch(url, headers=self._headers(headers), **kw)

    async def put(self, url: str, headers: dict[str, str] | None = None, **kw: Any
                  ) -> httpx.Response:
        return await self.http.put(url, headers=self._headers(headers), **kw)

    async def delete(self, url: str, headers: dict[str, str] | None = None, **kw: Any
                     ) -> httpx.Response:
        return await self.http.delete(url, headers=self._headers(headers), **kw)

    async def upload(self, meeting_id: int, data: bytes, **params: Any) -> httpx.Response:
        return await self.post(f"/api/meetings/{meeting_id}/documents", content=data,
                               params=params, headers={"Content-Type": "application/pdf"})

    async def wait_ready(self, document_id: int, timeout: float = 60) -> dict[str, Any]:
        async def ready() -> dict[str, Any] | None:
            body = (await self.get(f"/api/documents/{document_id}")).json()
            return body if body["state"] in ("ready", "failed") else None

        return await wait_for(ready, timeout=timeout, what=f"document {document_id} rendered")


async def gather_ok(*calls: Awaitable[httpx.Response]) -> list[httpx.Response]:
    return list(await asyncio.gather(*calls))


def make_pdf(pages: list[str], *, size: tuple[float, float] = (595, 842)) -> bytes:
    """A small, real PDF with one line of (Vietnamese) text per page."""
    doc = pymupdf.open()
    font = pymupdf.Font("notos")  # Noto Sans, from pymupdf-fonts: has Vietnamese glyphs
    for text in pages:
        page = doc.new_page(width=size[0], height=size[1])
        page.insert_font(fontname="notos", fontbuffer=font.buffer)
        page.insert_text((72, 100), text, fontsize=18, fontname="notos")
    data = doc.tobytes(garbage=3, deflate=True)
    doc.close()
    return data


def make_meeting_folder(folder: Path, key: str, prefix: str) -> Path:
    """A meeting folder with every role, a guest-visible and a private document."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cong-khai.pdf").write_bytes(make_pdf([f"{key} public page one", "page two"]))
    (folder / "noi-bo.pdf").write_bytes(make_pdf([f"{key} internal report", "Nghi quyet"]))
    p = prefix
    (folder / "meeting.toml").write_text(textwrap.dedent(f"""
        [meeting]
        key = "{key}"
        title = "Kỳ họp thử {key}"
        starts_at = 2026-12-10T08:00:00+07:00
        place = "Hội trường"
        status = "published"

        [[sites]]
        key = "huyen"
        name = "Điểm cầu huyện"
        kind = "district"

        [[sites]]
        key = "xa"
        name = "Điểm cầu xã"
        kind = "commune"

        [[participants]]
        username = "{p}chu"
        full_name = "Chủ Tọa"
        role = "chair"
        site = "huyen"

        [[participants]]
        username = "{p}thu"
        full_name = "Thư Ký"
        role = "secretary"

        [[participants]]
        username = "{p}dbieu1"
        full_name = "Đại Biểu Một"
        role = "delegate"

        [[participants]]
        username = "{p}dbieu2"
        full_name = "Đại Biểu Hai"
        role = "delegate"

        [[participants]]
        username = "{p}khach"
        full_name = "Khách Mời"
        role = "guest"

        [[participants]]
        username = "{p}xa"
        full_name = "Điểm cầu xã"
        role = "site"
        site = "xa"

        [[agenda]]
        title = "Khai mạc"
        presenter = "{p}chu"
        duration_minutes = 10
        documents = [{{ file = "cong-khai.pdf", title = "Tài liệu công khai", guest_visible = true }}]

        [[agenda]]
        title = "Báo cáo"
        guest_visible = false
        documents = [{{ file = "noi-bo.pdf", title = "Báo cáo nội bộ" }}]

          [[agenda.items]]
          title = "Thảo luận"
          presenter = "{p}dbieu1"
    """))
    return folder


class CommandFailed(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error['code']}: {error['message']}")
        self.code = error["code"]
        self.error = error


class ConnectionLost(Exception):
    pass


class LiveClient:
    """A meeting websocket client: sends commands, collects results and events."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.results: dict[str, dict[str, Any]] = {}
        self.hello: dict[str, Any] | None = None
        self.closed_code: int | None = None
        self._ids = iter(range(1, 10**9))
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, base_url: str, client: Client | None = None, *,
                   headers: dict[str, str] | None = None, **options: Any) -> LiveClient:
        from websockets.asyncio.client import connect

        extra = dict(headers or {})
        if client is not None:
            extra["Cookie"] = "; ".join(f"{k}={v}" for k, v in client.http.cookies.items())
        ws = await connect(base_url.replace("http", "ws", 1) + "/ws", origin=base_url,
                           additional_headers=extra, compression=None, max_size=2**22,
                           **options)
        live = cls(ws)
        await wait_for(lambda: live.hello is not None or live.closed_code is not None,
                       what="hello")
        return live

    async def _read(self) -> None:
        import json

        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame["type"] == "hello":
                    self.hello = frame
                elif frame["type"] == "result":
                    self.results[frame["id"] or ""] = frame
                else:
                    self.events.append(frame)
        except ConnectionClosed:
            pass
        self.closed_code = self.ws.close_code

    def next_id(self) -> str:
        return f"c{next(self._ids)}"

    async def send_raw(self, text: str) -> None:
        await self.ws.send(text)

    async def command(self, cmd: str, meeting_id: int | None = None, *,
                      command_id: str | None = None, timeout: float = 15, **args: Any
                      ) -> dict[str, Any]:
        import json

        command_id = command_id or self.next_id()
        from websockets.exceptions import ConnectionClosed

        try:
            await self.ws.send(json.dumps({"id": command_id, "cmd": cmd,
                                           "meeting_id": meeting_id, "args": args}))
        except ConnectionClosed as error:
            raise ConnectionLost(str(error)) from None
        frame = await wait_for(
            lambda: self.results.pop(command_id, None) or self.closed_code is not None,
            timeout=timeout, what=f"result of {cmd}")
        if frame is True:
            raise ConnectionLost(f"the socket closed ({self.closed_code}) before {cmd} answered")
        if not frame["ok"]:
            raise CommandFailed(frame["error"])
        return dict(frame["data"])

    def named(self, name: str, meeting_id: int | None = None) -> list[dict[str, Any]]:
        return [e for e in self.events if e["name"] == name
                and (meeting_id is None or e["meeting_id"] == meeting_id)]

    async def wait_event(self, name: str, predicate: Callable[[dict[str, Any]], bool]
                         = lambda e: True, timeout: float = 10) -> dict[str, Any]:
        return await wait_for(
            lambda: next((e for e in self.events if e["name"] == name and predicate(e)), None),
            timeout=timeout, what=f"event {name}")

    def seqs(self, meeting_id: int) -> list[int]:
        return [e["seq"] for e in self.events if e["meeting_id"] == meeting_id
                and e["seq"] is not None]

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.gather(self._reader, return_exceptions=True)


async def token_for(server: Any, username: str) -> str:
    """A bearer token for an account, as `phonghop user token` prints one."""
    from server.db.models import CredentialKind
    from server.services.users import by_username

    svc = server.services
    async with svc.db.read() as session:
        user = await by_username(session, username)
    assert user is not None
    secret, _ = await svc.credentials.issue(user.id, CredentialKind.BEARER, label="test")
    return secret


@contextlib.asynccontextmanager
async def running(agent: Any) -> AsyncIterator[asyncio.Event]:
    """Run a site agent (media.agent.SiteAgent) until the block ends; it is connected
    when the block starts."""
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    try:
        await wait_for(lambda: agent.connected.is_set() or task.done(), timeout=30,
                       what="the agent to connect")
        if task.done():
            task.result()
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


async def new_meeting(db: Database, title: str = "Kỳ họp thứ nhất") -> int:
    """A meeting with nothing in it, straight in the database: its id."""
    async with db.write() as session:
        meeting = Meeting(title=title)
        session.add(meeting)
        await session.flush()
        return meeting.id
