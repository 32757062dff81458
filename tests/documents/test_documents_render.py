"""Rendering and text, called in-process: what a delegate's screen and search will show."""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path

import documents_samples as samples
import pymupdf
import pytest
from PIL import Image, ImageChops, ImageStat

from server.documents import render
from server.documents.errors import RenderError
from server.documents.render import extract_text, output_size, render_page, render_pages


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def direct(path: Path, size: tuple[int, int], page_number: int = 1) -> Image.Image:
    """The page drawn straight by MuPDF at exactly `size`: the reference image."""
    with pymupdf.open(path) as doc:
        page = doc[page_number - 1]
        matrix = pymupdf.Matrix(size[0] / page.rect.width, size[1] / page.rect.height)
        pixmap = page.get_pixmap(matrix=matrix, alpha=False)
        return Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def colour_box(image: Image.Image, colour: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """Bounding box of the pixels close to `colour`."""
    r, g, b = (channel.point(lambda v, c=c: 255 if abs(v - c) < 60 else 0)
               for channel, c in zip(image.split(), colour, strict=True))
    box = ImageChops.multiply(ImageChops.multiply(r, g), b).getbbox()
    assert box is not None, f"no {colour} pixels"
    return box


def scaled(rect: pymupdf.Rect, scale: float) -> tuple[float, float, float, float]:
    return (rect.x0 * scale, rect.y0 * scale, rect.x1 * scale, rect.y1 * scale)


def test_output_size_keeps_the_aspect_and_the_pixel_budget() -> None:
    assert output_size(595.28, 841.89, 1600, 16_000_000) == (1600, 2263)
    assert output_size(600, 400, 300, 16_000_000) == (300, 200)
    width, height = output_size(595.28, 841.89, 2560, 1_000_000)
    assert width * height <= 1_000_000
    assert height / width == pytest.approx(841.89 / 595.28, rel=0.01)
    # A ribbon of a page still gets at least a pixel each way.
    assert output_size(14400, 1, 200, 16_000_000) == (200, 1)


@pytest.mark.parametrize(("fmt", "tolerance"), [("webp", 1.0), ("jpeg", 1.0), ("png", 0.0)])
def test_page_image_matches_mupdf_drawing(agenda_pdf: Path, fmt: str, tolerance: float) -> None:
    image = decode(render_page(str(agenda_pdf), 2, 800, fmt))

    assert image.format == fmt.upper()
    assert image.mode == "RGB"
    assert image.size == (800, round(842 * 800 / 595))
    assert mean_difference(image, direct(agenda_pdf, image.size, 2)) <= tolerance


def test_rotated_page_is_drawn_as_displayed(tmp_path: Path) -> None:
    path = samples.shaped_pdf(tmp_path / "rotated.pdf", rotation=90)

    image = decode(render_page(str(path), 1, 300, "png"))

    assert image.size == (300, 200)  # 400×600 pt page turned on its side
    assert mean_difference(image, direct(path, image.size)) == 0
    with pymupdf.open(path) as doc:
        marker = samples.MARKER * doc[0].rotation_matrix  # top left moves to top right
    expected = scaled(marker, 300 / 600)
    assert colour_box(image, (255, 0, 0)) == pytest.approx(expected, abs=2)


def test_cropbox_page_shows_only_the_cropped_area(tmp_path: Path) -> None:
    crop = pymupdf.Rect(30, 20, 330, 420)
    path = samples.shaped_pdf(tmp_path / "cropped.pdf", cropbox=crop)

    image = decode(render_page(str(path), 1, 600, "png"))

    assert image.size == (600, 800)  # the CropBox's 300×400, not the 400×600 MediaBox
    assert mean_difference(image, direct(path, image.size)) == 0
    expected = scaled(samples.MARKER - (crop.x0, crop.y0, crop.x0, crop.y0), 2)
    assert colour_box(image, (255, 0, 0)) == pytest.approx(expected, abs=2)


def test_huge_request_is_held_to_the_pixel_budget(agenda_pdf: Path) -> None:
    image = decode(render_page(str(agenda_pdf), 1, 2560, "jpeg", max_pixels=500_000))

    assert image.width * image.height <= 500_000
    assert image.height / image.width == pytest.approx(842 / 595, rel=0.01)


def test_batch_gives_the_same_images_as_single_renders(agenda_pdf: Path) -> None:
    jobs = [(1, 200, "webp"), (1, 480, "jpeg"), (3, 200, "png")]

    batch = render_pages(str(agenda_pdf), jobs)

    assert batch == [render_page(str(agenda_pdf), *job) for job in jobs]


def test_missing_page_is_a_render_error(agenda_pdf: Path) -> None:
    with pytest.raises(RenderError) as caught:
        render_page(str(agenda_pdf), 4, 200, "webp")
    assert caught.value.code == "no_such_page"


def test_unknown_format_is_refused(agenda_pdf: Path) -> None:
    with pytest.raises(ValueError):
        render_page(str(agenda_pdf), 1, 200, "gif")


def test_worker_keeps_only_a_few_documents_open(tmp_path: Path) -> None:
    render.close_documents()
    paths = [samples.shaped_pdf(tmp_path / f"{n}.pdf") for n in range(10)]
    for path in paths:
        render_page(str(path), 1, 200, "jpeg")

    assert len(render._documents) == 8
    assert {key[0] for key in render._documents} == {str(p) for p in paths[2:]}
    render.close_documents()


def test_page_text_is_composed_and_in_reading_order(agenda_pdf: Path) -> None:
    text = extract_text(str(agenda_pdf), 1)

    assert text["text"].splitlines() == ["Trang 1", *samples.LINES]
    assert [w[4] for w in text["words"][:4]] == ["Trang", "1", "CỘNG", "HÒA"]
    assert (text["width"], text["height"]) == pytest.approx((595, 842), abs=1)


def test_decomposed_text_comes_out_composed(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    writer = pymupdf.TextWriter(page.rect)
    writer.append((72, 100), unicodedata.normalize("NFD", "Nghị quyết"),
                  font=samples.vietnamese_font(), fontsize=14)
    writer.write_text(page)
    doc.save(tmp_path / "nfd.pdf")

    text = extract_text(str(tmp_path / "nfd.pdf"), 1)

    assert text["text"] == unicodedata.normalize("NFC", "Nghị quyết")
    assert [w[4] for w in text["words"]] == text["text"].split()


def test_letterhead_blocks_side_by_side_read_left_to_right(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    writer = pymupdf.TextWriter(page.rect)
    # The right half drawn first, and a hair higher: MuPDF keeps that order.
    for point, line in [((330, 59.5), "CỘNG HÒA"), ((60, 60), "HĐND XÃ"), ((60, 120), "Nội dung")]:
        writer.append(point, line, font=samples.vietnamese_font(), fontsize=12)
    writer.write_text(page)
    doc.save(tmp_path / "letterhead.pdf")

    words = [w[4] for w in extract_text(str(tmp_path / "letterhead.pdf"), 1)["words"]]

    assert words == ["HĐND", "XÃ", "CỘNG", "HÒA", "Nội", "dung"]


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_word_boxes_cover_the_word_in_the_image(tmp_path: Path, rotation: int) -> None:
    crop = pymupdf.Rect(20, 40, 380, 560)
    path = samples.shaped_pdf(tmp_path / "page.pdf", rotation=rotation, cropbox=crop)
    text = extract_text(str(path), 1)
    image = decode(render_page(str(path), 1, 720, "png")).convert("L")
    scale = 720 / text["width"]

    word = next(w for w in text["words"] if w[4] == "CỘNG")
    inside = image.crop(tuple(round(v * scale) for v in word[:4]))
    assert ImageStat.Stat(inside).extrema[0][0] < 100  # ink under the box

    # The same box that MuPDF's own search finds, turned onto the displayed page.
    with pymupdf.open(path) as doc:
        page = doc[0]
        hit = page.search_for("CỘNG")[0] * page.rotation_matrix
    assert word[:4] == pytest.approx(list(hit), abs=0.5)


def test_word_boxes_are_within_the_displayed_page(tmp_path: Path) -> None:
    # The CropBox cuts off the bottom lines; their words must not be reported.
    path = samples.shaped_pdf(tmp_path / "page.pdf", cropbox=pymupdf.Rect(0, 0, 400, 150))

    text = extract_text(str(path), 1)

    assert "Điều" not in text["text"]
    assert all(0 <= w[1] and w[3] <= 150 + 1 for w in text["words"])
