"""The audit log: who did what, to which meeting, from where."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import AuditEntry


def record(
    session: AsyncSession, action: str, *, user_id: int | None, meeting_id: int | None = None,
    target: str = "", address: str | None = None, **detail: Any,
) -> None:
    """Add an audit entry to the caller's transaction, so it commits with the change."""
    session.add(
        AuditEntry(
            action=action, user_id=user_id, meeting_id=meeting_id, target=target,
            address=address, detail=detail,
        )
    )
