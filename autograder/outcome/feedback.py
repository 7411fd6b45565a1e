"""One feedback model for every channel that shows a student their results.

Per part: its score, then each failing test's mistake (the headline: the first line of the feedback, which
names the mistake and where; the details: the student's own numbers and lines, never cut) and its picture,
then the tests that passed. A channel renders this model (autograder/render/formats.py: the HTML page and the
Markdown comment); a channel with a size limit drops whole failures, last first, and says how many.
Scores are shown with the course's decimals (course.yml: grading.shown_decimals).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from autograder.outcome.results import Results, TestResult

DECIMALS = 1  # course.yml's default for grading.shown_decimals


def shown(value: float, decimals: int = DECIMALS) -> str:
    """A score as people read it: rounded to `decimals`, no trailing zeros (28.5, 30, 94.9)."""
    text = f"{round(value, decimals):.{decimals}f}"
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class Failure:
    test: str  # the test's own name, without its file
    headline: str  # the mistake and where it is
    details: str  # the student's numbers and lines (may be several lines)
    picture: str  # SVG of the student's graph, or ""
    lost: str  # "2.3 points"


@dataclass(frozen=True)
class Part:
    name: str
    title: str
    score: str  # "18.5/20"
    failures: tuple[Failure, ...]
    passed: tuple[str, ...]
    not_shown: int  # tests of this part the student does not see yet


@dataclass(frozen=True)
class Feedback:
    submission: str
    assignment: str
    score: str
    parts: tuple[Part, ...]
    messages: tuple[str, ...]
    flags: tuple[str, ...]
    output_excerpt: str

    @property
    def failing_parts(self) -> tuple[Part, ...]:
        return tuple(part for part in self.parts if part.failures)

    @property
    def passed_tests(self) -> int:
        return sum(len(part.passed) for part in self.parts)


def visible(test: TestResult) -> bool:
    return test.visibility == "visible"


def _short(name: str) -> str:
    return name.rsplit("::", 1)[-1]


def feedback_of(results: Results, *, decimals: int = DECIMALS,
                shows: Callable[[TestResult], bool] = visible) -> Feedback:
    """The model of `results` for a reader who sees the tests `shows` accepts (a student: the visible ones, and
    only what Results.for_students keeps of them)."""
    if shows is visible:
        results = results.for_students()
    parts = []
    for part in results.parts:
        tests = [t for t in results.tests if t.part == part.name]
        seen = [t for t in tests if shows(t)]
        failures = []
        for test in seen:
            if test.status == "passed":
                continue
            # the text as written, never trimmed (a \r\n line end read as one); a test that said nothing says it failed
            text = test.output.replace("\r\n", "\n")
            headline, _, details = text.partition("\n") if text.strip() else ("failed", "", "")
            failures.append(Failure(_short(test.name), headline, details, test.picture,
                                    f"{shown(test.max_score - test.score, decimals)} points"))
        parts.append(Part(part.name, part.title,
                          f"{shown(part.score, decimals)}/{shown(part.max_score, decimals)}", tuple(failures),
                          tuple(_short(t.name) for t in seen if t.status == "passed"), len(tests) - len(seen)))
    return Feedback(results.submission, results.assignment,
                    f"{shown(results.score, decimals)}/{shown(results.max_score, decimals)}", tuple(parts),
                    results.messages, results.flags, results.output_excerpt)
