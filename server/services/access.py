"""Who may see and change what, per meeting.

Every route asks this module, with the caller's role in *that* meeting. A caller with
no role in a meeting is told the meeting does not exist, so ids cannot be probed.
Rules:
- an administrator may do everything;
- the secretary edits the meeting; the chair may also read a draft;
- everyone else sees a meeting once it is published;
- a guest sees only agenda items and documents marked visible to guests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Document, Meeting, MeetingStatus, Participant, Role
from server.errors import forbidden, not_found
from server.security.credentials import Identity

EDITORS = frozenset({Role.SECRETARY})
DRAFT_READERS = frozenset({Role.SECRETARY, Role.CHAIR})


@dataclass(frozen=True)
class Membership:
    """The caller's standing in one meeting."""

    meeting: Meeting
    role: Role | None  # None for an administrator who is not a participant
    participant_id: int | None
    is_admin: bool
    site_id: int | None = None

    @property
    def can_edit(self) -> bool:
        return self.is_admin or self.role in EDITORS

    @property
    def is_guest(self) -> bool:
        return not self.is_admin and self.role is Role.GUEST

    def sees_document(self, document: Document) -> bool:
        return not self.is_guest or document.guest_visible


def _may_read(meeting: Meeting, role: Role | None, is_admin: bool) -> bool:
    if is_admin:
        return True
    if role is None:
        return False
    return meeting.status is not MeetingStatus.DRAFT or role in DRAFT_READERS


async def membership(session: AsyncSession, identity: Identity, meeting_id: int) -> Membership:
    """The caller's membership, or 404 if the caller may not see the meeting at all."""
    row = (
        await session.execute(
            select(Meeting, Participant.role, Participant.id, Participant.site_id)
            .outerjoin(
                Participant,
                (Participant.meeting_id == Meeting.id)
                & (Participant.user_id == identity.user_id),
            )
            .where(Meeting.id == meeting_id)
        )
    ).first()
    if row is None:
        raise not_found("That meeting")
    meeting, role, participant_id, site_id = row
    if not _may_read(meeting, role, identity.is_admin):
        raise not_found("That meeting")
    return Membership(meeting, role, participant_id, identity.is_admin, site_id)


async def editable(session: AsyncSession, identity: Identity, meeting_id: int) -> Membership:
    """The caller's membership if they may edit the meeting, else 403 (or 404)."""
    member = await membership(session, identity, meeting_id)
    if not member.can_edit:
        raise forbidden("Only the meeting's secretary can change it.")
    return member


class FileAccess:
    """May this user read pages of the file with this hash? Cached for a few seconds.

    Page images are requested many times per page turn; the answer changes only when a
    secretary changes a meeting, and a few seconds of delay is acceptable there.
    """

    TTL = 5.0

    def __init__(self) -> None:
        self._cache: dict[tuple[int, str], tuple[float, bool]] = {}

    async def allowed(self, session: AsyncSession, identity: Identity, sha256: str) -> bool:
        key = (identity.user_id, sha256)
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit and hit[0] > now:
            return hit[1]
        answer = identity.is_admin or await self._query(session, identity.user_id, sha256)
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[key] = (now + self.TTL, answer)
        return answer

    def forget(self) -> None:
        self._cache.clear()

    @staticmethod
    async def _query(session: AsyncSession, user_id: int, sha256: str) -> bool:
        rows = await session.execute(
            select(Participant.role, Meeting.status, Document.guest_visible)
            .join(Meeting, Meeting.id == Participant.meeting_id)
            .join(Document, Document.meeting_id == Meeting.id)
            .where(Participant.user_id == user_id, Document.sha256 == sha256)
        )
        for role, status, guest_visible in rows:
            if status is MeetingStatus.DRAFT and role not in DRAFT_READERS:
                continue
            if role is Role.GUEST and not guest_visible:
                continue
            return True
        return False
