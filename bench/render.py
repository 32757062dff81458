"""What a page image costs: raw PyMuPDF against the server, cold and warm, in one run.

    .venv/bin/python bench/render.py [--agenda FOLDER] [--width 1280] [--rounds 5]

1. raw:    a bare Python process opens each sample PDF and renders + encodes every page
           (PyMuPDF pixmap -> Pillow WebP, the server's quality and method), timed per page.
2. server: `phonghop`'s app under uvicorn in a second process, with the sample meeting
           imported and pre-rendered (at other widths). Every page is then fetched over
           HTTP on loopback at a width that was not pre-rendered:
           cold = the first request (access check, render in a worker, store, send),
           warm = the same request again (served from the page cache), against
           static = a file of the same size served by the same Starlette app's StaticFiles.
Ratios, not milliseconds, are the result: the machine is shared and noisy, and both sides
of each ratio are measured in the same run. The last line is `RESULT key=value ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "agendas" / "ky-hop-thu-muoi-hai"
USER, PASSWORD = "bench", "bench-mat-khau"

RAW_SCRIPT = r"""
import io, json, sys, time
import pymupdf
from PIL import Image
from server.documents import render
width, quality, method = int(sys.argv[1]), 80, render._WEBP_METHOD
out = {}
for path in sys.argv[2:]:
    doc = pymupdf.open(path)
    times = []
    for page in doc:
        t = time.perf_counter()
        zoom = width / page.rect.width
        pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
        image = Image.frombuffer("RGB", (pix.width, pix.height), pix.samples_mv, "raw", "RGB",
                                 pix.stride, 1)
        buf = io.BytesIO()
        image.save(buf, "WEBP", quality=quality, method=method)
        times.append(time.perf_counter() - t)
    out[path] = times
print(json.dumps(out))
"""

SERVE_SCRIPT = r"""
import sys
from pathlib import Path
import uvicorn
from server.app import create_app
from server.config import Settings
from server.services.agenda_import import import_folder
from server.services.users import ensure_user
port, data, static, agenda, user, password = sys.argv[1:7]
settings = Settings(data_dir=Path(data), client_dir=Path(static), prerender_widths=(1024,),
                    thumbnail_width=200)

async def prepare(svc):
    result = await import_folder(svc, Path(agenda))
    async with svc.db.write() as session:
        await ensure_user(session, user, "Bench", password=password, is_admin=True)

app = create_app(settings, on_startup=[prepare])
uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=int(port), log_level="warning",
                              ws="websockets-sansio")).run()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sample_pdfs(folder: Path) -> list[Path]:
    spec = tomllib.loads((folder / "meeting.toml").read_text(encoding="utf-8"))
    names: list[str] = []

    def walk(items: list[dict]) -> None:
        for item in items:
            names.extend(d["file"] for d in item.get("documents", []) if d["file"] not in names)
            walk(item.get("items", []))

    walk(spec["agenda"])
    return [folder / n for n in names]


def raw_times(pdfs: list[Path], width: int) -> dict[str, list[float]]:
    result = subprocess.run([sys.executable, "-c", RAW_SCRIPT, str(width), *map(str, pdfs)],
                            check=True, capture_output=True, text=True, cwd=ROOT)
    return {Path(k).name: v for k, v in json.loads(result.stdout).items()}


async def wait_healthy(http: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("the server did not start")


async def timed_get(http: httpx.AsyncClient, url: str) -> float:
    t = time.perf_counter()
    response = await http.get(url)
    elapsed = time.perf_counter() - t
    if response.status_code != 200:
        raise SystemExit(f"GET {url}: {response.status_code} {response.text[:200]}")
    return elapsed


async def measure(args: argparse.Namespace, pdfs: list[Path]) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="phonghop-bench-"))
    static = work / "static"
    static.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE_SCRIPT, str(port), str(work / "data"), str(static),
         str(args.agenda), USER, PASSWORD], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=120,
                                     headers={"Origin": base}) as http:
            await wait_healthy(http, process)
            login = await http.post("/api/auth/login",
                                    json={"username": USER, "password": PASSWORD})
            login.raise_for_status()
            meeting = (await http.get("/api/meetings")).json()[0]
            documents = (await http.get(f"/api/meetings/{meeting['id']}/documents")).json()
            # Pre-rendering at upload must be over, or it would compete with what we time.
            deadline = time.monotonic() + 600
            while any(d["state"] not in ("ready", "failed") for d in documents):
                if time.monotonic() > deadline:
                    raise SystemExit("documents did not finish rendering")
                await asyncio.sleep(0.5)
                documents = (await http.get(
                    f"/api/meetings/{meeting['id']}/documents")).json()
            by_file = {d["original_filename"]: d for d in documents}
            width = args.width
            cold: dict[str, list[float]] = {}
            urls: list[str] = []
            for pdf in pdfs:
                doc = by_file[pdf.name]
                cold[pdf.name] = []
                for page in range(1, doc["page_count"] + 1):
                    url = doc["page_url"].format(page=page, width=width, format="webp")
                    cold[pdf.name].append(await timed_get(http, url))
                    urls.append(url)
            # A static file of the median page size, served by the same app.
            sizes = sorted([len((await http.get(u)).content) for u in urls])
            (static / "page.webp").write_bytes(os.urandom(sizes[len(sizes) // 2]))
            warm: list[float] = []
            plain: list[float] = []
            for _ in range(args.rounds):
                for url in urls:  # interleaved, so drift in machine load hits both alike
                    warm.append(await timed_get(http, url))
                    plain.append(await timed_get(http, "/page.webp"))
    finally:
        process.terminate()
        process.wait(30)
        shutil.rmtree(work, ignore_errors=True)
    return {"cold": cold, "warm": warm, "static": plain}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agenda", type=Path, default=SAMPLE)
    parser.add_argument("--width", type=int, default=1280,
                        help="a page width bucket that is not pre-rendered")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pdfs = sample_pdfs(args.agenda)
    raw = raw_times(pdfs, args.width)
    measured = asyncio.run(measure(args, pdfs))
    cold: dict[str, list[float]] = measured["cold"]  # type: ignore[assignment]

    print(f"\npage width {args.width} px, WebP; times in ms per page")
    print(f"{'document':<42} {'pages':>5} {'raw':>8} {'cold':>8} {'cold/raw':>9}")
    for pdf in pdfs:
        r, c = raw[pdf.name], cold[pdf.name]
        print(f"{pdf.name[:42]:<42} {len(r):>5} {statistics.mean(r) * 1e3:>8.1f} "
              f"{statistics.mean(c) * 1e3:>8.1f} {sum(c) / sum(r):>9.2f}")
    raw_total = sum(sum(v) for v in raw.values())
    cold_total = sum(sum(v) for v in cold.values())
    pages = sum(len(v) for v in raw.values())
    warm = statistics.median(measured["warm"])  # type: ignore[arg-type]
    static = statistics.median(measured["static"])  # type: ignore[arg-type]
    print(f"{'all':<42} {pages:>5} {raw_total / pages * 1e3:>8.1f} "
          f"{cold_total / pages * 1e3:>8.1f} {cold_total / raw_total:>9.2f}")
    print(f"\nwarm page (cached) median {warm * 1e3:.2f} ms; static file of the median page "
          f"size median {static * 1e3:.2f} ms; warm/static {warm / static:.2f}")
    print(f"RESULT pages={pages} width={args.width} cold_vs_raw={cold_total / raw_total:.2f} "
          f"warm_vs_static={warm / static:.2f} raw_ms={raw_total / pages * 1e3:.1f} "
          f"cold_ms={cold_total / pages * 1e3:.1f} warm_ms={warm * 1e3:.2f} "
          f"static_ms={static * 1e3:.2f}")


if __name__ == "__main__":
    main()
