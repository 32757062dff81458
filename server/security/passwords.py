"""Password hashing with Argon2id (RFC 9106 defaults from argon2-cffi).

Hashing costs tens of milliseconds of CPU on purpose, so callers run it in a thread,
never on the event loop.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the timing of a failed
# login the same whether or not the name is known.
_DUMMY_HASH = _hasher.hash("phonghop-no-such-user")

MIN_PASSWORD_LENGTH = 8


def use_cost(time_cost: int, memory_kib: int) -> None:
    """Choose cheaper hashing (for test suites). A hash records its own parameters, so
    verifying existing hashes is unaffected."""
    global _hasher
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(stored_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, stored_hash, password)
