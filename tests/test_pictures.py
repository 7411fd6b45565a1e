"""Pictures of a student's failing graph: the right node marked, never an expected value, carried
through Results and shown by the HTML sinks (checked in headless Chromium by its colour)."""

from __future__ import annotations

import base64
import io
import re
import shutil
from pathlib import Path

import numpy
import pytest
from checkout import REPO_ROOT
from PIL import Image
from test_report import CHROMIUM, chromium

from autograder import config
from autograder.frontends.grade import grade
from autograder.outcome import pictures
from autograder.outcome.results import PartResult, Results, TestResult
from autograder.render import formats
from autograder.render.text import markdown_plain
from autograder.semester.report import write_report
from grading_tests.micrograd import diagnose, drawing, expected, models, writing
from grading_tests.micrograd.diagnose import Tolerance
from grading_tests.micrograd.observations import GraphObservation

MARK = drawing.MARK
TOLERANCE = Tolerance(1e-6, 1e-9)
REUSED = {"leaves": [2.0, -3.0], "ops": [["mul", 0, 1], ["add", 2, 0]]}  # x0 used by * and +
UPSTREAM = {"leaves": [0.5], "ops": [["tanh", 0], ["mul", 1, {"c": 3.0}]]}  # tanh's upstream is 3, not 1
SHARED = {"leaves": [0.3], "ops": [["exp", 0], ["tanh", 1], ["mul", 1, {"c": 2.0}], ["add", 2, 3]]}
PRE_ORDER = [4, 2, 1, 3]  # v1's _backward runs before v3 (one of its users) has sent it anything


def observed(graph: dict, bug: str | None, calls: list[int] | None = None) -> tuple[GraphObservation, list[int]]:
    """What a student with `bug` sends back (the model engine's numbers) and the nodes whose gradient is wrong."""
    root = diagnose.size(graph) - 1
    engine = diagnose.Engine(graph, bug).run([["backward", root]], [calls] if calls else None)
    _, right = expected.graph(graph)
    wrong = [i for i in range(diagnose.size(graph)) if not TOLERANCE.close(engine.grad[i], right[i])]
    return GraphObservation(engine.data, engine.grad, [], None), wrong


def marked(source: str) -> str:
    """The node filled with the mark colour (the legend aside)."""
    [node] = re.findall(rf'^\s*(n\d+) \[label=.*fillcolor="{drawing.MARK}"', source, re.MULTILINE)
    return node


def suspect_edges(source: str) -> list[tuple[str, str, str]]:
    return re.findall(r'^\s*(n\d+) -> (n\d+op) \[.*label="([^"]+)"', source, re.MULTILINE)


def hidden_numbers(graph: dict, wrong: list[int]) -> list[str]:
    """The right gradients of the wrong nodes, as a picture would write them."""
    _, right = expected.graph(graph)
    return [f"{right[i]:.4f}" for i in wrong]


CASES = {  # name: (graph, bug, calls, marked node, edge label)
    "reused node, mul overwrites": (REUSED, "overwrite-grad:mul", None, "n0", "mul's _backward"),  # not add's
    "missing * out.grad in tanh": (UPSTREAM, "no-upstream-grad:tanh", None, "n0", "tanh's _backward"),
    "pre-order sort": (SHARED, None, PRE_ORDER, "n0", "exp's _backward"),
}


@pytest.mark.parametrize("case", CASES)
def test_the_first_wrong_node_from_the_output_is_marked(case):
    graph, bug, calls, node, label = CASES[case]
    observation, wrong = observed(graph, bug, calls)
    assert wrong, "the bug shows on this graph"
    source = drawing.gradient_dot(graph, observation, wrong, pitfall=bug or "topo-pre-order")
    assert marked(source) == node
    assert suspect_edges(source) and all(edge[0] == node and edge[2] == label for edge in suspect_edges(source))
    for i in range(diagnose.size(graph)):  # every node with the student's own numbers
        assert f"data {observation.data[i]:.4f} | grad {observation.grad[i]:.4f}" in source
    svg = pictures.to_svg(source)
    assert svg.startswith("<svg") and drawing.MARK in svg
    for number in hidden_numbers(graph, wrong):
        assert number not in source and number not in svg


def test_without_a_diagnosis_every_user_of_the_marked_node_is_suspect():
    observation, wrong = observed(REUSED, "overwrite-grad:mul")
    source = drawing.gradient_dot(REUSED, observation, wrong)
    assert {(edge[1], edge[2]) for edge in suspect_edges(source)} == {("n2op", "mul's _backward"),
                                                                       ("n3op", "add's _backward")}


@pytest.mark.parametrize("calls, node, user", [(PRE_ORDER, "n1", "v3"), ([1, 2, 3, 4], "n2", "v4")])
def test_the_sort_part_marks_the_first_node_whose_backward_ran_too_early(calls, node, user):
    source = drawing.call_dot(SHARED, calls)  # the topo_sort part sees only the order of the calls
    assert marked(source) == node
    assert [edge[2] for edge in suspect_edges(source)] == [f"ran before {user}'s _backward"]
    assert "data" not in source and "grad" not in source and "_backward #1" in source


def test_a_wrong_seed_marks_the_output():
    graph = {"leaves": [2.0, -3.0], "ops": [["mul", 0, 1]]}
    observation, wrong = observed(graph, "no-seed")
    source = drawing.gradient_dot(graph, observation, wrong)
    assert marked(source) == "n2" and suspect_edges(source) == []


def test_a_parameter_order_bug_marks_the_misplaced_parameter():
    cls, args, order = "Neuron", [3], "each neuron's bias comes before its weights"
    params = models.parameters(cls, args)
    used = models.reordered(cls, args, params, order)
    x = expected.LECTURE_XS[0]
    mistake = drawing.with_parameter_order(drawing.Mistake("parameters-order", "text"), x, params, used, 1, order)
    source = mistake.picture
    # Bias first: the model's b holds what was set as w2, the parameter nearest the output.
    assert marked(source) == "n6" and 'label="{ b | data ' + f"{used[3]:.4f}" in source
    assert {edge[2] for edge in suspect_edges(source)} == {"parameters() order"}
    right_output = expected.forward(cls, args, params, [x])
    while not isinstance(right_output, float):  # one sample's one output
        right_output = right_output[0]
    assert f"{right_output:.4f}" not in source and f"{right_output:.4f}" not in pictures.to_svg(source)


def test_a_big_graph_is_cut_to_the_marked_nodes_neighbourhood():
    ops = []
    for level in range(24):  # the 24-level diamond ladder: 73 nodes
        v = 0 if level == 0 else 3 * level
        ops += [["mul", v, {"c": 0.5}], ["mul", v, {"c": 0.5}], ["add", 3 * level + 1, 3 * level + 2]]
    graph = {"leaves": [0.7], "ops": ops}
    observation, wrong = observed(graph, "overwrite-grad:mul")
    source = drawing.gradient_dot(graph, observation, wrong, pitfall="overwrite-grad:mul")
    records = re.findall(r"shape=record", source)
    assert len(records) == drawing.MAX_NODES
    assert f"... {diagnose.size(graph) - drawing.MAX_NODES} more nodes" in source
    first = drawing.first_wrong(graph, wrong)
    assert first == diagnose.size(graph) - 4 and marked(source) == f"n{first}"  # the last level's input


def test_a_students_huge_or_broken_numbers_stay_short():
    graph = {"leaves": [2.0], "ops": [["exp", 0]]}
    source = drawing.dot(graph, [2.0, 1e300], [float("nan"), float("-inf")], 0)
    assert "data 1e+300" in source and "grad nan" in source and "grad -inf" in source


def test_without_dot_there_is_no_picture_and_no_error(monkeypatch):
    monkeypatch.setattr(pictures, "DOT", "no-such-dot")
    pictures._drawn.cache_clear()
    assert pictures.to_svg("digraph { a -> b }") is None
    assert pictures.draw("digraph { a -> b }").note == pictures.NO_DOT_NOTE


# -- carried and shown --------------------------------------------------------------------------
COURSE = config.load()
ASSIGNMENT_NAME, ASSIGNMENT = COURSE.assignment(None)


def pictured_results() -> Results:
    observation, wrong = observed(REUSED, "overwrite-grad:mul")
    svg = pictures.to_svg(drawing.gradient_dot(REUSED, observation, wrong))
    tests, parts = [], []
    for index, (name, part) in enumerate(ASSIGNMENT.parts.items()):
        failed = index == 0
        tests.append(TestResult(f"micrograd/test_{name}.py::test_{name}", name, 0.0 if failed else part.points,
                                part.points, "failed" if failed else "passed",
                                "gradient overwritten" if failed else "", "visible",
                                "overwrite-grad:mul" if failed else None, svg if failed else ""))
        parts.append(PartResult(name, part.title, 0.0 if failed else part.points, part.points))
    return Results("ada", ASSIGNMENT_NAME, tuple(tests), tuple(parts))


def test_pictures_survive_the_json_round_trip():
    results = pictured_results()
    text = formats.to_json(results)
    again = Results.from_dict(__import__("json").loads(text))
    assert again == results and formats.to_json(again) == text


def test_html_results_inline_the_picture_and_markdown_draws_it_in_mermaid():
    results = pictured_results()
    page = formats.to_html(results)
    [uri] = re.findall(r'<img src="(data:image/svg\+xml;base64,[^"]+)"', page)
    assert base64.b64decode(uri.split(",", 1)[1]).decode() == results.tests[0].picture
    markdown = formats.to_markdown(results)
    assert markdown_plain(formats.PICTURE_NOTE) in markdown and "<svg" not in markdown
    [diagram] = re.findall(r"```mermaid\n(.*?)\n```", markdown, re.DOTALL)
    assert diagram == pictures.mermaid(results.tests[0].picture) != ""


# -- Mermaid: the picture where Markdown is all there is (a pull request's comment) ----------------------------
SMALL = """digraph { rankdir=LR
  a [shape=record, label="{ x0 | data 2.0000 | grad 1.0000 }", style=filled, fillcolor="#ff5a4f"]
  op [shape=ellipse, label="*"]
  b [shape=record, label="{ v1 | data 4.0000 | grad 1.0000 }"]
  a -> op [label="mul's _backward", color="#ff5a4f"]
  op -> b
}"""


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz")
def test_mermaid_keeps_the_drawings_nodes_text_fills_and_edge_labels():
    assert pictures.mermaid(pictures.to_svg(SMALL)).splitlines() == [
        "flowchart LR",
        '    g0["x0 | data 2.0000 | grad 1.0000"]',
        '    g1(["*"])',
        '    g2["v1 | data 4.0000 | grad 1.0000"]',
        '    g0 -->|"mul\'s _backward"| g1',
        "    g1 --> g2",
        "    style g0 fill:#ff5a4f,color:#000",
        "    linkStyle 0 stroke:#ff5a4f,stroke-width:2px"]


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz")
def test_a_students_text_in_a_label_stays_text_in_mermaid():
    hostile = '"]\nclick g0 call alert(1)\n%%{init: {}}%%\n```\n<img src=x onerror=alert(1)>'
    source = SMALL.replace("x0 | data", hostile.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                           .replace("{", "\\{").replace("}", "\\}").replace("<", "\\<").replace(">", "\\>")
                           .replace("|", "\\|") + " | data")
    diagram = pictures.mermaid(pictures.to_svg(source))
    first = diagram.splitlines()[1]
    assert first.startswith('    g0["\']') and first.endswith('"]') and first.count('"') == 2
    assert "```" not in diagram and "%%" not in diagram and "<img" not in diagram and "\nclick" not in diagram
    assert len(diagram.splitlines()) == 8  # no statement added


def test_a_picture_mermaid_cannot_read_is_left_out():
    assert pictures.mermaid("not svg") == "" and pictures.mermaid("<svg xmlns='http://www.w3.org/2000/svg'/>") == ""


DEAD_ENDS = {"leaves": [0.5, 2.0], "ops": [["tanh", 1], ["mul", 0, {"c": 3.0}], ["add", 0, 0]]}  # x1, v2, v3 unused


def test_nodes_the_output_is_not_computed_from_are_neither_written_nor_drawn():
    written = writing.Labelled(DEAD_ENDS)
    assert written.render() == "x0 = 0.5; v4 = x0 + x0"
    assert written.render([3]) == "x0 = 0.5; v3 = x0 * 3.0; v4 = x0 + x0"  # a node the feedback names is written
    observation, wrong = observed(DEAD_ENDS, "overwrite-grad:add")
    source = drawing.gradient_dot(DEAD_ENDS, observation, wrong, pitfall="overwrite-grad:add")
    assert set(re.findall(r"^\s*(n\d+) \[label=", source, re.MULTILINE)) == {"n0", "n4"}
    assert "more nodes" not in source


def marked_pixels(screenshot: Path) -> int:
    """Pixels of the mark colour (exactly: the filled node and legend are flat colour)."""
    want = tuple(int(drawing.MARK[i:i + 2], 16) for i in (1, 3, 5))
    pixels = numpy.asarray(Image.open(io.BytesIO(screenshot.read_bytes())).convert("RGB"), dtype=int)
    return int((numpy.abs(pixels - numpy.array(want)).max(axis=2) <= 2).sum())


@pytest.mark.skipif(CHROMIUM is None or shutil.which("dot") is None, reason="needs chromium and Graphviz")
def test_the_report_page_shows_the_marked_node_in_chromium(tmp_path):
    index = write_report([pictured_results()], tmp_path / "report", course=COURSE, assignment_name=ASSIGNMENT_NAME)
    page = index.parent / "submissions" / "ada.html"
    screenshot = tmp_path / "page.png"
    chromium(page, tmp_path, f"--screenshot={screenshot}", "--window-size=1400,1400")
    assert marked_pixels(screenshot) > 500
    without = tmp_path / "without.html"  # the same page without the picture has none of that colour
    without.write_text(re.sub(r'<figure class="picture">.*?</figure>', "", page.read_text(), flags=re.DOTALL))
    chromium(without, tmp_path, f"--screenshot={screenshot}", "--window-size=1400,1400")
    assert marked_pixels(screenshot) == 0


# -- through the grader ------------------------------------------------------------------------
OVERWRITE_MUL = ("self.grad += other.data * out.grad", "self.grad = other.data * out.grad")


@pytest.fixture(scope="module")
def overwriter(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("overwriter")
    shutil.copytree(REPO_ROOT / "solutions", folder, dirs_exist_ok=True)
    engine = folder / "micrograd" / "engine.py"
    text = engine.read_text()
    assert OVERWRITE_MUL[0] in text
    engine.write_text(text.replace(*OVERWRITE_MUL, 1))
    return folder


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz")
def test_the_grader_pictures_each_failing_graph_test(overwriter):
    [results] = grade([overwriter], course=COURSE)
    failed = [t for t in results.tests if t.status == "failed" and t.part == "operations"]
    assert failed and all(t.pitfall == "overwrite-grad:mul" for t in failed)
    assert all(t.picture.startswith("<svg") and drawing.MARK in t.picture for t in failed)
    assert all(re.search(r"(mul&#39;s _backward|_backward \(its mul\))", t.picture) for t in failed)
    assert not any(t.picture for t in results.tests if t.status == "passed")


@pytest.mark.slow
def test_without_dot_the_feedback_says_so_and_grading_goes_on(overwriter, monkeypatch):
    monkeypatch.setattr(pictures, "DOT", "no-such-dot")
    pictures._drawn.cache_clear()  # a grading process without dot from its start: nothing drawn before
    [results] = grade([overwriter], course=COURSE)
    failed = [t for t in results.tests if t.status == "failed" and t.part == "operations"]
    assert failed and all(t.pitfall == "overwrite-grad:mul" for t in failed)
    assert all(not t.picture and t.output.endswith(pictures.NO_DOT_NOTE) for t in failed)
