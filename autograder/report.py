"""The class report: one static HTML page with PNG plots, for instructors.

Score histogram, per-part and per-test failure rates, the most frequent diagnosed pitfalls and
the flagged submissions (policy violations, tampering, timeouts, crashes ...) with a page of
their results each. Everything a student wrote is HTML-escaped: their text is hostile too.
"""

from __future__ import annotations

import argparse
import html
import os
import shutil
import statistics
import sys
from collections import Counter
from pathlib import Path

from autograder import config
from autograder.formats import to_json
from autograder.gradebook import points
from autograder.results import Results

TOP_PITFALLS = 12
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; } td, th { border: 1px solid #ccc; padding: .3em .6em; }
th { background: #f3f3f3; text-align: left; } td.num { text-align: right; }
img { max-width: 100%; border: 1px solid #eee; } pre { background: #f7f7f7; padding: .6em; white-space: pre-wrap; }
.flag { color: #a00; font-weight: bold; }
"""


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def _table(header: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    """rows hold HTML already escaped by the caller."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    lines = ["".join(f"<td class=\"num\">{cell}</td>" if i in numeric else f"<td>{cell}</td>"
                     for i, cell in enumerate(row)) for row in rows]
    return f"<table><tr>{head}</tr>\n" + "\n".join(f"<tr>{line}</tr>" for line in lines) + "</table>"


def _pyplot():
    """matplotlib's pyplot on the headless Agg backend (imported on use: `course` starts faster)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: Path) -> None:
    plt = _pyplot()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


class ClassStatistics:
    """What the report shows, computed once from the results."""

    def __init__(self, results: list[Results], assignment: config.Assignment):
        self.results = sorted(results, key=lambda r: r.submission)
        self.assignment = assignment
        self.totals = [r.score for r in self.results]
        n = len(self.results) or 1
        self.part_mean = {name: sum(self._part(r, name) for r in self.results) / n / part.points
                          for name, part in assignment.parts.items()}
        self.part_losing = {name: sum(self._part(r, name) < part.points - 1e-9 for r in self.results) / n
                            for name, part in assignment.parts.items()}
        tests: dict[str, list[bool]] = {}
        for result in self.results:
            for test in result.tests:
                tests.setdefault(test.name, []).append(test.status == "failed")
        self.test_failure = {name: sum(failed) / len(failed) for name, failed in sorted(tests.items())}
        self.pitfalls = Counter(t.pitfall for r in self.results for t in r.tests if t.pitfall)
        self.pitfall_example = {}
        for result in self.results:
            for test in result.tests:
                self.pitfall_example.setdefault(test.pitfall, (result.submission, test.name, test.output))
        self.pitfall_students = {p: sorted({r.submission for r in self.results for t in r.tests if t.pitfall == p})
                                 for p in self.pitfalls}
        self.flagged = [r for r in self.results if r.flags]

    @staticmethod
    def _part(result: Results, name: str) -> float:
        return next((p.score for p in result.parts if p.name == name), 0.0)


def _plots(stats: ClassStatistics, out: Path) -> list[tuple[str, str]]:
    plt = _pyplot()
    images = []
    figure, axes = plt.subplots(figsize=(7, 3.5))
    axes.hist(stats.totals, bins=20, range=(0, stats.assignment.max_score), color="#4477aa", edgecolor="white")
    axes.set(xlabel=f"total score (out of {points(stats.assignment.max_score)})", ylabel="submissions",
             title="Score distribution")
    _save(figure, out / "scores.png")
    images.append(("scores.png", "Histogram of total scores"))

    names = list(stats.assignment.parts)
    figure, axes = plt.subplots(figsize=(7, 3.5))
    positions = range(len(names))
    axes.bar([p - 0.2 for p in positions], [100 * stats.part_losing[n] for n in names], 0.4,
             label="submissions losing points", color="#cc6677")
    axes.bar([p + 0.2 for p in positions], [100 * (1 - stats.part_mean[n]) for n in names], 0.4,
             label="points lost (mean)", color="#ddcc77")
    axes.set_xticks(list(positions), names, rotation=20)
    axes.set(ylabel="%", ylim=(0, 100), title="Per part")
    axes.legend()
    _save(figure, out / "parts.png")
    images.append(("parts.png", "Per-part failure rates"))

    tests = sorted(stats.test_failure.items(), key=lambda item: item[1])
    figure, axes = plt.subplots(figsize=(8, max(2.5, 0.25 * len(tests) + 1)))
    axes.barh([name.split("::")[-1] for name, _ in tests], [100 * rate for _, rate in tests], color="#cc6677")
    axes.set(xlabel="% of submissions failing", xlim=(0, 100), title="Per test")
    axes.tick_params(axis="y", labelsize=7)
    _save(figure, out / "tests.png")
    images.append(("tests.png", "Per-test failure rates"))

    common = stats.pitfalls.most_common(TOP_PITFALLS)[::-1]
    figure, axes = plt.subplots(figsize=(7, max(2.5, 0.3 * len(common) + 1)))
    axes.barh([name for name, _ in common], [count for _, count in common], color="#117733")
    axes.set(xlabel="failing tests diagnosed", title="Most frequent pitfalls")
    _save(figure, out / "pitfalls.png")
    images.append(("pitfalls.png", "Most frequent diagnosed pitfalls"))
    return images


def _submission_link(name: str) -> str:
    return f"<a href=\"submissions/{html.escape(name)}.html\">{html.escape(name)}</a>"


def _submission_page(result: Results) -> str:
    parts = _table(["Part", "Points"], [[html.escape(p.title), f"{points(p.score)}/{points(p.max_score)}"]
                                        for p in result.parts], {1})
    tests = _table(["Test", "Part", "Status", "Pitfall", "Feedback"],
                   [[html.escape(t.name), html.escape(t.part), html.escape(t.status), html.escape(t.pitfall or ""),
                     f"<pre>{html.escape(t.output)}</pre>" if t.output else ""]
                    for t in result.tests])
    flags = ", ".join(result.flags) or "none"
    body = [f"<h1>{html.escape(result.submission)}: {points(result.score)}/{points(result.max_score)}</h1>",
            "<p><a href=\"../index.html\">class report</a> &middot; "
            f"<a href=\"{html.escape(result.submission)}.json\">results.json</a></p>",
            f"<p>Flags: <span class=\"flag\">{html.escape(flags)}</span></p>"]
    if result.messages:
        body.append("<h2>Messages</h2>" + "".join(f"<pre>{html.escape(m)}</pre>" for m in result.messages))
    body += ["<h2>Parts</h2>", parts, "<h2>Tests</h2>", tests]
    if result.output_excerpt:
        body += ["<h2>What the submission printed</h2>", f"<pre>{html.escape(result.output_excerpt)}</pre>"]
    return _page(f"{result.submission}: results", "\n".join(body))


def write_report(results: list[Results], out: Path, *, course: config.Course, assignment_name: str,
                 results_dir: Path | None = None) -> Path:
    """Write out/index.html, its PNGs and one page per submission; return the index path."""
    _, assignment = course.assignment(assignment_name)
    stats = ClassStatistics(results, assignment)
    out.mkdir(parents=True, exist_ok=True)
    pages = out / "submissions"
    shutil.rmtree(pages, ignore_errors=True)
    pages.mkdir()
    for result in stats.results:
        (pages / f"{result.submission}.html").write_text(_submission_page(result), encoding="utf-8")
        source = results_dir / f"{result.submission}.json" if results_dir else None
        if source and source.is_file():
            shutil.copyfile(source, pages / f"{result.submission}.json")
        else:
            (pages / f"{result.submission}.json").write_text(to_json(result), encoding="utf-8")
    images = _plots(stats, out) if stats.results else []

    totals = stats.totals or [0.0]
    summary = _table(["Submissions", "Mean", "Median", "Min", "Max", "Full marks", "Flagged"], [[
        str(len(stats.results)), f"{statistics.fmean(totals):.1f}", f"{statistics.median(totals):.1f}",
        points(min(totals)), points(max(totals)),
        str(sum(r.score >= assignment.max_score - 1e-9 for r in stats.results)), str(len(stats.flagged))]],
        set(range(7)))
    part_rows = [[html.escape(name), html.escape(part.title), points(part.points),
                  f"{100 * stats.part_mean[name]:.1f}%", f"{100 * stats.part_losing[name]:.1f}%"]
                 for name, part in assignment.parts.items()]
    test_rows = [[html.escape(name), f"{100 * rate:.1f}%"]
                 for name, rate in sorted(stats.test_failure.items(), key=lambda item: (-item[1], item[0]))]
    pitfall_rows = []
    for pitfall, count in stats.pitfalls.most_common(TOP_PITFALLS):
        _, test, feedback = stats.pitfall_example[pitfall]
        students = stats.pitfall_students[pitfall]
        shown = ", ".join(_submission_link(s) for s in students[:8]) + (" ..." if len(students) > 8 else "")
        pitfall_rows.append([html.escape(pitfall), str(count), str(len(students)), shown,
                             f"<code>{html.escape(test.split('::')[-1])}</code>: {html.escape(feedback[:200])}"])
    flagged_rows = [[_submission_link(r.submission), f"<span class=\"flag\">{html.escape(', '.join(r.flags))}</span>",
                     f"{points(r.score)}/{points(r.max_score)}",
                     html.escape(" ".join(r.messages)[:200])] for r in stats.flagged]
    body = [f"<h1>{html.escape(course.name)}: {html.escape(assignment_name)}</h1>", summary]
    body += [f"<figure><img src=\"{src}\" alt=\"{html.escape(alt)}\"><figcaption>{html.escape(alt)}</figcaption>"
             "</figure>" for src, alt in images]
    body += ["<h2>Parts</h2>", _table(["Part", "Title", "Points", "Mean score", "Submissions losing points"],
                                      part_rows, {2, 3, 4})]
    body += ["<h2>Most frequent pitfalls</h2>",
             _table(["Pitfall", "Failing tests", "Submissions", "Who", "Example feedback"], pitfall_rows, {1, 2})
             if pitfall_rows else "<p>No diagnosed pitfalls.</p>"]
    body += ["<h2>Flagged submissions</h2>",
             _table(["Submission", "Flags", "Score", "Messages"], flagged_rows, {2}) if flagged_rows
             else "<p>No flagged submissions.</p>"]
    body += ["<h2>Tests</h2>", _table(["Test", "Failing"], test_rows, {1})]
    body += ["<h2>All submissions</h2>", _table(
        ["Submission", "Score", *assignment.parts, "Flags"],
        [[_submission_link(r.submission), points(r.score),
          *(points(ClassStatistics._part(r, name)) for name in assignment.parts), html.escape(", ".join(r.flags))]
         for r in stats.results], set(range(1, len(assignment.parts) + 2)))]
    index = out / "index.html"
    temporary = out / ".index.html.tmp"
    temporary.write_text(_page(f"Class report: {assignment_name}", "\n".join(body)), encoding="utf-8")
    os.replace(temporary, index)
    return index


# -- `course report RESULTS_DIR --out DIR` ---------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", type=Path, help="folder of results files (course grade --out)")
    parser.add_argument("--out", type=Path, required=True, help="folder for index.html and its PNGs")
    parser.add_argument("--assignment", help="assignment in course.yml (default: the first)")
    parser.add_argument("--config", type=Path, default=config.DEFAULT_PATH, help="course.yml to use")


def main(*, results: Path, out: Path, assignment: str | None = None,
         config_path: Path = config.DEFAULT_PATH) -> int:
    from autograder.results import load_results

    course = config.load(config_path)
    assignment_name, _ = course.assignment(assignment)
    if not results.is_dir():
        print(f"course report: {results} is not a folder of results", file=sys.stderr)
        return 2
    index = write_report(load_results(results), out, course=course, assignment_name=assignment_name,
                         results_dir=results)
    print(f"class report: {index}")
    return 0


def run(args: argparse.Namespace) -> int:
    return main(results=args.results, out=args.out, assignment=args.assignment, config_path=args.config)
