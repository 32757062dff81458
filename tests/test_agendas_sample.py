"""The sample meeting in agendas/: a valid folder, real-looking PDFs, reproducible bytes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

import pymupdf
import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "agendas" / "ky-hop-thu-muoi-hai"
GENERATOR = ROOT / "agendas" / "tools" / "generate.py"
REPORT = FOLDER / "02-bao-cao-kinh-te-xa-hoi.pdf"
SLIDES = FOLDER / "03-trinh-chieu-kinh-te-xa-hoi.pdf"
SCAN = FOLDER / "06-kien-nghi-cu-tri-xa-tan-lap.pdf"
RESOLUTION = FOLDER / "07-du-thao-nghi-quyet.pdf"
# Letters that only Vietnamese text has: a page without any is not Vietnamese.
VIETNAMESE = set("ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")


def meeting() -> dict[str, Any]:
    return tomllib.loads((FOLDER / "meeting.toml").read_text(encoding="utf-8"))


def named_files() -> list[str]:
    files = []
    for item in meeting()["agenda"]:
        for entry in [item, *item.get("items", [])]:
            files += [document["file"] for document in entry.get("documents", [])]
    return files


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def page_text(document: pymupdf.Document) -> str:
    return "".join(page.get_text() for page in document)


def test_meeting_file_declares_the_demo_logins_and_sites() -> None:
    spec = meeting()
    assert spec["meeting"]["key"] == "hdnd-song-lam-ky-12"
    assert spec["meeting"]["status"] == "published"
    roles = {p["username"]: p["role"] for p in spec["participants"]}
    assert roles == {"chutoa": "chair", "thuky": "secretary", "daibieu1": "delegate",
                     "daibieu2": "delegate", "daibieu3": "delegate", "xatanlap": "site",
                     "xahoabinh": "site", "khach": "guest"}
    sites = {s["key"]: s["kind"] for s in spec["sites"]}
    assert list(sites.values()).count("commune") == 2 and sites["huyen"] == "district"
    for person in spec["participants"]:
        if person["role"] == "site":
            assert sites[person["site"]] == "commune"
    assert 5 <= len(spec["agenda"]) <= 6
    for item in spec["agenda"]:
        documents = item.get("documents", []) + [d for i in item.get("items", []) for d in i.get("documents", [])]
        assert documents, f"agenda item {item['title']!r} has no document"
    visible = [d.get("guest_visible", False) for item in spec["agenda"] for d in item.get("documents", [])]
    assert any(visible) and not all(visible)


def test_every_named_file_is_an_unencrypted_pdf() -> None:
    files = named_files()
    assert sorted(files) == sorted(path.name for path in FOLDER.glob("*.pdf"))
    for name in files:
        with pymupdf.open(FOLDER / name) as document:
            assert document.is_pdf, name
            assert not document.needs_pass and not document.is_encrypted, name
            assert document.page_count >= 1, name


def test_report_is_long_with_outline_and_page_labels() -> None:
    with pymupdf.open(REPORT) as report:
        assert report.page_count >= 30
        assert len(report.get_toc()) >= 10
        labels = [page.get_label() for page in report]
        assert labels[:3] == ["i", "ii", "1"]
        assert labels[-1] == str(report.page_count - 2)


def test_cover_crop_box_is_smaller_than_and_inside_its_media_box() -> None:
    with pymupdf.open(REPORT) as report:
        cover = report[0]
        assert cover.cropbox != cover.mediabox
        assert cover.mediabox.contains(cover.cropbox)
        assert cover.cropbox.x0 > 0 and cover.cropbox.y0 > 0


def test_resolution_annex_is_a_rotated_page() -> None:
    with pymupdf.open(RESOLUTION) as resolution:
        annex = resolution[-1]
        assert annex.rotation == 90
        assert annex.mediabox.width < annex.mediabox.height  # stored portrait
        assert annex.rect.width > annex.rect.height  # shown landscape
        assert "Phụ lục II" in annex.get_text()


def test_slides_are_16_by_9_and_the_scan_is_images_only() -> None:
    with pymupdf.open(SLIDES) as slides:
        assert all(round(page.rect.width / page.rect.height, 2) == 1.78 for page in slides)
    with pymupdf.open(SCAN) as scan:
        for page in scan:
            assert page.get_text().strip() == ""
            assert len(page.get_images()) == 1


def test_text_is_vietnamese_and_nfc() -> None:
    with pymupdf.open(REPORT) as report:
        cover = report[0].get_text()
        assert VIETNAMESE & set(cover.lower())
        assert unicodedata.is_normalized("NFC", cover)
    for name in named_files():
        if FOLDER / name == SCAN:
            continue
        with pymupdf.open(FOLDER / name) as document:
            text = page_text(document)
            assert unicodedata.is_normalized("NFC", text), name
            assert len(VIETNAMESE & set(text.lower())) >= 10, name
            assert "\ufffd" not in text, name


@pytest.mark.slow
def test_generator_reproduces_the_committed_pdfs(tmp_path: Path) -> None:
    pytest.importorskip("pymupdf_fonts", reason="regenerating needs: pip install -e .[agendas]")
    result = subprocess.run([sys.executable, str(GENERATOR), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0, result.stderr
    generated = sorted(path.name for path in tmp_path.glob("*.pdf"))
    assert generated == sorted(path.name for path in FOLDER.glob("*.pdf"))
    with pymupdf.open(REPORT) as committed, pymupdf.open(tmp_path / REPORT.name) as fresh:
        built_with, building_with = committed.metadata["producer"], fresh.metadata["producer"]
    if built_with != building_with:
        pytest.skip(f"committed PDFs were built by {built_with!r}, this is {building_with!r}")
    for name in generated:
        assert sha256(tmp_path / name) == sha256(FOLDER / name), f"{name} differs: regenerate it"
