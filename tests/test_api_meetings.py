"""The secretary prepares a meeting; everyone else sees only what their role allows."""

from __future__ import annotations

from typing import Any

from server.services.users import ensure_user
from tests.conftest import PASSWORD, LiveServer


async def test_secretary_prepares_and_publishes_a_meeting(server: LiveServer, meeting: Any) -> None:
    async with server.client() as sec:
        await sec.login("thu", PASSWORD)
        response = await sec.post("/api/meetings", json={
            "title": "Phiên họp chuyên đề", "place": "Phòng họp số 1",
            "starts_at": "2026-12-20T14:00:00+07:00"})
        assert response.status_code == 201, response.text
        created = response.json()
        mid = created["id"]
        assert created["status"] == "draft" and created["my_role"] == "secretary"
        assert created["can_edit"] and created["next_statuses"] == ["published"]
        assert created["limits"]["max_upload_bytes"] == server.settings.max_upload_bytes

        site = (await sec.post(f"/api/meetings/{mid}/sites", json={
            "key": "xa-moi", "name": "Điểm cầu xã Mới", "kind": "commune"})).json()
        chair = (await sec.post(f"/api/meetings/{mid}/participants", json={
            "username": "chu", "role": "chair"})).json()
        newcomer = await sec.post(f"/api/meetings/{mid}/participants", json={
            "username": "dai-bieu-moi", "full_name": "Lê Thị Mới", "role": "delegate",
            "site_id": site["id"]})
        assert newcomer.status_code == 201 and newcomer.json()["full_name"] == "Lê Thị Mới"
        second_chair = await sec.post(f"/api/meetings/{mid}/participants", json={
            "username": "dbieu1", "role": "chair"})
        assert second_chair.status_code == 409

        one = (await sec.post(f"/api/meetings/{mid}/agenda", json={
            "title": "Khai mạc", "presenter_id": chair["id"], "duration_minutes": 5})).json()
        two = (await sec.post(f"/api/meetings/{mid}/agenda", json={"title": "Thảo luận"})).json()
        sub = (await sec.post(f"/api/meetings/{mid}/agenda", json={
            "title": "Ý kiến các xã", "parent_id": two["id"]})).json()
        nested = await sec.post(f"/api/meetings/{mid}/agenda", json={
            "title": "Quá sâu", "parent_id": sub["id"]})
        assert nested.status_code == 422

        order = await sec.put(f"/api/meetings/{mid}/agenda/order",
                              json={"order": [two["id"], one["id"]]})
        assert [i["title"] for i in order.json()] == ["Thảo luận", "Khai mạc"]
        assert order.json()[0]["children"][0]["title"] == "Ý kiến các xã"

        async with server.client() as delegate:
            await delegate.login("dbieu1", PASSWORD)
            assert (await delegate.get(f"/api/meetings/{mid}")).status_code == 404
            published = await sec.patch(f"/api/meetings/{mid}", json={"status": "published"})
            assert published.status_code == 200
            # dbieu1 is not a participant of this meeting: still invisible.
            assert (await delegate.get(f"/api/meetings/{mid}")).status_code == 404
        async with server.client() as newbie:
            async with server.services.db.write() as session:
                await ensure_user(session, "dai-bieu-moi", "", password=PASSWORD)
            await newbie.login("dai-bieu-moi", PASSWORD)
            seen = (await newbie.get(f"/api/meetings/{mid}")).json()
            assert seen["my_role"] == "delegate" and not seen["can_edit"]
            assert seen["next_statuses"] == []
            assert [i["title"] for i in seen["agenda"]] == ["Thảo luận", "Khai mạc"]

        log = (await sec.get(f"/api/meetings/{mid}/audit")).json()
        actions = [e["action"] for e in log]
        assert {"meeting_created", "participant_added", "agenda_reordered",
                "meeting_updated"} <= set(actions)


async def test_publishing_needs_a_chair(server: LiveServer, meeting: Any) -> None:
    async with server.client() as sec:
        await sec.login("thu", PASSWORD)
        mid = (await sec.post("/api/meetings", json={"title": "Không có chủ tọa"})).json()["id"]
        response = await sec.patch(f"/api/meetings/{mid}", json={"status": "published"})
        assert response.status_code == 409 and response.json()["error"]["code"] == "no_chair"
        response = await sec.patch(f"/api/meetings/{mid}", json={"status": "closed"})
        assert response.status_code == 409


async def test_only_the_secretary_edits(server: LiveServer, meeting: Any) -> None:
    mid = meeting["a"]
    for username in ("chu", "dbieu1", "khach", "xa"):
        async with server.client() as c:
            await c.login(username, PASSWORD)
            for call in (
                c.patch(f"/api/meetings/{mid}", json={"title": "Đổi tên"}),
                c.post(f"/api/meetings/{mid}/agenda", json={"title": "Mục mới"}),
                c.post(f"/api/meetings/{mid}/participants",
                       json={"username": "b-chu", "role": "delegate"}),
                c.get(f"/api/meetings/{mid}/audit"),
            ):
                response = await call
                assert response.status_code == 403, (username, response.text)
    async with server.client() as c:
        await c.login("thu", PASSWORD)
        assert (await c.get(f"/api/meetings/{mid}")).json()["title"] == "Kỳ họp thử hop-a"


async def test_a_participant_of_one_meeting_cannot_reach_another(
    server: LiveServer, meeting: Any
) -> None:
    async with server.client() as c:
        await c.login("thu", PASSWORD)
        mine = [m["id"] for m in (await c.get("/api/meetings")).json()]
        assert mine == [meeting["a"]]
        for url in (f"/api/meetings/{meeting['b']}", f"/api/meetings/{meeting['b']}/agenda",
                    f"/api/meetings/{meeting['b']}/documents",
                    f"/api/meetings/{meeting['b']}/search?q=report"):
            assert (await c.get(url)).status_code == 404, url
        response = await c.patch(f"/api/meetings/{meeting['b']}", json={"title": "x"})
        assert response.status_code == 404
        assert (await c.get("/api/meetings/999999")).status_code == 404


async def test_a_guest_sees_only_what_is_marked_for_guests(server: LiveServer, meeting: Any) -> None:
    async with server.client() as c:
        await c.login("khach", PASSWORD)
        seen = (await c.get(f"/api/meetings/{meeting['a']}")).json()
        assert [i["title"] for i in seen["agenda"]] == ["Khai mạc"]
        assert [d["title"] for d in seen["documents"]] == ["Tài liệu công khai"]
    async with server.client() as c:
        await c.login("dbieu1", PASSWORD)
        seen = (await c.get(f"/api/meetings/{meeting['a']}")).json()
        assert [i["title"] for i in seen["agenda"]] == ["Khai mạc", "Báo cáo"]
        assert seen["agenda"][1]["children"][0]["title"] == "Thảo luận"
        assert len(seen["documents"]) == 2


async def test_bad_input_gets_a_clear_error_and_changes_nothing(
    server: LiveServer, meeting: Any
) -> None:
    mid = meeting["a"]
    async with server.client() as c:
        await c.login("thu", PASSWORD)
        before = (await c.get(f"/api/meetings/{mid}")).json()
        cases = [
            (c.patch(f"/api/meetings/{mid}", json={"title": ""}), 422),
            (c.patch(f"/api/meetings/{mid}", json={"colour": "red"}), 422),
            (c.patch(f"/api/meetings/{mid}", json={"starts_at": "2026-12-10T08:00:00"}), 422),
            (c.patch(f"/api/meetings/{mid}", json={"ends_at": "2020-01-01T00:00:00+07:00"}), 422),
            (c.post(f"/api/meetings/{mid}/agenda", json={"title": "x", "presenter_id": 10**6}),
             404),
            (c.post(f"/api/meetings/{mid}/participants",
                    json={"username": "ai-do-moi", "role": "delegate"}), 422),
            (c.post(f"/api/meetings/{mid}/participants",
                    json={"username": "Hoa Sen", "role": "delegate", "full_name": "x"}), 422),
            (c.put(f"/api/meetings/{mid}/agenda/order", json={"order": [1]}), 422),
            (c.patch(f"/api/meetings/{mid}", content=b"[1,2",
                     headers={"Content-Type": "application/json"}), 400),
        ]
        for call, status in cases:
            response = await call
            assert response.status_code == status, response.text
            assert response.json()["error"]["message"]
        after = (await c.get(f"/api/meetings/{mid}")).json()
        assert after == before


async def test_openapi_describes_every_route(server: LiveServer) -> None:
    async with server.client() as c:
        spec = (await c.get("/api/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    assert {"/api/auth/login", "/api/meetings/{meeting_id}/documents",
            "/api/meetings/{meeting_id}/search",
            "/api/files/{sha256}/pages/{page}/{width}.{format}"} <= set(spec["paths"])
    upload = spec["paths"]["/api/meetings/{meeting_id}/documents"]["post"]
    assert "application/pdf" in upload["requestBody"]["content"]
    assert "MeetingOut" in spec["components"]["schemas"]


async def test_null_clears_only_what_may_be_empty(server: LiveServer, meeting: Any) -> None:
    async with server.client() as c:
        await c.login("thu", PASSWORD)
        url = f"/api/meetings/{meeting['a']}"
        response = await c.patch(url, json={"description": None, "title": None,
                                            "ends_at": None})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["title"] == "Kỳ họp thử hop-a" and body["description"] == ""
        assert body["ends_at"] is None
        assert (await c.get("/api/no-such-route")).json()["error"]["code"] == "not_found"
