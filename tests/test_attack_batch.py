"""Attacks on a class batch (issue 19): one bad member never stops the class, and a result that
cannot be written is never lost silently.

A bad member (corrupt, nested, oversized or deep zip, a link, a binary or unreadable file, a
name that is not UTF-8) becomes that student's own flagged result, naming their file as the
instructor gave it; unsafe zip members are skipped and reported to the student; a destination
that cannot be written is refused (exit 2, the path named) before grading, and a write that fails
later still prints the score.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import pytest
from checkout import REPO_ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder import config
from autograder.cli import main
from autograder.frontends import demo, grade
from autograder.inputs import sources

STUDENTS = {s.name: s for s in demo.demo_class().students}
ASSIGNMENT_NAME, ASSIGNMENT = config.load().assignment(None)
SOLUTIONS = REPO_ROOT / "solutions"


def files_of(student: str) -> dict[str, bytes]:
    return {relative: text.encode() for relative, text in demo.student_files(STUDENTS[student]).items()}


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def results_of(out: Path) -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in out.glob("*.json")}


def build_class(root: Path) -> dict[str, str]:
    """Two good students and one of every kind of bad member; returns name -> the path as given."""
    demo.write_student(STUDENTS["ada"], root)
    alan = files_of("alan")  # a good zip, with unsafe members around the student's files
    link = zipfile.ZipInfo("alan/micrograd/viz.py")
    link.external_attr = 0o120777 << 16
    with zipfile.ZipFile(root / "alan.zip", "w") as archive:
        for relative, data in alan.items():
            archive.writestr(f"alan/{relative}", data)
        archive.writestr("../escaped.py", b"print('out')")
        archive.writestr("/absolute.py", b"print('abs')")
        archive.writestr(link, "/etc/shadow")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate: that is the attack
            archive.writestr("alan/micrograd/nn.py", b"raise SystemExit('the second nn.py')")
    (root / "bob.zip").write_bytes(b"PK\x03\x04 not really a zip")
    nested = zipped(files_of("ada"))
    for level in range(6):
        nested = zipped({f"level{level}.zip": nested})
    (root / "deep.zip").write_bytes(nested)
    (root / "folders.zip").write_bytes(zipped({"d/" * 600 + "engine.py": b"x = 1\n"}))
    with zipfile.ZipFile(root / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("zeros.bin", "w", force_zip64=True) as zeros:
        for _ in range((sources.MAX_ZIP_BYTES >> 20) + 1):  # 1 MiB more than allowed, as a few hundred KB
            zeros.write(bytes(1 << 20))
    with zipfile.ZipFile(root / "crowd.zip", "w") as archive:
        for index in range(sources.MAX_ZIP_MEMBERS + 1):
            archive.writestr(f"f{index}", b"")
    os.symlink(root / "nowhere", root / "carol")
    dave = demo.write_student(STUDENTS["ada"], root, name="dave")
    (dave / "micrograd" / "engine.py").write_bytes(b"\x00\xff\xfe binary, not Python")
    erin = demo.write_student(STUDENTS["ada"], root, name="erin")
    (erin / "micrograd" / "nn.py").write_bytes("# caf\xe9 in Latin-1\n".encode("latin-1"))
    demo.write_student(STUDENTS["ada"], root, name=os.fsdecode(b"ren\xe9e"))  # a folder name that is not UTF-8
    return {"bob": str(root / "bob.zip"), "deep": str(root / "deep.zip"), "folders": str(root / "folders.zip"),
            "bomb": str(root / "bomb.zip"), "crowd": str(root / "crowd.zip"), "carol": str(root / "carol")}


@pytest.mark.slow
def test_every_bad_member_is_its_own_result_and_the_class_is_graded(tmp_path, capsys):
    given_as = build_class(tmp_path / "class")
    out = tmp_path / "out"
    assert main(["grade", str(tmp_path / "class"), "--out", str(out), "--jobs", "1", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "course-sources-" not in err, err
    graded = results_of(out)
    assert sorted(graded) == ["ada", "alan", "bob", "bomb", "carol", "crowd", "dave", "deep", "erin", "folders",
                              "ren_e"]
    assert graded["ada"]["score"] == 100 and graded["ren_e"]["score"] == 100  # the good ones, graded as usual
    for name in ("bob", "deep", "folders", "bomb", "crowd", "carol"):
        extra = graded[name]
        assert graded[name]["score"] == 0 and "unreadable_submission" in extra["flags"], name
        assert any(given_as[name] in message for message in extra["messages"]), (name, extra["messages"])
        assert not any("course-sources-" in message for message in extra["messages"]), extra["messages"]
    assert "not a readable zip" in "\n".join(graded["bob"]["messages"])
    assert "nested more than 3 deep" in "\n".join(graded["deep"]["messages"])
    assert "nested more than 32 folders deep" in "\n".join(graded["folders"]["messages"])
    assert "MB uncompressed" in "\n".join(graded["bomb"]["messages"])
    assert "more than 20000 files" in "\n".join(graded["crowd"]["messages"])
    assert "symbolic link" in "\n".join(graded["carol"]["messages"])
    # alan: graded on his own files; each unsafe member skipped and named in his messages
    alan = graded["alan"]
    assert "skipped_files" in alan["flags"] and 0 < graded["alan"]["score"] < 100
    for member, why in (("../escaped.py", "outside"), ("/absolute.py", "outside"),
                        ("alan/micrograd/viz.py", "symbolic link"), ("alan/micrograd/nn.py", "same name")):
        assert any(member in m and why in m for m in alan["messages"]), (member, alan["messages"])
    assert not (tmp_path / "escaped.py").exists() and not Path("/absolute.py").exists()
    # dave: a binary engine.py costs the engine's parts, his nn.py is still graded (through isolation)
    dave = graded["dave"]
    assert any("micrograd/engine.py is not Python source text" in m for m in dave["messages"]), dave["messages"]
    assert {p["name"]: p["score"] for p in dave["parts"]}["nn"] > 0 and "syntax_error" in dave["flags"]
    erin = graded["erin"]  # a file that is not UTF-8 names itself the same way
    assert any("micrograd/nn.py is not Python source text" in m for m in erin["messages"]), erin["messages"]


def test_unreadable_files_and_folders_are_their_students_results(tmp_path):
    """As root a mode-000 file is still readable: the check then runs without the capabilities that
    bypass file permissions (setpriv), so it really reads unreadable files as root too."""
    root = tmp_path / "class"
    demo.write_student(STUDENTS["ada"], root)
    frank = demo.write_student(STUDENTS["ada"], root, name="frank")
    (frank / "micrograd" / "engine.py").chmod(0)
    gina = demo.write_student(STUDENTS["ada"], root, name="gina")
    gina.chmod(0)
    script = ("import json, sys; from autograder import config; from autograder.inputs import sources; "
              "name, assignment = config.load().assignment(None); "
              "print(json.dumps([[s.name, sorted(s.files), list(s.notes), list(s.flags)] "
              "for s in sources.collect([__import__('pathlib').Path(sys.argv[1])], name, assignment)]))")
    without_privilege = ["setpriv", "--bounding-set=-all", "--inh-caps=-all"] if os.geteuid() == 0 else []
    run = subprocess.run([*without_privilege, sys.executable, "-c", script, str(root)], capture_output=True,
                         text=True, cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, timeout=120)
    gina.chmod(0o755)
    assert run.returncode == 0, run.stderr
    found = {name: (files, notes, flags) for name, files, notes, flags in json.loads(run.stdout)}
    assert sorted(found) == ["ada", "frank", "gina"]
    files, notes, flags = found["frank"]
    assert files == ["micrograd/nn.py"] and "unreadable_submission" in flags
    assert any("micrograd/engine.py could not be read (Permission denied)" in note for note in notes), notes
    files, notes, flags = found["gina"]
    assert files == [] and any(f"{gina} cannot be read (Permission denied)" in note for note in notes), notes


# -- destinations that cannot be written ---------------------------------------------------------
def read_only_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


@pytest.mark.parametrize("option", ["--results", "--out", "--csv", "--report", "--gradebook", "gradescope"])
def test_an_unwritable_destination_is_refused_before_grading(tmp_path, capsys, option):
    (tmp_path / "file.txt").write_text("a file, so nothing can be created under it (even by root)")
    target = tmp_path / "file.txt" / "result"
    if option == "gradescope":
        argv = ["gradescope", "--out", str(target)]
    elif option in ("--results", "--out"):
        argv = ["grade", str(SOLUTIONS), option, str(target)]
    else:
        argv = ["grade", str(SOLUTIONS), "--out", str(tmp_path / "out"), option, str(target)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"cannot write {target}: Not a directory" in err, err
    assert not list((tmp_path / "out").glob("*.json"))  # nothing was graded


def test_a_read_only_folder_is_refused_as_root_too(tmp_path):
    """A read-only folder (a read-only bind mount as root, whom no mode bit stops; mode 555 otherwise)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    command = [sys.executable, "-m", "autograder", "grade", str(SOLUTIONS), "--results", str(folder / "r.json")]
    if os.geteuid() == 0:
        command = ["unshare", "--mount", "sh", "-c", f'mount --bind -o ro "{folder}" "{folder}" && exec "$@"', "-",
                   *command]
    else:
        folder.chmod(0o555)
    run = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert run.returncode == 2, run.stderr
    assert f"cannot write {folder / 'r.json'}: " in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert not (folder / "r.json").exists()


@pytest.mark.slow
def test_a_write_that_fails_after_grading_still_prints_the_score(tmp_path, capsys, monkeypatch):
    # --out: the folder is writable, but the student's results file is taken by a folder
    out = tmp_path / "out"
    (out / "solutions.json").mkdir(parents=True)
    assert main(["grade", str(SOLUTIONS), "--out", str(out), "--jobs", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"cannot write {out / 'solutions.json'}" in err and "solutions scored 100/100" in err, err
    # --results: the destination passed the early check, then became unwritable
    monkeypatch.setattr(grade, "check_writable", lambda path: None)
    (tmp_path / "file.txt").write_text("")
    assert main(["grade", str(SOLUTIONS), "--results", str(tmp_path / "file.txt" / "r.json")]) == 2
    err = capsys.readouterr().err
    assert "solutions: 100/100" in err and f"cannot write {tmp_path / 'file.txt' / 'r.json'}" in err, err


@pytest.mark.parametrize("jobs", ["0", "-1", "two"])
def test_jobs_below_one_are_refused(tmp_path, capsys, jobs):
    with pytest.raises(SystemExit) as exit_:
        main(["grade", str(SOLUTIONS), "--out", str(tmp_path / "out"), f"--jobs={jobs}"])
    assert exit_.value.code == 2
    assert "expected a whole number of grading processes, 1 or more" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# -- properties ----------------------------------------------------------------------------------
NAME_PARTS = st.sampled_from(["a", "b", "..", ".", "", "/", "\\", "C:", "é", "\udcff", "x" * 300, "\n", "\x00"])
MEMBER_NAMES = st.lists(NAME_PARTS, min_size=1, max_size=5).map("/".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(MEMBER_NAMES, st.booleans()), min_size=1, max_size=8))
def test_zip_extraction_stays_inside_and_reports_every_skipped_member(members):
    with tempfile.TemporaryDirectory() as box:
        box = Path(box)
        archive, target = box / "in.zip", box / "target"
        target.mkdir()
        with zipfile.ZipFile(archive, "w") as zf, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # duplicate names
            for index, (name, is_link) in enumerate(members):
                info = zipfile.ZipInfo(name.encode("utf-8", "surrogateescape").decode("utf-8", "replace") or "_")
                if is_link:
                    info.external_attr = 0o120777 << 16
                zf.writestr(info, f"content {index}")
        before = set(Path("/").iterdir())
        try:
            skipped = sources._extract_zip(archive, target)
        except sources.InputError:
            return  # not a readable zip (a name zipfile itself refuses): the whole zip is its student's result
        assert sorted(p.name for p in box.iterdir()) == ["in.zip", "target"]  # nothing beside the target
        assert set(Path("/").iterdir()) == before
        written = [p.read_text() for p in target.rglob("*") if p.is_file()]
        read_back = [(i.filename, i.filename.replace("\\", "/").endswith("/"))  # a folder (Windows: a\\)
                     for i in zipfile.ZipFile(archive).infolist()]
        files = [(index, name) for index, (name, is_dir) in enumerate(read_back) if not is_dir]
        not_extracted = [name for index, name in files if f"content {index}" not in written]
        assert len(written) == len(files) - len(not_extracted)  # no file came from elsewhere
        notes = [note for _, note in skipped]
        assert len(not_extracted) <= len(notes) <= len(read_back) - len(written)  # each one reported
        for name in not_extracted:  # ... by its name, where it can be shown as it is
            assert not (name.isascii() and name.isprintable()) or any(repr(name)[:100] in note for note in notes)
        for note in notes:
            assert "was skipped: " in note and "\n" not in note


@given(st.lists(st.lists(st.sampled_from(["alice", "bob", "a b", "..", "é", "x.zip", "y.ipynb", "autograd"]),
                         min_size=1, max_size=4).map(lambda parts: Path("/class", *parts)), min_size=1, max_size=8))
def test_submission_names_are_distinct_safe_file_names(paths):
    names = sources.submission_names(paths, "autograd")
    assert len(set(names)) == len(names) == len(paths)
    for name in names:
        assert name and all(c.isascii() and (c.isalnum() or c in "._-") for c in name), name
        assert name not in (".", "..")


def test_a_deep_folder_tree_given_by_the_instructor_is_walked_without_recursion(tmp_path):
    deep = tmp_path / "class" / "zoe"
    (deep / Path(*["d"] * 200)).mkdir(parents=True)
    demo.write_student(STUDENTS["ada"], tmp_path / "class")
    found = {s.name: s for s in sources.collect([tmp_path / "class"], ASSIGNMENT_NAME, ASSIGNMENT)}
    assert sorted(found) == ["ada", "zoe"] and found["ada"].files
    assert "nested more than 32 folders deep" in found["zoe"].notes[-1]
