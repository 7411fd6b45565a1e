"""Batch grading against the alternatives, on one machine in one run.

    python bench/benchmark.py [--n 200] [--jobs 2] [--sample 12] [--big 500] [--profile]

(a)  `course grade` batch: N generated module submissions (the demo class's correct and buggy
     students, cycled; no hostile ones, whose timeouts would measure the time limit), full hidden suite.
(b)  `course grade` with one process per submission, on a sample of them.
(a') `course grade` batch on the same submissions as nbgrader notebooks (assignment --notebook-assignment).
(c)  `nbgrader autograde` on those notebooks (a sample: each notebook runs a kernel).
(d)  `otter run` of the same sample as (c), converted to an otter assignment built with `otter assign`
     (bench/otter_peer.py; otter-grader is installed into its own environment under bench/.cache/ on
     first use). `otter grade` needs a Docker daemon: the benchmark says whether one answers.
Per submission: batch runs report wall time / N; per-process runs the median. Peak memory is
the largest sum of RSS over the whole process tree, sampled every 50 ms. --profile splits one
submission's time into worker start, pytest per test and the once-per-process expectations.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import otter_peer
from measure import measure

from autograder import REPO_ROOT, demo

BENCH_KINDS = ("correct", "bug", "unstarted")


def course(*args: str) -> list[str]:
    return [sys.executable, "-m", "autograder", *args]


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, int, float, float, float, float]] = []

    def add(self, what: str, count: int, total: float, per: float, rss: float, pss: float) -> float:
        self.rows.append((what, count, total, per, rss, pss))
        print(f"  {what}: {per:.3f} s/submission, peak RSS {rss:.0f} MiB, PSS {pss:.0f} MiB", file=sys.stderr,
              flush=True)
        return per

    def show(self) -> None:
        print(f"\n{'what':<58} {'subs':>5} {'total s':>8} {'s/sub':>7} {'RSS MiB':>8} {'PSS MiB':>8}")
        for what, count, total, per, rss, pss in self.rows:
            print(f"{what:<58} {count:>5} {total:>8.1f} {per:>7.3f} {rss:>8.0f} {pss:>8.0f}")


def module_batch(table: Table, work: Path, n: int, jobs: int, sample: int) -> tuple[float, float]:
    folder = work / f"class{n}"
    demo.generate_class(folder, n, BENCH_KINDS)
    seconds, rss, pss = measure(course("grade", str(folder), "--out", str(work / f"out{n}"), "--jobs", str(jobs),
                                       "--force", "--quiet"))
    batch = table.add(f"(a) course grade batch, {jobs} jobs", n, seconds, seconds / n, rss, pss)
    single = 0.0
    if sample:
        runs = [measure(course("grade", str(path), "--results", str(work / "single" / f"{path.name}.json")))
                for path in sorted(folder.iterdir())[:sample]]
        single = table.add("(b) course grade, one process per submission (median)", sample,
                           sum(r[0] for r in runs), statistics.median(r[0] for r in runs), max(r[1] for r in runs),
                           max(r[2] for r in runs))
    return batch, single


def student(i: int) -> str:
    return f"s{i + 1:04d}"


def has_bug(i: int) -> bool:
    """Half the notebook students set a gradient instead of adding to it."""
    return i % 2 == 1


def notebook_class(work: Path, assignment: str, n: int) -> Path:
    """An nbgrader course root with n submitted notebooks (reference answers, some with a bug)."""
    sys.path.insert(0, str(REPO_ROOT / "tests"))
    from nbgrader_course import filled, make_course, nbgrader, submit

    root = make_course(work / "nbcourse", [assignment])
    generated = nbgrader(root, "generate_assignment", assignment)
    if generated.returncode != 0:
        raise SystemExit(f"nbgrader generate_assignment failed:\n{generated.stderr}")
    release = root / "release" / assignment / f"{assignment}.ipynb"
    source = root / "source" / assignment / f"{assignment}.ipynb"

    def overwrite(gid: str, code: str) -> str:
        return code.replace("self.grad += out.grad\n", "self.grad = out.grad\n", 1)

    for i in range(n):
        submit(root, student(i), assignment, filled(release, source, overwrite if has_bug(i) else lambda g, c: c))
    return root


def notebooks(table: Table, work: Path, assignment: str, n: int, jobs: int,
              sample: int) -> tuple[float, float, Path | None]:
    """(a') and (c); also the nbgrader course root, whose submitted/ keeps the sample."""
    if not (REPO_ROOT / "assignments" / "source" / assignment).is_dir():
        print(f"  no notebook assignment {assignment!r}: (a'), (c) and (d) skipped", file=sys.stderr)
        return 0.0, 0.0, None
    root = notebook_class(work, assignment, n)
    seconds, rss, pss = measure(course("grade", str(root / "submitted"), "--assignment", assignment,
                                       "--out", str(work / "nbout"), "--jobs", str(jobs), "--force", "--quiet"))
    ours = table.add(f"(a') course grade batch of {assignment} notebooks, {jobs} jobs", n, seconds, seconds / n,
                     rss, pss)
    # nbgrader grades what is in submitted/: keep a sample of students there
    for extra in sorted((root / "submitted").iterdir())[sample:]:
        shutil.rmtree(extra)
    env = {**os.environ, "COURSE_CELL_TIMEOUT": "30"}
    env.pop("NBGRADER_DB_URL", None)
    seconds, rss, pss = measure([sys.executable, "-m", "nbgrader", "autograde", assignment, "--force"], cwd=root,
                                env=env)
    theirs = table.add(f"(c) nbgrader autograde of {assignment} notebooks", sample, seconds, seconds / sample,
                       rss, pss)
    return ours, theirs, root


def otter(table: Table, work: Path, root: Path | None, assignment: str, n: int) -> tuple[float, list[str]]:
    """(d) on the notebooks nbgrader graded: (seconds per submission or 0 when skipped, notes for the
    summary: whether otter's scores tell the reference from the buggy students, why a run was skipped)."""
    notes = ["otter grade: not run, " + ("it grades in Docker containers and no Docker daemon answers here"
                                         if not otter_peer.docker_answers() else
                                         "its Docker image comes from the network, which this benchmark does not use")]
    if root is None:
        return 0.0, notes
    bin_dir, why = otter_peer.environment()
    if bin_dir is None:
        return 0.0, [*notes, f"otter run: skipped, {why}"]
    try:
        built = otter_peer.assign(bin_dir, root / "source" / assignment / f"{assignment}.ipynb", work / "otter")
    except RuntimeError as error:
        return 0.0, [*notes, f"otter run: skipped, {error}"]
    buggy = {student(i) for i in range(n) if has_bug(i)}
    runs, verdicts = [], []  # verdicts: (has a bug, got full marks)
    for folder in sorted((root / "submitted").iterdir()):
        submission = otter_peer.convert(folder / assignment / f"{assignment}.ipynb", built.student,
                                        work / "otter-submitted" / folder.name / f"{assignment}.ipynb")
        out = work / "otter-out" / folder.name
        try:
            runs.append(measure(otter_peer.run_command(bin_dir, built, submission, out), ok=(0,)))
        except SystemExit as failed:  # the peer failing loses its row, not the table
            return 0.0, [*notes, f"otter run: skipped, {str(failed)[-500:]}"]
        got, possible = otter_peer.score(out)
        verdicts.append((folder.name in buggy, got == possible))
    per = table.add(f"(d) otter run of {assignment} notebooks (median)", len(runs), sum(r[0] for r in runs),
                    statistics.median(r[0] for r in runs), max(r[1] for r in runs), max(r[2] for r in runs))
    references = [full for bug, full in verdicts if not bug]
    bugs = [full for bug, full in verdicts if bug]
    return per, [*notes, f"otter run: {sum(references)}/{len(references)} reference notebooks get full marks, "
                         f"{bugs.count(False)}/{len(bugs)} buggy ones lose points"]


def profile(work: Path) -> None:
    """Where one submission's time goes, in this process (no pool)."""
    from autograder import config
    from autograder.grade import grade
    from autograder.sandbox import Limits, Worker

    folder = work / "profile"
    paths = demo.generate_class(folder, 9, ("correct", "bug"))
    started = time.monotonic()
    first = grade(paths[:1])
    cold = time.monotonic() - started
    started = time.monotonic()
    grade(paths[1:])
    warm = (time.monotonic() - started) / (len(paths) - 1)
    grading = config.load().grading
    limits = Limits(grading.time_limit_seconds, grading.memory_limit_mb, tuple(grading.forbidden_imports))
    starts = []
    for path in paths[:5]:
        started = time.monotonic()
        with Worker(path, limits) as worker:
            worker.start_test()
            worker.call("api", names=["__add__"])
        starts.append(time.monotonic() - started)
    tests = len(first[0].tests)
    start = statistics.median(starts)
    print(f"\nprofile: {tests} hidden tests; first submission in a fresh process {cold:.2f} s (imports, torch, "
          f"expectations, pytest collection); each further one {warm:.3f} s, of which worker start "
          f"{start:.3f} s and {(warm - start) / tests * 1000:.1f} ms per test (pytest + probes + comparisons)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="submissions in the batch")
    parser.add_argument("--jobs", type=int, default=2, help="grading processes")
    parser.add_argument("--sample", type=int, default=12, help="submissions graded one per process / by nbgrader")
    parser.add_argument("--big", type=int, default=0, help="also grade a batch of this many (target: 500 in 2 min)")
    parser.add_argument("--notebook-assignment", default="autograd")
    parser.add_argument("--profile", action="store_true", help="split one submission's time into its parts")
    options = parser.parse_args()
    load_before = f"load before: {os.getloadavg()[0]:.2f} (1 min average) on {os.cpu_count()} CPUs"
    print(load_before, file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    table = Table()
    try:
        batch, single = module_batch(table, work, options.n, options.jobs, options.sample)
        ours, nbgrader_time, root = notebooks(table, work, options.notebook_assignment, options.n, options.jobs,
                                              options.sample)
        otter_time, otter_notes = otter(table, work, root, options.notebook_assignment, options.n)
        if options.big:
            module_batch(table, work, options.big, options.jobs, 0)
        if options.profile:
            profile(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{load_before}")
    table.show()
    print("\nratios per submission:")
    if single:
        print(f"(b)/(a) = {single / batch:.1f}x  (one process per submission / batch)")
    if ours and nbgrader_time:
        print(f"(c)/(a') = {nbgrader_time / ours:.1f}x  (nbgrader autograde / batch of the same notebooks)")
    if ours and otter_time:
        print(f"(d)/(a') = {otter_time / ours:.1f}x  (otter run / batch of the same notebooks)")
    print(*otter_notes, sep="\n")
    print(f"load after: {os.getloadavg()[0]:.2f} (1 min average; the CPU is shared)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
