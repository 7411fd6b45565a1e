"""Measure `course grade`: per-submission time (cold and in a batch), peak memory, worst hostile case.

    python bench/grade_one.py [--batch 8] [--jobs 1] [--cases infinite-loop-in-exp-backward ...]

Each figure comes from real `course grade` processes grading the reference (solutions/) or
cases of the adversarial corpus (tests/adversarial/corpus.py). Peak memory is the largest sum
of RSS over the grader's whole process tree (grader, pool processes, bwrap, workers), sampled
every 20 ms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from autograder import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "tests"))
from adversarial.corpus import CASES, build  # noqa: E402

DEFAULT_CASES = ["infinite-loop-in-exp-backward", "os-exit-in-backward", "allocates-many-gb", "fork-bomb",
                 "daemon-overwrites-results", "floods-stdout", "syntax-error"]
PAGE = os.sysconf("SC_PAGE_SIZE")


def _tree_rss(root: int) -> int:
    """Sum of RSS (bytes) of `root` and all its descendants."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid], rss[pid] = int(fields[1]), int(fields[21]) * PAGE
    total, frontier = 0, [root]
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    while frontier:
        pid = frontier.pop()
        total += rss.get(pid, 0)
        frontier += children.get(pid, [])
    return total


def measure(args: list[str]) -> tuple[float, float, int]:
    """Run `course grade ARGS`; return (seconds, peak tree RSS in MiB, exit status)."""
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "autograder", "grade", *args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(process.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, stderr = process.communicate()
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        print(stderr.decode(errors="replace"), file=sys.stderr)
    return seconds, peak / (1 << 20), process.returncode


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
        seconds, peak, code = measure([str(REPO_ROOT / "solutions"), "--results", str(work / "cold.json")])
        rows.append(("reference, cold (one process)", 1, seconds, seconds, peak, code))

        copies = []
        for i in range(options.batch):
            copies.append(work / "batch" / f"copy{i}")
            shutil.copytree(REPO_ROOT / "solutions", copies[-1], ignore=shutil.ignore_patterns("__pycache__"))
        seconds, peak, code = measure([*map(str, copies), "--out", str(work / "batch-out"), "--force",
                                       "--quiet", "--jobs", str(options.jobs)])
        rows.append((f"reference, batch of {options.batch}, {options.jobs} job(s)", options.batch, seconds,
                     seconds / options.batch, peak, code))

        for name in options.cases:
            source = build(name, CASES[name], work / "cases", out=work / "cases-out")
            seconds, peak, code = measure([str(source), "--results", str(work / "cases-out" / f"{name}.json")])
            rows.append((f"hostile: {name}", 1, seconds, seconds, peak, code))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"{'what':<52} {'subs':>4} {'total s':>8} {'s/sub':>7} {'peak MiB':>9} {'exit':>4}")
    for what, count, total, per, peak, code in rows:
        print(f"{what:<52} {count:>4} {total:>8.1f} {per:>7.1f} {peak:>9.0f} {code:>4}")
    hostile = [row for row in rows if row[0].startswith("hostile")]
    if hostile:
        worst = max(hostile, key=lambda row: row[2])
        print(f"worst hostile case: {worst[0].removeprefix('hostile: ')} in {worst[2]:.1f} s")
    return 0 if all(row[5] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
