"""`course grade` against every peer, on one machine in one run, in one table.

    python bench/benchmark.py [--n 60] [--big 500] [--sample 12] [--jobs 2] [--markdown | --readme] [--profile]

Rows (module submissions: the demo class's correct and buggy students, cycled; no hostile ones,
whose timeouts would measure the time limit; notebooks: the autograd notebook, half of them with
a bug):
- cold single `course grade` of one module submission (the reference) in a fresh process, median of 3;
- `course grade` batch of N module submissions (full hidden suite), and of --big of them;
- `course grade` one process per submission, median over --sample of the N;
- `course grade` batch of N notebooks, and one process per notebook (median over the sample);
- `nbgrader autograde` of the sample notebooks (each runs a kernel);
- `otter run` of the same sample, converted to an otter assignment built with `otter assign`
  (bench/otter_peer.py; otter-grader, pinned, is installed into its own environment under
  bench/.cache/ on first use); `otter grade` only when a Docker daemon answers (it grades in
  containers), otherwise the table says so.
Columns: seconds per submission (a batch: wall time / N; one process each: the median), the peak
memory of the whole process tree (RSS sums each process's pages, PSS shares the shared ones),
and each row's time over our batch and over our one-process time on the same kind of submission
(module or notebook). The machine's load average before the run heads the table.
--markdown prints it as Markdown; --readme also replaces the speed table in README.md between
its marker comments. --profile splits one submission's time into its parts (not in the table).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import otter_peer
from measure import measure

from autograder.frontends import demo
from autograder.render.files import atomic_write

REPO_ROOT = Path(__file__).resolve().parents[1]

BENCH_KINDS = ("correct", "bug", "unstarted")
COLD_RUNS = 3
README = REPO_ROOT / "README.md"
BEGIN = "<!-- speed table: bench/benchmark.py --readme -->"
END = "<!-- end speed table -->"


def course(*args: str) -> list[str]:
    return [sys.executable, "-m", "autograder", *args]


@dataclass
class Row:
    what: str
    kind: str  # "module" or "notebook": which of our rows it is compared with
    count: int  # submissions it graded
    per: float | None  # seconds per submission; None: not run (the note says why)
    rss: float = 0.0  # peak MiB of the process tree
    pss: float = 0.0
    note: str = ""


class Table:
    def __init__(self, load_before: str) -> None:
        self.load_before = load_before
        self.rows: list[Row] = []
        self.notes: list[str] = []
        self.batch: dict[str, float] = {}  # kind -> our batch's seconds per submission
        self.single: dict[str, float] = {}  # kind -> our one-process seconds per submission

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        shown = "not run" if row.per is None else f"{row.per:.3f} s/submission, peak RSS {row.rss:.0f} MiB"
        print(f"  {row.what}: {shown}", file=sys.stderr, flush=True)
        return row

    def measured(self, what: str, kind: str, runs: list[tuple[float, float, float]], count: int, *,
                 batch: bool) -> Row:
        """A row from measured runs: one batch run of `count` submissions, or one run per submission (median)."""
        per = runs[0][0] / count if batch else statistics.median(r[0] for r in runs)
        return self.add(Row(what, kind, count, per, max(r[1] for r in runs), max(r[2] for r in runs)))

    def _ratio(self, row: Row, baseline: dict[str, float]) -> str:
        base = baseline.get(row.kind)
        return f"{row.per / base:.1f}x" if row.per is not None and base else "-"

    def cells(self) -> list[list[str]]:
        return [[row.what, str(row.count) if row.count else "-",
                 "-" if row.per is None else f"{row.per:.3f}",
                 "-" if row.per is None else f"{row.rss:.0f} / {row.pss:.0f}",
                 self._ratio(row, self.batch), self._ratio(row, self.single), " ".join(row.note.split())]
                for row in self.rows]

    HEADER = ["What", "Submissions", "s/submission", "Peak RSS / PSS MiB", "/ our batch", "/ our one-process",
              "Note"]

    def text(self) -> str:
        rows = [self.HEADER, *self.cells()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.HEADER))]
        text_columns = (0, len(self.HEADER) - 1)  # what and note: left-aligned
        lines = ["  ".join(c.ljust(w) if i in text_columns else c.rjust(w)
                           for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip() for r in rows]
        return "\n".join([self.load_before, "", *lines, "", *self.notes])

    def markdown(self, command: str) -> str:
        escape = str.maketrans({"|": "\\|"})
        lines = [f"| {' | '.join(self.HEADER)} |", "| --- | " + " | ".join(["---:"] * 5) + " | --- |"]
        lines += [f"| {' | '.join(c.translate(escape) for c in cells)} |" for cells in self.cells()]
        return "\n".join([f"`{command}`; {self.load_before}.", "", *lines, "", *(f"- {n}" for n in self.notes)])


def module_rows(table: Table, work: Path, n: int, big: int, jobs: int, sample: int) -> None:
    cold = demo.generate_class(work / "cold", 1, ("correct",))[0]
    runs = [measure(course("grade", str(cold), "--results", str(work / f"cold-{i}.json"))) for i in range(COLD_RUNS)]
    table.measured(f"cold single `course grade` of one module submission (median of {COLD_RUNS})", "module", runs,
                   1, batch=False)
    folder = work / f"class{n}"
    demo.generate_class(folder, n, BENCH_KINDS)

    def batch(what: str, folder: Path, count: int) -> Row:
        run = measure(course("grade", str(folder), "--out", str(work / f"out-{folder.name}"), "--jobs", str(jobs),
                             "--force", "--quiet"))
        return table.measured(what, "module", [run], count, batch=True)

    table.batch["module"] = batch(f"`course grade` batch of module submissions, {jobs} jobs", folder, n).per
    if sample:
        runs = [measure(course("grade", str(path), "--results", str(work / "single" / f"{path.name}.json")))
                for path in sorted(folder.iterdir())[:sample]]
        table.single["module"] = table.measured("`course grade`, one process per module submission (median)",
                                                "module", runs, len(runs), batch=False).per
    if big:
        demo.generate_class(work / f"class{big}", big, BENCH_KINDS)
        batch(f"`course grade` batch of module submissions, {jobs} jobs", work / f"class{big}", big)


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


def notebook_rows(table: Table, work: Path, assignment: str, n: int, jobs: int, sample: int) -> Path | None:
    """Our notebook rows and nbgrader's; the nbgrader course root, whose submitted/ keeps the sample."""
    if not (REPO_ROOT / "assignments" / "source" / assignment).is_dir():
        table.notes.append(f"no notebook assignment {assignment!r}: the notebook rows are not run")
        return None
    root = notebook_class(work, assignment, n)
    run = measure(course("grade", str(root / "submitted"), "--assignment", assignment, "--out", str(work / "nbout"),
                         "--jobs", str(jobs), "--force", "--quiet"))
    table.batch["notebook"] = table.measured(f"`course grade` batch of {assignment} notebooks, {jobs} jobs",
                                             "notebook", [run], n, batch=True).per
    # nbgrader grades what is in submitted/: keep a sample of students there
    for extra in sorted((root / "submitted").iterdir())[sample:]:
        shutil.rmtree(extra)
    kept = sorted((root / "submitted").iterdir())
    runs = [measure(course("grade", str(folder / assignment / f"{assignment}.ipynb"), "--assignment", assignment,
                           "--results", str(work / "nbsingle" / f"{folder.name}.json"))) for folder in kept]
    table.single["notebook"] = table.measured(f"`course grade`, one process per {assignment} notebook (median)",
                                              "notebook", runs, len(runs), batch=False).per
    env = {**os.environ, "COURSE_CELL_TIMEOUT": "30"}
    env.pop("NBGRADER_DB_URL", None)
    run = measure([sys.executable, "-m", "nbgrader", "autograde", assignment, "--force"], cwd=root, env=env)
    table.measured(f"`nbgrader autograde` of the same {assignment} notebooks", "notebook", [run], len(kept),
                   batch=True)
    return root


def otter_rows(table: Table, work: Path, root: Path | None, assignment: str, n: int, jobs: int) -> None:
    """`otter run` of the notebooks nbgrader graded, one process each, and `otter grade` of them where
    Docker answers; a peer that cannot run keeps its row, with the reason."""
    run_what = f"`otter run` of the same {assignment} notebooks (median)"
    grade_what = f"`otter grade` of the same {assignment} notebooks, {jobs} containers"
    if root is None:
        return
    bin_dir, why = otter_peer.environment()
    try:
        if bin_dir is None:
            raise RuntimeError(why)
        built = otter_peer.assign(bin_dir, root / "source" / assignment / f"{assignment}.ipynb", work / "otter")
    except RuntimeError as error:
        for what in (run_what, grade_what):
            table.add(Row(what, "notebook", 0, None, note=f"not run: {str(error)[-300:]}"))
        return
    submissions = {folder.name: otter_peer.convert(folder / assignment / f"{assignment}.ipynb", built.student,
                                                   work / "otter-submitted" / folder.name / f"{assignment}.ipynb")
                   for folder in sorted((root / "submitted").iterdir())}
    otter_run_row(table, run_what, bin_dir, built, submissions, {student(i) for i in range(n) if has_bug(i)},
                  work / "otter-out")
    if not otter_peer.docker_answers():
        table.add(Row(grade_what, "notebook", 0, None,
                      note="not run: it grades in Docker containers and no Docker daemon answers here"))
        return
    folder = work / "otter-grade-in"
    folder.mkdir()
    for name, submission in submissions.items():
        shutil.copy(submission, folder / f"{name}.ipynb")
    try:
        run = measure(otter_peer.grade_command(bin_dir, built, folder, work / "otter-grade-out", jobs), ok=(0,))
    except SystemExit as failed:  # the peer failing loses its figure, not the table
        table.add(Row(grade_what, "notebook", 0, None, note=f"failed: {str(failed)[-300:]}"))
        return
    table.measured(grade_what, "notebook", [run], len(submissions), batch=True)


def otter_run_row(table: Table, what: str, bin_dir: Path, built: otter_peer.Assignment, submissions: dict[str, Path],
                  buggy: set[str], out: Path) -> None:
    """One `otter run` per submission; its note says whether otter's scores tell the reference
    notebooks from the buggy ones."""
    runs, verdicts = [], []  # verdicts: (has a bug, got full marks)
    for name, submission in submissions.items():
        try:
            runs.append(measure(otter_peer.run_command(bin_dir, built, submission, out / name), ok=(0,)))
        except SystemExit as failed:  # the peer failing loses its figure, not the table
            table.add(Row(what, "notebook", 0, None, note=f"failed: {str(failed)[-300:]}"))
            return
        got, possible = otter_peer.score(out / name)
        verdicts.append((name in buggy, got == possible))
    references = [full for bug, full in verdicts if not bug]
    bugs = [full for bug, full in verdicts if bug]
    table.measured(what, "notebook", runs, len(runs), batch=False).note = (
        f"{sum(references)}/{len(references)} reference notebooks get full marks, "
        f"{bugs.count(False)}/{len(bugs)} buggy ones lose points")


def profile(work: Path) -> None:
    """Where one submission's time goes, in this process (no pool)."""
    from autograder import config
    from autograder.boundary.sandbox import Limits, Worker
    from autograder.frontends.grade import grade

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
        with Worker(path, limits, probes=sorted((REPO_ROOT / "grading_tests" / "probes").glob("*.py"))) as worker:
            worker.start_test()
            worker.call("api", names=["__add__"])
        starts.append(time.monotonic() - started)
    tests = len(first[0].tests)
    start = statistics.median(starts)
    print(f"\nprofile: {tests} hidden tests; first submission in a fresh process {cold:.2f} s (imports, "
          f"expectations, pytest collection); each further one {warm:.3f} s, of which worker start "
          f"{start:.3f} s and {(warm - start) / tests * 1000:.1f} ms per test (pytest + probes + comparisons)")


def readme_around_table(readme: Path = README) -> tuple[str, str]:
    """README's text before the speed table (up to its first marker) and after it (from the last)."""
    text = readme.read_text()
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise SystemExit(f"{readme}: needs one {BEGIN!r} followed by one {END!r}")
    head, rest = text.split(BEGIN)
    return head + BEGIN, END + rest.split(END)[1]


def replace_readme_table(markdown: str, readme: Path = README) -> None:
    head, tail = readme_around_table(readme)
    atomic_write(readme, f"{head}\n{markdown}\n{tail}".encode())


def run(options: argparse.Namespace, table: Table, progress: Callable[[str], None]) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        progress("module submissions")
        module_rows(table, work, options.n, options.big, options.jobs, options.sample)
        progress("notebooks")
        root = notebook_rows(table, work, options.notebook_assignment, options.n, options.jobs, options.sample)
        progress("otter")
        otter_rows(table, work, root, options.notebook_assignment, options.n, options.jobs)
        if options.profile:
            profile(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=60, help="submissions in the batches (module and notebook)")
    parser.add_argument("--big", type=int, default=500, help="module submissions in the big batch (0: none)")
    parser.add_argument("--sample", type=int, default=12,
                        help="submissions graded one per process, by nbgrader and by otter")
    parser.add_argument("--jobs", type=int, default=2, help="grading processes (otter grade: containers)")
    parser.add_argument("--notebook-assignment", default=demo.NOTEBOOK_ASSIGNMENT)
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    output.add_argument("--readme", action="store_true", help="also replace README.md's speed table")
    parser.add_argument("--profile", action="store_true", help="split one submission's time into its parts")
    options = parser.parse_args(argv)
    if options.sample < 1 or options.n < options.sample:
        parser.error("--sample must be at least 1 and at most --n")
    if options.readme:
        readme_around_table()  # missing markers fail before the run, not after it
    load = os.getloadavg()
    table = Table(f"load average before the run {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
                  f"(1 / 5 / 15 min) on {os.cpu_count()} CPUs")
    print(table.load_before, file=sys.stderr, flush=True)
    run(options, table, lambda stage: print(f"{stage}:", file=sys.stderr, flush=True))
    table.notes.append(f"load average after the run {os.getloadavg()[0]:.2f} (1 min; the CPU is shared)")
    command = shlex.join(["python", "bench/benchmark.py", *(argv if argv is not None else sys.argv[1:])])
    if options.markdown or options.readme:
        print(table.markdown(command))
    else:
        print(table.text())
    if options.readme:
        replace_readme_table(table.markdown(command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
