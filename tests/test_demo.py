"""A new user's first command: `phonghop demo` starts, and a delegate reads a page."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.helpers import wait_for

pytestmark = pytest.mark.slow


async def test_demo_serves_the_sample_meeting_to_a_delegate(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    with (tmp_path / "demo.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "demo", "--port", str(port),
             "--data-dir", str(tmp_path / "data")],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            async def healthy() -> bool:
                if process.poll() is not None:
                    raise AssertionError((tmp_path / "demo.log").read_text())
                try:
                    return (await http.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_for(healthy, timeout=90, interval=0.2, what="the demo to start")
            printed = (tmp_path / "demo.log").read_text()
            assert f"http://127.0.0.1:{port}/" in printed
            for login in ("chutoa", "thuky", "daibieu1", "daibieu2", "daibieu3", "xatanlap",
                          "xahoabinh", "khach"):
                assert login in printed

            login = await http.post("/api/auth/login", headers={"Origin": base},
                                    json={"username": "daibieu1", "password": "phonghop"})
            assert login.status_code == 200, login.text
            meetings = (await http.get("/api/meetings")).json()
            assert [m["key"] for m in meetings] == ["hdnd-song-lam-ky-12"]
            meeting = (await http.get(f"/api/meetings/{meetings[0]['id']}")).json()
            assert len(meeting["agenda"]) >= 5 and meeting["documents"]
            doc = meeting["documents"][0]
            image = await http.get(doc["page_url"].format(page=1, width=1024, format="webp"))
            assert image.status_code == 200 and image.content[8:12] == b"WEBP"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
