"""Signing in and out, sessions, CSRF, tokens — over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import PASSWORD, LiveServer


async def test_delegate_signs_in_and_sees_who_they_are(server: LiveServer, meeting: Any) -> None:
    async with server.client() as c:
        response = await c.login("dbieu1", PASSWORD)
        assert response.status_code == 200
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        me = (await c.get("/api/auth/me")).json()
        assert me["user"]["username"] == "dbieu1"
        assert me["csrf_token"] == c.csrf


async def test_wrong_password_is_refused_then_rate_limited(server: LiveServer, meeting: Any) -> None:
    async with server.client() as c:
        for _ in range(server.settings.login_attempts):
            response = await c.login("dbieu1", "sai-mat-khau")
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "bad_credentials"
        # Even the right password is refused until the window passes.
        response = await c.login("dbieu1", PASSWORD)
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) > 0
        # An unknown name answers exactly like a wrong password.
        async with server.client() as other:
            response = await other.login("khong-ton-tai", PASSWORD)
            assert response.status_code in (401, 429)


async def test_logout_ends_the_session_everywhere(server: LiveServer, meeting: Any) -> None:
    async with server.client() as c:
        await c.login("dbieu1", PASSWORD)
        cookie = dict(c.http.cookies)
        assert (await c.post("/api/auth/logout")).status_code == 204
        assert (await c.get("/api/auth/me")).status_code == 401
    # The old cookie, replayed by someone who copied it, no longer works.
    async with httpx.AsyncClient(base_url=server.url, cookies=cookie) as thief:
        assert (await thief.get(f"/api/meetings/{meeting['a']}")).status_code == 401


async def test_changes_need_the_csrf_header_and_our_origin(server: LiveServer, meeting: Any) -> None:
    async with server.client() as c:
        await c.login("thu", PASSWORD)
        url = f"/api/meetings/{meeting['a']}"
        response = await c.patch(url, json={"place": "Phòng 2"}, headers={"X-CSRF-Token": "x"})
        assert response.status_code == 403 and response.json()["error"]["code"] == "csrf"
        response = await c.patch(url, json={"place": "Phòng 2"},
                                 headers={"Origin": "http://evil.example"})
        assert response.status_code == 403 and response.json()["error"]["code"] == "bad_origin"
        assert (await c.get(url)).json()["place"] == "Hội trường"
        response = await c.patch(url, json={"place": "Phòng 2"})
        assert response.status_code == 200 and response.json()["place"] == "Phòng 2"


async def test_login_from_a_foreign_origin_is_refused(server: LiveServer, meeting: Any) -> None:
    async with httpx.AsyncClient(base_url=server.url) as c:
        response = await c.post("/api/auth/login", json={"username": "dbieu1",
                                "password": PASSWORD}, headers={"Origin": "http://evil.example"})
        assert response.status_code == 403


async def test_bearer_token_for_a_site_agent(server: LiveServer, meeting: Any) -> None:
    async with server.client() as admin:
        await admin.login("admin", PASSWORD)
        response = await admin.post("/api/auth/tokens", json={"label": "máy điểm cầu xã",
                                                              "username": "xa"})
        assert response.status_code == 201
        token = response.json()["token"]
    async with server.client() as delegate:
        await delegate.login("dbieu1", PASSWORD)
        response = await delegate.post("/api/auth/tokens", json={"label": "x", "username": "xa"})
        assert response.status_code == 403
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as agent:
        me = (await agent.get("/api/auth/me")).json()
        assert me["user"]["username"] == "xa" and me["csrf_token"] is None
        assert (await agent.get(f"/api/meetings/{meeting['a']}")).status_code == 200
        assert (await agent.get(f"/api/meetings/{meeting['b']}")).status_code == 404
        assert (await agent.post("/api/auth/logout")).status_code == 204
        assert (await agent.get("/api/auth/me")).status_code == 401


async def test_bad_login_bodies_get_clear_errors(server: LiveServer, meeting: Any) -> None:
    async with httpx.AsyncClient(base_url=server.url) as c:
        response = await c.post("/api/auth/login", content=b"{not json",
                                headers={"Content-Type": "application/json"})
        assert response.status_code == 400 and response.json()["error"]["code"] == "bad_json"
        response = await c.post("/api/auth/login", json={"username": "a"})
        assert response.status_code == 422 and "password" in response.json()["error"]["message"]
        response = await c.post("/api/auth/login", content=b"username=a",
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 415


async def test_the_database_alone_cannot_check_a_token(server: LiveServer, meeting: Any) -> None:
    import hashlib

    from sqlalchemy import select

    from server.db.models import Credential
    from server.security.credentials import COOKIE_NAME, hash_secret

    async with server.client() as c:
        await c.login("dbieu1", PASSWORD)
        secret = c.http.cookies[COOKIE_NAME]
    async with server.services.db.read() as session:
        stored = set((await session.execute(select(Credential.token_hash))).scalars())
    assert hashlib.sha256(secret.encode()).hexdigest() not in stored
    assert hash_secret(secret, server.settings.resolve_secret_key()) in stored
    assert hash_secret(secret, b"another deployment's key") not in stored
