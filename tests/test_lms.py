"""A class downloaded from an LMS becomes one submission per student (autograder/inputs/lms.py).

The downloads are synthetic, named as each LMS documents its bulk download:
- Canvas: "Download all submissions" (Canvas Instructor Guide, "How do I download all student submissions for
  an assignment?"): `<name>_<user id>_<submission id>_<file>`, `LATE` after the name for a late submission,
  `-1`, `-2` appended to a file uploaded again.
- Moodle: "Download all submissions" (Moodle docs, Assignment settings: "Download submissions in folders"):
  `<Full Name>_<participant id>_assignsubmission_file_/<file>`.
- Blackboard: Grade Centre "Assignment File Download" (Blackboard Learn help, "Download assignments"):
  `<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>` and a `.txt` receipt per attempt.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from checkout import REPO_ROOT

from autograder import config
from autograder.frontends import grade
from autograder.inputs import lms
from autograder.inputs.sources import InputError

COURSE = config.load()
NAME, ASSIGNMENT = COURSE.assignment()
SOLUTION = {f: (REPO_ROOT / "solutions" / f).read_bytes() for f in ASSIGNMENT.student_files}
TEMPLATE = {f: (REPO_ROOT / "student_template" / f).read_bytes() for f in ASSIGNMENT.student_files}


def write(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def canvas(folder: Path) -> Path:
    return write(folder, {
        "lovelaceada_101_9001_engine.py": SOLUTION["micrograd/engine.py"],
        "lovelaceada_101_9001_nn.py": TEMPLATE["micrograd/nn.py"],
        "lovelaceada_101_9001_nn-1.py": SOLUTION["micrograd/nn.py"],  # uploaded again: the later copy counts
        "turingalan_LATE_102_9002_engine.py": TEMPLATE["micrograd/engine.py"],
        "turingalan_LATE_102_9002_notes.txt": b"my notes",
    })


def test_a_canvas_download_is_one_submission_per_student_named_by_its_id(tmp_path: Path):
    found = {s.name: s for s in lms.read_download(canvas(tmp_path), ASSIGNMENT)}
    assert sorted(found) == ["101", "102"]
    assert found["101"].files == SOLUTION and "late" not in found["101"].flags
    assert found["102"].files == {"micrograd/engine.py": TEMPLATE["micrograd/engine.py"]}
    assert "late" in found["102"].flags


def test_a_zipped_moodle_download_with_folders(tmp_path: Path):
    archive = tmp_path / "moodle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for relative, data in SOLUTION.items():
            zf.writestr(f"Ada Lovelace_201_assignsubmission_file_/{Path(relative).name}", data)
        zf.writestr("Alan Turing_202_assignsubmission_file_/engine.py", TEMPLATE["micrograd/engine.py"])
    found = {s.name: s for s in lms.read_download(archive, ASSIGNMENT)}
    assert sorted(found) == ["201", "202"] and found["201"].files == SOLUTION


def test_blackboard_attempts_latest_by_default_every_one_on_request(tmp_path: Path):
    early, late = "2026-11-02-10-00-00", "2026-11-03-09-30-00"
    write(tmp_path, {
        f"micrograd_ada_attempt_{early}_engine.py": TEMPLATE["micrograd/engine.py"],
        f"micrograd_ada_attempt_{early}.txt": b"Name: Ada\n",
        f"micrograd_ada_attempt_{late}_engine.py": SOLUTION["micrograd/engine.py"],
        f"micrograd_ada_attempt_{late}_nn.py": SOLUTION["micrograd/nn.py"],
        f"micrograd_ada_attempt_{late}.txt": b"Name: Ada\n",
    })
    [latest] = lms.read_download(tmp_path, ASSIGNMENT)
    assert latest.name == "ada" and latest.files == SOLUTION
    every = lms.read_download(tmp_path, ASSIGNMENT, every_attempt=True)
    assert [s.name for s in every] == [f"ada-{early}", f"ada-{late}"]
    assert every[0].files == {"micrograd/engine.py": TEMPLATE["micrograd/engine.py"]}


def test_a_student_without_the_assignments_files_gets_a_note(tmp_path: Path):
    write(tmp_path, {"hopper_7_70_report.pdf": b"%PDF"})
    [source] = lms.read_download(tmp_path, ASSIGNMENT)
    assert source.files == {} and "expected engine.py and nn.py" in source.notes[0]


def test_other_folders_are_not_lms_downloads_and_a_wrong_lms_is_one_line(tmp_path: Path):
    write(tmp_path / "class" / "ada" / "micrograd", {"engine.py": b"", "nn.py": b""})
    assert lms.read_download(tmp_path / "class", ASSIGNMENT) is None
    with pytest.raises(InputError, match=r"does not follow Moodle's naming \(<Full Name>_<id>_assignsubmission"):
        lms.read_download(canvas(tmp_path / "canvas"), ASSIGNMENT, lms="moodle")


@pytest.mark.slow
def test_course_grade_of_a_canvas_download_equals_grading_the_same_files(tmp_path: Path, capsys):
    """The round trip: a Canvas download graded as such gets the grades of the same files in the template layout."""
    layout = tmp_path / "layout"
    write(layout / "101", SOLUTION)
    write(layout / "101" / "micrograd", {"nn.py": SOLUTION["micrograd/nn.py"]})
    write(layout / "102", {"micrograd/engine.py": TEMPLATE["micrograd/engine.py"]})
    assert grade.main(submissions=[canvas(tmp_path / "canvas")], out=tmp_path / "from-canvas") == 0
    assert grade.main(submissions=[layout], out=tmp_path / "from-layout") == 0
    scores = {folder: {p.stem: json.loads(p.read_text())["score"] for p in (tmp_path / folder).glob("*.json")}
              for folder in ("from-canvas", "from-layout")}
    assert scores["from-canvas"] == scores["from-layout"]
    assert scores["from-canvas"]["101"] == pytest.approx(ASSIGNMENT.max_score)
    assert scores["from-canvas"]["102"] < scores["from-canvas"]["101"]


def test_an_unreadable_zip_is_left_to_the_other_inputs(tmp_path: Path):
    """A zip that is no zip is not an LMS download: `course grade` then grades it as a submission saying so."""
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    assert lms.read_download(tmp_path / "broken.zip", ASSIGNMENT) is None


def test_submission_times_for_a_download_that_has_none(tmp_path: Path, capsys):
    times = tmp_path / "times.csv"
    times.write_text("student,submitted_at\n101,2026-12-11T08:00:00+01:00\n999,2026-12-11T08:00:00Z\n")
    found, unknown = lms.with_times(lms.read_download(canvas(tmp_path / "canvas"), ASSIGNMENT), lms.read_times(times))
    assert {s.name: s.submitted_at for s in found} == {"101": "2026-12-11T08:00:00+01:00", "102": ""}
    assert unknown == ["999"]


@pytest.mark.parametrize("text", ["student,when\n101,2026-12-11T08:00:00Z\n",
                                  "student,submitted_at\n101,2026-12-11 08:00\n",
                                  "student,submitted_at\n101,yesterday\n"])
def test_bad_submission_times_are_one_line_and_nothing_is_graded(tmp_path: Path, capsys, text: str):
    times = tmp_path / "times.csv"
    times.write_text(text)
    assert grade.main(submissions=[canvas(tmp_path / "canvas")], out=tmp_path / "out", times=times) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "times.csv" in error and not (tmp_path / "out").exists()
