"""Shared fixtures: real databases, a real server on a free port, real HTTP clients."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import uvicorn

from server.app import create_app
from server.cli import uvicorn_options
from server.config import Settings
from server.db.engine import Database
from server.security.passwords import use_cost
from tests.helpers import Client, make_meeting_folder, wait_for

# Every test creates a dozen accounts; production-strength Argon2 would spend most of
# each test's setup hashing. Verification still runs real Argon2 (with these parameters).
use_cost(time_cost=1, memory_kib=1024)

PG_BASE = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
PASSWORD = "mat-khau-thu"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_admin_dsn() -> str:
    return PG_BASE.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database on each backend: a file for SQLite, a new PostgreSQL
    database on the shared server (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'phonghop.db'}"
        return
    name = f"phonghop_t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_pg_admin_dsn())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = _pg_admin_dsn().rsplit("/", 1)[0]
    yield f"postgresql+asyncpg://{base.split('://', 1)[1]}/{name}"
    admin = await asyncpg.connect(_pg_admin_dsn())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated `Database` on each backend, for tests below the HTTP and socket layer."""
    db = Database(database_url)
    await db.migrate()
    yield db
    await db.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", database_url=database_url, render_workers=2,
        render_timeout=20, login_attempts=5, max_pages=300,
        max_upload_bytes=8 * 1024 * 1024, ws_backlog=16,
    )


class LiveServer:
    def __init__(self, settings: Settings, port: int) -> None:
        self.settings = settings
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.app: Any = None

    @property
    def services(self) -> Any:
        return self.app.state.services

    def client(self) -> Client:
        return Client(self.url)


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    """The app under uvicorn on a free loopback port, in this test's event loop."""
    port = free_port()
    live = LiveServer(settings, port)
    live.app = create_app(settings)
    options = {**uvicorn_options("127.0.0.1", port), "log_level": "warning"}
    config = uvicorn.Config(live.app, lifespan="on", **options)
    uv = uvicorn.Server(config)
    uv.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(uv.serve())
    await wait_for(lambda: uv.started or task.done(), timeout=30, what="server start")
    if task.done():
        task.result()
    try:
        yield live
    finally:
        uv.should_exit = True
        await asyncio.wait_for(task, 30)


@pytest.fixture
async def meeting(server: LiveServer, tmp_path: Path) -> dict[str, Any]:
    """Two meetings imported from folders: A (with every role) and B (someone else's).

    Returns ids and the usernames by role; every account's password is PASSWORD.
    """
    from server.services.agenda_import import import_folder
    from server.services.users import ensure_user

    svc = server.services
    a = await import_folder(svc, make_meeting_folder(tmp_path / "a", "hop-a", prefix=""))
    b = await import_folder(svc, make_meeting_folder(tmp_path / "b", "hop-b", prefix="b-"))
    async with svc.db.write() as session:
        for username in {*a.usernames, *b.usernames}:
            await ensure_user(session, username, "", password=PASSWORD)
        await ensure_user(session, "admin", "Quản trị", password=PASSWORD, is_admin=True)
    for sha in {*a.documents.values(), *b.documents.values()}:
        await svc.documents.wait_rendered(sha)
    return {"a": a.meeting_id, "b": b.meeting_id, "a_docs": a.documents,
            "b_docs": b.documents}


@pytest.fixture
def sample_pdf(tmp_path: Path) -> Iterator[Path]:
    from tests.helpers import make_pdf

    path = tmp_path / "mau.pdf"
    path.write_bytes(make_pdf(["Trang một: Nghị quyết", "Trang hai", "Trang ba"]))
    yield path


__all__ = ["PASSWORD", "LiveServer", "Client"]
