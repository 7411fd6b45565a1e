"""The trust boundary: start a submission's worker in a sandbox and exchange plain data with it.

Trusted code (the hidden suites, the grader) talks to student code only through
`Worker.call`, which returns a `Reply` built from JSON the worker wrote: numbers, strings,
lists. No object from the worker's process ever reaches this one.

Sandboxes, strongest first:
- "bwrap": bubblewrap. The worker sees only /usr, the Python installation (without its
  site-packages), the staged submission (read-only) and a scratch folder (its only writable
  place). No network, own PID namespace (nothing outlives it), no capabilities; as root it
  runs as `nobody`.
- "process": a plain child process in its own session with a scrubbed environment, resource
  limits and, as root, the `nobody` user. It can read whatever `nobody` (or, not as root, you)
  can read and may reach the network; use it only where bubblewrap is missing.
"""

from __future__ import annotations

import json
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

WORKER_DIR = Path(__file__).resolve().parent / "worker"
NOBODY = 65534
MAX_REPLY_BYTES = 8 << 20
MAX_OUTPUT_BYTES = 1 << 20  # a worker writing more than this to stdout/stderr is stopped


@dataclass(frozen=True)
class Limits:
    time_limit: float = 3.0  # seconds for one test's calls
    memory_mb: int = 768
    forbidden_imports: tuple[str, ...] = ("torch",)


@dataclass(frozen=True)
class StudentError:
    type: str
    message: str
    where: str = ""

    def __str__(self) -> str:
        where = f" ({self.where})" if self.where else ""
        return f"{self.type}: {self.message}{where}" if self.message else f"{self.type}{where}"


@dataclass(frozen=True)
class Reply:
    """What one call observed. Only `value` comes from the worker, as parsed JSON."""

    status: Literal["ok", "error", "timeout", "died", "garbled"]
    value: Any = None
    error: StudentError | None = None
    detail: str = ""  # for died/garbled/timeout: what the grader saw

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def available_sandbox() -> Literal["bwrap", "process"]:
    return "bwrap" if shutil.which("bwrap") else "process"


def _python() -> str:
    return os.path.realpath(sys.executable)


def _ancestors(path: Path) -> list[Path]:
    return [p for p in reversed(path.parents) if p != Path("/")]


def _bwrap_command(submission: Path, scratch: Path, worker: Path, as_nobody: bool) -> list[str]:
    prefix = Path(sys.base_prefix).resolve()
    # Not --unshare-all: as root a user namespace would stop setpriv from becoming nobody.
    cmd = ["bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
           "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv",
           "--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--setenv", "HOME", "/scratch",
           "--ro-bind", "/usr", "/usr"]
    for top in ("bin", "lib", "lib64", "sbin"):
        target = Path("/", top)
        if target.is_symlink():
            cmd += ["--symlink", os.readlink(target), str(target)]
        elif target.exists():
            cmd += ["--ro-bind", str(target), str(target)]
    # bwrap would create the parents of a bind as 0700 root dirs, which `nobody` cannot cross.
    for parent in _ancestors(prefix):
        if not str(parent).startswith("/usr"):
            cmd += ["--perms", "0755", "--dir", str(parent)]
    if not str(prefix).startswith("/usr"):
        cmd += ["--ro-bind", str(prefix), str(prefix)]
    for site in sorted({Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}):
        if site.exists():
            cmd += ["--tmpfs", str(site)]  # hide installed packages (torch among them)
    cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            "--ro-bind", str(worker), "/grader",
            "--ro-bind", str(submission), "/submission",
            "--bind", str(scratch), "/scratch", "--chdir", "/scratch"]
    if as_nobody:
        cmd += ["--", "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    else:
        cmd += ["--cap-drop", "ALL", "--"]
    return cmd


class Worker:
    """One submission's sandboxed worker, started on first use and after a crash or timeout."""

    def __init__(self, submission: Path, limits: Limits, sandbox: str | None = None):
        self.submission = Path(submission)
        self.limits = limits
        self.sandbox = sandbox or available_sandbox()
        self.as_nobody = os.geteuid() == 0
        self.stdout_excerpt = b""
        self._home = Path(tempfile.mkdtemp(prefix="course-worker-"))
        os.chmod(self._home, 0o711)
        self._proc: subprocess.Popen | None = None
        self._reply_fd: int | None = None
        self._buffer = b""
        self._next_id = 0
        self._deadline: float | None = None
        self.restarts = 0

    # -- lifecycle -------------------------------------------------------------------------
    def _start(self) -> None:
        scratch = self._home / f"scratch{self.restarts}"
        scratch.mkdir()
        if self.as_nobody:
            os.chown(scratch, NOBODY, NOBODY)
        output = open(self._home / f"output{self.restarts}", "wb")
        read_fd, write_fd = os.pipe()
        forbidden = ",".join(self.limits.forbidden_imports)
        if self.sandbox == "bwrap":
            cmd = _bwrap_command(self.submission, scratch, WORKER_DIR, self.as_nobody)
            cmd += [_python(), "-I", "-S", "-X", "frozen_modules=on", "/grader/main.py",
                    str(write_fd), "/submission", forbidden]
            cwd, env = None, {}
        else:
            cmd = [_python(), "-I", "-S", str(WORKER_DIR / "main.py"), str(write_fd),
                   str(self.submission), forbidden]
            cwd, env = scratch, {"HOME": str(scratch), "PYTHONDONTWRITEBYTECODE": "1"}
        memory = self.limits.memory_mb << 20

        def limit_resources() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_OUTPUT_BYTES, MAX_OUTPUT_BYTES))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        nobody = NOBODY if self.as_nobody and self.sandbox == "process" else None
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=output, stderr=subprocess.STDOUT, pass_fds=(write_fd,),
            cwd=cwd, env=env, start_new_session=True, preexec_fn=limit_resources,
            user=nobody, group=nobody, extra_groups=[] if nobody else None,
        )
        os.close(write_fd)
        output.close()
        self._reply_fd, self._buffer = read_fd, b""

    def _stop(self) -> None:
        if self._proc is None:
            return
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)  # the whole session, not just the leader
        except ProcessLookupError:
            pass
        self._proc.wait()
        os.close(self._reply_fd)
        self._keep_output()
        self._proc, self._reply_fd = None, None
        self.restarts += 1

    def _keep_output(self) -> None:
        path = self._home / f"output{self.restarts}"
        if path.exists() and len(self.stdout_excerpt) < 4096:
            with open(path, "rb") as f:
                self.stdout_excerpt += f.read(4096 - len(self.stdout_excerpt))

    def close(self) -> None:
        self._stop()
        shutil.rmtree(self._home, ignore_errors=True)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls -----------------------------------------------------------------------------
    def start_test(self) -> None:
        """Start the time budget of one test: all its calls share limits.time_limit."""
        self._deadline = time.monotonic() + self.limits.time_limit

    def call(self, probe: str, **args: Any) -> Reply:
        if self._proc is None:
            self._start()
        self._next_id += 1
        request = json.dumps({"id": self._next_id, "probe": probe, "args": args}) + "\n"
        deadline = self._deadline or time.monotonic() + self.limits.time_limit
        try:
            self._proc.stdin.write(request.encode())
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return self._died()
        line = self._read_line(deadline)
        if isinstance(line, Reply):
            return line
        try:
            reply = json.loads(line)
            if not isinstance(reply, dict) or reply.get("id") != self._next_id:
                raise ValueError("reply out of order")
        except ValueError:
            self._stop()
            return Reply("garbled", detail="the worker's reply was not readable "
                         "(did the submission write to the grader's reply channel?)")
        if reply.get("ok") is True:
            return Reply("ok", value=reply.get("value"))
        error = reply.get("error") if isinstance(reply.get("error"), dict) else {}
        return Reply("error", error=StudentError(
            str(error.get("type", "Error"))[:80], str(error.get("message", ""))[:300],
            str(error.get("where", ""))[:120]))

    def _read_line(self, deadline: float) -> bytes | Reply:
        with selectors.DefaultSelector() as selector:
            selector.register(self._reply_fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    self._stop()
                    return Reply("timeout", detail=f"no answer within {self.limits.time_limit:g} s")
                chunk = os.read(self._reply_fd, 1 << 16)
                if not chunk:
                    return self._died()
                self._buffer += chunk
                if len(self._buffer) > MAX_REPLY_BYTES:
                    self._stop()
                    return Reply("garbled", detail="the worker's reply was too large")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _died(self) -> Reply:
        code = self._proc.wait() if self._proc else None
        self._stop()
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            detail = f"the worker was killed by {name}"
            if -code == signal.SIGXFSZ:
                detail += " (it wrote more output than allowed)"
        else:
            detail = f"the worker process exited with status {code} (sys.exit or os._exit in the submission?)"
        return Reply("died", detail=detail)
