"""Errors of the PDF engine: a stable code for programs, a sentence for the secretary.

Both classes cross the process boundary (they are raised inside render workers and
re-raised in the server), so each defines `__reduce__`: the default pickling of an
exception replays `cls(*self.args)`, which would lose `code` and `status`.
"""

from __future__ import annotations

from typing import Any


class IntakeError(Exception):
    """An uploaded file that the meeting room will not accept, and why."""

    def __init__(self, code: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.code, self.message, self.status), self.__dict__)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class RenderError(Exception):
    """A page that could not be rendered (or a worker that gave up on it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.code, self.message), self.__dict__)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class PrerenderError(RenderError):
    """Some pages of a document failed to render at upload; the others are done."""

    def __init__(self, failures: dict[int, RenderError]) -> None:
        pages = ", ".join(str(page) for page in sorted(failures))
        first = failures[min(failures)]
        super().__init__(
            "pages_failed",
            f"Pages {pages} could not be prepared for display ({first.message}).",
        )
        self.failures = failures

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.failures,), self.__dict__)


def not_pdf() -> IntakeError:
    return IntakeError(
        "not_pdf",
        "This file is not a PDF. Save or export the document as PDF and upload it again.",
        415,
    )


def empty_file() -> IntakeError:
    return IntakeError("empty_file", "The file is empty. Choose the PDF again and re-upload it.")


def encrypted() -> IntakeError:
    return IntakeError(
        "encrypted",
        "This PDF is protected by a password. Remove the password and upload it again.",
    )


def too_many_pages(count: int, limit: int) -> IntakeError:
    return IntakeError(
        "too_many_pages",
        f"This PDF has {count} pages; the meeting room accepts at most {limit}. "
        "Split it into smaller documents and upload them separately.",
    )


def no_pages() -> IntakeError:
    return IntakeError("no_pages", "This PDF has no pages.")


def damaged(detail: str = "") -> IntakeError:
    suffix = f" ({detail})" if detail else ""
    return IntakeError(
        "damaged",
        f"This PDF is damaged and cannot be read{suffix}. "
        "Open it on your computer, save it again as PDF, and upload the new file.",
    )


def too_large(limit_bytes: int) -> IntakeError:
    return IntakeError(
        "too_large",
        f"This file is larger than {limit_bytes // (1024 * 1024)} MB, the most the meeting room "
        "accepts. Compress the PDF or split it, and upload it again.",
        413,
    )


def unreadable(cause: RenderError) -> IntakeError:
    """Intake that the render worker gave up on: the file is hostile or too complex."""
    messages = {
        "render_timeout": "Reading this PDF took too long, so it was stopped.",
        "render_crashed": "Reading this PDF made the reader crash.",
        "render_memory": "Reading this PDF needs more memory than the server allows.",
    }
    message = messages.get(cause.code, "This PDF could not be read.")
    return IntakeError(
        cause.code if cause.code in messages else "damaged",
        f"{message} It may be damaged or unusually complex: open it on your computer, "
        "save it again as PDF, and upload the new file.",
    )
