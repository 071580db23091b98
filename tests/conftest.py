from __future__ import annotations

import os
from pathlib import Path

import pytest

CORPUS = Path(
    os.environ.get("HARSCRUB_CORPUS", Path(__file__).resolve().parents[2] / "shared/corpus/real")
)


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"real HAR corpus not found at {CORPUS}")
    return CORPUS
