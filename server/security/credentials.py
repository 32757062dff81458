"""Who is calling: resolve a session cookie or a bearer token to an `Identity`.

Secrets are random 256-bit tokens; the database keeps only their HMAC-SHA-256 under the
deployment's secret key, so a copy of the database alone cannot check a guessed token. A resolved
identity is cached for a few seconds so that page-image requests (dozens per page turn
across a room) do not each cost a database round trip; logout and revocation clear the
entry in this process at once and reach other processes within the cache's lifetime.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from server.db.engine import Database
from server.db.models import Credential, CredentialKind, User, utcnow

COOKIE_NAME = "phonghop_session"
CSRF_HEADER = "x-csrf-token"
CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class Identity:
    user_id: int
    username: str
    full_name: str
    is_admin: bool
    credential_id: int
    kind: CredentialKind
    csrf_token: str | None


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str, key: bytes) -> str:
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


class CredentialStore:
    def __init__(self, db: Database, session_hours: int, key: bytes) -> None:
        self.db = db
        self.key = key
        self.session_lifetime = timedelta(hours=session_hours)
        self._cache: dict[str, tuple[float, Identity | None]] = {}

    async def issue(
        self, user_id: int, kind: CredentialKind, label: str | None = None,
        lifetime: timedelta | None = None,
    ) -> tuple[str, Credential]:
        """Create a credential; the secret is returned once and never stored."""
        secret = new_secret()
        if lifetime is None and kind is CredentialKind.COOKIE:
            lifetime = self.session_lifetime
        credential = Credential(
            token_hash=hash_secret(secret, self.key), user_id=user_id, kind=kind, label=label,
            csrf_token=new_secret() if kind is CredentialKind.COOKIE else None,
            expires_at=utcnow() + lifetime if lifetime else None,
        )
        async with self.db.write() as session:
            session.add(credential)
        return secret, credential

    async def resolve(self, secret: str, kind: CredentialKind) -> Identity | None:
        token_hash = hash_secret(secret, self.key)
        now = time.monotonic()
        cached = self._cache.get(token_hash)
        if cached and cached[0] > now:
            identity = cached[1]
        else:
            identity = await self._load(token_hash)
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[token_hash] = (now + CACHE_SECONDS, identity)
        if identity is None or identity.kind is not kind:
            return None
        return identity

    async def _load(self, token_hash: str) -> Identity | None:
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(Credential, User)
                    .join(User, User.id == Credential.user_id)
                    .where(Credential.token_hash == token_hash)
                )
            ).first()
        if row is None:
            return None
        credential, user = row
        if credential.revoked_at is not None or not user.is_active:
            return None
        if credential.expires_at is not None and credential.expires_at <= utcnow():
            return None
        return Identity(
            user_id=user.id, username=user.username, full_name=user.full_name,
            is_admin=user.is_admin, credential_id=credential.id, kind=credential.kind,
            csrf_token=credential.csrf_token,
        )

    async def revoke(self, secret: str) -> None:
        token_hash = hash_secret(secret, self.key)
        self._cache.pop(token_hash, None)
        async with self.db.write() as session:
            credential = (
                await session.execute(select(Credential).where(Credential.token_hash == token_hash))
            ).scalar_one_or_none()
            if credential is not None and credential.revoked_at is None:
                credential.revoked_at = utcnow()

    async def identify(self, headers: dict[str, str], cookies: dict[str, str]) -> Identity | None:
        """The caller of an HTTP request or websocket upgrade, or None."""
        authorization = headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            return await self.resolve(authorization[7:].strip(), CredentialKind.BEARER)
        cookie = cookies.get(COOKIE_NAME)
        if cookie:
            return await self.resolve(cookie, CredentialKind.COOKIE)
        return None
