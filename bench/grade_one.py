"""Measure `course grade`: per-submission time (cold and in a batch), peak memory, worst hostile case.

    python bench/grade_one.py [--batch 8] [--jobs 1] [--cases infinite-loop-in-exp-backward ...]

Each figure comes from real `course grade` processes grading the reference (solutions/) or
cases of the adversarial corpus (tests/adversarial/corpus.py). Peak memory is the largest sum
of RSS over the grader's whole process tree (grader, pool processes, bwrap, workers).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from measure import measure

REPO_ROOT = Path(__file__).resolve().parents[1]

sys.path.insert(0, str(REPO_ROOT / "tests"))
from adversarial.corpus import CASES, build  # noqa: E402

DEFAULT_CASES = ["infinite-loop-in-exp-backward", "os-exit-in-backward", "allocates-many-gb", "fork-bomb",
                 "daemon-overwrites-results", "floods-stdout", "syntax-error"]
PAGE = os.sysconf("SC_PAGE_SIZE")


def grade(args: list[str]) -> tuple[float, float]:
    """(seconds, peak tree RSS in MiB) of `course grade ARGS`, which must complete (exit 0)."""
    seconds, rss, _ = measure([sys.executable, "-m", "autograder", "grade", *args], ok=(0,))
    return seconds, rss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=8, help="copies of the reference graded in one call")
    parser.add_argument("--jobs", type=int, default=1, help="grading processes for the batch (course grade -j)")
    parser.add_argument("--cases", nargs="*", default=DEFAULT_CASES, choices=sorted(CASES),
                        help="hostile cases, each graded alone")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-grade-"))
    rows = []
    try:
        seconds, peak = grade([str(REPO_ROOT / "solutions"), "--results", str(work / "cold.json")])
        rows.append(("reference, cold (one process)", 1, seconds, seconds, peak))

        copies = []
        for i in range(options.batch):
            copies.append(work / "batch" / f"copy{i}")
            shutil.copytree(REPO_ROOT / "solutions", copies[-1], ignore=shutil.ignore_patterns("__pycache__"))
        seconds, peak = grade([*map(str, copies), "--out", str(work / "batch-out"), "--force",
                               "--quiet", "--jobs", str(options.jobs)])
        rows.append((f"reference, batch of {options.batch}, {options.jobs} job(s)", options.batch, seconds,
                     seconds / options.batch, peak))

        for name in options.cases:
            source = build(name, CASES[name], work / "cases", out=work / "cases-out")
            seconds, peak = grade([str(source), "--results", str(work / "cases-out" / f"{name}.json")])
            rows.append((f"hostile: {name}", 1, seconds, seconds, peak))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"{'what':<52} {'subs':>4} {'total s':>8} {'s/sub':>7} {'peak MiB':>9}")
    for what, count, total, per, peak in rows:
        print(f"{what:<52} {count:>4} {total:>8.1f} {per:>7.1f} {peak:>9.0f}")
    hostile = [row for row in rows if row[0].startswith("hostile")]
    if hostile:
        worst = max(hostile, key=lambda row: row[2])
        print(f"worst hostile case: {worst[0].removeprefix('hostile: ')} in {worst[2]:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
