"""Resource failures get the right words: each is named for what happened, with its own flag.

A submission that exits, recurses or crashes while it is imported, fills the memory or floods the
output is told so in its own terms; "no visited set" is said only where backward() was seen to
revisit a node; the class report counts these as errors, not misconceptions. No test here
depends on how busy the machine is: memory is exhausted by allocations refused at once (or within
a small limit and a generous time), and a time-out is an endless loop, never a slow step.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from adversarial.corpus import Case, build, engine
from checkout import PROBES as MICROGRAD_PROBES

from autograder import config
from autograder.boundary.sandbox import Limits, Worker
from autograder.core.suite import FAILURES, Mistake
from autograder.outcome.results import load_results
from autograder.semester.report import ClassStatistics
from grading_tests.micrograd.observations import REVISITS, MicrogradSubmission, diamond_ladder

SANDBOXES = ["bwrap", "process"] if shutil.which("bwrap") else ["process"]
# As root, `course grade --sandbox process` refuses to run while this repository is readable by any
# user (check_process_sandbox): the class run then uses bwrap alone, the workers above both sandboxes.
CLASS_SANDBOXES = [s for s in SANDBOXES if s == "bwrap" or os.geteuid() != 0]
COURSE = config.load()
ASSIGNMENT = COURSE.assignment()[1]
EXP_BACKWARD = "            self.grad += out.data * out.grad\n"  # exp's _backward in the reference
LADDER_GRAD = "        self.grad += 1.0\n"  # backward()'s seed, where a patched backward() does its thing
REFERENCE_SORT = "        topo, visited, stack = [], set(), [(self, False)]\n"
# The catalog's dedup-after-walk: no visited set, duplicates dropped after the walk. Right on small
# graphs (every _backward runs once, in order), exponential on a diamond ladder.
NO_VISITED_SORT = (
    ("micrograd/engine.py", REFERENCE_SORT, "        topo, stack = [], [(self, False)]\n"),
    ("micrograd/engine.py", "            elif node not in visited:\n                visited.add(node)\n",
     "            else:\n"),
    ("micrograd/engine.py", "        # Like torch,", "        topo = list(dict.fromkeys(topo))\n        # Like torch,"),
)
RAISED_RECURSION = "import sys\nsys.setrecursionlimit(10 ** 7)\n"
C_RECURSION = "def _deeper(n):\n    return list(map(_deeper, [n + 1]))\n"  # each level on the C stack too

# Graded together in one `course grade --out` call per sandbox: name -> (patches, flag, words every
# failing test's output holds).
CLASS = {
    "exits-at-import": ((engine("import sys\nsys.exit(3)"),), "exit_at_import",
                        "your micrograd/engine.py called sys.exit(3) (raised SystemExit) while being imported"),
    "recurses-at-import": ((engine(RAISED_RECURSION + C_RECURSION + "_deeper(0)"),), "recursion_at_import",
                           "importing your micrograd/engine.py crashed (the worker was killed by SIGSEGV): probably "
                           "a recursion too deep, since your code raised the recursion limit;"),
    "hoards-in-exp": (((("micrograd/engine.py", EXP_BACKWARD, "            _hoard = bytearray(40 << 30)\n"),)),
                      "memory", f"your code used more than the {COURSE.grading.memory_limit_mb} MB of memory a "
                      "submission may use (micrograd/engine.py line"),
    "floods-in-backward": ((("micrograd/engine.py", LADDER_GRAD,
                             "        for _ in range(4):\n            print('grad' * (1 << 19))\n" + LADDER_GRAD),),
                           "output_flood", "your code printed more than 1 MiB of output (the most a submission "
                           "may print) and was stopped"),
    "crashes-in-exp": ((("micrograd/engine.py", EXP_BACKWARD,
                         "            import os, signal\n            os.kill(os.getpid(), signal.SIGSEGV)\n"),),
                       "crash", "stopped the worker: the worker was killed by SIGSEGV"),
    "no-visited-set": (NO_VISITED_SORT, "timeout", ""),
}


@pytest.fixture
def folder() -> Iterator[Path]:
    """A folder the worker's unprivileged uid can reach (pytest's own tmp_path is 0700 as root)."""
    made = Path(tempfile.mkdtemp(prefix="resources-test-"))
    os.chmod(made, 0o711)
    yield made
    shutil.rmtree(made, ignore_errors=True)


def submission_of(folder: Path, *patches: tuple[str, str, str | None]) -> Path:
    return build("student", Case("reference", patches), folder / "submissions", out=folder)


def failure(folder: Path, sandbox: str, patches, limits: Limits | None = None, *, graph: dict | None = None) -> Mistake:
    """The Mistake a backward() over `graph` (an exp) raises in the submission's own worker."""
    with Worker(submission_of(folder, *patches), limits or Limits(), sandbox=sandbox,
                probes=MICROGRAD_PROBES) as worker:
        worker.start_test()
        with pytest.raises(Mistake) as raised:
            MicrogradSubmission("student", worker).graph(graph or {"leaves": [0.5], "ops": [["exp", 0]]},
                                                         doing="backward()")
    return raised.value


# -- one worker at a time ----------------------------------------------------------------------

@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_memory_filled_step_by_step_is_memory_at_any_speed(folder: Path, sandbox: str):
    """A hoard grown in 16 MB steps within a small limit, with all the time in the world: always the
    memory limit, never a time-out."""
    grows = "            _hoard = [bytearray(16 << 20) for _ in range(64)]\n"
    mistake = failure(folder, sandbox, [("micrograd/engine.py", EXP_BACKWARD, grows)],
                      Limits(time_limit=120, memory_mb=192))
    assert mistake.pitfall == "memory" and mistake.flags == ("memory",)
    assert "your code used more than the 192 MB of memory a submission may use (micrograd/engine.py line" \
        in mistake.feedback


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_time_out_after_filling_the_memory_is_memory(folder: Path, sandbox: str):
    hoards_then_loops = "            _hoard = bytearray(160 << 20)\n            while True:\n                pass\n"
    mistake = failure(folder, sandbox, [("micrograd/engine.py", EXP_BACKWARD, hoards_then_loops)],
                      Limits(time_limit=1.0, memory_mb=192))
    assert mistake.pitfall == "memory" and mistake.flags == ("memory",)
    assert mistake.feedback == ("backward() did not finish within the time limit (no answer within 1 s) with the "
                                "memory it held close to the 192 MB a submission may use")


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_endless_recursion_at_import_after_raising_the_limit(folder: Path, sandbox: str):
    """The issue's case: a time-out at import, not a backward() without a visited set."""
    recurses = RAISED_RECURSION + "def _deeper(n):\n    return _deeper(n + 1) + 1\n_deeper(0)"
    mistake = failure(folder, sandbox, [engine(recurses)], Limits(time_limit=1.0))
    assert mistake.pitfall == "recursion-at-import" and mistake.flags == ("recursion_at_import",)
    assert mistake.feedback.startswith("importing your micrograd/engine.py did not finish (no answer within 1 s")
    assert "probably a recursion that does not end, since your code raised the recursion limit;" in mistake.feedback
    assert "visited" not in mistake.feedback


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_exits_at_import(folder: Path, sandbox: str):
    mistake = failure(folder, sandbox, [engine("import os\nos._exit(4)")])
    assert mistake.pitfall == "exit-at-import" and mistake.flags == ("exit_at_import",)
    assert mistake.feedback == ("your micrograd/engine.py ended the process (os._exit(4)?) while being imported, "
                                "so nothing in it could be tested")
    raising = failure(folder / "again", sandbox, [engine("raise SystemExit('bye')")])
    assert raising.pitfall == "exit-at-import"
    assert raising.feedback.startswith("your micrograd/engine.py called sys.exit(...) (raised SystemExit) while "
                                       "being imported (micrograd/engine.py line ")


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_crash_is_put_down_to_recursion_only_after_a_raised_limit(folder: Path, sandbox: str):
    recurses = [engine(RAISED_RECURSION + C_RECURSION),
                ("micrograd/engine.py", EXP_BACKWARD, "            _deeper(0)\n")]
    mistake = failure(folder, sandbox, recurses)
    assert mistake.pitfall == "crash" and mistake.flags == ("crash",)
    assert ("backward() crashed (the worker was killed by SIGSEGV): probably recursion too deep (your code raised "
            "the recursion limit beyond what the C stack holds)") in mistake.feedback
    crashes = "            import os, signal\n            os.kill(os.getpid(), signal.SIGSEGV)\n"
    plain = failure(folder / "again", sandbox, [("micrograd/engine.py", EXP_BACKWARD, crashes)])
    assert plain.pitfall == "crash"
    assert plain.feedback == "backward() stopped the worker: the worker was killed by SIGSEGV"


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_a_time_out_guesses_nothing_unless_the_walk_revisits(folder: Path, sandbox: str):
    loops = ("micrograd/engine.py", LADDER_GRAD, "        while True:\n            pass\n")
    mistake = failure(folder, sandbox, [loops], Limits(time_limit=1.0), graph=diamond_ladder(3))
    assert mistake.pitfall == "timeout" and mistake.flags == ("timeout",)
    assert mistake.feedback == "backward() did not finish: no answer within 1 s"
    revisits = failure(folder / "again", sandbox, NO_VISITED_SORT, Limits(time_limit=1.0), graph=diamond_ladder(40))
    assert revisits.pitfall == REVISITS and revisits.flags == ("timeout",)
    assert revisits.feedback == (
        "backward() did not finish (no answer within 1 s). On a 10-level diamond ladder (v = v*0.5 + v*0.5 at each "
        "level) your backward() went into one node's children 17 times (the grader stopped it there): a walk "
        "without a visited set goes down every path, and a deep graph with shared nodes has too many")


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_the_words_quote_no_text_or_number_the_submission_chose(folder: Path, sandbox: str):
    """The worker's notes and an exit's argument are no channel (a worker may hold reference code)."""
    forges = ("import os, sys\nos.write(int(sys.argv[1]), b'{\"note\": {\"importing\": \"SECRET/engine.py\", '"
              "b'\"recursion_limit\": 987654321}}\\n')\nos._exit(5)")
    forged = failure(folder, sandbox, [engine(forges)])
    assert forged.pitfall == "crash"  # the forged file name is not one of the submission's: no import is named
    assert "SECRET" not in forged.feedback and "987" not in forged.feedback
    exits = failure(folder / "again", sandbox, [engine("import sys\nsys.exit('self.grad += out.grad')")])
    assert "sys.exit(...)" in exits.feedback and "out.grad" not in exits.feedback


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_the_revisit_probe_finds_repeated_backward_calls(folder: Path, sandbox: str):
    """A walk that calls _backward once per path, and the reference, which visits every node once."""
    once_per_path = ("micrograd/engine.py", "        for node in reversed(topo):\n            node._backward()\n",
                     "        def down(node):\n            node._backward()\n            for child in node._prev:\n"
                     "                down(child)\n        down(self)\n")
    with Worker(submission_of(folder, once_per_path), Limits(), sandbox=sandbox, probes=MICROGRAD_PROBES) as worker:
        worker.start_test()
        found = worker.call("revisits", graph=diamond_ladder(10), budget=16)
    with Worker(submission_of(folder / "reference"), Limits(), sandbox=sandbox, probes=MICROGRAD_PROBES) as worker:
        worker.start_test()
        reference = worker.call("revisits", graph=diamond_ladder(10), budget=16)
    assert found.ok and found.value == {"backward": 2}
    assert reference.ok and reference.value == {}


# -- a class graded in one run -------------------------------------------------------------------

@pytest.fixture(scope="module", params=CLASS_SANDBOXES)
def graded(request, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict], ClassStatistics]:
    root = tmp_path_factory.mktemp(f"resources-{request.param}")
    os.chmod(root, 0o711)
    out = root / "out"
    sources = [build(name, Case("reference", patches), root / "submissions", out=out)
               for name, (patches, _, _) in CLASS.items()]
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", *map(str, sources), "--out", str(out),
                           "--sandbox", request.param], capture_output=True, text=True, cwd=root, timeout=900)
    assert done.returncode == 0, done.stderr
    results = {p.stem: json.loads(p.read_text()) for p in sorted(out.glob("*.json"))}
    return results, ClassStatistics(load_results(out), ASSIGNMENT)


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name in CLASS if name != "no-visited-set"])
def test_each_resource_failure_has_its_flag_and_words(graded, name: str):
    results, _ = graded
    _, flag, words = CLASS[name]
    failed = [t for t in results[name]["tests"] if t["status"] == "failed"]
    assert failed and flag in results[name]["flags"]
    for test in failed:
        assert words in test["output"], (test["name"], test["output"])
        assert "visited" not in test["output"], (test["name"], test["output"])
    assert results[name]["score"] > 0  # the rest is graded (nn.py on the reference engine, the other operations)


@pytest.mark.slow
def test_no_visited_set_is_said_where_the_walk_revisits(graded):
    results, _ = graded
    failed = {t["name"].split("::")[-1]: t for t in results["no-visited-set"]["tests"] if t["status"] == "failed"}
    ladder = failed.pop("test_deep_diamond_ladder")
    assert ladder["pitfall"] == "topo-no-visited"
    assert "went into one node's children 17 times (the grader stopped it there): a walk without a visited set" \
        in ladder["output"]
    for test in failed.values():  # any other time-out that mentions it has the same evidence
        assert "visited" not in test["output"] or "went into one node's children 17 times" in test["output"]


@pytest.mark.slow
def test_the_class_report_counts_them_as_errors_per_student(graded):
    _, stats = graded
    errors = {row.pitfall: row.students for row in stats.errors}
    assert errors["exit-at-import"] == ["exits-at-import"]
    assert errors["recursion-at-import"] == ["recurses-at-import"]
    assert errors["memory"] == ["hoards-in-exp"]
    assert errors["output-flood"] == ["floods-in-backward"]
    assert "crashes-in-exp" in errors["crash"]
    assert not any(row.pitfall in FAILURES for row in stats.misconceptions)
    misconceptions = {row.pitfall: row.students for row in stats.misconceptions}
    assert set(misconceptions) <= {"topo-no-visited", "training-own-engine", "training-trajectory"}, misconceptions


class _Answers:
    """A worker stand-in that answers every call with the same value (what a patched probe would send)."""

    replaced: tuple = ()

    def __init__(self, value: dict):
        self.value = value

    def call(self, probe: str, **args):
        from autograder.boundary.sandbox import Reply

        return Reply("ok", value=self.value)


def test_a_patched_probe_leaving_out_the_calls_asked_for_is_tampering_not_the_graders_error():
    """Student code can replace a probe in its own worker (a submission that did answered graphs from plain floats,
    without the walk's calls): a reply without what was asked is malformed, never an internal error."""
    graph = {"leaves": [2.0, -3.0], "ops": [["mul", 0, 1]]}
    forged = {"results": [{"data": [2.0, -3.0, -6.0], "grad": [-3.0, 2.0, 1.0], "prev": [[], [], [0, 1]],
                           "calls": None}]}
    submission = MicrogradSubmission("student", _Answers(forged))
    assert submission.graphs([graph])[0].calls is None  # not asked for: fine
    with pytest.raises(Mistake) as raised:
        submission.graphs([graph], record_calls=True)
    assert raised.value.pitfall == "malformed" and raised.value.flags == ("tamper",)
