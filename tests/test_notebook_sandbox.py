"""Hostile notebooks against the real `nbgrader autograde` with the course's configuration.

The student knows every path (the test tells it): it tries to read the gradebook, the source
notebooks, the hidden suites and the reference solutions, to write into them and into the
grader's code, to reach the network, and to fake its test cells' scores from a solution cell.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import nbformat
import pytest
from checkout import REPO_ROOT
from nbgrader_course import cell_scores, filled, insert_after, make_course, nbgrader, submit

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="the sandboxed kernel needs bubblewrap")]

ATTACK = """import json, os, socket
targets = {targets!r}
found = {{"read": {{}}, "write": {{}}, "list": {{}}}}
for path in targets["read"]:
    try:
        with open(path, "rb") as f:
            found["read"][path] = f.read(64).hex()
    except Exception as exc:
        found["read"][path] = type(exc).__name__
for path in targets["write"]:
    try:
        with open(path, "ab") as f:
            f.write(b"# patched by a student")
        found["write"][path] = "written"
    except Exception as exc:
        found["write"][path] = type(exc).__name__
for path in targets["list"]:
    try:
        found["list"][path] = os.listdir(path)
    except Exception as exc:
        found["list"][path] = type(exc).__name__
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3)
    found["network"] = "connected"
except Exception as exc:
    found["network"] = type(exc).__name__
try:
    import autograder  # the trusted grader's package: patch it if it is reachable
    autograder.frontends.grade.grade = lambda *a, **k: []
    found["grader"] = "patched"
except Exception as exc:
    found["grader"] = type(exc).__name__
print("ATTACK " + json.dumps(found))"""

# From a solution cell: every hidden test cell now answers full marks, and so would a
# display of the score; the planted bug makes the real slope part worth 0.
FAKE_SCORES = """

def course_part_score(part):
    return 100.0


try:  # only in the kernel; the same module in the grader's worker has no IPython
    get_ipython().display_formatter.formatters["text/plain"].for_type(float, lambda v, p, cycle: p.text("100.0"))
except NameError:
    pass
"""


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("course"), ["derivatives"])
    assert nbgrader(root, "generate_assignment", "derivatives").returncode == 0
    protected = [root / "gradebook.db", root / "source" / "derivatives" / "derivatives.ipynb",
                 REPO_ROOT / "grading_tests" / "derivatives" / "test_derivatives.py",
                 REPO_ROOT / "solutions" / "micrograd" / "engine.py",
                 REPO_ROOT / "autograder" / "frontends" / "nbgrader_preprocessors.py",
                 root / "nbgrader_config.py"]
    targets = {
        # leak.txt: a symlink handed in with the notebook; nbgrader copies the gradebook it points to.
        "read": [str(p) for p in protected] + ["../../../gradebook.db", "leak.txt", "/etc/shadow"],
        "write": [str(p) for p in protected] + [str(root / "autograded" / "spy" / "derivatives" / "planted.txt"),
                                                "scratch.txt", "/tmp/scratch.txt",
                                                # bwrap's own folders: the grader's uid owns them without root
                                                "/planted.txt", "/dev/shm/planted.txt"],
        "list": [str(root), str(root / "submitted"), str(REPO_ROOT), "/root"],
    }
    release = root / "release" / "derivatives" / "derivatives.ipynb"
    source = root / "source" / "derivatives" / "derivatives.ipynb"

    def plant(gid, code):
        if gid == "slope_code":
            return code.replace("return (f(x + h) - f(x)) / h", "return f(x + h) - f(x)") + FAKE_SCORES
        return code

    nb = insert_after(filled(release, source, plant), "setup", ATTACK.format(targets=targets))
    (submit(root, "spy", "derivatives", nb).parent / "leak.txt").symlink_to(root / "gradebook.db")
    submit(root, "honest", "derivatives", filled(release, source))
    before = {p: _digest(p) for p in protected if p.name != "gradebook.db"}
    result = nbgrader(root, "autograde", "derivatives", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    autograded = nbformat.read(root / "autograded" / "spy" / "derivatives" / "derivatives.ipynb", 4)
    printed = [o.text for c in autograded.cells if c.cell_type == "code" for o in c.get("outputs", [])
               if o.get("output_type") == "stream" and o.text.startswith("ATTACK ")]
    assert printed, "the attack cell did not run"
    return {"root": root, "found": json.loads(printed[0].removeprefix("ATTACK ")), "log": result.stderr,
            "before": before, "protected": protected}


def test_the_kernel_reads_nothing_of_the_course(attacked):
    found = attacked["found"]
    assert all(value in {"FileNotFoundError", "PermissionError"} for value in found["read"].values()), found["read"]
    secrets = {"gradebook.db", "source", "submitted", "release", "nbgrader_config.py", "grading_tests", "solutions",
               "autograder"}
    for path, listing in found["list"].items():  # at most the empty folders leading to its own
        assert isinstance(listing, str) or not secrets.intersection(listing), (path, listing)


def test_the_kernel_writes_nowhere_that_lasts(attacked):
    writes = attacked["found"]["write"]
    assert writes.pop("/tmp/scratch.txt") == writes.pop("scratch.txt") == "written"  # private, discarded
    assert all(value != "written" for value in writes.values()), writes
    assert {p: _digest(p) for p in attacked["before"]} == attacked["before"]
    autograded = attacked["root"] / "autograded" / "spy" / "derivatives"
    assert sorted(p.name for p in autograded.iterdir()) == ["derivatives.ipynb"]
    assert "removed leak.txt from the autograded folder" in attacked["log"]


def test_feedback_passes_on_nothing_but_the_notebook(attacked):
    assert nbgrader(attacked["root"], "generate_feedback", "derivatives").returncode == 0
    feedback = attacked["root"] / "feedback" / "spy" / "derivatives"
    assert sorted(p.name for p in feedback.iterdir()) == ["derivatives.html"]


def test_no_network_and_no_grader_to_patch(attacked):
    assert attacked["found"]["network"] != "connected"
    assert attacked["found"]["grader"] in {"ModuleNotFoundError", "ImportError"}


def test_faked_scores_are_replaced_by_trusted_ones(attacked):
    assert cell_scores(attacked["root"], "derivatives", "spy") == {
        "slope": 0.0, "partials": 3.0, "central_difference": 3.0}
    assert cell_scores(attacked["root"], "derivatives", "honest") == {
        "slope": 4.0, "partials": 3.0, "central_difference": 3.0}
    assert "possible tampering: spy's cell partials" in attacked["log"]
    assert "possible tampering: honest" not in attacked["log"]
