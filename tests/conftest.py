from __future__ import annotations

import os
from pathlib import Path

import pytest

from harscrub.rules import Ruleset, load_ruleset

from .factories import SECRET_HAR

CORPUS = Path(
    os.environ.get("HARSCRUB_CORPUS", Path(__file__).resolve().parents[2] / "shared/corpus/real")
)


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"real HAR corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture(scope="session")
def ruleset() -> Ruleset:
    """The built-in rules, loaded once: tests never change a Ruleset."""
    return load_ruleset()


@pytest.fixture
def src(tmp_path: Path) -> Path:
    """login.har, holding SECRET_HAR, alone in a fresh folder."""
    path = tmp_path / "login.har"
    path.write_bytes(SECRET_HAR)
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """test_parallel.py first: harscrub forks only in a process without threads, and the
    store and cluster tests leave idle daemon threads behind (fsspec's, Dask's)."""
    items.sort(key=lambda item: item.module is None or item.module.__name__ != FORKING_TESTS)


FORKING_TESTS = "tests.test_parallel"
