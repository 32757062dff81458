"""Meetings, sites, participants and the agenda over HTTP."""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from server.api import schemas
from server.api.deps import client_address, path_int, reply, require_identity, services
from server.api.registry import Endpoint, Param
from server.db.models import AuditEntry, Participant, Role, Site, User
from server.errors import forbidden
from server.security.credentials import Identity
from server.services import access, audit, meetings


async def _detail(request: Request, identity: Identity, meeting_id: int) -> Response:
    svc = services(request)
    async with svc.db.read() as session:
        member = await access.membership(session, identity, meeting_id)
        return reply(await meetings.detail(session, member, svc.settings))


async def list_meetings(request: Request) -> Response:
    """The meetings I take part in, newest first."""
    identity = await require_identity(request)
    async with services(request).db.read() as session:
        return reply(await meetings.list_for(session, identity))


async def create_meeting(request: Request, body: schemas.MeetingCreate) -> Response:
    """Create a draft meeting; its creator becomes its secretary."""
    identity = await require_identity(request)
    svc = services(request)
    async with svc.db.write() as session:
        if not identity.is_admin:
            is_secretary = (await session.execute(select(Participant.id).where(
                Participant.user_id == identity.user_id,
                Participant.role == Role.SECRETARY).limit(1))).first()
            if not is_secretary:
                raise forbidden("Only secretaries and administrators create meetings.")
        meeting = await meetings.create_meeting(session, identity, body)
        audit.record(session, "meeting_created", user_id=identity.user_id,
                     meeting_id=meeting.id, address=client_address(request))
    response = await _detail(request, identity, meeting.id)
    response.status_code = 201
    return response


async def get_meeting(request: Request) -> Response:
    """A meeting with its sites, participants, agenda and documents."""
    identity = await require_identity(request)
    return await _detail(request, identity, path_int(request, "meeting_id"))


async def update_meeting(request: Request, body: schemas.MeetingUpdate) -> Response:
    """Change a meeting's details or status (publish, close, …)."""
    identity = await require_identity(request)
    meeting_id = path_int(request, "meeting_id")
    async with services(request).db.write() as session:
        member = await access.editable(session, identity, meeting_id)
        before = member.meeting.status
        await meetings.update_meeting(session, member, body)
        audit.record(session, "meeting_updated", user_id=identity.user_id, meeting_id=meeting_id,
                     address=client_address(request),
                     fields=sorted(body.model_dump(exclude_unset=True)),
                     status=[before.value, member.meeting.status.value])
    services(request).file_access.forget()
    return await _detail(request, identity, meeting_id)


async def add_site(request: Request, body: schemas.SiteCreate) -> Response:
    """Add a site (the district hall or a commune hall) to the meeting."""
    identity = await require_identity(request)
    meeting_id = path_int(request, "meeting_id")
    async with services(request).db.write() as session:
        member = await access.editable(session, identity, meeting_id)
        site = await meetings.add_site(session, member, body)
        audit.record(session, "site_added", user_id=identity.user_id, meeting_id=meeting_id,
                     target=site.key, address=client_address(request))
        return reply(schemas.SiteOut(id=site.id, key=site.key, name=site.name, kind=site.kind),
                     201)


async def update_site(request: Request, body: schemas.SiteUpdate) -> Response:
    """Rename a site or change its kind."""
    identity = await require_identity(request)
    meeting_id = path_int(request, "meeting_id")
    async with services(request).db.write() as session:
        await access.editable(session, identity, meeting_id)
        site = await meetings.get_site(session, meeting_id, path_int(request, "site_id"))
        meetings.apply_changes(site, body.model_dump(exclude_unset=True), nullable=set())
        audit.record(session, "site_updated", user_id=identity.user_id, meeting_id=meeting_id,
                     target=site.key, address=client_address(request))
        return reply(schemas.SiteOut(id=site.id, key=site.key, name=site.name, kind=site.kind))


async def remove_site(request: Request) -> Response:
    """Remove a site; its participants stay, without a site."""
    identity = await require_identity(request)
    meeting_id = path_int(request, "meeting_id")
    async with services(request).db.write() as session:
        await access.editable(session, identity, meeting_id)
        site: Site = await meetings.get_site(session, meeting_id, path_int(request, "site_id"))
        await session.delete(site)
        audit.record(session, "site_removed", user_id=identity.user_id, meeting_id=meeting_id,
                     target=site.key, address=client_address(request))
    return reply(None)


def _participant_out(p: Participant, u: User) -> schemas.ParticipantOut:
    return schemas.ParticipantOut(id=p.id, user_id=u.id, username=u.username,
                                  full_name=u.full_name, role=p.role, position=p.position,
                                  site_id=p.site_id)


async def add_participant(request: Request, body: schemas.ParticipantCreate) -> Response:
    """Add a person to the meeting with a role (creating the account when new)."""
    identity = await require_identity(request)
    meeting_id = path_int(request, "meeting_id")
    async with services(request).db.write() as session:
        member = await access.editable(session, identity, meeting_id)
        participant, user = await meetings.add_participant(session, member, body)
        audit.record(session, "participant_added", user_id=identity.user_id,
                     meeting_id=meeting_id, target=user.username, role=body.role.value,
                     address=client_address(request))
        out = _participant_out(participant, user)
    services(request).file_access.forget()
    return reply(out, 201)


async def update_participant(request: Request, body: schemas.ParticipantUpdate) -> Response:
    """Change a participant's role, position or site."""
    identity = await require_identity(request)
    meeting_id = path_int(request, "meeting_id")
    async with services(request).db.write() as session:
        member = await access.editable(session, identity, meeting_id)
        participant = await meetings.update_participant(
            session, member, path_int(request, "participant_id"), body)
        user = await session.get(User, participant.user_id)
        assert user is not None
        audit.record(session, "participant_updated", user_id=identity.user_id,
                     meeting_id=meeting_id, target=user.username, address=client_address(request),
                     **body.model_dump(mode="json", exclude_unset=True))
        out = _participant_out(participant, user)
    services(request).file_access.forget()
    return reply(out)


async def remove_participant(request: Request) -> Response:
    """Take a person out of the meeting."""
    identity = await require_identity(request)
    meeting_id = path_int(request, "meeting_id")
    async with services(request).db.write() as session:
        member = await access.editable(session, identity, meeting_id)
        pid = path_int(request, "participant_id")
        await meetings.remove_participant(session, member, pid)
        audit.record(session, "participant_removed", user_id=identity.user_id,
                     meeting_id=meeting_id, target=str(pid), address=client_address(request))
    services(request).file_access.forget()
    return reply(None)


async def get_agenda(request: Request) -> Response:
    """The agenda as a tree (items and their sub-items, in order)."""
    identity = await require_identity(request)
    async with services(request).db.read() as session:
        member = await access.membership(session, identity, path_int(request, "meeting_id"))
        return reply(await meetings.agenda(session, member))


async def add_agenda_item(request: Request, body: schemas.AgendaItemCreate) -> Response:
    """Append an item (or a sub-item, with parent_id) to the agenda."""
    identity = await require_identity(request)
    meeting_id = path_int(request, "meeting_id")
    async with services(request).db.write() as session:
        member = await access.editable(session, identity, meeting_id)
        item = await meetings.add_item(session, member, body)
        audit.record(session, "agenda_item_added", user_id=identity.user_id,
                     meeting_id=meeting_id, target=str(item.id), address=client_address(request))
    return await _item_reply(request, identity, meeting_id, item.id, 201)


async def _item_reply(request: Request, identity: Identity, meeting_id: int, item_id: int,
                      status: int = 200) -> Response:
    async with services(request).db.read() as session:
        member = await access.membership(session, identity, meeting_id)
        tree = await meetings.agenda(session, member)
    for node in tree:
        for candidate in (node, *node.children):
            if candidate.id == item_id:
                return reply(candidate, status)
    raise AssertionError("the item just written is missing")


async def update_agenda_item(request: Request, body: schemas.AgendaItemUpdate) -> Response:
    """Change an agenda item's title, presenter, duration or guest visibility."""
    identity = await require_identity(request)
    meeting_id = path_int(request, "meeting_id")
    item_id = path_int(request, "item_id")
    async with services(request).db.write() as session:
        member = await access.editable(session, identity, meeting_id)
        await meetings.update_item(session, member, item_id, body)
        audit.record(session, "agenda_item_updated", user_id=identity.user_id,
                     meeting_id=meeting_id, target=str(item_id), address=client_address(request))
    services(request).file_access.forget()
    return await _item_reply(request, identity, meeting_id, item_id)


async def delete_agenda_item(request: Request) -> Response:
    """Remove an agenda item and its sub-items; their documents stay in the meeting."""
    identity = await require_identity(request)
    meeting_id = path_int(request, "meeting_id")
    item_id = path_int(request, "item_id")
    async with services(request).db.write() as session:
        member = await access.editable(session, identity, meeting_id)
        await meetings.delete_item(session, member, item_id)
        audit.record(session, "agenda_item_removed", user_id=identity.user_id,
                     meeting_id=meeting_id, target=str(item_id), address=client_address(request))
    return reply(None)


async def reorder_agenda(request: Request, body: schemas.AgendaOrder) -> Response:
    """Put sibling agenda items in a new order."""
    identity = await require_identity(request)
    meeting_id = path_int(request, "meeting_id")
    async with services(request).db.write() as session:
        member = await access.editable(session, identity, meeting_id)
        await meetings.reorder(session, member, body.order)
        audit.record(session, "agenda_reordered", user_id=identity.user_id,
                     meeting_id=meeting_id, address=client_address(request), order=body.order)
    return await get_agenda(request)


async def audit_log(request: Request) -> Response:
    """The meeting's audit log, newest first (secretary and administrators)."""
    identity = await require_identity(request)
    meeting_id = path_int(request, "meeting_id")
    try:
        limit = min(max(int(request.query_params.get("limit", "200")), 1), 1000)
    except ValueError:
        limit = 200
    async with services(request).db.read() as session:
        await access.editable(session, identity, meeting_id)
        entries = (await session.execute(
            select(AuditEntry).where(AuditEntry.meeting_id == meeting_id)
            .order_by(AuditEntry.id.desc()).limit(limit))).scalars().all()
    return reply([schemas.AuditOut(id=e.id, at=e.at, user_id=e.user_id, action=e.action,
                                   target=e.target, detail=e.detail) for e in entries])


M = "/api/meetings/{meeting_id:int}"
ENDPOINTS = [
    Endpoint("GET", "/api/meetings", list_meetings, "My meetings", "meetings",
             response=schemas.MeetingSummary, response_is_list=True),
    Endpoint("POST", "/api/meetings", create_meeting, "Create a meeting", "meetings",
             body=schemas.MeetingCreate, response=schemas.MeetingOut, status=201),
    Endpoint("GET", M, get_meeting, "A meeting in full", "meetings", response=schemas.MeetingOut),
    Endpoint("PATCH", M, update_meeting, "Edit a meeting", "meetings",
             body=schemas.MeetingUpdate, response=schemas.MeetingOut),
    Endpoint("POST", M + "/sites", add_site, "Add a site", "sites",
             body=schemas.SiteCreate, response=schemas.SiteOut, status=201),
    Endpoint("PATCH", M + "/sites/{site_id:int}", update_site, "Edit a site", "sites",
             body=schemas.SiteUpdate, response=schemas.SiteOut),
    Endpoint("DELETE", M + "/sites/{site_id:int}", remove_site, "Remove a site", "sites",
             status=204),
    Endpoint("POST", M + "/participants", add_participant, "Add a participant", "participants",
             body=schemas.ParticipantCreate, response=schemas.ParticipantOut, status=201),
    Endpoint("PATCH", M + "/participants/{participant_id:int}", update_participant,
             "Edit a participant", "participants", body=schemas.ParticipantUpdate,
             response=schemas.ParticipantOut),
    Endpoint("DELETE", M + "/participants/{participant_id:int}", remove_participant,
             "Remove a participant", "participants", status=204),
    Endpoint("GET", M + "/agenda", get_agenda, "The agenda", "agenda",
             response=schemas.AgendaItemOut, response_is_list=True),
    Endpoint("POST", M + "/agenda", add_agenda_item, "Add an agenda item", "agenda",
             body=schemas.AgendaItemCreate, response=schemas.AgendaItemOut, status=201),
    Endpoint("PUT", M + "/agenda/order", reorder_agenda, "Reorder agenda items", "agenda",
             body=schemas.AgendaOrder, response=schemas.AgendaItemOut, response_is_list=True),
    Endpoint("PATCH", M + "/agenda/{item_id:int}", update_agenda_item, "Edit an agenda item",
             "agenda", body=schemas.AgendaItemUpdate, response=schemas.AgendaItemOut),
    Endpoint("DELETE", M + "/agenda/{item_id:int}", delete_agenda_item,
             "Remove an agenda item", "agenda", status=204),
    Endpoint("GET", M + "/audit", audit_log, "The audit log", "meetings",
             response=schemas.AuditOut, response_is_list=True,
             query=(Param("limit", "How many entries, 1–1000 (default 200).",
                          schema=(("type", "integer"),)),)),
]
