"""Strict mode (tests/strict_mode.py), run for real: pytest in a subprocess on a tiny test folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import strict_mode

TESTS = Path(__file__).resolve().parent
TINY = """
import shutil

import pytest


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_needs_bwrap():
    pass


def test_runs_everywhere():
    pass
"""


def run_pytest(folder: Path, path: str, strict: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": path, "COURSE_STRICT": strict, "PYTHONPATH": str(TESTS)}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "strict_mode", "-p", "no:cacheprovider", "-q",
                           "-rs", str(folder)], capture_output=True, text=True, cwd=folder, env=env, timeout=120)


def path_without_bwrap(tmp_path: Path) -> str:
    """A PATH with every system tool strict mode needs, except bubblewrap."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for commands, _ in strict_mode.REQUIRED_TOOLS.values():
        for command in commands:
            found = shutil.which(command)
            if found and command != "bwrap":
                (folder / command).symlink_to(found)
    return str(folder)


def tiny_suite(tmp_path: Path) -> Path:
    folder = tmp_path / "suite"
    folder.mkdir()
    (folder / "test_tiny.py").write_text(TINY)
    return folder


def test_strict_mode_fails_when_bwrap_is_missing_and_names_it(tmp_path: Path):
    suite, path = tiny_suite(tmp_path), path_without_bwrap(tmp_path)
    assert shutil.which("bwrap", path=path) is None

    strict = run_pytest(suite, path, "1")
    assert strict.returncode != 0
    assert "missing: bubblewrap (bwrap" in strict.stdout + strict.stderr
    assert "Graphviz" not in strict.stdout + strict.stderr  # only what is missing is named

    relaxed = run_pytest(suite, path, "0")  # locally a skip stays a skip
    assert relaxed.returncode == 0, relaxed.stdout
    assert "1 passed, 1 skipped" in relaxed.stdout and "bubblewrap is not installed" in relaxed.stdout


def test_strict_mode_turns_any_skip_into_a_failure_with_its_reason(tmp_path: Path):
    suite = tiny_suite(tmp_path)
    (suite / "test_skips.py").write_text("import pytest\n\n\ndef test_skipped():\n"
                                         "    pytest.skip('needs a GPU')\n")
    strict = run_pytest(suite, os.environ["PATH"], "1")
    assert strict.returncode == 1
    assert "1 failed, 2 passed" in strict.stdout
    assert "skipped in strict mode" in strict.stdout and "needs a GPU" in strict.stdout


def test_ci_true_means_strict_unless_turned_off(monkeypatch):
    monkeypatch.delenv("COURSE_STRICT", raising=False)
    monkeypatch.setenv("CI", "true")
    assert strict_mode.strict()
    monkeypatch.setenv("COURSE_STRICT", "0")
    assert not strict_mode.strict()
    monkeypatch.delenv("CI")
    monkeypatch.setenv("COURSE_STRICT", "1")
    assert strict_mode.strict()
