from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.documents.pool import RenderPool

# Render workers receive jobs as pickled references ("documents_jobs.sleep") and import
# the module by name. A worker started with forkserver or spawn gets the parent's
# sys.path at Process.start (multiprocessing sends it along with the process object), so
# putting this directory on our own sys.path is all it takes: no PYTHONPATH, no package
# __init__ files, and it does not depend on pytest's --import-mode.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


@pytest.fixture
def agenda_pdf(tmp_path: Path) -> Path:
    import documents_samples  # importable once the lines above have run

    return documents_samples.text_pdf(tmp_path / "agenda.pdf")


@pytest.fixture
async def pool() -> AsyncIterator[RenderPool]:
    render_pool = RenderPool(workers=2, timeout=20.0, memory_mb=768)
    await render_pool.start()
    try:
        yield render_pool
    finally:
        await render_pool.close()
