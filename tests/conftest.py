"""Shared helpers for the project's tests."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from checkout import REPO_ROOT
from strict_mode import pytest_configure, pytest_runtest_makereport  # noqa: F401 (strict mode's hooks)

SOLUTIONS = REPO_ROOT / "solutions"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """`@pytest.mark.as_root` tests concern a grader running as root; the unprivileged CI run
    deselects them (-m "not as_root"), anywhere else they are skipped without root."""
    if item.get_closest_marker("as_root") and os.geteuid() != 0:
        pytest.skip("needs root: it checks what the grader does as root")


def _forget_micrograd() -> dict:
    names = [name for name in sys.modules if name == "micrograd" or name.startswith("micrograd.")]
    return {name: sys.modules.pop(name) for name in names}


@contextmanager
def micrograd_from(root: Path) -> Iterator[SimpleNamespace]:
    """Import the `micrograd` package found in root (engine, nn, viz), without leaking it.

    Several copies (reference, generated template, submissions) share the package name, so the
    import is isolated: whatever `micrograd` was loaded before is put back afterwards.
    """
    saved = _forget_micrograd()
    sys.path.insert(0, str(root))
    try:
        modules = {name: importlib.import_module(f"micrograd.{name}") for name in ("engine", "nn", "viz")}
    finally:
        sys.path.remove(str(root))
    assert Path(modules["engine"].__file__).resolve().is_relative_to(root.resolve())
    try:
        yield SimpleNamespace(**modules)
    finally:
        _forget_micrograd()
        sys.modules.update(saved)


@pytest.fixture(scope="module")
def reference() -> Iterator[SimpleNamespace]:
    """The reference solution (solutions/micrograd): .engine, .nn, .viz."""
    with micrograd_from(SOLUTIONS) as modules:
        yield modules


@pytest.fixture(scope="session")
def load_micrograd():
    """micrograd_from, for tests that import another copy (a generated template, a submission)."""
    return micrograd_from
