"""The OpenAPI 3.1 document, generated from the endpoint list and its pydantic schemas."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from server.api import schemas
from server.api.registry import Endpoint

_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")


def build(endpoints: list[Endpoint], version: str) -> dict[str, Any]:
    models: set[type[BaseModel]] = {schemas.ErrorOut}
    for e in endpoints:
        models.update(m for m in (e.body, e.response) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    refs, defs = models_json_schema(
        [(m, "validation") for m in ordered], ref_template="#/components/schemas/{model}"
    )
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        path = _PARAM.sub(lambda m: "{" + m.group(1) + "}", e.path)
        params = [
            {"name": name, "in": "path", "required": True,
             "schema": {"type": "integer" if kind == "int" else "string"}}
            for name, kind in _PARAM.findall(e.path)
        ] + [
            {"name": p.name, "in": "query", "required": p.required,
             "description": p.description, "schema": dict(p.schema)}
            for p in e.query
        ]
        op: dict[str, Any] = {
            "summary": e.summary,
            "description": (e.handler.__doc__ or "").strip(),
            "tags": [e.tag],
            "operationId": e.handler.__name__,
            "parameters": params,
            "responses": {
                "default": {"description": "An error", "content": {
                    "application/json": {"schema": refs[(schemas.ErrorOut, "validation")]}}},
            },
        }
        if e.authenticated:
            op["security"] = [{"session": []}, {"bearer": []}]
        if e.body is not None:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": refs[(e.body, "validation")]}}}
        elif e.raw_body:
            op["requestBody"] = {"required": True, "content": {
                e.raw_body: {"schema": {"type": "string", "format": "binary"}}}}
        ok: dict[str, Any] = {"description": "Success"}
        if e.response is not None:
            schema = refs[(e.response, "validation")]
            if e.response_is_list:
                schema = {"type": "array", "items": schema}
            ok["content"] = {"application/json": {"schema": schema}}
        elif e.status != 204:
            ok["content"] = {e.produces: {"schema": {"type": "string", "format": "binary"}}}
        op["responses"][str(e.status)] = ok
        paths.setdefault(path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Phòng họp", "version": version,
                 "license": {"name": "AGPL-3.0-or-later",
                             "identifier": "AGPL-3.0-or-later"}},
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "phonghop_session",
                            "description": "Browser session; changes also need the "
                            "X-CSRF-Token header from /api/auth/me."},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }
