"""Errors cross the process boundary with everything the server needs to answer."""

from __future__ import annotations

import pickle

from server.documents import errors
from server.documents.errors import IntakeError, PrerenderError, RenderError


def test_intake_error_keeps_code_message_and_status_through_pickling() -> None:
    error = errors.too_many_pages(5000, 2000)
    error.add_note("worker traceback")

    copy = pickle.loads(pickle.dumps(error))

    assert isinstance(copy, IntakeError)
    assert (copy.code, copy.message, copy.status) == (error.code, error.message, 422)
    assert copy.__notes__ == ["worker traceback"]


def test_render_errors_survive_pickling() -> None:
    failure = RenderError("render_timeout", "Drawing took longer than 60 s and was stopped.")
    error = PrerenderError({7: failure, 3: failure})

    copy = pickle.loads(pickle.dumps(error))

    assert copy.code == "pages_failed"
    assert copy.message.startswith("Pages 3, 7 could not be prepared")
    assert copy.failures[3].code == "render_timeout"


def test_statuses_follow_http() -> None:
    assert errors.not_pdf().status == 415
    assert errors.too_large(100 * 1024 * 1024).status == 413
    assert "100 MB" in errors.too_large(100 * 1024 * 1024).message
    assert {errors.empty_file().status, errors.encrypted().status, errors.damaged().status} == {422}


def test_worker_failures_during_intake_become_intake_errors() -> None:
    for code in ("render_timeout", "render_crashed", "render_memory"):
        error = errors.unreadable(RenderError(code, "whatever"))
        assert (error.code, error.status) == (code, 422)
    assert errors.unreadable(RenderError("page_damaged", "bad page")).code == "damaged"
