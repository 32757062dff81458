"""Intake: the secretary uploads files, good and bad; each bad one gets a clear refusal."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import documents_samples as samples
import pymupdf
import pytest

from server.documents.errors import IntakeError
from server.documents.intake import InspectedPdf, OutlineEntry, inspect_pdf, looks_like_pdf


def refusal(path: Path, max_pages: int = 2000) -> IntakeError:
    with pytest.raises(IntakeError) as caught:
        inspect_pdf(str(path), max_pages)
    return caught.value


def test_signature_is_searched_in_the_first_kilobyte() -> None:
    assert looks_like_pdf(b"%PDF-1.7\n")
    assert looks_like_pdf(b"\x00" * 1000 + b"%PDF-1.4")
    assert not looks_like_pdf(b"\x00" * 1020 + b"%PDF-1.4")
    assert not looks_like_pdf(b"\x89PNG\r\n\x1a\n")


def test_agenda_document_is_described(agenda_pdf: Path) -> None:
    info = inspect_pdf(str(agenda_pdf), 2000)

    assert info.page_count == 3
    assert info.pages[0].width == pytest.approx(595, abs=1)
    assert info.pages[0].height == pytest.approx(842, abs=1)
    assert info.pages[0].rotation == 0
    assert info.repaired is False
    assert info.title == "Tài liệu kỳ họp thứ 5"
    assert info.outline == (OutlineEntry(1, "Nghị quyết", 1), OutlineEntry(2, "Điều 1", 2))
    assert info.page_labels is None


def test_description_survives_json_storage(agenda_pdf: Path) -> None:
    info = inspect_pdf(str(agenda_pdf), 2000)

    stored = json.loads(json.dumps(info.to_dict()))

    assert InspectedPdf.from_dict(stored) == info


def test_titles_are_stored_composed(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Nghị quyết")
    doc = pymupdf.open()
    doc.new_page()
    doc.set_metadata({"title": decomposed})
    doc.set_toc([[1, decomposed, 1]])
    doc.save(tmp_path / "nfd.pdf")

    info = inspect_pdf(str(tmp_path / "nfd.pdf"), 2000)

    assert info.title == unicodedata.normalize("NFC", "Nghị quyết") != decomposed
    assert info.outline[0].title == info.title


def test_page_labels_are_read_when_the_document_has_them(tmp_path: Path) -> None:
    info = inspect_pdf(str(samples.labelled_pdf(tmp_path / "labels.pdf")), 2000)

    assert info.page_labels == ("i", "ii", "PL-1", "PL-2")


def test_displayed_size_follows_rotation_and_cropbox(tmp_path: Path) -> None:
    rotated = samples.shaped_pdf(tmp_path / "r.pdf", rotation=90)
    cropped = samples.shaped_pdf(tmp_path / "c.pdf", cropbox=pymupdf.Rect(50, 100, 350, 300))

    page = inspect_pdf(str(rotated), 10).pages[0]
    assert (page.width, page.height, page.rotation) == (600, 400, 90)
    page = inspect_pdf(str(cropped), 10).pages[0]
    assert (page.width, page.height, page.rotation) == (300, 200, 0)


def test_broken_xref_is_repaired(tmp_path: Path, agenda_pdf: Path) -> None:
    data = agenda_pdf.read_bytes()
    cut = data.rindex(b"startxref")
    (tmp_path / "xref.pdf").write_bytes(data[:cut] + b"startxref\n999999\n%%EOF\n")

    info = inspect_pdf(str(tmp_path / "xref.pdf"), 2000)

    assert info.repaired is True
    assert info.page_count == 3


def test_file_cut_before_its_xref_is_repaired(tmp_path: Path, agenda_pdf: Path) -> None:
    data = agenda_pdf.read_bytes()
    (tmp_path / "cut.pdf").write_bytes(data[: data.rindex(b"xref")])

    info = inspect_pdf(str(tmp_path / "cut.pdf"), 2000)

    assert (info.repaired, info.page_count) == (True, 3)


def test_file_cut_in_half_is_refused_as_damaged(tmp_path: Path, agenda_pdf: Path) -> None:
    # MuPDF repairs what is left and would show the lost pages as blank Letter pages;
    # intake notices the page objects are gone and refuses the file instead.
    data = agenda_pdf.read_bytes()
    (tmp_path / "half.pdf").write_bytes(data[: len(data) // 2])

    error = refusal(tmp_path / "half.pdf")

    assert (error.code, error.status) == ("damaged", 422)
    assert "page 2 is missing" in error.message


def test_file_cut_in_half_with_object_streams_is_refused(tmp_path: Path) -> None:
    path = samples.text_pdf(tmp_path / "objstm.pdf", garbage=3, deflate=True, use_objstms=1)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    assert refusal(path).code == "damaged"


def test_password_protected_pdf_is_refused(tmp_path: Path) -> None:
    doc = pymupdf.open()
    samples.draw_page(doc.new_page(), 1)
    doc.save(tmp_path / "locked.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256,
             user_pw="bimat", owner_pw="chutich")

    error = refusal(tmp_path / "locked.pdf")

    assert (error.code, error.status) == ("encrypted", 422)
    assert "password" in error.message


def test_pdf_with_only_an_owner_password_is_accepted(tmp_path: Path) -> None:
    # "Protected" PDFs that only restrict printing open without a password in any reader.
    doc = pymupdf.open()
    samples.draw_page(doc.new_page(), 1)
    doc.save(tmp_path / "restricted.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256,
             owner_pw="chutich", permissions=0)

    assert inspect_pdf(str(tmp_path / "restricted.pdf"), 10).page_count == 1


def test_png_renamed_to_pdf_is_refused(tmp_path: Path) -> None:
    (tmp_path / "photo.pdf").write_bytes(samples.png_bytes())

    error = refusal(tmp_path / "photo.pdf")

    assert (error.code, error.status) == ("not_pdf", 415)


def test_png_with_a_pdf_signature_inside_is_refused(tmp_path: Path) -> None:
    # Seeing "%PDF-" early, MuPDF parses the file as PDF, finds no objects, and fails.
    png = samples.png_bytes()
    (tmp_path / "sneaky.pdf").write_bytes(png[:33] + b"\x00\x00\x00\x08tEXt%PDF-1.7" + png[33:])

    assert refusal(tmp_path / "sneaky.pdf").code == "damaged"


def test_what_mupdf_opens_as_another_format_is_not_a_pdf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Behind the byte check: given filetype="pdf", MuPDF still sniffs the content and
    # opens a PNG as an image document. doc.is_pdf is the second guard.
    monkeypatch.setattr("server.documents.intake.looks_like_pdf", lambda head: True)
    (tmp_path / "photo.pdf").write_bytes(samples.png_bytes())

    assert refusal(tmp_path / "photo.pdf").code == "not_pdf"


def test_html_page_is_refused(tmp_path: Path) -> None:
    (tmp_path / "agenda.pdf").write_text("<!doctype html><h1>Chương trình kỳ họp</h1>")

    assert refusal(tmp_path / "agenda.pdf").code == "not_pdf"


def test_empty_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty.pdf").write_bytes(b"")

    error = refusal(tmp_path / "empty.pdf")

    assert (error.code, error.status) == ("empty_file", 422)


def test_signature_followed_by_garbage_is_damaged(tmp_path: Path) -> None:
    (tmp_path / "junk.pdf").write_bytes(b"%PDF-1.7\n" + b"not really a pdf " * 200)

    assert refusal(tmp_path / "junk.pdf").code == "damaged"


def test_page_count_bomb_is_refused_before_pages_load(tmp_path: Path) -> None:
    (tmp_path / "bomb.pdf").write_bytes(samples.handmade_pdf(5000))

    error = refusal(tmp_path / "bomb.pdf", max_pages=2000)

    assert error.code == "too_many_pages"
    assert "5000" in error.message and "2000" in error.message


def test_page_tree_that_lies_about_its_count_is_damaged(tmp_path: Path) -> None:
    data = samples.handmade_pdf(1).replace(b"/Count 1", b"/Count 9999999")
    (tmp_path / "liar.pdf").write_bytes(data)

    assert refusal(tmp_path / "liar.pdf").code == "damaged"


def test_pdf_without_pages_is_refused(tmp_path: Path) -> None:
    (tmp_path / "none.pdf").write_bytes(samples.handmade_pdf(0))

    assert refusal(tmp_path / "none.pdf").code == "no_pages"
