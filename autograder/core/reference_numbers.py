"""Numbers quoted from a worker that holds reference code: the one channel out of it that feedback
keeps (its text is grader-written, autograder.boundary.sandbox.grader_written), kept narrow.

The student's code in such a worker can read the reference and send any float back; feedback and
pictures quote the student's numbers (they teach). So a verdict of a test that asked such a worker
quotes every number at SIGNIFICANT_DIGITS, at most PER_VERDICT of them, and a submission at most
PER_SUBMISSION in all; later numbers become CUT, and a picture that would quote more is left out
(with a note). docs/security.md gives the bandwidth that remains.
"""

from __future__ import annotations

import re

SIGNIFICANT_DIGITS = 4
PER_VERDICT = 80  # a whole picture: 40 Values (grading_tests/micrograd/drawing.py), data and grad each
PER_SUBMISSION = 240  # the first failing tests of the backward and topo_sort parts keep their pictures
CUT = "…"
PICTURE_LEFT_OUT = "(The picture of your graph is left out: it would quote more numbers than this test may show.)"
# A number standing alone: not part of a name (v12, x0.grad) nor a DOT attribute's value (fontsize=11).
# Thousands separators belong to the number ("10,000"), so it is never read as two.
_NUMBER = re.compile(r"(?<![\w.=,])[-+]?(?:\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w])")


def count(text: str) -> int:
    return len(_NUMBER.findall(text))


def requote(text: str, budget: int) -> tuple[str, int]:
    """`text` with its numbers at SIGNIFICANT_DIGITS, those past the first `budget` replaced by CUT;
    and how many it quotes."""
    quoted = 0

    def shorter(found: re.Match[str]) -> str:
        nonlocal quoted
        if quoted >= budget:
            return CUT
        quoted += 1
        shown = f"{float(found[0].replace(',', '')):.{SIGNIFICANT_DIGITS}g}"
        whole = float(shown)
        if whole.is_integer() and abs(whole) < 1e6:  # 10000 reads as 10000 (or 10,000), not 1e+04
            return f"{int(whole):,}" if "," in found[0] else str(int(whole))
        return shown

    return _NUMBER.sub(shorter, text), quoted
