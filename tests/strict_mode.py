"""Strict mode for CI: a missing tool or a skipped test fails the run instead of passing quietly.

On by default where CI=true, or with COURSE_STRICT=1 (.ci/run sets it); COURSE_STRICT=0 turns
it off. Locally, skips stay skips: a laptop without Chromium can still run the rest. In CI a
skip would hide exactly the tests that matter (the sandbox without bubblewrap, the report
without a browser), so each becomes a failure that names what it needed.

Loaded by tests/conftest.py, or as `-p strict_mode` with tests/ on sys.path.
"""

from __future__ import annotations

import os
import shutil

import pytest

from autograder.entry_points import which

# What the whole suite needs besides Python packages: {what: (commands, any of them, how to get it)}.
REQUIRED_TOOLS = {
    "bubblewrap": (("bwrap",), "apt-get install bubblewrap"),
    "Graphviz": (("dot",), "apt-get install graphviz"),
    "Chromium": (("chromium", "chromium-browser"), "apt-get install chromium"),
    "ChromeDriver": (("chromedriver",), "apt-get install chromium-driver"),
    "actionlint": (("actionlint",), "pip install -e '.[dev]'"),
    "zizmor": (("zizmor",), "pip install -e '.[dev]'"),
}


def strict() -> bool:
    setting = os.environ.get("COURSE_STRICT", "")
    if setting in ("0", "1"):
        return setting == "1"
    return os.environ.get("CI", "").lower() == "true"


def missing_tools() -> list[str]:
    """The REQUIRED_TOOLS not found: system ones on PATH, Python ones beside the interpreter too."""
    return [f"{name} ({' or '.join(commands)}: {how})" for name, (commands, how) in REQUIRED_TOOLS.items()
            if not any(shutil.which(command) or which(command) for command in commands)]


def pytest_configure(config: pytest.Config) -> None:
    if strict() and (missing := missing_tools()):
        raise pytest.UsageError("strict mode (CI=true or COURSE_STRICT=1) needs every tool the tests use; missing: "
                                + "; ".join(missing))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if strict() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = (f"skipped in strict mode (CI=true or COURSE_STRICT=1), which fails the run: {reason}. "
                           "Install what it needs or run it where it applies (COURSE_STRICT=0 turns this off).")
