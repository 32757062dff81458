"""Sign in and out, the current user, and API tokens for scripts and site agents."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from server.api import schemas
from server.api.deps import (
    check_origin,
    client_address,
    optional_identity,
    reply,
    require_identity,
    services,
)
from server.api.registry import Endpoint
from server.db.models import CredentialKind, User
from server.errors import ApiError, forbidden, invalid, unauthenticated
from server.security.credentials import COOKIE_NAME
from server.security.passwords import verify_password_async
from server.services import audit
from server.services.users import by_username


def _user_out(user_id: int, username: str, full_name: str, is_admin: bool) -> schemas.UserOut:
    return schemas.UserOut(id=user_id, username=username, full_name=full_name, is_admin=is_admin)


async def login(request: Request, body: schemas.LoginRequest) -> Response:
    """Check a password and start a browser session (HttpOnly, SameSite=Lax cookie)."""
    svc = services(request)
    check_origin(request)
    address = client_address(request)
    wait = svc.login_limiter.retry_after(address, body.username)
    if wait > 0:
        raise ApiError(429, "rate_limited", "Too many failed sign-ins. Try again in "
                       f"{int(wait) + 1} seconds.", headers={"Retry-After": str(int(wait) + 1)})
    async with svc.db.read() as session:
        user = await by_username(session, body.username.strip().lower())
    ok = await verify_password_async(user.password_hash if user else None, body.password)
    if user is None or not ok or not user.is_active:
        svc.login_limiter.failed(address, body.username)
        async with svc.db.write() as session:
            audit.record(session, "login_failed", user_id=user.id if user else None,
                         target=body.username[:64], address=address)
        raise ApiError(401, "bad_credentials", "The user name or password is wrong.")
    svc.login_limiter.succeeded(address, body.username)
    secret, credential = await svc.credentials.issue(user.id, CredentialKind.COOKIE)
    async with svc.db.write() as session:
        audit.record(session, "login", user_id=user.id, address=address)
    response = reply(schemas.SessionOut(
        user=_user_out(user.id, user.username, user.full_name, user.is_admin),
        csrf_token=credential.csrf_token,
    ))
    response.set_cookie(
        COOKIE_NAME, secret, max_age=svc.settings.session_hours * 3600, httponly=True,
        samesite="lax", secure=svc.settings.cookie_secure, path="/",
    )
    return response


async def logout(request: Request) -> Response:
    """End this browser session (or revoke the bearer token used)."""
    identity = await require_identity(request)
    svc = services(request)
    authorization = request.headers.get("authorization", "")
    secret = authorization[7:].strip() if identity.kind is CredentialKind.BEARER else (
        request.cookies.get(COOKIE_NAME, ""))
    await svc.credentials.revoke(secret)
    async with svc.db.write() as session:
        audit.record(session, "logout", user_id=identity.user_id, address=client_address(request))
    response = reply(None)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


async def me(request: Request) -> Response:
    """The signed-in user, and the CSRF token a browser must send with changes."""
    identity = await optional_identity(request)
    if identity is None:
        raise unauthenticated()
    return reply(schemas.SessionOut(
        user=_user_out(identity.user_id, identity.username, identity.full_name,
                       identity.is_admin),
        csrf_token=identity.csrf_token,
    ))


async def create_token(request: Request, body: schemas.TokenRequest) -> Response:
    """Issue a bearer token: for yourself, or (administrators) for another user."""
    identity = await require_identity(request)
    svc = services(request)
    user_id = identity.user_id
    if body.username and body.username != identity.username:
        if not identity.is_admin:
            raise forbidden("Only an administrator can issue a token for someone else.")
        async with svc.db.read() as session:
            user: User | None = await by_username(session, body.username)
        if user is None:
            raise invalid(f"There is no user '{body.username}'.")
        user_id = user.id
    lifetime = timedelta(days=body.days) if body.days else None
    secret, credential = await svc.credentials.issue(
        user_id, CredentialKind.BEARER, label=body.label, lifetime=lifetime)
    async with svc.db.write() as session:
        audit.record(session, "token_issued", user_id=identity.user_id, target=str(user_id),
                     address=client_address(request), label=body.label)
    return reply(schemas.TokenOut(token=secret, label=credential.label,
                                  expires_at=credential.expires_at), 201)


ENDPOINTS = [
    Endpoint("POST", "/api/auth/login", login, "Sign in with a password", "auth",
             body=schemas.LoginRequest, response=schemas.SessionOut, authenticated=False),
    Endpoint("POST", "/api/auth/logout", logout, "Sign out", "auth", status=204),
    Endpoint("GET", "/api/auth/me", me, "The signed-in user", "auth",
             response=schemas.SessionOut),
    Endpoint("POST", "/api/auth/tokens", create_token, "Issue a bearer token", "auth",
             body=schemas.TokenRequest, response=schemas.TokenOut, status=201),
]
