"""A paper letter from the commune, as a scanner delivers it: each page one JPEG.

The text is typed into a Pillow image with Noto Sans, a procedural photo and a red seal
are added, and the sheet is then skewed, toned, blurred and grained like a flatbed scan.
There is no text layer. Every random choice comes from a seeded random.Random.
"""

from __future__ import annotations

import io
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pymupdf
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from data import Sources
from layout import A4, MM, star_points
from markup import Directive, Paragraph

SOURCE = "kien-nghi-cu-tri-xa-tan-lap.md"
DPI = 150
PX = DPI / 72  # pixels per point
SIZE = (round(A4.width * PX), round(A4.height * PX))
INK = (30, 30, 36)
SEAL = (196, 34, 40)
PEN = (32, 45, 125)
WHITE = (255, 255, 255)
# Slight skew and offset per page, as when a sheet is laid on the glass by hand.
PLACEMENT = ((-0.65, (6, 4)), (0.4, (-4, 9)))


def px(points: float) -> int:
    return round(points * PX)


def font(key: str, pixels: int) -> ImageFont.FreeTypeFont:
    """A pymupdf-fonts face (notos, notosbo, ...) for Pillow, at a size in pixels."""
    return ImageFont.truetype(io.BytesIO(pymupdf.Font(key).buffer), pixels)


@dataclass(frozen=True)
class Fonts:
    regular: ImageFont.FreeTypeFont
    bold: ImageFont.FreeTypeFont
    italic: ImageFont.FreeTypeFont
    bold_italic: ImageFont.FreeTypeFont

    @classmethod
    def at(cls, points: float) -> Fonts:
        size = px(points)
        return cls(font("notos", size), font("notosbo", size), font("notosit", size), font("notosbi", size))


@dataclass(frozen=True)
class Word:
    text: str
    font: ImageFont.FreeTypeFont

    @property
    def width(self) -> float:
        return self.font.getlength(self.text)


class Typewriter:
    """Types paragraphs onto A4 page images, wrapping and justifying like a word processor."""

    def __init__(self) -> None:
        self.pages: list[Image.Image] = []
        self.left, self.right = px(30 * MM), SIZE[0] - px(15 * MM)
        self.top, self.bottom = px(20 * MM), SIZE[1] - px(20 * MM)
        self.y = self.top
        self.new_page()

    @property
    def draw(self) -> ImageDraw.ImageDraw:
        return ImageDraw.Draw(self.pages[-1])

    def new_page(self) -> None:
        self.pages.append(Image.new("RGB", SIZE, WHITE))
        self.y = self.top
        if len(self.pages) > 1:
            self.centred(str(len(self.pages)), font("notos", px(11)), self.left, self.right, px(10 * MM))

    def ensure(self, height: int) -> None:
        if self.y + height > self.bottom:
            self.new_page()

    def centred(self, line: str, face: ImageFont.FreeTypeFont, left: float, right: float, y: int) -> int:
        """Type one centred line; return the y below it."""
        width = face.getlength(line)
        self.draw.text(((left + right - width) / 2, y), line, font=face, fill=INK)
        return y + _line_height(face)

    def paragraph(self, words: list[Word], *, indent: int = px(10 * MM), gap: int = px(4)) -> None:
        """Type a justified paragraph with a first-line indent, across pages if need be."""
        lines = _wrap(words, self.right - self.left, indent)
        for index, line in enumerate(lines):
            height = max(_line_height(word.font) for word in line)
            self.ensure(height)
            x0 = self.left + (indent if index == 0 else 0)
            last = index == len(lines) - 1
            _type_line(self.draw, line, x0, self.right, self.y, justify=not last)
            self.y += height
        self.y += gap


def _line_height(face: ImageFont.FreeTypeFont) -> int:
    return round(face.size * 1.42)


def _wrap(words: list[Word], width: int, indent: int) -> list[list[Word]]:
    lines: list[list[Word]] = [[]]
    used = float(indent)
    for word in words:
        space = word.font.getlength(" ") if lines[-1] else 0
        if lines[-1] and used + space + word.width > width:
            lines.append([])
            used, space = 0.0, 0
        lines[-1].append(word)
        used += space + word.width
    return lines


def _type_line(draw: ImageDraw.ImageDraw, line: list[Word], x0: int, x1: int, y: int, *, justify: bool) -> None:
    natural = sum(word.width for word in line)
    space = line[0].font.getlength(" ")
    if justify and len(line) > 1:
        space = (x1 - x0 - natural) / (len(line) - 1)
    x = float(x0)
    for word in line:
        draw.text((x, y), word.text, font=word.font, fill=INK)
        x += word.width + space


def words_of(source: str, fonts: Fonts) -> list[Word]:
    """Split a paragraph into words; **...** runs are bold."""
    words = []
    for index, run in enumerate(re.split(r"\*\*", source)):
        font = fonts.bold if index % 2 else fonts.regular
        words += [Word(part, font) for part in run.split()]
    return words


# --- the letter ------------------------------------------------------------------------

def build(sources: Sources) -> pymupdf.Document:
    source = sources.document(SOURCE)
    pages = _typed_pages(source.front, source.blocks)
    if len(pages) > 2:
        raise ValueError(f"{SOURCE} runs to {len(pages)} pages; the sample scan has at most 2")
    document = pymupdf.open()
    for number, (page_image, (angle, offset)) in enumerate(zip(pages, PLACEMENT, strict=False), start=1):
        page = document.new_page(width=A4.width, height=A4.height)
        page.insert_image(page.rect, stream=_scanned(page_image, random.Random(1000 + number), angle, offset))
    return document


def _typed_pages(front: dict[str, Any], blocks: tuple[Any, ...]) -> list[Image.Image]:
    body, small = Fonts.at(13), Fonts.at(12)
    typewriter = Typewriter()
    _header(typewriter, front, small)
    _title(typewriter, front, body)
    for block in blocks:
        if isinstance(block, Paragraph):
            typewriter.paragraph(words_of(block.text, body))
        elif block == Directive("anh"):
            _photo_with_caption(typewriter, front["anh"], small)
        elif block == Directive("ky"):
            _signature_block(typewriter, front, small)
        else:
            raise ValueError(f"{SOURCE}: unexpected {block}")
    return typewriter.pages


def _header(typewriter: Typewriter, front: dict[str, Any], fonts: Fonts) -> None:
    width = typewriter.right - typewriter.left
    left = (typewriter.left - px(12 * MM), typewriter.left + round(0.40 * width))
    right = (left[1] + 6, typewriter.right + px(5 * MM))
    draw, y = typewriter.draw, typewriter.top
    issuer = front["co_quan"].split("\n")
    for line in issuer:
        y = typewriter.centred(line, fonts.bold, *left, y)
    rule = max(fonts.bold.getlength(line) for line in issuer) * 0.45
    middle = sum(left) / 2
    draw.line((middle - rule / 2, y + 4, middle + rule / 2, y + 4), fill=INK, width=2)
    typewriter.centred(front["so_hieu"], fonts.regular, *left, y + px(9))

    y = typewriter.top
    y = typewriter.centred("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", fonts.bold, *right, y)
    motto = "Độc lập - Tự do - Hạnh phúc"
    y = typewriter.centred(motto, fonts.bold, *right, y)
    middle, length = sum(right) / 2, fonts.bold.getlength(motto)
    draw.line((middle - length / 2, y + 4, middle + length / 2, y + 4), fill=INK, width=2)
    typewriter.y = typewriter.centred(front["dia_danh_ngay"], fonts.italic, *right, y + px(9)) + px(16)


def _title(typewriter: Typewriter, front: dict[str, Any], fonts: Fonts) -> None:
    big = font("notosbo", px(14))
    y = typewriter.centred(front["loai"], big, typewriter.left, typewriter.right, typewriter.y)
    for line in front["trich_yeu"].split("\n"):
        y = typewriter.centred(line, fonts.bold, typewriter.left, typewriter.right, y)
    middle = (typewriter.left + typewriter.right) / 2
    typewriter.draw.line((middle - px(35), y + 6, middle + px(35), y + 6), fill=INK, width=2)
    typewriter.y = typewriter.centred(front["kinh_gui"], fonts.regular, typewriter.left, typewriter.right,
                                      y + px(14)) + px(8)


def _photo_with_caption(typewriter: Typewriter, caption: str, fonts: Fonts) -> None:
    size = (px(118 * MM), px(76 * MM))
    typewriter.ensure(size[1] + px(40))
    photo = _photo(random.Random(2026), size)
    x = (SIZE[0] - size[0] + typewriter.left - px(15 * MM)) // 2
    typewriter.pages[-1].paste(photo, (x, typewriter.y + px(4)))
    typewriter.draw.rectangle((x - 1, typewriter.y + px(4) - 1, x + size[0], typewriter.y + px(4) + size[1]),
                              outline=INK, width=2)
    typewriter.y += size[1] + px(10)
    lines = _wrap([Word(part, fonts.italic) for part in caption.split()], size[0], 0)
    for line in lines:
        typewriter.y = typewriter.centred(" ".join(w.text for w in line), fonts.italic, x, x + size[0], typewriter.y)
    typewriter.y += px(6)


def _signature_block(typewriter: Typewriter, front: dict[str, Any], fonts: Fonts) -> None:
    sign, recipients = front["ky"], front["noi_nhan"]
    typewriter.ensure(px(200))
    half = (typewriter.right - typewriter.left) // 2
    left, right = typewriter.left, typewriter.left + half
    small = font("notos", px(10))
    y = typewriter.y + px(10)
    typewriter.draw.text((left, y), "Nơi nhận:", font=fonts.bold_italic, fill=INK)
    line_y = y + _line_height(fonts.bold_italic)
    for line in recipients:
        typewriter.draw.text((left, line_y), line, font=small, fill=INK)
        line_y += _line_height(small)
    for line in sign["chuc_danh"]:
        y = typewriter.centred(line, fonts.bold, right, typewriter.right, y)
    centre_x = (right + typewriter.right) // 2
    page = typewriter.pages[-1]
    scribble = _signature(random.Random(7), (px(150), px(60)))
    page.paste(scribble, (centre_x - px(40), y + px(18)), scribble)
    seal = _seal(front["con_dau"], px(58))
    _stamp(page, seal, (centre_x - px(92), y - px(6)))
    typewriter.y = typewriter.centred(sign["ten"], fonts.bold, right, typewriter.right, y + px(106))


# --- pictures ---------------------------------------------------------------------------

def _photo(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A washed-out spillway bridge over a muddy stream, hills behind: drawn, not taken."""
    photo = Image.new("RGB", size)
    draw = ImageDraw.Draw(photo)
    width, height = size
    _gradient(draw, width, 0, round(height * 0.42), (168, 192, 214), (218, 222, 226))
    for colour, base, rough in (((112, 138, 128), 0.30, 0.10), ((70, 104, 66), 0.40, 0.07)):
        ridge = _ridge(rng, width, round(height * base), round(height * rough))
        draw.polygon([*ridge, (width, height), (0, height)], fill=colour)
    def leaves() -> tuple[int, int, int]:
        return rng.randint(35, 60), rng.randint(70, 95), rng.randint(35, 55)

    def stone() -> tuple[int, int, int]:
        grey = rng.randint(110, 150)
        return grey, grey - 4, grey - 12

    _blobs(draw, rng, 70, (0, width), (height * 0.40, height * 0.52), (6, 16), leaves)
    _gradient(draw, width, round(height * 0.52), height, (138, 110, 78), (160, 126, 88))
    _streaks(draw, rng, 160, (0, width), (height * 0.52, height), (15, 60), (-1, 1), (170, 145, 110))
    _spillway(draw, rng, width, round(height * 0.60))
    _blobs(draw, rng, 14, (0, width * 0.4), (height * 0.86, height), (8, 22), stone)
    photo = photo.filter(ImageFilter.GaussianBlur(1.1))
    return _grain(photo, rng, 10)


def _gradient(draw: ImageDraw.ImageDraw, width: int, top: int, bottom: int,
              start: tuple[int, int, int], end: tuple[int, int, int]) -> None:
    for row in range(top, bottom):
        t = (row - top) / (bottom - top)
        draw.line((0, row, width, row), fill=tuple(round(a + (b - a) * t) for a, b in zip(start, end, strict=True)))


def _blobs(draw: ImageDraw.ImageDraw, rng: random.Random, count: int, xs: tuple[float, float],
           ys: tuple[float, float], radii: tuple[float, float],
           colour: Callable[[], tuple[int, int, int]]) -> None:
    """Round shapes scattered at random: tree crowns, stones."""
    for _ in range(count):
        x, y, r = rng.uniform(*xs), rng.uniform(*ys), rng.uniform(*radii)
        draw.ellipse((x - r, y - r, x + r, y + r * 0.8), fill=colour())


def _streaks(draw: ImageDraw.ImageDraw, rng: random.Random, count: int, xs: tuple[float, float],
             ys: tuple[float, float], lengths: tuple[float, float], drops: tuple[float, float],
             colour: tuple[int, int, int]) -> None:
    """Short light strokes: ripples on the water, foam where it pours over the break."""
    for _ in range(count):
        x, y = rng.uniform(*xs), rng.uniform(*ys)
        draw.line((x, y, x + rng.uniform(*lengths), y + rng.uniform(*drops)), fill=colour, width=2)


def _spillway(draw: ImageDraw.ImageDraw, rng: random.Random, width: int, deck: int) -> None:
    """The surviving spans on each bank, and the broken slab tipped into the stream."""
    concrete, shade, face = (184, 182, 174), (118, 116, 110), 30
    for left, right in ((0.0, width * 0.47), (width * 0.80, float(width))):
        draw.rectangle((left, deck, right, deck + face), fill=concrete)
        draw.rectangle((left, deck + face, right, deck + face + 24), fill=shade)
    draw.polygon([(width * 0.50, deck + 14), (width * 0.70, deck + 44), (width * 0.69, deck + 74),
                  (width * 0.49, deck + 42)], fill=concrete)
    draw.polygon([(width * 0.49, deck + 42), (width * 0.69, deck + 74), (width * 0.69, deck + 86),
                  (width * 0.49, deck + 54)], fill=shade)
    _streaks(draw, rng, 90, (width * 0.45, width * 0.84), (deck + 20, deck + 110), (10, 34), (3, 12),
             (238, 234, 222))


def _ridge(rng: random.Random, width: int, base: int, rough: int) -> list[tuple[float, float]]:
    points, y = [], float(base)
    for x in range(0, width + 20, 20):
        y = min(max(y + rng.uniform(-rough / 3, rough / 3), base - rough), base + rough)
        points.append((float(x), y))
    return points


# Control points of a made-up signature: a tall initial, then a run of cursive strokes.
_SIGNATURE = ((0.02, 0.72), (0.09, 0.12), (0.14, 0.08), (0.12, 0.55), (0.07, 0.92), (0.17, 0.46),
              (0.25, 0.34), (0.22, 0.62), (0.30, 0.56), (0.36, 0.28), (0.38, 0.64), (0.46, 0.40),
              (0.50, 0.60), (0.56, 0.18), (0.58, 0.66), (0.66, 0.44), (0.72, 0.54), (0.80, 0.30),
              (0.84, 0.58), (0.98, 0.38))


def _signature(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A pen signature on a transparent layer: a smoothed, slightly shaky stroke and a flourish."""
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    width, height = size
    anchors = [(x * width + rng.uniform(-2, 2), y * height + rng.uniform(-2, 2)) for x, y in _SIGNATURE]
    draw.line(_smooth(anchors, 12), fill=PEN + (235,), width=3, joint="curve")
    draw.line(_smooth([(width * 0.05, height * 0.86), (width * 0.5, height * 0.80), (width * 0.97, height * 0.66)], 12),
              fill=PEN + (220,), width=2)
    return layer


def _smooth(points: list[tuple[float, float]], steps: int) -> list[tuple[float, float]]:
    """Catmull-Rom curve through the points."""
    padded = [points[0], *points, points[-1]]
    curve = []
    for index in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[index - 1:index + 3]
        for step in range(steps):
            t = step / steps
            curve.append(tuple(
                0.5 * (2 * b + (c - a) * t + (2 * a - 5 * b + 4 * c - d) * t * t + (3 * b - a - 3 * c + d) * t ** 3)
                for a, b, c, d in zip(p0, p1, p2, p3, strict=True)))
    curve.append(points[-1])
    return curve  # type: ignore[return-value]


def _seal(lines: list[str], radius: int) -> Image.Image:
    """A round red seal: two rings, the issuer's name around the edge, a star in the middle."""
    size = 2 * radius + 8
    seal = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(seal)
    centre = size / 2
    draw.ellipse((4, 4, size - 4, size - 4), outline=255, width=7)
    inner = radius - 34
    draw.ellipse((centre - inner, centre - inner, centre + inner, centre + inner), outline=255, width=3)
    ring = " • ".join(lines) + " • "
    _text_on_circle(seal, ring, font("notosbo", 16), centre, radius - 20)
    star = star_points(pymupdf.Point(centre, centre), inner * 0.62, inner * 0.25)
    draw.polygon([(point.x, point.y) for point in star], fill=255)
    return seal


def _text_on_circle(layer: Image.Image, text: str, face: ImageFont.FreeTypeFont, centre: float, radius: float) -> None:
    """Letters spaced evenly round the whole ring, clockwise from the lower left, tops outward."""
    spread = 2 * math.pi / sum(face.getlength(char) for char in text)
    angle = 0.75 * math.pi  # y grows downwards, so growing angles run clockwise
    for char in text:
        advance = face.getlength(char) * spread
        middle = angle + advance / 2
        glyph = Image.new("L", (40, 40), 0)
        ImageDraw.Draw(glyph).text((20, 20), char, font=face, fill=255, anchor="mm")
        rotated = glyph.rotate(-math.degrees(middle) - 90, resample=Image.Resampling.BICUBIC)
        x = centre + radius * math.cos(middle) - 20
        y = centre + radius * math.sin(middle) - 20
        layer.paste(255, (round(x), round(y)), rotated)
        angle += advance


def _stamp(page: Image.Image, seal: Image.Image, at: tuple[int, int]) -> None:
    """Press the seal: red ink multiplied into the paper, so the typing shows through."""
    ink = Image.new("RGB", seal.size, SEAL)
    white = Image.new("RGB", seal.size, WHITE)
    pressed = Image.composite(ink, white, seal.point(lambda v: v * 86 // 100))
    region = page.crop((at[0], at[1], at[0] + seal.size[0], at[1] + seal.size[1]))
    page.paste(ImageChops.multiply(region, pressed), at)


# --- the scanner -------------------------------------------------------------------------

def _scanned(page: Image.Image, rng: random.Random, angle: float, offset: tuple[int, int]) -> bytes:
    """Skew, soften, tone and grain a clean page; return it as a JPEG."""
    page = page.rotate(angle, resample=Image.Resampling.BICUBIC, translate=offset, fillcolor=WHITE)
    page = page.filter(ImageFilter.GaussianBlur(0.55))
    page = ImageChops.multiply(page, _paper(rng))
    page = _grain(page, rng, 9)
    buffer = io.BytesIO()
    page.save(buffer, "JPEG", quality=68, subsampling=2, dpi=(DPI, DPI))
    return buffer.getvalue()


def _paper(rng: random.Random) -> Image.Image:
    """Greyish paper with uneven light and the scanner lid's shadow along one edge."""
    small = Image.new("RGB", (12, 16))
    for x in range(12):
        for y in range(16):
            light = 232 + rng.randint(-5, 5) - (22 if x == 0 else 0)
            small.putpixel((x, y), (light, light - 2, light - 8))
    return small.resize(SIZE, Image.Resampling.BICUBIC)


def _grain(image: Image.Image, rng: random.Random, amplitude: int) -> Image.Image:
    """Add grey noise of +- amplitude from a seeded generator (Pillow's own is not seedable)."""
    width, height = image.size
    noise = Image.frombytes("L", (width, height), rng.randbytes(width * height))
    noise = noise.point(lambda v: 128 + (v - 128) * amplitude // 128)
    return ImageChops.add(image, Image.merge("RGB", (noise, noise, noise)), 1.0, -128)
