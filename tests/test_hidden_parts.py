"""A part course.yml marks hidden shows its feedback to no student, by any channel (Results.for_students): the
Markdown and HTML results, the pull request's comment, summary and uploaded files, Gradescope (its own
visibility) and nbgrader's feedback. Its points still count, and the instructor's own results keep everything."""

from __future__ import annotations

import json
import subprocess

import pytest
from test_grader_key import copied_course

from autograder import cli, config
from autograder.frontends import demo, nbgrader_preprocessors
from autograder.frontends.gradescope_run import gradescope_json
from autograder.outcome.results import read_result
from autograder.render import formats

STUDENTS = {s.name: s for s in demo.demo_class().students}
HIDDEN = "operations"


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    """alan (operations wrong, with pictures; training wrong too) graded with operations hidden."""
    root = tmp_path_factory.mktemp("hidden")
    path = copied_course(root)
    text = path.read_text()
    anchor = '        title: "Operations and their local derivatives"\n'
    assert anchor in text
    path.write_text(text.replace(anchor, anchor + "        visibility: hidden\n"))
    alan = demo.write_student(STUDENTS["alan"], root / "class")
    assert cli.main(["grade", str(alan), "--config", str(path), "--out", str(root / "results"), "--quiet"]) == 0
    results = read_result(root / "results" / "alan.json")
    secrets = [t for t in results.tests if t.part == HIDDEN and t.status == "failed"]
    assert secrets and any(t.picture for t in secrets)  # the instructor's results keep them
    assert any(t.part != HIDDEN and t.status == "failed" for t in results.tests)
    return {"root": root, "course": path, "alan": alan, "results": results,
            "secrets": [t.output.splitlines()[0] for t in secrets] + [t.picture[:200] for t in secrets if t.picture]}


def leaked(graded: dict, text: str) -> list[str]:
    return [secret for secret in graded["secrets"] if secret in text]


def test_markdown_and_html_show_no_hidden_feedback(graded):
    results = graded["results"]
    visible = next(t for t in results.tests if t.part != HIDDEN and t.status == "failed")
    for page in (formats.to_markdown(results), formats.to_html(results)):
        assert leaked(graded, page) == [] and visible.output.splitlines()[0][:60] in page.replace("&#39;", "'")
    assert "picture" not in formats.to_markdown(results).split("####")[1]  # no picture under a hidden part


def test_nbgrader_feedback_of_a_hidden_part_is_its_score_alone(graded):
    results = graded["results"]
    outputs = nbgrader_preprocessors.graded_cell_outputs(results, HIDDEN, 12.5, 3)
    assert [o["output_type"] for o in outputs] == ["execute_result"] and outputs[0]["data"]["text/plain"] == "12.5"
    shown = nbgrader_preprocessors.graded_cell_outputs(results, "training", 14.5, 4)  # visible: keeps its feedback
    assert shown[0]["output_type"] == "stream" and "test_lecture_training_loop" in shown[0]["text"]


def test_gradescope_hides_them_with_its_own_visibility(graded):
    course = config.load(graded["course"])
    data = gradescope_json(graded["results"], course.assignments["micrograd"], sandbox=None, seconds=1)
    assert {t["visibility"] for t in data["tests"] if t["name"].split("/")[-1].startswith("test_operations")} == \
        {"hidden"}
    assert leaked(graded, data["output"]) == []


@pytest.mark.slow
def test_pull_request_grading_uploads_and_posts_no_hidden_feedback(graded, tmp_path):
    repo = tmp_path / "repo"
    demo.write_student(STUDENTS["ada"], tmp_path / "main")  # a base commit
    subprocess.run(["cp", "-r", str(tmp_path / "main" / "ada"), str(repo)], check=True)
    git = ["git", "-C", str(repo), "-c", "user.email=s@example.com", "-c", "user.name=s"]
    subprocess.run([*git[:3], "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    for relative in ("micrograd/engine.py", "micrograd/nn.py"):
        (repo / relative).write_bytes((graded["alan"] / relative).read_bytes())
    subprocess.run([*git, "commit", "-qam", "alan's work"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    out = tmp_path / "out"
    code = cli.main(["ci-grade", "--repo", str(repo), "--base", "main", "--head", head, "--out", str(out),
                     "--config", str(graded["course"])])
    log = out / "grader.log"
    assert code == 0, log.read_text() if log.is_file() else "no grader.log"
    uploaded = json.loads((out / "results.json").read_text())
    assert uploaded["score"] == pytest.approx(graded["results"].score)  # the hidden part's points still count
    pictures = [t["picture"] for t in uploaded["tests"] if t["picture"]]
    for name in ("results.json", "results.html", "summary.md", "comment.md", "status.json"):
        assert leaked(graded, (out / name).read_text()) == [], name
    assert all(leaked(graded, p) == [] for p in pictures)
