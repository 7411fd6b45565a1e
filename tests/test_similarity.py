"""Similar code (semester/similar_code.py, `course similarity`, the class report): a renamed copy ranks first;
independent work is not flagged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from checkout import REPO_ROOT

from autograder import cli, config
from autograder.frontends import demo, validate
from autograder.semester import similar_code

COURSE = config.load()
NAME, ASSIGNMENT = COURSE.assignment()
CATALOG = REPO_ROOT / "grading_tests" / "catalog" / "catalog.py"
RENAMES = {"other": "that", "out": "result", "topo": "order", "visited": "seen", "node": "n",
           "params": "ps", "neurons": "units", "layers": "stack"}


def renamed(text: str) -> str:
    """A copy as a student disguises one: identifiers renamed, comments reworded, blank lines added."""
    text = re.sub(r"\b(" + "|".join(RENAMES) + r")\b", lambda m: RENAMES[m[1]], text)
    text = re.sub(r"#.*", "# my own notes", text)
    return text.replace("\n\n", "\n\n\n")


def correct_variants() -> dict[str, dict[str, str]]:
    correct, _ = validate.load_catalog(CATALOG)
    return {e.id: {k: v for k, v in validate.patched_sources(e.patches, e.id).items() if k in ASSIGNMENT.student_files}
            for e in correct}


@pytest.fixture(scope="module")
def ranking() -> tuple[list[similar_code.Pair], str, str]:
    demo_class = {s.name: demo.student_files(s) for s in demo.demo_class().students if s.kind != "hostile"}
    variants = correct_variants()
    original = "nn-functional-style"
    texts = {**demo_class, **{f"variant-{k}": v for k, v in variants.items()}}
    texts["copycat"] = {f: renamed(t) for f, t in variants[original].items()}
    return similar_code.ranked(texts, similar_code.boilerplate(ASSIGNMENT)), f"variant-{original}", "copycat"


def test_a_renamed_copy_ranks_first_and_is_flagged(ranking):
    pairs, original, copy = ranking
    assert {pairs[0].first, pairs[0].second} == {original, copy}
    assert pairs[0].similarity >= COURSE.grading.similarity_threshold


def test_independent_work_and_shared_bugs_are_not_flagged(ranking):
    """The demo class's students share the lecture's code (discounted) and some share a kind of bug; the catalog's
    correct variants were written separately: no such pair reaches the threshold, or outranks the copy."""
    pairs, original, copy = ranking
    others = [p for p in pairs if {p.first, p.second} != {original, copy} and copy not in (p.first, p.second)]
    assert all(p.similarity < COURSE.grading.similarity_threshold for p in others), others[:3]


def test_the_command_writes_the_flagged_pairs_side_by_side(tmp_path: Path, capsys):
    variants = correct_variants()
    for name, files in {"original": variants["kahn-sort"],
                        "copycat": {f: renamed(t) for f, t in variants["kahn-sort"].items()},
                        "other": variants["nn-plain-loops"]}.items():
        for relative, text in files.items():
            (tmp_path / "class" / name / relative).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / "class" / name / relative).write_text(text)
    out = tmp_path / "similarity.html"
    assert cli.main(["similarity", str(tmp_path / "class"), "--out", str(out)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "copycat" in first and "original" in first and "FLAGGED" in first
    page = out.read_text()
    assert "copycat and original" in page and "<pre>" in page


@pytest.mark.slow
def test_the_class_report_of_the_demo_class_shows_a_planted_copy_first(tmp_path: Path):
    """course grade --report on the demo class with one catalog variant and its renamed copy planted: the report's
    similar submissions flag that pair, side by side, and nothing else."""
    variants = correct_variants()
    for student in demo.demo_class().students:
        demo.write_student(student, tmp_path / "class")
    for name, files in {"original": variants["nn-functional-style"],
                        "copycat": {f: renamed(t) for f, t in variants["nn-functional-style"].items()}}.items():
        for relative, text in files.items():
            (tmp_path / "class" / name / relative).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / "class" / name / relative).write_text(text)
    results, report = tmp_path / "results", tmp_path / "report"
    assert cli.main(["grade", str(tmp_path / "class"), "--out", str(results), "--report", str(report)]) == 0
    pairs, threshold = similar_code.load(results)
    flagged = [{p.first, p.second} for p in pairs if p.similarity >= threshold]
    assert flagged == [{"copycat", "original"}]
    page = (report / "index.html").read_text()
    section = page[page.index("<h2>Similar submissions</h2>"):page.index("<h2>Tests</h2>")]
    assert "copycat and original" in section and section.count("<pre>") >= 2
    assert "Next most similar pairs" in section and "<mark>" in section


def test_course_report_shows_the_ranking_kept_beside_the_results(tmp_path: Path):
    variants = correct_variants()
    for name, files in {"original": variants["kahn-sort"],
                        "copycat": {f: renamed(t) for f, t in variants["kahn-sort"].items()}}.items():
        for relative, text in files.items():
            (tmp_path / "class" / name / relative).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / "class" / name / relative).write_text(text)
    results = tmp_path / "results"
    results.mkdir()
    assert cli.main(["report", str(results), "--out", str(tmp_path / "before")]) == 0
    assert "Not computed" in (tmp_path / "before" / "index.html").read_text()
    assert cli.main(["similarity", str(tmp_path / "class"), "--results", str(results)]) == 0
    assert cli.main(["report", str(results), "--out", str(tmp_path / "after")]) == 0
    assert "copycat and original" in (tmp_path / "after" / "index.html").read_text()
