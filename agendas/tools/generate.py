"""Generate the PDFs of the sample meeting (Kỳ họp thứ Mười hai, HĐND huyện Sông Lam).

    .venv/bin/python agendas/tools/generate.py [--out DIR]

Every file is rebuilt from agendas/tools/sources/; the same sources and the same
PyMuPDF, pymupdf-fonts and Pillow versions always give byte-identical files.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import PIL
import pymupdf

sys.path.insert(0, str(Path(__file__).resolve().parent))

import formal  # noqa: E402
import report  # noqa: E402
import scan  # noqa: E402
import slides  # noqa: E402
from data import Sources  # noqa: E402
from layout import save_pdf  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "ky-hop-thu-muoi-hai"
UBND = "Ủy ban nhân dân huyện Sông Lam"
HDND = "Hội đồng nhân dân huyện Sông Lam"


@dataclass(frozen=True)
class Output:
    file: str
    build: Callable[[Sources], pymupdf.Document]
    title: str
    author: str
    subject: str


def _formal(source: str) -> Callable[[Sources], pymupdf.Document]:
    return lambda sources: formal.build(sources, source)


OUTPUTS = (
    Output("01-chuong-trinh-ky-hop.pdf", _formal("chuong-trinh-ky-hop.md"),
           "Chương trình Kỳ họp thứ Mười hai, HĐND huyện Sông Lam khóa XX",
           HDND, "Chương trình số 118/CTr-HĐND"),
    Output("02-bao-cao-kinh-te-xa-hoi.pdf", report.build,
           "Báo cáo tình hình kinh tế - xã hội năm 2026; mục tiêu, nhiệm vụ, giải pháp năm 2027",
           UBND, "Báo cáo số 412/BC-UBND trình Kỳ họp thứ Mười hai"),
    Output("03-trinh-chieu-kinh-te-xa-hoi.pdf", slides.build,
           "Trình chiếu: tình hình kinh tế - xã hội năm 2026, nhiệm vụ năm 2027",
           UBND, "Bài trình chiếu tóm tắt Báo cáo số 412/BC-UBND"),
    Output("04-bao-cao-tham-tra.pdf", _formal("bao-cao-tham-tra.md"),
           "Báo cáo thẩm tra của Ban Kinh tế - Xã hội HĐND huyện",
           "Ban Kinh tế - Xã hội, HĐND huyện Sông Lam", "Báo cáo số 47/BC-KTXH"),
    Output("05-goi-y-thao-luan.pdf", _formal("goi-y-thao-luan.md"),
           "Gợi ý nội dung thảo luận tại Kỳ họp thứ Mười hai",
           HDND, "Công văn số 121/HĐND-VP"),
    Output("06-kien-nghi-cu-tri-xa-tan-lap.pdf", scan.build,
           "Báo cáo tổng hợp kiến nghị của cử tri xã Tân Lập (bản quét)",
           "Hội đồng nhân dân xã Tân Lập", "Bản quét văn bản giấy, mỗi trang là một ảnh JPEG"),
    Output("07-du-thao-nghi-quyet.pdf", _formal("du-thao-nghi-quyet.md"),
           "Dự thảo Nghị quyết về nhiệm vụ phát triển kinh tế - xã hội năm 2027",
           HDND, "Dự thảo trình Kỳ họp thứ Mười hai; Phụ lục II là trang ngang (/Rotate 90)"),
    Output("08-dien-van-be-mac.pdf", _formal("dien-van-be-mac.md"),
           "Diễn văn bế mạc Kỳ họp thứ Mười hai", HDND, "Phát biểu của Chủ tịch HĐND huyện"),
)


def producer() -> str:
    """Names the toolchain: another version of any of these gives other bytes."""
    return (f"Phòng họp sample generator; PyMuPDF {pymupdf.VersionBind}; "
            f"pymupdf-fonts {version('pymupdf-fonts')}; Pillow {PIL.__version__}")


def generate(out: Path, sources: Sources | None = None) -> list[Path]:
    sources = sources or Sources()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for output in OUTPUTS:
        document = output.build(sources)
        path = out / output.file
        save_pdf(document, str(path), title=output.title, author=output.author,
                 subject=output.subject, producer=producer())
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    for path in generate(args.out):
        with pymupdf.open(path) as document:
            print(f"{path.name}: {document.page_count} pages, {path.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
