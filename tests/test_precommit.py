"""The pre-commit hooks, run by the real pre-commit package against this checkout.

try-repo installs harscrub from the checkout into pre-commit's own environment (a pip install,
so the first run takes some seconds) and runs a hook as a user's repository would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .factories import SECRET_HAR
from .test_cli import assert_no_secret

ROOT = Path(__file__).resolve().parents[1]
GIT = shutil.which("git") or "git"

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(),
    reason="pre-commit needs git and a git checkout of harscrub",
)


def pre_commit(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pre-commit cache for the module: harscrub is installed into it once."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A support repository about to commit a HAR that holds secrets."""
    subprocess.run([GIT, "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "ticket-123.har").write_bytes(SECRET_HAR)
    # Staged, as in a commit: pre-commit sees a hook's changes as a diff against the index.
    subprocess.run([GIT, "add", "ticket-123.har"], cwd=tmp_path, check=True)
    return tmp_path


def test_the_manifest_is_valid(home: Path) -> None:
    done = pre_commit("validate-manifest", ".pre-commit-hooks.yaml", cwd=ROOT, home=home)
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_hook_fails_on_a_dirty_har_and_passes_a_clean_one(repo: Path, home: Path) -> None:
    dirty = pre_commit(
        "try-repo", str(ROOT), "harscrub-check", "--files", "ticket-123.har", cwd=repo, home=home
    )
    assert dirty.returncode == 1, dirty.stdout + dirty.stderr
    assert "ticket-123.har:1: entry 0 GET https://app.test/api" in dirty.stdout
    assert "(authorization)" in dirty.stdout
    assert_no_secret(dirty.stdout, dirty.stderr)
    assert (repo / "ticket-123.har").read_bytes() == SECRET_HAR  # the check writes nothing

    fixed = pre_commit(
        "try-repo", str(ROOT), "harscrub", "--files", "ticket-123.har", cwd=repo, home=home
    )
    assert fixed.returncode == 1  # pre-commit fails a hook that changed files
    assert "files were modified by this hook" in fixed.stdout
    assert_no_secret((repo / "ticket-123.har").read_bytes(), fixed.stdout, fixed.stderr)

    again = pre_commit(
        "try-repo", str(ROOT), "harscrub", "--files", "ticket-123.har", cwd=repo, home=home
    )
    assert again.returncode == 0, again.stdout  # harscrub's output is a fixed point
    clean = pre_commit(
        "try-repo", str(ROOT), "harscrub-check", "--files", "ticket-123.har", cwd=repo, home=home
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_hooks_take_only_har_files(repo: Path, home: Path) -> None:
    (repo / "notes.txt").write_bytes(SECRET_HAR)
    done = pre_commit(
        "try-repo", str(ROOT), "harscrub-check", "--files", "notes.txt", cwd=repo, home=home
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(no files to check)" in done.stdout
