"""The API's routes in one explicit list, each declared beside its schemas.

Starlette's routes and the OpenAPI document are both built from `Endpoint`s, so the
published description cannot drift from what the server does. A declared request body
is parsed and validated before the handler runs; the handler receives the model.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.deps import read_body

Handler = Callable[..., Awaitable[Response]]


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    required: bool = False
    schema: tuple[tuple[str, Any], ...] = (("type", "string"),)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    response_is_list: bool = False
    status: int = 200
    authenticated: bool = True
    raw_body: str | None = None  # a media type streamed as it is (uploads)
    produces: str = "application/json"
    query: tuple[Param, ...] = ()

    def route(self) -> Route:
        handler, body = self.handler, self.body

        async def endpoint(request: Request) -> Response:
            if body is not None:
                return await handler(request, await read_body(request, body))
            return await handler(request)

        methods = [self.method] + (["HEAD"] if self.method == "GET" else [])
        return Route(self.path, endpoint, methods=methods, name=f"{self.method} {self.path}")
