"""Shared by every hidden suite: the notebook suites use the micrograd suite's diagnoses.

pytest puts each test's own folder on sys.path; the micrograd suite's modules (diagnose, expressions)
are made importable by name for the notebook suites too, so both explain mistakes the same way.
"""

import sys
from pathlib import Path

MICROGRAD_SUITE = str(Path(__file__).resolve().parent / "micrograd")
if MICROGRAD_SUITE not in sys.path:
    sys.path.append(MICROGRAD_SUITE)
