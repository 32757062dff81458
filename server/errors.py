"""Errors a client can act on: a stable code, a human message, an HTTP status.

Routes and services raise `ApiError`; one exception handler in `app.py` turns it into
`{"error": {"code": ..., "message": ...}}`. The same codes travel over the websocket.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None,
        detail: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.detail = detail

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            error["detail"] = self.detail
        return {"error": error}


def not_found(what: str = "That item") -> ApiError:
    # Also used where the caller may not know the thing exists: a participant of meeting A
    # asking for meeting B learns nothing from the answer.
    return ApiError(404, "not_found", f"{what} does not exist or you cannot see it.")


def forbidden(message: str = "Your role in this meeting does not allow that.") -> ApiError:
    return ApiError(403, "forbidden", message)


def unauthenticated() -> ApiError:
    return ApiError(401, "unauthenticated", "Sign in first.")


def invalid(message: str, detail: Any = None) -> ApiError:
    return ApiError(422, "invalid", message, detail=detail)
