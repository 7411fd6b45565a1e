"""The class report: one static HTML page with PNG plots, for instructors.

Score histogram, per-part and per-test failure rates, the diagnosed misconceptions and the
errors (crashes, timeouts, syntax errors ...), each counted in students, and the flagged
submissions (policy violations, tampering, timeouts, crashes ...) with a page of their results
each. The pages are Jinja2 templates (autograder/templates/report/) with autoescape on:
everything a student wrote is hostile text, never markup.
"""

from __future__ import annotations

import argparse
import os
import re
import runpy
import shutil
import statistics
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import jinja2

from autograder import config
from autograder.core.suite import FAILURES
from autograder.outcome import feedback, pictures
from autograder.outcome.results import Results
from autograder.render.formats import to_json
from autograder.render.gradebook import points
from autograder.render.text import template_value
from autograder.semester import overrides, similar_code

TOP_PITFALLS = 12
SHORT_NAME_CHARS = 70
EXAMPLE_FEEDBACK_CHARS = 200

_templates = jinja2.Environment(loader=jinja2.PackageLoader("autograder", "templates"), autoescape=True,
                                undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                finalize=template_value)
_templates.filters["svg_data_uri"] = pictures.data_uri


def short_name(pitfall: str, feedback: str = "") -> str:
    """A pitfall's label for the instructor: the start of its feedback text (up to its first ': ', ' (' or
    sentence end), "your" read as "the student's", cut after a whole word; else its id. Read from the feedback
    itself, so the report needs no course's pitfall model."""
    if pitfall in FAILURES:
        return FAILURES[pitfall]
    first = re.split(r": | \(|\.\s|\.$|\n", feedback.strip(), maxsplit=1)[0].strip()
    if not first:
        return pitfall
    first = re.sub(r"\byour\b", "the student's", re.sub(r"^Your\b", "The student's", first))
    return cut(first, SHORT_NAME_CHARS - 2)


def cut(text: str, limit: int) -> str:
    """At most `limit` characters of text, cut after a whole word (with "…" where anything was left out)."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    space = max(head.rfind(" "), head.rfind("\n"))
    return (head[:space] if space > limit // 2 else head).rstrip(" ,;:") + " …"


@dataclass(frozen=True)
class PitfallRow:
    pitfall: str
    short_name: str
    students: list[str]
    failing_tests: int
    example_test: str
    example_feedback: str


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


def unlocalised_pitfalls(course: config.Course) -> frozenset[str]:
    """The catalog's GENERIC_PITFALLS (course.catalog): diagnoses that name no specific mistake, or one made in
    another part (the end-to-end loop's "your engine"), not counted as misconceptions."""
    path = course.catalog
    return frozenset(runpy.run_path(str(path)).get("GENERIC_PITFALLS", ())) if path.is_file() else frozenset()


class ClassStatistics:
    """What the report shows, computed once from the results."""

    def __init__(self, results: list[Results], assignment: config.Assignment,
                 unlocalised: frozenset[str] = frozenset()):
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
        failing_tests = Counter(t.pitfall for r in self.results for t in r.tests if t.pitfall)
        example: dict[str | None, tuple[str, str]] = {}
        for result in self.results:
            for test in result.tests:
                example.setdefault(test.pitfall, (test.name, test.output))
        students = {pitfall: sorted({r.submission for r in self.results for t in r.tests if t.pitfall == pitfall})
                    for pitfall in failing_tests}
        # Most students first: a student counts once per pitfall, however many of its tests failed.
        rows = [PitfallRow(pitfall, short_name(pitfall, example[pitfall][1]), who, failing_tests[pitfall],
                           example[pitfall][0].split("::")[-1], cut(example[pitfall][1], EXAMPLE_FEEDBACK_CHARS))
                for pitfall, who in sorted(students.items(), key=lambda item: (-len(item[1]), item[0]))]
        # A misconception is a mistake a diagnosis localised; the rest are apart, so that a side effect of a
        # mistake made elsewhere never tops the list.
        self.misconceptions = [row for row in rows if row.pitfall not in FAILURES and row.pitfall not in unlocalised]
        self.unlocalised = [row for row in rows if row.pitfall not in FAILURES and row.pitfall in unlocalised]
        self.errors = [row for row in rows if row.pitfall in FAILURES]
        self.flagged = [r for r in self.results if r.flags]

    @staticmethod
    def _part(result: Results, name: str) -> float:
        return next((p.score for p in result.parts if p.name == name), 0.0)


def _students_chart(rows: list[PitfallRow], title: str, color: str, path: Path) -> None:
    plt = _pyplot()
    shown = rows[:TOP_PITFALLS][::-1]
    figure, axes = plt.subplots(figsize=(9, max(2.5, 0.35 * len(shown) + 1)))
    axes.barh([row.short_name for row in shown], [len(row.students) for row in shown], color=color)
    axes.set(xlabel="students", title=title)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.tick_params(axis="y", labelsize=8)
    _save(figure, path)


def _plots(stats: ClassStatistics, out: Path) -> list[dict[str, str]]:
    plt = _pyplot()
    images = []
    figure, axes = plt.subplots(figsize=(7, 3.5))
    axes.hist(stats.totals, bins=20, range=(0, stats.assignment.max_score), color="#4477aa", edgecolor="white")
    axes.set(xlabel=f"total score (out of {points(stats.assignment.max_score)})", ylabel="submissions",
             title="Total scores")
    _save(figure, out / "scores.png")
    images.append({"file": "scores.png", "caption": "Total scores: how many submissions scored each"})

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
    images.append({"file": "parts.png", "caption": "Per part: the share of submissions losing points in it, and "
                                                   "the mean share of its points lost"})

    tests = sorted(stats.test_failure.items(), key=lambda item: item[1])
    figure, axes = plt.subplots(figsize=(8, max(2.5, 0.25 * len(tests) + 1)))
    part_of = {t.name: t.part for result in stats.results for t in result.tests}
    axes.barh([f"{part_of.get(name, '?')}: {name.split('::')[-1]}" for name, _ in tests],
              [100 * rate for _, rate in tests], color="#cc6677")
    axes.set(xlabel="% of submissions failing", xlim=(0, 100), title="Per test (part: test)")
    axes.tick_params(axis="y", labelsize=7)
    _save(figure, out / "tests.png")
    images.append({"file": "tests.png", "caption": "Per test: the share of submissions failing it"})

    for rows, file, title, caption, color in (
            (stats.misconceptions, "pitfalls.png", "Misconceptions the grader localised",
             "Misconceptions the grader localised: how many students made each", "#117733"),
            (stats.errors, "errors.png", "Errors", "Errors (code that could not be graded as written): how many "
             "students had each", "#aa4499")):
        if rows:
            _students_chart(rows, title, color, out / file)
            images.append({"file": file, "caption": caption})
    return images


def _score(value: float, out_of: float) -> str:
    return f"{points(value)}/{points(out_of)}"


def _submission_page(result: Results, decimals: int = feedback.DECIMALS) -> str:
    """One submission's page for the instructor: every test, hidden ones too (autograder/outcome/feedback.py)."""
    return _templates.get_template("report/submission.html.j2").render(
        title=f"{result.submission}: results",
        feedback=feedback.feedback_of(result, decimals=decimals, shows=lambda test: True))


def _index_page(stats: ClassStatistics, images: list[dict[str, str]], course: config.Course,
                assignment_name: str, similar: tuple[list[similar_code.Pair], float] | None) -> str:
    assignment = stats.assignment
    totals = stats.totals or [0.0]
    summary = [len(stats.results), f"{statistics.fmean(totals):.1f}", f"{statistics.median(totals):.1f}",
               points(min(totals)), points(max(totals)),
               sum(r.score >= assignment.max_score - 1e-9 for r in stats.results), len(stats.flagged)]
    return _templates.get_template("report/index.html.j2").render(
        title=f"Class report: {assignment_name}", course_name=course.name, assignment_name=assignment_name,
        summary=summary, images=images, similar=similar,
        parts=[{"name": name, "title": part.title, "points": points(part.points),
                "mean": f"{100 * stats.part_mean[name]:.1f}%", "losing": f"{100 * stats.part_losing[name]:.1f}%"}
               for name, part in assignment.parts.items()],
        misconceptions=stats.misconceptions[:TOP_PITFALLS], unlocalised=stats.unlocalised, errors=stats.errors,
        flagged=[{"name": r.submission, "flags": ", ".join(r.flags), "score": _score(r.score, r.max_score),
                  "messages": cut(" ".join(r.messages), EXAMPLE_FEEDBACK_CHARS)} for r in stats.flagged],
        tests=[{"name": name, "failing": f"{100 * rate:.1f}%"}
               for name, rate in sorted(stats.test_failure.items(), key=lambda item: (-item[1], item[0]))],
        part_names=list(assignment.parts),
        submissions=[{"name": r.submission, "score": points(r.score), "flags": ", ".join(r.flags),
                      "parts": [points(ClassStatistics._part(r, name)) for name in assignment.parts]}
                     for r in stats.results])


def write_report(results: list[Results], out: Path, *, course: config.Course, assignment_name: str,
                 results_dir: Path | None = None) -> Path:
    """Write out/index.html, its PNGs and one page per submission; return the index path. The similar submissions
    come from `results_dir`'s similarity.jsonl (autograder.semester.similar_code), when there is one."""
    _, assignment = course.assignment(assignment_name)
    stats = ClassStatistics(results, assignment, unlocalised_pitfalls(course))
    out.mkdir(parents=True, exist_ok=True)
    pages = out / "submissions"
    shutil.rmtree(pages, ignore_errors=True)
    pages.mkdir()
    for result in stats.results:
        (pages / f"{result.submission}.html").write_text(_submission_page(result, course.grading.shown_decimals),
                                                          encoding="utf-8")
        source = results_dir / f"{result.submission}.json" if results_dir else None
        if source and source.is_file():
            shutil.copyfile(source, pages / f"{result.submission}.json")
        else:
            (pages / f"{result.submission}.json").write_text(to_json(result), encoding="utf-8")
    for stale in ("pitfalls.png", "errors.png"):  # drawn only when there is something to show
        (out / stale).unlink(missing_ok=True)
    images = _plots(stats, out) if stats.results else []
    index = out / "index.html"
    temporary = out / ".index.html.tmp"
    similar = similar_code.load(results_dir) if results_dir else None
    temporary.write_text(_index_page(stats, images, course, assignment_name, similar), encoding="utf-8")
    os.replace(temporary, index)
    return index


# -- `course report RESULTS_DIR --out DIR` ---------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", type=Path, help="folder of results files (course grade --out)")
    parser.add_argument("--out", type=Path, required=True, help="folder for index.html and its PNGs")
    parser.add_argument("--assignment", help="assignment in course.yml (default: the first)")
    parser.add_argument("--config", type=Path, help="course.yml to use (default: the nearest one in the "
                       "current folder or above)")


def main(*, results: Path, out: Path, assignment: str | None = None,
         config_path: Path | None = None) -> int:

    course = config.load(config_path)
    assignment_name, _ = course.assignment(assignment)
    if not results.is_dir():
        print(f"course report: {results} is not a folder of results", file=sys.stderr)
        return 2
    index = write_report(overrides.load_decided(results, course), out, course=course, assignment_name=assignment_name,
                         results_dir=results)
    print(f"class report: {index}")
    return 0


def run(args: argparse.Namespace) -> int:
    return main(results=args.results, out=args.out, assignment=args.assignment, config_path=args.config)
