"""Accounts: creation, passwords, lookup."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import User
from server.errors import invalid
from server.security.passwords import MIN_PASSWORD_LENGTH, hash_password_async

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def check_username(username: str) -> str:
    if not USERNAME.match(username):
        raise invalid(
            f"'{username}' is not a valid user name: use 2–64 lowercase letters, digits, "
            "dots, dashes or underscores, starting with a letter or digit."
        )
    return username


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise invalid(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    return password


async def by_username(session: AsyncSession, username: str) -> User | None:
    return (
        await session.execute(select(User).where(User.username == username))
    ).scalar_one_or_none()


async def ensure_user(
    session: AsyncSession, username: str, full_name: str, *, password: str | None = None,
    is_admin: bool = False,
) -> User:
    """The user with this name, created (without a usable password) when missing."""
    user = await by_username(session, check_username(username))
    if user is None:
        user = User(username=username, full_name=full_name, is_admin=is_admin)
        session.add(user)
    else:
        user.full_name = full_name or user.full_name
        user.is_admin = user.is_admin or is_admin
    if password is not None:
        user.password_hash = await hash_password_async(check_password(password))
    await session.flush()
    return user
