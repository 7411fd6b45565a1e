"""The results object: the only way a grading outcome leaves the grader.

Built from verdicts (one per hidden test, decided in the trusted process), it knows the
points and what students may see. It is stored as our own versioned JSON (`to_dict`, SCHEMA; documented
by docs/results.schema.json), which resume, reports, gradebooks, merges and regrades read; Gradescope's
results.json, JUnit, Markdown, HTML and nbgrader's feedback are views of it. Every text a student
produced passes through `redact` on its way in.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

TOTAL_DECIMALS = 4
SCHEMA = "course-results/1"  # the stored results' format and version (docs/results.schema.json)
Visibility = Literal["visible", "hidden", "after_due_date", "after_published"]


@dataclass(frozen=True)
class Verdict:
    """The trusted decision on one hidden test for one submission."""

    test: str  # e.g. "test_operations.py::test_add_accumulates"
    part: str
    passed: bool
    feedback: str = ""  # why it failed, in the student's terms; never an expected value
    pitfall: str | None = None  # a stable id of the diagnosed mistake, e.g. "overwrite-grad"
    flags: tuple[str, ...] = ()  # e.g. ("timeout",), ("crash",), ("policy_violation",)
    picture: str = ""  # SVG of the student's failing graph (autograder.outcome.pictures); never an expected value


@dataclass(frozen=True)
class TestResult:
    __test__ = False  # not a pytest test class
    name: str
    part: str
    score: float
    max_score: float
    status: Literal["passed", "failed"]
    output: str
    visibility: Visibility
    pitfall: str | None = None
    picture: str = ""  # SVG markup (Verdict.picture), shown inline by the HTML sinks


@dataclass(frozen=True)
class PartResult:
    name: str
    title: str
    score: float
    max_score: float


@dataclass(frozen=True)
class PullRequest:
    """What ci-grade graded: the commits and the files the pull request changed."""

    base: str
    head: str
    changed_files: tuple[str, ...] = ()
    ignored_files: tuple[str, ...] = ()  # changed, but not student files: not graded

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PullRequest:
        return cls(data["base"], data["head"], tuple(data["changed_files"]), tuple(data["ignored_files"]))


@dataclass(frozen=True)
class Results:
    submission: str
    assignment: str
    tests: tuple[TestResult, ...]
    parts: tuple[PartResult, ...]
    flags: tuple[str, ...] = ()  # submission-level: policy_violation, crash, timeout, missing_file ...
    messages: tuple[str, ...] = ()  # submission-level explanations shown to the student
    output_excerpt: str = ""  # capped, redacted excerpt of the student's own stdout/stderr
    grading_key: str = ""  # what the result depends on (autograder.core.pipeline.grading_key): batch resume
    grader_key: str = ""  # the grader's part of it (pipeline.grader_key): a regrade is held for review when it changes
    pull_request: PullRequest | None = None  # set by ci-grade
    # Every test the suite collected has its verdict: False when grading stopped before some ran (they count
    # as failed, flagged internal_error). Such a result is never written by the grader nor resumed as finished.
    complete: bool = True
    submitted_at: str = ""  # when it was handed in (ISO 8601, from the LMS, git or Gradescope), "" when unknown

    @property
    def score(self) -> float:
        # The sum of the parts' scores (each rounded to TOTAL_DECIMALS), as a gradebook adds them up;
        # tests' shares carry 6 decimals (20 points / 3 tests), whose float noise stays out of totals.
        return round(sum(p.score for p in self.parts), TOTAL_DECIMALS)

    @property
    def max_score(self) -> float:
        return round(sum(p.max_score for p in self.parts), TOTAL_DECIMALS)

    def with_grading_key(self, key: str, grader: str = "") -> Results:
        return replace(self, grading_key=key, grader_key=grader)

    def for_students(self) -> Results:
        """What a student may be shown, by any channel: a test of a part that is not visible (course.yml: the part's
        visibility) keeps its status and points but loses its feedback, pitfall and picture."""
        return replace(self, tests=tuple(test if test.visibility == "visible" else
                                         replace(test, output="", pitfall=None, picture="") for test in self.tests))

    def to_dict(self) -> dict[str, Any]:
        """The stored form (SCHEMA): every field, tests with their part, pitfall and picture; the totals too, for
        readers that only want them."""
        return {"schema": SCHEMA, **asdict(self), "score": self.score, "max_score": self.max_score}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Results:
        """Read a stored result: SCHEMA, or the Gradescope-shaped files earlier graders stored (read as before)."""
        if "schema" not in data and "extra_data" in data:
            return cls.from_gradescope(data)
        if data["schema"] != SCHEMA:
            raise ValueError(f"results in format {data['schema']!r}, not {SCHEMA!r}")
        ci = data.get("pull_request")
        return cls(submission=data["submission"], assignment=data["assignment"],
                   tests=tuple(TestResult(**t) for t in data["tests"]),
                   parts=tuple(PartResult(**p) for p in data["parts"]), flags=tuple(data["flags"]),
                   messages=tuple(data["messages"]), output_excerpt=data["output_excerpt"],
                   grading_key=data["grading_key"], grader_key=data["grader_key"], complete=data["complete"],
                   submitted_at=data["submitted_at"], pull_request=None if ci is None else PullRequest.from_dict(ci))

    def student_output(self) -> str:
        """Gradescope's top-level `output`: the messages, then what the code printed (rendered only)."""
        output = "\n".join(self.messages)
        if self.output_excerpt:
            output += ("\n\n" if output else "") + "Your code printed:\n" + self.output_excerpt
        return output

    def to_gradescope(self) -> dict[str, Any]:
        """Gradescope's results.json (score, output, tests[] with name/score/max_score/status/...);
        every field of this object is kept in `extra_data`, so from_gradescope never parses text. Its
        outputs are plain text and say so: Gradescope's default for `output` (simple_format) renders HTML."""
        extra: dict[str, Any] = {
            "submission": self.submission, "assignment": self.assignment, "flags": list(self.flags),
            "parts": [asdict(p) for p in self.parts], "pitfalls": {t.name: t.pitfall for t in self.tests if t.pitfall},
            "pictures": {t.name: t.picture for t in self.tests if t.picture},
            "messages": list(self.messages), "output_excerpt": self.output_excerpt}
        if self.grading_key:
            extra["grading_key"] = self.grading_key
        if self.grader_key:
            extra["grader_key"] = self.grader_key
        extra["complete"] = self.complete
        if self.submitted_at:
            extra["submitted_at"] = self.submitted_at
        if self.pull_request is not None:
            extra["ci"] = asdict(self.pull_request)
        return {
            "score": self.score,
            "output": self.student_output(),
            "output_format": "text",
            "test_output_format": "text",
            "tests": [
                {"name": t.name, "score": t.score, "max_score": t.max_score, "status": t.status,
                 "output": t.output, "visibility": t.visibility,
                 **({"tags": [t.part]} if t.part else {})}
                for t in self.tests
            ],
            "extra_data": extra,
        }

    @classmethod
    def from_gradescope(cls, data: dict[str, Any]) -> Results:
        """Read back what to_gradescope wrote (and what earlier graders stored: from_dict reads those too)."""
        extra = data["extra_data"]
        pitfalls, pictures = extra.get("pitfalls", {}), extra.get("pictures", {})
        tests = tuple(
            TestResult(t["name"], (t.get("tags") or [""])[0], t["score"], t["max_score"], t["status"],
                       t.get("output", ""), t.get("visibility", "visible"), pitfalls.get(t["name"]),
                       pictures.get(t["name"], ""))
            for t in data.get("tests", [])
        )
        ci = extra.get("ci")
        return cls(submission=extra["submission"], assignment=extra["assignment"], tests=tests,
                   parts=tuple(PartResult(**p) for p in extra.get("parts", [])),
                   flags=tuple(extra.get("flags", [])), messages=tuple(extra.get("messages", [])),
                   output_excerpt=extra.get("output_excerpt", ""), grading_key=extra.get("grading_key", ""),
                   grader_key=extra.get("grader_key", ""),
                   # written before completeness was recorded: perhaps partial (a crash of a8e86a8's grader)
                   complete=extra.get("complete", False), submitted_at=extra.get("submitted_at", ""),
                   pull_request=None if ci is None else PullRequest.from_dict(ci))


def result_path(folder: Path, submission: str) -> Path:
    """Where a results folder keeps one submission's results (`course grade --out`)."""
    return folder / f"{submission}.json"


def _read(path: Path) -> Results:
    return Results.from_dict(json.loads(path.read_text(encoding="utf-8")))


def read_result(path: Path) -> Results | None:
    """One results file, or None when it is missing or is not one."""
    try:
        return _read(path)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_results(folder: Path) -> list[Results]:
    """Every results file in `folder` (sorted by submission); unreadable ones are reported, not used."""
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            found.append(_read(path))
        except (ValueError, KeyError, TypeError) as exc:
            print(f"skipping {path}: not a results file ({exc})", file=sys.stderr)
    return sorted((r for r in found if r.submission), key=lambda r: r.submission)


class Redactor:
    """Removes from student-produced text any line that quotes hidden test source."""

    MIN_CHARS = 24

    def __init__(self, hidden_sources: list[str]):
        self._lines = {
            " ".join(line.split()) for source in hidden_sources for line in source.splitlines()
            if len(" ".join(line.split())) >= self.MIN_CHARS
        }

    def __call__(self, text: str) -> str:
        kept = []
        for line in text.splitlines():
            folded = " ".join(line.split())
            if any(hidden in folded for hidden in self._lines):
                kept.append("[line removed: it quotes the hidden tests]")
            else:
                kept.append(line)
        return "\n".join(kept)


# Characters that act instead of showing: C0 and C1 controls (ESC starts a terminal's escape sequences, CR
# overwrites a line), DEL, the bidirectional controls that reorder what a reader sees (Trojan Source), and
# lone surrogates (no UTF-8 file can hold them). Line breaks (CRLF too) and tabs are kept.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: object) -> str:
    """Student-produced text with each such character shown as its escape (ESC as `\\x1b`)."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}",
                            str(text).replace("\r\n", "\n"))
