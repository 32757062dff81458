"""What every API route does first: find the caller, check CSRF, validate the body."""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response

from server.config import Settings
from server.db.engine import Database
from server.db.models import CredentialKind
from server.errors import ApiError, invalid, unauthenticated
from server.security.credentials import CSRF_HEADER, CredentialStore, Identity
from server.security.ratelimit import LoginRateLimiter
from server.services.access import FileAccess

M = TypeVar("M", bound=BaseModel)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_JSON_BODY = 256 * 1024


@dataclass
class Services:
    """Everything the routes share; built once in the app's lifespan."""

    settings: Settings
    db: Database
    credentials: CredentialStore
    login_limiter: LoginRateLimiter
    file_access: FileAccess = field(default_factory=FileAccess)
    documents: Any = None  # server.services.documents.DocumentService
    renderer: Any = None  # server.documents.pipeline.Renderer
    media: Any = None  # server.live.media.MediaRooms; None with PHONGHOP_MEDIA=0


def services(conn: HTTPConnection) -> Services:
    return conn.app.state.services  # type: ignore[no-any-return]


def client_address(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"


def origin_allowed(conn: HTTPConnection, origin: str) -> bool:
    """The browser's Origin is the server's own, or one the operator allowed."""
    origin = origin.rstrip("/")
    own = f"{conn.url.scheme}://{conn.headers.get('host', conn.url.netloc)}"
    if conn.url.scheme == "ws":
        own = "http" + own[2:]
    elif conn.url.scheme == "wss":
        own = "https" + own[3:]
    return origin == own or origin in services(conn).settings.allowed_origins


def check_origin(conn: HTTPConnection) -> None:
    origin = conn.headers.get("origin")
    if origin is not None and not origin_allowed(conn, origin):
        raise ApiError(403, "bad_origin", "Requests from this origin are not allowed.")


async def optional_identity(request: Request) -> Identity | None:
    return await services(request).credentials.identify(
        dict(request.headers), dict(request.cookies)
    )


async def require_identity(request: Request) -> Identity:
    """The signed-in caller; for cookie sessions, changes also need the CSRF token."""
    identity = await optional_identity(request)
    if identity is None:
        raise unauthenticated()
    if identity.kind is CredentialKind.COOKIE and request.method not in SAFE_METHODS:
        check_origin(request)
        sent = request.headers.get(CSRF_HEADER, "")
        if not identity.csrf_token or not hmac.compare_digest(sent, identity.csrf_token):
            raise ApiError(403, "csrf", "The request lacks a valid X-CSRF-Token header; reload "
                           "the page and try again.")
    return identity


async def read_body(request: Request, model: type[M]) -> M:
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise ApiError(415, "unsupported_media_type", "Send a JSON body "
                       "(Content-Type: application/json).")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_JSON_BODY:
            raise ApiError(413, "too_large", "The request body is too large.")
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad_json", "The request body is not valid JSON.") from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise invalid(
            "The request body does not have the expected fields: "
            + "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
                        for e in error.errors()[:5]),
            detail=[{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors()],
        ) from None


def path_int(request: Request, name: str) -> int:
    value = request.path_params[name]
    return int(value)


def reply(
    data: BaseModel | Sequence[BaseModel] | dict[str, Any] | None, status: int = 200
) -> Response:
    if data is None:
        return Response(status_code=204)
    if isinstance(data, BaseModel):
        payload: Any = data.model_dump(mode="json")
    elif isinstance(data, Sequence):
        payload = [item.model_dump(mode="json") for item in data]
    else:
        payload = data
    return JSONResponse(payload, status_code=status)
