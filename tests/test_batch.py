"""Batch grading: inputs of every shape, parallel workers, resume after a kill, gradebook and CSV, shards."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from checkout import REPO_ROOT

from autograder import config
from autograder.entry_points import which
from autograder.frontends import demo
from autograder.frontends.merge import MergeError, merge_folders
from autograder.inputs import sources
from autograder.render.gradebook import csv_text, database_url, read_gradebook, write_gradebook
from autograder.semester import batch

COURSE = config.load()
ASSIGNMENT_NAME, ASSIGNMENT = COURSE.assignment(None)
STUDENTS = {s.name: s for s in demo.demo_class().students}


def course(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=600, **kwargs)


def names(found: list[sources.Source]) -> list[str]:
    return [s.name for s in found]


def zip_folder(folder: Path, archive: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + str(path.relative_to(folder)))
    return archive


# -- collecting inputs -----------------------------------------------------------------------
def test_collects_folders_lms_zips_and_nbgrader_trees(tmp_path):
    demo.write_student(STUDENTS["ada"], tmp_path / "one")
    demo.write_student(STUDENTS["alan"], tmp_path / "class")
    demo.write_student(STUDENTS["hedy"], tmp_path / "class")
    # An LMS download: one folder per student (Moodle), and a student's own zip inside (Canvas)
    lms = tmp_path / "lms"
    demo.write_student(STUDENTS["john"], lms, name="John Doe_1234_assignsubmission_file_")
    own = demo.write_student(STUDENTS["ken"], tmp_path / "kens", name="ken")
    zip_folder(own.parent, lms / "ken_5678_upload.zip")
    archive = zip_folder(lms, tmp_path / "download.zip")
    # nbgrader: submitted/<student>/<assignment>/ in the template layout
    demo.write_student(STUDENTS["grace"], tmp_path / "course" / "submitted" / "grace", name=ASSIGNMENT_NAME)

    found = sources.collect([tmp_path / "one" / "ada", tmp_path / "class", archive, tmp_path / "course"],
                            ASSIGNMENT_NAME, ASSIGNMENT)

    assert names(found) == ["John_Doe_1234_assignsubmission_file", "ada", "alan", "grace", "hedy",
                            "ken_5678_upload"]
    by_name = {s.name: s for s in found}
    for name, student in (("ada", "ada"), ("grace", "grace"), ("ken_5678_upload", "ken")):
        assert by_name[name].files == {f: text.encode() for f, text in demo.student_files(STUDENTS[student]).items()}


def test_collects_notebooks_and_nbgrader_trees_of_notebooks(tmp_path):
    name, assignment = COURSE.assignment("autograd")
    source = REPO_ROOT / "assignments" / "source" / name / f"{name}.ipynb"
    shutil.copy(source, tmp_path / "alice.ipynb")
    (tmp_path / "course" / "submitted" / "bob" / name).mkdir(parents=True)
    shutil.copy(source, tmp_path / "course" / "submitted" / "bob" / name / f"{name}.ipynb")
    (tmp_path / "broken.ipynb").write_text("{not json")
    found = sources.collect([tmp_path / "alice.ipynb", tmp_path / "course", tmp_path / "broken.ipynb"], name,
                            assignment)
    assert names(found) == ["alice", "bob", "broken"]
    for source in found[:2]:
        engine = source.files["micrograd/engine.py"].decode()
        assert "class Value" in engine and "def backward(self)" in engine
    assert found[2].files == {}  # graded as empty: files missing


def test_a_zip_cannot_write_outside_its_folder_or_plant_links(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../escaped.py", "print('out')")
        zf.writestr("/abs.py", "print('abs')")
        link = zipfile.ZipInfo("mallory/micrograd/nn.py")
        link.external_attr = 0o120777 << 16  # a symlink to a secret
        zf.writestr(link, "/etc/shadow")
        zf.writestr("mallory/micrograd/engine.py", "x = 1\n")
    found = sources.collect([archive], ASSIGNMENT_NAME, ASSIGNMENT)
    assert names(found) == ["evil"]
    assert not (tmp_path / "escaped.py").exists() and not (Path("/") / "abs.py").exists()
    assert found[0].files == {"micrograd/engine.py": b"x = 1\n"}  # the link was not extracted


def test_two_submissions_with_one_name_are_an_error_not_a_loss(tmp_path):
    demo.write_student(STUDENTS["ada"], tmp_path / "a", name="sam")
    demo.write_student(STUDENTS["alan"], tmp_path / "b", name="sam")
    with pytest.raises(sources.InputError, match="both named 'sam'"):
        sources.collect([tmp_path / "a", tmp_path / "b"], ASSIGNMENT_NAME, ASSIGNMENT)


def test_bad_inputs_get_a_clear_message(tmp_path):
    (tmp_path / "empty").mkdir()
    for bad, message in ((tmp_path / "empty", "no submissions found"), (tmp_path / "nowhere", "not a submission")):
        result = course("grade", str(bad), "--out", str(tmp_path / "out"))
        assert result.returncode == 2, result.stderr
        assert message in result.stderr
    # a zip is a student's (or a class's): one that cannot be read is that submission's result, graded as empty
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    result = course("grade", str(tmp_path / "broken.zip"), "--out", str(tmp_path / "out"))
    assert result.returncode == 0 and "broken.zip is not a readable zip" in result.stderr, result.stderr
    graded = json.loads((tmp_path / "out" / "broken.json").read_text())
    assert graded["score"] == 0 and "unreadable_submission" in graded["flags"]


def test_shards_are_a_deterministic_partition():
    every = [sources.Source(f"s{i:03d}", {}) for i in range(23)]
    shards = [names(batch.shard_slice(list(reversed(every)), i, 4)) for i in range(1, 5)]
    assert sorted(sum(shards, [])) == names(every)
    assert shards == [names(batch.shard_slice(every, i, 4)) for i in range(1, 5)]
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    assert batch.parse_shard("2/4") == (2, 4)
    for bad in ("0/4", "5/4", "x", "1/0"):
        with pytest.raises(Exception, match="I/N"):
            batch.parse_shard(bad)


# -- gradebook and CSV -----------------------------------------------------------------------
def fake_results(name: str, scores: dict[str, float], flags: tuple[str, ...] = ()):
    from autograder.outcome.results import PartResult, Results, TestResult

    tests = tuple(TestResult(f"test_{part}.py::test_it", part, score, ASSIGNMENT.parts[part].points,
                             "passed" if score == ASSIGNMENT.parts[part].points else "failed", "", "visible")
                  for part, score in scores.items())
    parts = tuple(PartResult(part, p.title, scores.get(part, 0.0), p.points) for part, p in ASSIGNMENT.parts.items())
    return Results(name, ASSIGNMENT_NAME, tests, parts, flags)


def test_gradebook_is_nbgraders_and_rewriting_it_updates_rows(tmp_path):
    parts = list(ASSIGNMENT.parts)
    first = [fake_results("bo", {parts[0]: 10.0, parts[1]: 5.5}), fake_results("al", {parts[0]: 1.0}, ("timeout",))]
    url = database_url(tmp_path / "db" / "gradebook.db")
    assert url.startswith("sqlite:///")
    write_gradebook(first, url, COURSE, ASSIGNMENT_NAME)
    again = [fake_results("bo", {parts[0]: 12.0, parts[1]: 5.5}), first[1]]
    write_gradebook(again, url, COURSE, ASSIGNMENT_NAME)

    book = read_gradebook(url, ASSIGNMENT_NAME)
    assert set(book) == {"al", "bo"}
    assert book["bo"][parts[0]] == 12.0 and book["bo"]["total"] == 17.5
    assert book["al"]["total"] == 1.0
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:  # nbgrader itself sees one submission each, with the course's max score
        assert len(gb.find_assignment(ASSIGNMENT_NAME).submissions) == 2
        assert gb.find_assignment(ASSIGNMENT_NAME).max_score == ASSIGNMENT.max_score

    lines = csv_text(again, COURSE, ASSIGNMENT_NAME).splitlines()
    assert lines[0] == ",".join(["submission", "total", "max_score", *parts, "flags"])
    assert lines[1].startswith("al,1,100,1,0,") and lines[1].endswith(",timeout")
    assert lines[2].startswith("bo,17.5,100,12,5.5,")


# -- grading, resuming, sharding (real sandboxed grading) -------------------------------------
CLASS = ("ada", "alan", "claude", "hedy", "lovelace", "mallory", "torchy")


@pytest.fixture(scope="module")
def small_class(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("class")
    for name in CLASS:
        demo.write_student(STUDENTS[name], folder)
    return folder


@pytest.fixture(scope="module")
def unsharded(small_class, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("unsharded")
    result = course("grade", str(small_class), "--out", str(out / "results"), "--jobs", "2",
                    "--csv", str(out / "scores.csv"), "--gradebook", str(out / "gradebook.db"))
    assert result.returncode == 0, result.stderr
    return out


def results_of(folder: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


@pytest.mark.slow
def test_batch_grades_each_submission_like_a_single_run(unsharded, small_class, tmp_path):
    found = results_of(unsharded / "results")
    assert sorted(found) == sorted(CLASS)
    single = course("grade", str(small_class / "alan"), "--results", str(tmp_path / "alan.json"))
    assert single.returncode == 0, single.stderr
    alone = json.loads((tmp_path / "alan.json").read_text())
    pairs = [(t["name"], t["score"]) for t in found["alan"]["tests"]]
    assert pairs == [(t["name"], t["score"]) for t in alone["tests"]]
    assert found["ada"]["score"] == pytest.approx(ASSIGNMENT.max_score)
    assert found["alan"]["score"] < found["ada"]["score"]
    # mallory's engine exits at import: its parts score 0 (her nn.py is graded on the reference engine)
    mallory = {p["name"]: p["score"] for p in found["mallory"]["parts"]}
    assert mallory["operations"] == mallory["backward"] == mallory["topo_sort"] == 0
    assert "SystemExit" in found["mallory"]["tests"][0]["output"]
    assert "policy_violation" in found["torchy"]["flags"]
    book = read_gradebook(database_url(unsharded / "gradebook.db"), ASSIGNMENT_NAME)
    rows = (unsharded / "scores.csv").read_text().splitlines()[1:]
    assert len(rows) == len(CLASS) == len(book)
    for row in rows:
        name, total = row.split(",")[:2]
        assert float(total) == pytest.approx(book[name]["total"]) == pytest.approx(found[name]["score"])


@pytest.mark.slow
def test_a_second_run_skips_finished_submissions_and_force_regrades(unsharded, small_class, tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    for path in (unsharded / "results").glob("*.json"):
        (out / path.name).write_bytes(path.read_bytes())
    changed = demo.write_student(STUDENTS["claude"], tmp_path / "class")  # same student, new work
    (changed / "micrograd/engine.py").write_text(demo.reference(config.load())["micrograd/engine.py"])
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.json")}

    again = course("grade", str(small_class / "ada"), str(changed), str(small_class / "alan"), "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert "1 graded" in again.stderr and "2 already graded" in again.stderr
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("*.json")}
    assert after["ada.json"] == before["ada.json"] and after["alan.json"] == before["alan.json"]
    assert results_of(out)["claude"]["score"] == pytest.approx(ASSIGNMENT.max_score)

    forced = course("grade", str(small_class / "ada"), "--out", str(out), "--force")
    assert forced.returncode == 0 and "1 graded" in forced.stderr
    assert (out / "ada.json").stat().st_mtime_ns > before["ada.json"]


@pytest.mark.slow
def test_shards_merged_equal_one_unsharded_run(unsharded, small_class, tmp_path):
    shards = []
    for index in (1, 2, 3):
        folder = tmp_path / f"shard{index}"
        result = course("grade", str(small_class), "--shard", f"{index}/3", "--out", str(folder), "--jobs", "1")
        assert result.returncode == 0, result.stderr
        shards.append(folder)
    assert sorted(sum((list(results_of(s)) for s in shards), [])) == sorted(CLASS)  # disjoint and complete
    merged = course("merge", *map(str, shards), "--out", str(tmp_path / "merged"),
                    "--csv", str(tmp_path / "scores.csv"),
                    "--gradebook", str(tmp_path / "gradebook.db"), "--report", str(tmp_path / "report"))
    assert merged.returncode == 0, merged.stderr

    assert (tmp_path / "scores.csv").read_bytes() == (unsharded / "scores.csv").read_bytes()
    assert read_gradebook(database_url(tmp_path / "gradebook.db"), ASSIGNMENT_NAME) == \
        read_gradebook(database_url(unsharded / "gradebook.db"), ASSIGNMENT_NAME)
    scores = {name: [(t["name"], t["score"], t["status"]) for t in r["tests"]]
              for name, r in results_of(tmp_path / "merged").items()}
    assert scores == {name: [(t["name"], t["score"], t["status"]) for t in r["tests"]]
                      for name, r in results_of(unsharded / "results").items()}
    assert (tmp_path / "report" / "index.html").is_file()


def test_merge_refuses_two_different_results_for_one_submission(tmp_path):
    for shard, score in (("a", 1), ("b", 2)):
        (tmp_path / shard).mkdir()
        (tmp_path / shard / "sam.json").write_text(json.dumps({"score": score}))
    with pytest.raises(MergeError, match="sam has different results"):
        merge_folders([tmp_path / "a", tmp_path / "b"], tmp_path / "out")


# -- killed midway, run again -----------------------------------------------------------------
def children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            pass
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start_batch(folder: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(folder), "--out", str(out), "--jobs", "2",
                             "--csv", str(out.parent / "scores.csv"), "--gradebook", str(out.parent / "gradebook.db")],
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_results(out: Path, at_least: int, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while len(list(out.glob("*.json"))) < at_least:
        assert process.poll() is None, "the batch ended before it could be interrupted"
        assert time.monotonic() < deadline, "no results appeared"
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_batch_resumes_without_losing_or_duplicating_results(tmp_path, how):
    folder = tmp_path / "class"
    # slow students (one grading timeout after another) keep the batch busy long enough to kill it
    pool = [STUDENTS["ada"], STUDENTS["loop"], STUDENTS["alan"], STUDENTS["hedy"]]
    made = [demo.write_student(pool[i % len(pool)], folder, f"s{i:02d}-{pool[i % len(pool)].name}")
            for i in range(8)]
    out = tmp_path / "results"
    process = start_batch(folder, out)
    wait_for_results(out, 2, process)
    workers = children(process.pid)
    assert workers, "the batch grades in worker processes"
    process.send_signal(how)
    process.wait(timeout=60)
    done_before = {p.name: p.read_bytes() for p in out.glob("*.json")}
    assert 2 <= len(done_before) < len(made)
    # A grading process stops at its next Python instruction, then tears its pytest session and sandboxes
    # down; on a loaded 2-core machine that took over 30 s once. An orphan would keep grading for good,
    # and the rerun below would then find results it did not expect.
    deadline = time.monotonic() + 90
    while any(alive(pid) for pid in workers):  # no orphan keeps grading (or writing) after the batch died
        assert time.monotonic() < deadline, "grading processes outlived the killed batch"
        time.sleep(0.1)
    if how == signal.SIGTERM:
        assert process.returncode == 130 and "run the same command again to resume" in process.stderr.read()
    for name, data in done_before.items():
        results = json.loads(data)  # complete JSON, never half a file
        assert len(results["tests"]) == len(json.loads(next(iter(done_before.values())))["tests"]), name

    rerun = start_batch(folder, out)
    _, stderr = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, stderr
    assert f"{len(made) - len(done_before)} graded" in stderr and f"{len(done_before)} already graded" in stderr
    final = {p.name: p.read_bytes() for p in out.glob("*.json")}
    assert sorted(final) == sorted(f"{p.name}.json" for p in made)
    assert all(final[name] == data for name, data in done_before.items())  # finished ones were not regraded
    assert not list(out.glob(".*.tmp"))
    rows = (tmp_path / "scores.csv").read_text().splitlines()[1:]
    assert sorted(r.split(",")[0] for r in rows) == sorted(p.name for p in made)
    assert len(read_gradebook(database_url(tmp_path / "gradebook.db"), ASSIGNMENT_NAME)) == len(made)
    timed_out = json.loads(final[f"{made[1].name}.json"])
    assert "timeout" in timed_out["flags"]


def test_grade_class_workflow_passes_actionlint():
    actionlint = which("actionlint")
    assert actionlint, "actionlint is not installed: pip install -e '.[dev]'"
    workflow = REPO_ROOT / ".github/workflows/grade-class.yml"
    result = subprocess.run([actionlint, str(workflow)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
