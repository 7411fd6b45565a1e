"""Properties that hold for every input (hypothesis): the stored results round trip and follow their schema,
and solution markers split a file into exactly what students get and what they never see."""

from __future__ import annotations

import json

import jsonschema
from checkout import REPO_ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder import markers
from autograder.outcome.results import PartResult, PullRequest, Results, TestResult
from autograder.render.formats import to_json

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCHEMA = json.loads((REPO_ROOT / "docs" / "results.schema.json").read_text())

text = st.text(max_size=40)
points = st.floats(min_value=0, max_value=1000, allow_nan=False, allow_infinity=False)
tests = st.builds(TestResult, name=text, part=text, score=points, max_score=points,
                  status=st.sampled_from(["passed", "failed"]), output=text,
                  visibility=st.sampled_from(["visible", "hidden", "after_due_date", "after_published"]),
                  pitfall=st.none() | text, picture=text)
parts = st.builds(PartResult, name=text, title=text, score=points, max_score=points)
pull_requests = st.none() | st.builds(PullRequest, base=text, head=text, changed_files=st.tuples(text, text),
                                      ignored_files=st.tuples() | st.tuples(text))
results = st.builds(Results, submission=text, assignment=text, tests=st.lists(tests, max_size=4).map(tuple),
                    parts=st.lists(parts, max_size=4).map(tuple), flags=st.lists(text, max_size=3).map(tuple),
                    messages=st.lists(text, max_size=3).map(tuple), output_excerpt=text, grading_key=text,
                    grader_key=text, pull_request=pull_requests, complete=st.booleans(), submitted_at=text)


@FAST
@given(results)
def test_stored_results_read_back_equal_and_follow_the_schema(result):
    written = to_json(result)
    data = json.loads(written)
    jsonschema.validate(data, SCHEMA)
    again = Results.from_dict(data)
    assert again == result and to_json(again) == written


@FAST
@given(results)
def test_what_students_see_keeps_every_score_and_no_hidden_text(result):
    shown = result.for_students()
    assert [(t.name, t.score, t.status) for t in shown.tests] == [(t.name, t.score, t.status) for t in result.tests]
    assert shown.score == result.score
    assert all(t.output == t.picture == "" and t.pitfall is None for t in shown.tests if t.visibility != "visible")
    visible = [t for t in result.tests if t.visibility == "visible"]
    assert [t for t in shown.tests if t.visibility == "visible"] == visible


code_line = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30).map(
    lambda line: line.replace("###", "# #"))
blocks = st.lists(st.tuples(st.lists(code_line, max_size=3), st.none() | st.tuples(
    st.sampled_from(["", "    "]), text.map(lambda hint: hint.replace("\n", " ").replace("\r", " ").strip()),
    st.lists(code_line, min_size=1, max_size=3))), max_size=4)


def solution_file(parts) -> tuple[str, list[str], list[str]]:
    """A file of plain lines and solution regions; its text, the plain lines and each region's code."""
    lines, plain, regions = [], [], []
    for given_lines, region in parts:
        lines += given_lines
        plain += given_lines
        if region is not None:
            indent, hint, body = region
            lines += [f"{indent}{markers.BEGIN}: {hint}" if hint else f"{indent}{markers.BEGIN}", *body,
                      f"{indent}{markers.END}"]
            regions.append("".join(line + "\n" for line in body))
    return "".join(line + "\n" for line in lines), plain, regions


@FAST
@given(blocks)
def test_markers_give_students_the_plain_lines_and_a_stub_per_region_and_nothing_of_the_solution(parts):
    source, plain, regions = solution_file(parts)
    assert markers.solution_regions(source) == regions
    stubbed = markers.stub(source)
    assert stubbed.count("raise NotImplementedError(") - sum(line.count("raise NotImplementedError(")
                                                              for line in plain) == len(regions)
    assert markers.BEGIN not in stubbed and markers.END not in stubbed
    assert markers.strip_markers(source) == "".join(line + "\n" for given, region in parts
                                                    for line in [*given, *(region[2] if region else [])])
    assert markers.strip_markers(markers.strip_markers(source)) == markers.strip_markers(source)
