"""create_app(settings): routes, middleware, lifespan — nothing else."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from importlib.metadata import PackageNotFoundError, version

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from server.api import auth, documents, media, meetings, openapi
from server.api.deps import Services
from server.api.registry import Endpoint
from server.broker import create_broker
from server.config import Settings
from server.documents.errors import IntakeError, RenderError
from server.errors import ApiError, not_found
from server.live.hub import Hub
from server.live.media import MediaRooms
from server.runtime import open_services
from server.ws import meeting_socket

log = logging.getLogger(__name__)

ENDPOINTS: list[Endpoint] = [*auth.ENDPOINTS, *meetings.ENDPOINTS, *documents.ENDPOINTS,
                             *media.ENDPOINTS]

try:
    VERSION = version("phonghop")
except PackageNotFoundError:  # running from a source tree that is not installed
    VERSION = "0+unknown"


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def intake_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IntakeError)
    return await api_error(request, documents.intake_error(exc))


async def render_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RenderError)
    # A timeout or a dead worker may pass on a retry; a page MuPDF cannot draw will not.
    status = 503 if exc.code in ("render_timeout", "render_crashed", "render_memory") else 422
    return await api_error(request, ApiError(status, exc.code, exc.message))


async def api_not_found(request: Request) -> Response:
    return await api_error(request, not_found("That API route"))


async def healthz(request: Request) -> Response:
    """Ready once the database answers and the render workers run."""
    svc: Services = request.app.state.services
    async with svc.db.read() as session:
        await session.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok", "version": VERSION})


def create_app(
    settings: Settings, *, migrate: bool = True,
    on_startup: Sequence[Callable[[Services], Awaitable[None]]] = (),
) -> Starlette:
    spec = openapi.build(ENDPOINTS, VERSION)

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(spec)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_services(settings, migrate=migrate) as svc:
            hub = Hub(svc.db, create_broker(settings), prefix=settings.redis_prefix,
                      backlog=settings.ws_backlog, ephemeral_budget=settings.ephemeral_budget)
            await hub.start()
            svc.media = MediaRooms(settings, hub) if settings.media else None
            app.state.services = svc
            app.state.hub = hub
            app.state.page_counts = {}
            try:
                await svc.documents.resume()
                for hook in on_startup:
                    await hook(svc)
                yield
            finally:
                if svc.media is not None:
                    await svc.media.close()
                await hub.close()

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/api/openapi.json", openapi_json),
        WebSocketRoute("/ws", meeting_socket),
        *(e.route() for e in ENDPOINTS),
        Route("/api/{path:path}", api_not_found,
              methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    if settings.client_dir.is_dir():
        routes.append(Mount("/", StaticFiles(directory=settings.client_dir, html=True),
                            name="client"))
    return Starlette(
        routes=routes,
        exception_handlers={ApiError: api_error, IntakeError: intake_error,
                            RenderError: render_error},
        lifespan=lifespan,
    )


def from_env() -> Starlette:
    """The production app, configured from the environment (`phonghop serve`)."""
    return create_app(Settings.from_env())
