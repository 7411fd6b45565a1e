"""Nothing from a worker that holds reference code reaches a student as text, and isolation gives no
credit for code that only works inside the grader (issue 19, docs/security.md).

In-process: the trust boundary's closed vocabulary (autograder.boundary.sandbox.grader_written). End to end,
for every isolation mode of every suite: submissions (tests/adversarial/reference_leaks.py) that read
the reference their worker holds and push it out through every kind of text, or use it for points,
graded in one pipeline call with the honest template; every rendering of their results (JSON, JUnit,
Markdown, HTML, Gradescope's results.json) holds no line of the reference, no decodable chunk of it
and no chunk marker, and neither scores more than the template.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from dataclasses import replace
from pathlib import Path

import pytest
from adversarial.reference_leaks import INTROSPECTING_BACKWARD, MARKER, attacked, stealing
from checkout import REPO_ROOT

from autograder import config
from autograder.boundary.sandbox import OWN_EXCEPTION, TEXT_REFUSED, Limits, Reply, StudentError, Worker, grader_written
from autograder.core import isolation, reference_numbers
from autograder.core.pipeline import grade
from autograder.core.pytest_plugin import GradingPlugin, Staged
from autograder.core.suite import Mistake, describe_failure
from autograder.frontends.gradescope_run import gradescope_json
from autograder.inputs.notebooks import load_recipe, recipes_dir, solution_files
from autograder.inputs.sources import Source
from autograder.markers import stub
from autograder.render.formats import RENDER

COURSE = config.load()
FORBIDDEN = ("torch", "jax")
MIN_CHARS = 12  # a reference line this long is the reference, not a common word


# -- the boundary, in process ------------------------------------------------------------------
@pytest.fixture
def staged(tmp_path: Path) -> Path:
    (tmp_path / "micrograd").mkdir()
    (tmp_path / "micrograd" / "nn.py").write_text("\n" * 40)
    (tmp_path / "micrograd" / "engine.py").write_text("x = 1\n")
    return tmp_path


@pytest.mark.parametrize("where", [
    "micrograd/nn.py line 12", "micrograd/engine.py line 1",
])
def test_a_line_of_a_staged_file_is_kept(staged: Path, where: str):
    assert grader_written(StudentError("ValueError", "secret", where), staged, FORBIDDEN) == \
        StudentError("ValueError", "", where, withheld=True)


@pytest.mark.parametrize("where", [
    "micrograd/eJwrSS0uUTAEAA.py line 1",  # a code object compiled under a crafted name
    "micrograd/nn.py line 99",  # beyond the file's end: line numbers are not a free channel
    "micrograd/nn.py line 0", "micrograd/nn.py line 12 c2VjcmV0", "micrograd/../micrograd/nn.py line 2",
    "/submission/micrograd/nn.py line 2", "micrograd line 1", "<string> line 1", "micrograd/nn.py",
])
def test_any_other_where_is_dropped(staged: Path, where: str):
    assert grader_written(StudentError("ValueError", "", where), staged, FORBIDDEN).where == ""


def test_a_message_written_on_the_students_line_is_kept(staged: Path):
    """The template's hints (`raise NotImplementedError('...')`) were written before any code ran: no
    channel; the same literal in a file the mode replaced by reference code is not kept."""
    (staged / "micrograd" / "nn.py").write_text(
        "def f():\n    raise NotImplementedError('the weights, then the bias')\n")
    hint = StudentError("NotImplementedError", "the weights, then the bias", "micrograd/nn.py line 2")
    assert grader_written(hint, staged, FORBIDDEN) == hint
    assert grader_written(hint, staged, FORBIDDEN, replaced=["micrograd/nn.py"]).message == ""
    for other in ("the weights", "c2VjcmV0", "raise NotImplementedError"):
        error = StudentError("NotImplementedError", other, "micrograd/nn.py line 2")
        assert grader_written(error, staged, FORBIDDEN).message == ""
    assert grader_written(StudentError("NotImplementedError", "the weights, then the bias", "micrograd/nn.py line 1"),
                          staged, FORBIDDEN).message == ""


@pytest.mark.parametrize(("status", "kept"), [("3", "3"), ("-1", "-1"), ("1234", ""), ("c2VjcmV0", ""), ("3 ", "")])
def test_only_a_short_exit_status_is_kept(staged: Path, status: str, kept: str):
    """sys.exit(3)'s status (up to 3 digits) says no more than the outcome does; any other is withheld."""
    (staged / "micrograd" / "nn.py").write_text("import sys\nsys.exit(int(open('x').read()))\n")
    exit_error = grader_written(StudentError("SystemExit", status, "micrograd/nn.py line 2"), staged, FORBIDDEN)
    assert (exit_error.message, exit_error.withheld) == (kept, not kept)


def test_a_symlink_in_the_staged_copy_is_not_a_student_file(staged: Path):
    (staged / "micrograd" / "link.py").symlink_to(staged / "micrograd" / "nn.py")
    assert grader_written(StudentError("KeyError", "", "micrograd/link.py line 1"), staged, FORBIDDEN).where == ""


@pytest.mark.parametrize(("sent", "kept"), [
    ("ValueError", "ValueError"), ("RecursionError", "RecursionError"), ("KeyboardInterrupt", "KeyboardInterrupt"),
    ("NotImplementedError", "NotImplementedError"),
    ("EeJwrSS0uUTAEAA", OWN_EXCEPTION), ("Value", OWN_EXCEPTION), ("print", OWN_EXCEPTION),
    ("ValueError: secret", OWN_EXCEPTION), ("", OWN_EXCEPTION),
])
def test_only_a_builtin_exception_is_named(staged: Path, sent: str, kept: str):
    error = grader_written(StudentError(sent, "a message from the student's code", ""), staged, FORBIDDEN)
    assert (error.type, error.message, error.withheld) == (kept, "", True)


@pytest.mark.parametrize(("message", "kept"), [
    ("importing 'torch' is not allowed in this course's submissions",
     "importing 'torch' is not allowed in this course's submissions"),
    ("importing 'torch.eJwrSS0uUTAEAA' is not allowed in this course's submissions",
     "importing 'torch' is not allowed in this course's submissions"),
    ("importing 'eJwrSS0uUTAEAA' is not allowed in this course's submissions", ""),
    ("c2VjcmV0", ""),
])
def test_a_forbidden_import_names_only_a_forbidden_module(staged: Path, message: str, kept: str):
    error = grader_written(StudentError("ForbiddenImport", message, ""), staged, FORBIDDEN)
    assert (error.type, error.message) == ("ForbiddenImport", kept)
    mistake = describe_failure(Reply("error", error=error), "building the model")
    assert mistake.pitfall == "forbidden-import" and "eJw" not in mistake.feedback


def test_feedback_without_the_message_still_reads_well(staged: Path):
    error = grader_written(StudentError("ValueError", "secret", "micrograd/nn.py line 12"), staged, FORBIDDEN)
    mistake = describe_failure(Reply("error", error=error), "building the model")
    assert mistake.feedback == ("building the model raised ValueError (micrograd/nn.py line 12); run your code "
                                "yourself to see its message")
    files = ["micrograd/engine.py", "micrograd/nn.py"]
    crafted = grader_written(StudentError("ModuleNotFoundError", "No module named 'micrograd.c2VjcmV0'", ""),
                             staged, FORBIDDEN, student_files=files)
    assert describe_failure(Reply("error", error=crafted), "building the model").pitfall == "error"
    missing = grader_written(StudentError("ModuleNotFoundError", "No module named 'micrograd.nn.x'", ""),
                             staged, FORBIDDEN, student_files=files)
    assert describe_failure(Reply("error", error=missing), "building the model").feedback == \
        "building the model: micrograd/nn.py is missing from your submission"
    syntax = grader_written(StudentError("SyntaxError", "c2VjcmV0", "micrograd/nn.py line 3"), staged, FORBIDDEN)
    assert describe_failure(Reply("error", error=syntax), "importing").feedback == \
        "SyntaxError in micrograd/nn.py line 3; run your code yourself to see its message"


def test_a_reference_workers_text_answer_is_refused(staged: Path, tmp_path: Path):
    probes = tmp_path / "probes_dir"
    probes.mkdir()
    (probes / "attack_probe.py").write_text(
        "def attack(**args):\n    return {'values': {'a.grad': 1.0, 'b.grad': [2.0, {'deep': 'RX9 text'}]}}\n"
        "def numbers(**args):\n    return {'values': {'a.grad': 1.0, 'b.grad': [2.0, None, True]}}\n"
        "PROBES = {'attack': attack, 'numbers': numbers}\n")
    limits = Limits(time_limit=5.0, memory_mb=512)
    with Worker(staged, limits, probes=[probes / "attack_probe.py"], holds_reference=True) as worker:
        worker.start_test()
        refused = worker.call("attack")
        assert (refused.status, refused.detail) == ("garbled", TEXT_REFUSED)
        assert describe_failure(refused, "reading your gradients").pitfall == "malformed"
        assert worker.call("numbers").value == {"values": {"a.grad": 1.0, "b.grad": [2.0, None, True]}}
    with Worker(staged, limits, probes=[probes / "attack_probe.py"]) as own:
        own.start_test()
        assert own.call("attack").ok  # the own worker holds no reference: its text is the student's


# -- end to end: every isolation mode of every suite -------------------------------------------
def _template(assignment: str) -> dict[str, str]:
    spec = COURSE.assignments[assignment]
    if spec.kind == "notebook":
        return {f: stub(code) for f, code in solution_files(load_recipe(assignment, recipes_dir(REPO_ROOT))).items()}
    return {f: (REPO_ROOT / "student_template" / f).read_text() for f in spec.student_files}


def _by_hand_with_backward() -> str:
    """by_hand.py with the gradients left to the engine's backward(), which the notebook never builds."""
    solution = solution_files(load_recipe("backprop_by_hand", recipes_dir(REPO_ROOT)))["by_hand.py"]
    return re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION\n", "L.backward()\n", solution, flags=re.S)


STEAL = stealing([str(REPO_ROOT / "solutions" / "micrograd" / "nn.py"), "../solutions/micrograd/nn.py"])
# assignment -> (the files whose functions the reference workers call, the attacks that use the reference)
CASES = {
    "micrograd": (("micrograd/nn.py", "micrograd/engine.py"),
                  {"introspect": ("micrograd/engine.py", INTROSPECTING_BACKWARD), "steal": ("micrograd/nn.py", STEAL)}),
    "autograd": (("micrograd/engine.py",), {"introspect": ("micrograd/engine.py", INTROSPECTING_BACKWARD)}),
    "backprop_by_hand": (("by_hand.py",), {"backward": ("by_hand.py", None)}),
    "neural_nets": (("micrograd/nn.py",), {"steal": ("micrograd/nn.py", STEAL)}),
}


def _gaining(assignment: str, template: dict[str, str], target: str, code: str | None) -> dict[str, str]:
    if code is None:
        return {**template, target: _by_hand_with_backward()}
    return {**template, target: template[target] + code}


def _renderings(results, assignment: str) -> dict[str, str]:
    found = {fmt: render(results) for fmt, render in RENDER.items()}
    found["gradescope"] = json.dumps(gradescope_json(results, COURSE.assignments[assignment], sandbox="bwrap",
                                                     seconds=1.0))
    return found


def _reference_lines(assignment: str) -> set[str]:
    """Lines of the reference code the suite's modes put in workers, except those the template shows."""
    suite = COURSE.suite(COURSE.assignments[assignment])
    public = {" ".join(line.split()) for text in _template(assignment).values() for line in text.splitlines()}
    return {folded for source in isolation.reference_sources(isolation.load_modes(suite))
            for folded in (" ".join(line.split()) for line in source.splitlines())
            if len(folded) >= MIN_CHARS and folded not in public}


def _decodings(text: str) -> list[bytes]:
    """What an attacker would decode from the text: every base64/base32/hex-looking token (from each of
    its first characters, past a prefix such as "E" or "RX9_12_"), and what zlib makes of each (a
    chunk that starts a compressed stream decompresses on its own)."""
    decoders = [lambda t: base64.b64decode(t + "=" * (-len(t) % 4), validate=True),
                lambda t: base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)),
                lambda t: base64.b32decode(t + "=" * (-len(t) % 8)), binascii.unhexlify]
    found = []
    for token in re.findall(r"[A-Za-z0-9+/=_-]{16,}", text):
        for start in range(min(len(token) - 15, 12)):
            for decode in decoders:
                try:
                    data = decode(token[start:])
                except (ValueError, binascii.Error):
                    continue
                found.append(data)
                try:
                    found.append(zlib.decompressobj().decompress(data))
                except zlib.error:
                    pass
    return found


def _leaks(text: str, lines: set[str]) -> list[str]:
    folded = " ".join(text.split())
    decoded = [" ".join(d.decode("utf-8", "replace").split()) for d in _decodings(text)]
    return sorted({line for line in lines if line in folded or any(line in d for d in decoded)})


@pytest.mark.slow
@pytest.mark.parametrize("assignment", list(CASES))
def test_reference_workers_pass_on_no_reference_and_no_credit(assignment: str):
    targets, gains = CASES[assignment]
    template = _template(assignment)
    sources = [Source("template", {f: t.encode() for f, t in template.items()}),
               Source("leak", {f: t.encode() for f, t in attacked(template, targets).items()})]
    sources += [Source(name, {f: t.encode() for f, t in _gaining(assignment, template, *attack).items()})
                for name, attack in gains.items()]
    results = {r.submission: r for r in grade(sources, assignment_name=assignment, course=COURSE)}
    lines = _reference_lines(assignment)
    assert lines, "the suite's modes put no reference code in workers: nothing to test"
    baseline = results["template"].score
    for name, result in results.items():
        assert result.score <= baseline, f"{name} gained {result.score - baseline} points from the reference"
        for fmt, text in _renderings(result, assignment).items():
            assert not _leaks(text, lines), f"{name}'s {fmt} quotes the reference"
        # What the own worker printed may be shown (it is the student's own code on the student's own code).
        for fmt, text in _renderings(replace(result, output_excerpt=""), assignment).items():
            assert MARKER not in text, f"{name}'s {fmt} quotes a chunk the submission sent"
    leak = results["leak"]
    withheld = [t for t in leak.tests if "run your code yourself to see its message" in t.output]
    assert withheld, "the attack never raised in a reference-bearing worker"
    if assignment == "micrograd":  # the reference workers print chunks, the own worker prints a marker
        assert "OWN-WORKER-PRINTS" in leak.output_excerpt and MARKER not in leak.output_excerpt


# -- numbers: the channel that stays, kept narrow ----------------------------------------------
NUMBER = re.compile(r"(?<![\w.=])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w])")


def _significant(number: str) -> int:
    return len(re.sub(r"[eE].*", "", number.lstrip("+-")).replace(".", "").lstrip("0"))


def test_a_reference_tests_numbers_are_short_and_few(tmp_path: Path):
    plugin = GradingPlugin([Staged("s", tmp_path)], Limits(), {"nn"}, lambda *args: None)
    more_than_a_test_may_quote = reference_numbers.PER_VERDICT + 16
    many = "your outputs: " + ", ".join(f"{0.123456789 * k:.9g}" for k in range(1, more_than_a_test_may_quote + 1))
    many += "."
    picture = 'digraph { n0 [label="{ x0 | data 123456.7891 | grad -0.0001234567 }" fontsize=11] }'
    seen = []
    for _ in range(reference_numbers.PER_SUBMISSION // reference_numbers.PER_VERDICT + 2):
        narrowed = plugin._narrowed("s", Mistake("nn-forward-wrong", many, picture=picture))
        numbers = NUMBER.findall(narrowed.feedback) + NUMBER.findall(narrowed.picture)
        assert len(numbers) <= reference_numbers.PER_VERDICT
        assert all(_significant(n) <= reference_numbers.SIGNIFICANT_DIGITS for n in numbers)
        seen += numbers
    assert len(seen) == reference_numbers.PER_SUBMISSION
    assert narrowed.picture == "" and reference_numbers.PICTURE_LEFT_OUT in narrowed.feedback
    assert narrowed.feedback.startswith("your outputs: …, …")


def test_a_number_with_thousands_separators_is_one_number():
    """"10,000" is quoted whole (it was cut to "10,0"), and a whole number is not shown as 1e+04."""
    text, quoted = reference_numbers.requote("backward() on a 10,000-node chain took 12345.6 and 0.123456", 3)
    assert (text, quoted) == ("backward() on a 10,000-node chain took 12350 and 0.1235", 3)


# Forces the training worker that holds the reference modules (a broken loss), then reads them from the model it
# is handed and sends their bytes back as its "losses": the numbers channel is the only one left, and narrow.
LOSSES_CARRY_THE_REFERENCE = '''

def mse_loss(ypred, ys):
    raise ValueError("broken on purpose")


def _zero_grad(self):  # a working zero_grad, so that the losses are what the test shows
    for p in self.parameters():
        p.grad = 0.0


Module.zero_grad = _zero_grad


def train(model, xs, ys, steps, lr):
    import inspect
    code = inspect.getsource(type(model).__mro__[1]).encode()  # the reference MLP the worker built the model from
    return [float(int.from_bytes(code[i:i + 6], "big")) for i in range(0, 6 * steps, 6)]  # 6 bytes a number
'''


@pytest.mark.slow
def test_losses_that_carry_the_reference_modules_bytes_say_little_and_earn_nothing():
    template = _template("neural_nets")
    attacked_files = {**template, "micrograd/nn.py": template["micrograd/nn.py"] + LOSSES_CARRY_THE_REFERENCE}
    sources = [Source("template", {f: t.encode() for f, t in template.items()}),
               Source("carrier", {f: t.encode() for f, t in attacked_files.items()})]
    results = {r.submission: r for r in grade(sources, assignment_name="neural_nets", course=COURSE)}
    carrier = results["carrier"]
    assert carrier.score <= results["template"].score
    lines = _reference_lines("neural_nets")
    shown = [n for t in carrier.tests for n in NUMBER.findall(t.output)]
    assert len(shown) <= reference_numbers.PER_SUBMISSION
    assert all(_significant(n) <= reference_numbers.SIGNIFICANT_DIGITS for n in shown)  # 6 bytes need 15 digits
    for fmt, text in _renderings(carrier, "neural_nets").items():
        assert not _leaks(text, lines), fmt
