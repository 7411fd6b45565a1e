"""Results formats against their specs: Gradescope results.json, JUnit XML (read back with
junitparser), Markdown (parsed as a GFM table by markdown-it-py)."""

from __future__ import annotations

import json
from dataclasses import replace

import jsonschema
import junitparser
import pytest
from checkout import REPO_ROOT
from markdown_it import MarkdownIt

from autograder.outcome.feedback import feedback_of
from autograder.outcome.results import SCHEMA, PartResult, PullRequest, Results, TestResult, printable
from autograder.render.formats import FORMATS, RENDER, SUFFIX, markdown_feedback, to_json, to_junit, to_markdown
from autograder.render.text import points

GRADESCOPE_STATUSES = {"passed", "failed"}
GRADESCOPE_VISIBILITIES = {"visible", "hidden", "after_due_date", "after_published"}
TRICKY = 'a | pipe, <xml> & "quotes", a\nnewline, ünïcode, ``` fences and \x00\x1b[31m control characters'


def sample() -> Results:
    tests = (
        TestResult("test_operations.py::test_add", "operations", 10.0, 10.0, "passed", "", "visible"),
        TestResult("test_operations.py::test_mul", "operations", 0.0, 20.0, "failed",
                   f"x0.grad is wrong: yours is 3\n{TRICKY}", "visible", "overwrite-grad"),
        TestResult("test_nn.py::test_mlp", "nn", 0.0, 5.5, "failed", "MLP(3, [4, 1]) raised ValueError", "hidden"),
        TestResult("test_nn.py::test_layer", "nn", 4.5, 4.5, "passed", "", "after_due_date"),
    )
    parts = (PartResult("operations", "Operations | local derivatives", 10.0, 30.0),
             PartResult("nn", "Neuron, Layer, MLP", 4.5, 10.0))
    return Results(submission="alice", assignment="micrograd", tests=tests, parts=parts,
                   flags=("timeout",), messages=("SyntaxError in micrograd/engine.py line 57: a | pipe & <xml>",
                                                  "micrograd/nn.py is missing from the submission"),
                   output_excerpt="hello from the student\n===== 3 passed =====")


def test_gradescope_fields_and_types():
    data = json.loads(json.dumps(sample().to_gradescope()))
    assert isinstance(data["score"], float) and data["score"] == 14.5
    assert isinstance(data["output"], str)
    assert len(data["tests"]) == 4
    for test in data["tests"]:
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["score"], float) and isinstance(test["max_score"], float)
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in GRADESCOPE_STATUSES
        assert isinstance(test["output"], str)
        assert test["visibility"] in GRADESCOPE_VISIBILITIES
    assert data["score"] == sum(t["score"] for t in data["tests"])
    assert "Your code printed:\nhello from the student" in data["output"]


def test_gradescope_round_trips():
    results = sample()
    assert Results.from_gradescope(json.loads(json.dumps(results.to_gradescope()))) == results


def test_stored_results_follow_the_documented_schema():
    schema = json.loads((REPO_ROOT / "docs" / "results.schema.json").read_text())
    results = replace(sample(), pull_request=PullRequest("a" * 40, "b" * 40, ("x.py",), ()), submitted_at="2026-12-01")
    for stored in (results, sample()):
        data = json.loads(to_json(stored))
        jsonschema.validate(data, schema)
        assert data["schema"] == SCHEMA and data["score"] == stored.score and len(data["tests"]) == 4
    assert schema["properties"]["schema"]["const"] == SCHEMA


def test_results_stored_by_an_earlier_grader_are_still_read():
    """Results folders written in Gradescope's shape (before SCHEMA) resume and report as before."""
    results = replace(sample(), grading_key="k" * 64)
    assert Results.from_dict(json.loads(json.dumps(results.to_gradescope()))) == results


@pytest.mark.parametrize("messages, excerpt", [
    ((f"a message over\ntwo lines with {TRICKY}", "", "Your code printed:\nnot the excerpt"),
     "printed\n\nYour code printed:\n"),
    ((), "Your code printed:\nonly output"),
    (("<script>alert(1)</script> | **bold** `code`",), ""),
])
def test_write_read_write_is_identical(messages, excerpt):
    """Every field survives results.json, however its text looks: nothing is parsed back from `output`."""
    results = replace(sample(), messages=messages, output_excerpt=excerpt, grading_key="k" * 64,
                      pull_request=PullRequest("a" * 40, "b" * 40, ("x.py", "micrograd/engine.py"), ("x.py",)))
    written = to_json(results)
    again = Results.from_dict(json.loads(written))
    assert again == results and to_json(again) == written


def test_json_is_deterministic():
    assert to_json(sample()) == to_json(sample())


def test_junit_is_read_by_junitparser():
    xml = junitparser.JUnitXml.fromstring(to_junit(sample()))
    suites = list(xml) if isinstance(xml, junitparser.JUnitXml) else [xml]
    cases = [case for suite in suites for case in suite]
    assert [case.name for case in cases] == [t.name for t in sample().tests]
    failed = {case.name: case.result for case in cases if case.result}
    assert set(failed) == {"test_operations.py::test_mul", "test_nn.py::test_mlp"}
    mul = failed["test_operations.py::test_mul"][0]
    assert isinstance(mul, junitparser.Failure)
    assert mul.type == "overwrite-grad" and mul.message == "x0.grad is wrong: yours is 3"
    assert TRICKY.replace("\x00", "\ufffd").replace("\x1b", "\ufffd") in mul.text
    assert sum(suite.tests for suite in suites) == 4 and sum(suite.failures for suite in suites) == 2


def _tables(markdown: str) -> list[list[list[str]]]:
    """Each table as rows of cell texts (header first, code spans without their backticks), as a GFM
    renderer shows them."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    tables, row = [], None
    for token in tokens:
        if token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            row = []
            tables[-1].append(row)
        elif token.type == "inline" and row is not None and tables:
            row.append("".join(child.content for child in token.children))
        elif token.type == "tr_close":
            row = None
    return tables


def _fences(markdown: str) -> list[str]:
    return [token.content for token in MarkdownIt("commonmark").parse(markdown) if token.type == "fence"]


def test_markdown_shows_the_parts_then_each_failure_whole():
    text = to_markdown(sample())
    [parts] = _tables(text)
    assert parts[0] == ["Part", "Points", "Tests"]
    # nn's tests are not shown yet: its points, nothing about its tests
    assert parts[1:] == [["Operations | local derivatives", "10/30", "1 to fix"], ["Neuron, Layer, MLP", "4.5/10", ""]]
    assert text.startswith("### micrograd: 14.5/40")
    assert "#### Operations \\| local derivatives: 10/30" in text and "`test_mul` (\u221220 points)" in text
    # the whole feedback, never cut, in a fence: the student's numbers and any markup in them stay text
    assert _fences(text) == [printable(f"x0.grad is wrong: yours is 3\n{TRICKY}") + "\n"]
    assert "test_mlp" not in text  # a hidden test's failure is not shown
    assert "SyntaxError in micrograd/engine.py line 57" in text


def test_a_size_limit_drops_whole_failures_last_first_and_says_so():
    many = replace(sample(), tests=tuple(
        TestResult(f"test_operations.py::test_{i}", "operations", 0.0, 1.0, "failed", f"mistake {i}\n" + "x" * 500,
                   "visible") for i in range(10)))
    lines = markdown_feedback(feedback_of(many), max_chars=2000)
    shown = "\n".join(lines)
    kept = [i for i in range(10) if f"mistake {i}\n" in shown]
    assert kept == list(range(len(kept))) and 0 < len(kept) < 10
    assert f"{10 - len(kept)} more failing tests are left out here" in shown.replace("\\", "")


def test_markdown_says_when_everything_visible_passed():
    results = sample()
    passed = Results(results.submission, results.assignment, tuple(t for t in results.tests if t.status == "passed"),
                     results.parts)
    assert "All visible tests passed." in to_markdown(passed)
    assert len(_tables(to_markdown(passed))) == 1 and not _fences(to_markdown(passed))


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_has_a_renderer_and_a_suffix(fmt: str):
    assert RENDER[fmt](sample()).endswith("\n")
    assert SUFFIX[fmt].startswith(".")


@pytest.mark.parametrize("value, text", [(100.0, "100"), (62.5, "62.5"), (20 / 3, "6.666667"),
                                         (35.8333333, "35.833333"), (0.0, "0"), (-0.0000001, "0"), (1e-7, "0")])
def test_one_score_formatter_for_every_sink(value, text):
    assert points(value) == text
