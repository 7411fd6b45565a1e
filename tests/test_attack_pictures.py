"""Pictures and the grader's own failures are the grader's risk, never the student's loss or gain.

On a8e86a8 a backward() calling the output's _backward thousands of times made a picture label longer
than `dot` accepts: the exception in the verdict hook ended the pytest session (INTERNALERROR), the
partial results had part shares computed over the tests that ran, a batch stopped grading the students
after it, a resumed batch took the partial result as finished and Gradescope gave 0. Here: `dot`
refusing, hanging, crashing, flooding or printing garbage, the drawing code raising, the verdict hook
raising, the session stopping mid-way; each time the submission is graded on every other test with the
shares of an honest run, and nothing partial is written or resumed.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from checkout import REPO_ROOT

from autograder import config
from autograder.core import pipeline
from autograder.core.pytest_plugin import NOT_GRADED
from autograder.core.suite import Mistake
from autograder.frontends import gradescope_run
from autograder.outcome import pictures
from autograder.outcome.results import Results, result_path
from autograder.render.text import markdown_text
from autograder.semester import batch
from grading_tests.micrograd import diagnose, drawing
from grading_tests.micrograd.observations import GraphObservation

COURSE = config.load()
ASSIGNMENT_NAME, ASSIGNMENT = COURSE.assignment(None)
SOLUTIONS = REPO_ROOT / "solutions"
WALK = "        for node in reversed(topo):\n            node._backward()\n"
# The issue's attack: after a right backward(), the output's _backward thousands of times more.
REPEATS = WALK + "        for _ in range(5000):\n            self._backward()\n"
# Only on graphs of more than 50 nodes: right on test_backward_order's graphs, a crash in the next test
# gave a8e86a8's topo_sort part all its 15 points for the one test that ran (6.67 of an honest run).
REPEATS_ON_BIG_GRAPHS = WALK + "        for _ in range(5000 if len(topo) > 50 else 0):\n            self._backward()\n"
FAKE_DOTS = {  # name: a `dot` that misbehaves so
    "hangs": "exec sleep 600",
    "crashes": "kill -SEGV $$",
    "refuses": "cat >/dev/null; echo 'Error: <stdin>: syntax error in line 15 (longer than 16384?)' >&2; exit 1",
    "prints garbage": "cat >/dev/null; echo '<html><script>not a picture</script>'",
    "floods": "exec yes '<svg>'",
}


def fake_dot(folder: Path, behaviour: str) -> str:
    script = folder / "dot"
    script.write_text(f"#!/bin/sh\n{FAKE_DOTS[behaviour]}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(script)


@pytest.fixture
def fresh_pictures(monkeypatch):
    """Nothing drawn before (the lru cache) and a short time limit for the hanging `dot`."""
    pictures._drawn.cache_clear()
    monkeypatch.setattr(pictures, "DOT_SECONDS", 1.0)
    yield
    pictures._drawn.cache_clear()


# -- pictures.draw: any failure of `dot` is "no picture" with a note ------------------------------
@pytest.mark.parametrize("behaviour", FAKE_DOTS)
def test_a_misbehaving_dot_gives_no_picture_and_a_note(behaviour, tmp_path, monkeypatch, fresh_pictures):
    monkeypatch.setattr(pictures, "DOT", fake_dot(tmp_path, behaviour))
    assert pictures.draw("digraph { a -> b }") == pictures.Drawing(note=pictures.NOT_DRAWN_NOTE)


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz")
def test_a_label_longer_than_dot_accepts_gives_no_picture(fresh_pictures):
    assert pictures.draw('digraph { a [label="' + "#1, " * 5000 + '"] }').note == pictures.NOT_DRAWN_NOTE


def test_a_huge_dot_source_is_never_given_to_dot(tmp_path, monkeypatch, fresh_pictures):
    ran = tmp_path / "ran"
    script = tmp_path / "dot"
    script.write_text(f"#!/bin/sh\ntouch {ran}\n")
    script.chmod(0o755)
    monkeypatch.setattr(pictures, "DOT", str(script))
    huge = "digraph {" + " a -> b;" * (pictures.MAX_DOT_CHARS // 8 + 1) + "}"
    assert pictures.draw(huge).note == pictures.NOT_DRAWN_NOTE and not ran.exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz")
def test_a_failure_is_never_remembered_as_a_drawing(tmp_path, monkeypatch, fresh_pictures):
    source = "digraph { remembered -> never }"
    monkeypatch.setattr(pictures, "DOT", fake_dot(tmp_path, "crashes"))
    assert not pictures.draw(source).svg
    monkeypatch.setattr(pictures, "DOT", "dot")
    assert pictures.draw(source).svg.startswith("<svg")


# -- drawing.py: a picture of the relevant part, whatever the student's graph ----------------------
def repeated_calls(graph: dict, repeats: int) -> list[int]:
    """A right post-order walk of the graph, then the output's _backward `repeats` more times."""
    output = diagnose.size(graph) - 1
    walk = [n for n in reversed(diagnose.topological(graph, output)) if n >= len(graph["leaves"])]
    return walk + [output] * repeats


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz")
def test_thousands_of_backward_calls_on_one_node_are_drawn_short(fresh_pictures):
    graph = {"leaves": [0.3], "ops": [["exp", 0], ["tanh", 1], ["mul", 1, {"c": 2.0}], ["add", 2, 3]]}
    source = drawing.call_dot(graph, repeated_calls(graph, 5000))
    assert "(5001 calls)" in source and max(map(len, source.splitlines())) < 2 * drawing.MAX_LABEL_CHARS
    assert pictures.draw(source).svg.startswith("<svg")


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz")
@pytest.mark.parametrize("shape", ["wide", "deep"])
def test_a_huge_graph_is_drawn_around_its_wrong_node(shape, fresh_pictures):
    n = 20_000
    if shape == "wide":  # x0 used by n products, summed in a chain
        ops = [["mul", 0, {"c": 0.5}] for _ in range(n)] + [["add", 1, 2]]
        ops += [["add", n + i, i + 3] for i in range(n - 2)]
    else:
        ops = [["mul", i, {"c": 1.0001}] for i in range(n)]
    graph = {"leaves": [0.7], "ops": ops}
    size = diagnose.size(graph)
    data, grad = [0.5] * size, [1.0] * size
    observation = GraphObservation(data, grad, [], None)
    source = drawing.gradient_dot(graph, observation, [0], pitfall="overwrite-grad:mul")
    assert source.count("shape=record") == drawing.MAX_NODES and len(source) < pictures.MAX_DOT_CHARS
    assert pictures.draw(source).svg.startswith("<svg")


def test_a_drawing_that_raises_leaves_the_mistake_standing_without_picture(monkeypatch):
    def broken(*args, **kwargs):
        raise RecursionError("the drawing code failed")

    monkeypatch.setattr(drawing, "call_dot", broken)
    mistake = drawing.with_calls(Mistake("topo-twice", "called twice"), {"leaves": [1.0], "ops": []}, [])
    assert (mistake.pitfall, mistake.picture) == ("topo-twice", "")
    assert mistake.feedback == f"called twice\n{pictures.NOT_DRAWN_NOTE}"


# -- through the grader: the same grade, every test graded, the session goes on --------------------
def submission(folder: Path, engine: str = REPEATS) -> Path:
    shutil.copytree(SOLUTIONS, folder)
    path = folder / "micrograd" / "engine.py"
    text = path.read_text()
    assert WALK in text
    path.write_text(text.replace(WALK, engine, 1))
    return folder


def shares(result: Results) -> dict[str, float]:
    return {t.name: t.max_score for t in result.tests}


def statuses(result: Results) -> dict[str, str]:
    return {t.name: t.status for t in result.tests}


def internal_errors(result: Results) -> set[str]:
    return {t.name for t in result.tests if t.pitfall == "internal-error"}


@pytest.fixture(scope="module")
def honest(tmp_path_factory) -> Results:
    """The reference solution's result: every test and its share of its part."""
    [result] = pipeline.grade([SOLUTIONS], course=COURSE)
    assert result.score == result.max_score and result.complete
    return result


@pytest.fixture(scope="module")
def attack(tmp_path_factory) -> Path:
    return submission(tmp_path_factory.mktemp("attack") / "attack")


@pytest.fixture(scope="module")
def attack_graded(attack) -> Results:
    """The attack graded with `dot` working: the grade the attack deserves."""
    pictures._drawn.cache_clear()
    [result] = pipeline.grade([attack], course=COURSE)
    return result


@pytest.mark.slow
def test_the_issues_attack_is_graded_on_every_test_with_honest_shares(attack_graded, honest):
    assert attack_graded.complete and not internal_errors(attack_graded)
    assert shares(attack_graded) == shares(honest)
    failed = {t.name for t in attack_graded.tests if t.status == "failed"}
    assert failed and all(t.part == "topo_sort" for t in attack_graded.tests if t.name in failed)
    assert attack_graded.score == attack_graded.max_score - ASSIGNMENT.parts["topo_sort"].points


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz")
def test_the_issues_attack_gets_a_picture_of_the_relevant_part(attack_graded):
    failed = [t for t in attack_graded.tests if t.status == "failed"]
    assert failed and all(t.picture.startswith("<svg") and "calls)" in t.picture for t in failed)


@pytest.mark.slow
def test_a_crash_after_a_passing_test_gains_nothing(honest, tmp_path):
    [result] = pipeline.grade([submission(tmp_path / "gainer", REPEATS_ON_BIG_GRAPHS)], course=COURSE)
    assert result.complete and shares(result) == shares(honest)
    topo_sort = {t.name: t for t in result.tests if t.part == "topo_sort"}
    [passed] = [t for t in topo_sort.values() if t.status == "passed"]
    assert passed.name.endswith("test_backward_order") and len(topo_sort) == 3
    assert [p.score for p in result.parts if p.name == "topo_sort"] == [round(passed.max_score, 4)]


@pytest.mark.slow
@pytest.mark.parametrize("behaviour", ["missing", *FAKE_DOTS, "drawing raises"])
def test_whatever_happens_to_the_picture_the_grade_is_the_same(behaviour, attack, attack_graded, tmp_path,
                                                               monkeypatch, fresh_pictures):
    if behaviour == "missing":
        monkeypatch.setattr(pictures, "DOT", "no-such-dot")
    elif behaviour == "drawing raises":
        monkeypatch.setattr(drawing, "call_dot", lambda *args: 1 / 0)
    else:
        monkeypatch.setattr(pictures, "DOT", fake_dot(tmp_path, behaviour))
    [result] = pipeline.grade([attack], course=COURSE)
    assert result.complete and not internal_errors(result) and "internal_error" not in result.flags
    assert (statuses(result), shares(result), result.score) == (
        statuses(attack_graded), shares(attack_graded), attack_graded.score)
    failed = [t for t in result.tests if t.status == "failed"]
    assert failed and all(not t.picture and t.output.endswith(")") for t in failed)
    note = pictures.NO_DOT_NOTE if behaviour == "missing" else pictures.NOT_DRAWN_NOTE
    assert all(t.output.endswith(note) for t in failed)


@pytest.mark.slow
def test_a_verdict_hook_that_raises_is_one_tests_internal_error(attack, attack_graded, honest, monkeypatch,
                                                                 fresh_pictures):
    def broken(source: str):
        raise RuntimeError("the grader's own bug while drawing")

    monkeypatch.setattr(pictures, "draw", broken)
    [result] = pipeline.grade([attack], course=COURSE)
    drew = {t.name for t in attack_graded.tests if t.picture}
    assert drew and internal_errors(result) == drew  # the session went on after each of them
    assert result.complete and "internal_error" in result.flags and shares(result) == shares(honest)
    assert {n: s for n, s in statuses(result).items() if n not in drew} == \
        {n: s for n, s in statuses(attack_graded).items() if n not in drew}


def interrupted(monkeypatch) -> None:
    """The session stops at the first picture (as when a batch stops its grading process)."""
    def stop(source: str):
        raise KeyboardInterrupt

    monkeypatch.setattr(pictures, "draw", stop)


@pytest.mark.slow
def test_a_session_that_stops_hands_out_no_partial_result(attack, attack_graded, honest, monkeypatch,
                                                          fresh_pictures):
    interrupted(monkeypatch)
    handed = []
    with pytest.raises(pipeline.GraderError) as stopped:
        pipeline.grade([attack], course=COURSE, on_result=handed.append)
    assert handed == []  # nothing to write
    [partial] = stopped.value.incomplete
    assert not partial.complete and "internal_error" in partial.flags
    assert shares(partial) == shares(honest)  # every collected test, none dropped: shares of an honest run
    not_graded = {t.name for t in partial.tests if t.output == NOT_GRADED}
    assert not_graded and all(t.score == 0 for t in partial.tests if t.name in not_graded)
    graded = {t.name: t.status for t in partial.tests if t.name not in internal_errors(partial)}
    assert graded and graded.items() <= statuses(attack_graded).items()
    again = Results.from_gradescope(json.loads(json.dumps(partial.to_gradescope())))
    assert not again.complete


# -- batch resume and Gradescope ---------------------------------------------------------------
def written(out: Path, result: Results) -> None:
    result_path(out, result.submission).write_text(json.dumps(result.to_gradescope()))


def test_resume_takes_only_complete_results_without_internal_errors_as_finished(honest, tmp_path):
    key = "k" * 64
    good = honest.with_grading_key(key)
    cases = {"complete": good, "partial": replace(good, complete=False),
             "internal": replace(good, flags=("internal_error",))}
    for name, result in cases.items():
        written(tmp_path, replace(result, submission=name))
    old = good.to_gradescope()  # as a8e86a8 wrote it, partial or not: no word on completeness
    del old["extra_data"]["complete"]
    result_path(tmp_path, "old").write_text(json.dumps(old))
    assert {n: batch.finished(tmp_path, n, key) for n in [*cases, "old"]} == {
        "complete": True, "partial": False, "internal": False, "old": False}


def course_cli(*args: str | Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=600, env=env)


@pytest.mark.slow
def test_a_batch_grades_the_students_after_the_attack_and_regrades_a_partial_result(attack, tmp_path):
    folder = tmp_path / "class"
    shutil.copytree(attack, folder / "a-attacker")
    shutil.copytree(SOLUTIONS, folder / "b-honest")
    out = tmp_path / "out"
    first = course_cli("grade", folder, "--out", out, "--jobs", "1", "--quiet")
    assert first.returncode == 0, first.stderr
    found = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert sorted(found) == ["a-attacker", "b-honest"]
    assert all(r["complete"] for r in found.values())
    assert found["b-honest"]["score"] == ASSIGNMENT.max_score
    found["b-honest"]["complete"] = False  # a partial result
    (out / "b-honest.json").write_text(json.dumps(found["b-honest"]))
    again = course_cli("grade", folder, "--out", out, "--jobs", "1", "--quiet")
    assert again.returncode == 0 and "1 graded" in again.stderr and "1 already graded" in again.stderr, again.stderr
    assert json.loads((out / "b-honest.json").read_text())["complete"]


def gradescope_root(tmp_path: Path, attack: Path) -> Path:
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    shutil.copytree(attack, root / "submission")
    return root


@pytest.mark.slow
@pytest.mark.parametrize("stops", [False, True], ids=["attack", "session stops"])
def test_gradescope_gives_the_student_their_points(stops, attack, attack_graded, tmp_path, monkeypatch,
                                                   fresh_pictures):
    if stops:
        interrupted(monkeypatch)
    root = gradescope_root(tmp_path, attack)
    assert gradescope_run.run_autograder(root) == 0
    data = json.loads((root / "results" / "results.json").read_text())
    assert "grader_error" not in data["extra_data"]["flags"] and data["tests"]
    points = {t["name"]: t["score"] for t in data["tests"]}
    if not stops:
        assert data["score"] == attack_graded.score and data["extra_data"]["complete"]
        return
    ungraded = {n for n, pitfall in data["extra_data"]["pitfalls"].items() if pitfall == "internal-error"}
    right = {t.name: t.score for t in attack_graded.tests}
    assert ungraded and {n: p for n, p in points.items() if n not in ungraded} == \
        {n: p for n, p in right.items() if n not in ungraded and n in points} and data["score"] > 0
    assert not data["extra_data"]["complete"] and markdown_text(gradescope_run.NOT_ALL_GRADED) in data["output"]
