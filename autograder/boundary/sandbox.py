"""The trust boundary: start a submission's worker in a sandbox and exchange plain data with it.

Trusted code (the hidden suites, the grader) talks to student code only through
`Worker.call`, which returns a `Reply` built from JSON the worker wrote: numbers, strings,
lists. No object from the worker's process ever reaches this one, and nothing expected is
ever sent to it. docs/security.md states what each sandbox guarantees.

Sandboxes, strongest first:
- "bwrap": bubblewrap. The worker sees only /usr, the Python installation (without its
  site-packages), the staged submission (read-only) and a small tmpfs scratch folder (its
  only writable place). No network, own PID namespace (nothing outlives it, the grader's
  processes are invisible), no capabilities; as root it runs as a fresh unprivileged uid.
- "process": a plain child process in its own session with a scrubbed environment and
  resource limits; as root, a fresh unprivileged uid. The worker confines itself with Landlock
  before any student code (writes only in its scratch folder; no /proc, /sys or other workers'
  folders); otherwise it can read whatever file permissions let it read. Use it only where
  bubblewrap is missing.

Both run under the seccomp filter of autograder/boundary/syscall_filter.py (no locks, inotify, sockets,
IPC ...), so concurrent workers, of one submission or of several, share no kernel object.

As root every worker gets its own uid, never used by anything else: it owns no file, is in
no group, and RLIMIT_NPROC (counted per uid) then caps this worker alone, so a fork bomb
cannot starve other workers. At the end of a process-sandbox worker every process of that uid
is killed, which also catches daemons that left the worker's session (under bwrap the PID
namespace already takes them all down).
"""

from __future__ import annotations

import ast
import atexit
import builtins
import ctypes
import functools
import importlib.util
import itertools
import json
import os
import re
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from autograder.boundary import syscall_filter

WORKER_DIR = Path(__file__).resolve().parent / "worker"
WORKER_FILES = ("main.py",)
MAX_REPLY_BYTES = 8 << 20
MAX_OUTPUT_BYTES = 1 << 20  # a worker writing more than this to stdout/stderr is stopped
SCRATCH_BYTES = 64 << 20  # the bwrap scratch folder is a tmpfs of this size
MAX_PROCESSES = 64  # per worker uid (as root): threads and children of one submission
MAX_OPEN_FILES = 256
STARTUP_SECONDS = 10.0
READY = b'{"ready": true}'  # the worker's first line (autograder/boundary/worker/main.py)
# Worker uids as root: FIRST_UID + 256 * (grader pid) + n. Linux pids stay below 2**22, so the
# range ends far below 2**32 - 1 (no uid) and concurrent graders never share a uid.
FIRST_UID = 1 << 30
BWRAP_PACKAGES = "/packages"  # where the bwrap worker sees the course's allowed_imports
LANDLOCK_CREATE_RULESET = 444  # the syscall's number on every architecture
_worker_numbers = itertools.count()


class SandboxUnavailable(RuntimeError):
    """The requested sandbox cannot run here; the message says why and what to do."""


@dataclass(frozen=True)
class Limits:
    time_limit: float = 3.0  # seconds for one test's calls
    memory_mb: int = 768
    forbidden_imports: tuple[str, ...] = ("torch",)
    # Third-party packages the worker may import from this installation (course.yml allowed_imports),
    # and libraries whose import gives a placeholder that raises only when used (unavailable_imports).
    allowed_imports: tuple[str, ...] = ()
    unavailable_imports: tuple[str, ...] = ()


@dataclass(frozen=True)
class StudentError:
    type: str
    message: str
    where: str = ""
    withheld: bool = False  # the worker holds reference code: its message was not kept (grader_written)

    def __str__(self) -> str:
        where = f" ({self.where})" if self.where else ""
        return f"{self.type}: {self.message}{where}" if self.message else f"{self.type}{where}"


# What a worker that holds reference code may say about an exception: only grader-written text
# from a closed vocabulary, since its student code can read the reference and put it into any
# string it hands back (docs/security.md).
BUILTIN_EXCEPTIONS = frozenset(name for name, obj in vars(builtins).items()
                               if isinstance(obj, type) and issubclass(obj, BaseException))
OWN_EXCEPTION = "an exception of a class your code defines"
TEXT_REFUSED = ("the worker's answer held text, and a worker that holds reference code may send "
                "only numbers")
_WHERE = re.compile(r"([\w.-]+(?:/[\w.-]+)*) line ([0-9]{1,6})")
_FORBIDDEN = re.compile(r"importing '([\w.]+)' is not allowed")
_UNAVAILABLE = re.compile(r"([\w.]+) is not available while grading")


def unavailable_message(name: str) -> str:
    """What using an unavailable library says (the worker's own UnavailableImport, word for word)."""
    return (f"{name} is not available while grading: keep it to draw_dot, plots and demos under "
            "if __name__ == '__main__'")


@functools.cache
def package_folders(names: tuple[str, ...]) -> tuple[Path, ...]:
    """The installed folders of the allowed packages (with a wheel's `<name>.libs` of shared libraries
    beside it), found without importing them; a package that is not installed is left out, so that
    importing it fails in the worker as it would anywhere without it."""
    found = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        folder = Path(next(iter(spec.submodule_search_locations))).resolve()
        found += [folder] + [libs for libs in [folder.with_name(f"{name}.libs")] if libs.is_dir()]
    return tuple(found)


def imported_packages(submission: Path, allowed: Sequence[str]) -> list[str]:
    """The allowed packages the submission's files import: its worker imports them before it is ready,
    so that numpy's import (a few tenths of a second, more on a busy machine) is not charged to a test's
    time limit, and a submission without them does not pay for it."""
    found: set[str] = set()
    for path in sorted(submission.rglob("*.py")):
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, OSError):
            continue
        for node in ast.walk(tree):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else []
            found.update(name.partition(".")[0] for name in names)
    return sorted(found & set(allowed))


@functools.cache
def _process_packages(names: tuple[str, ...], copy: bool) -> str:
    """A folder for the process sandbox's sys.path holding only the allowed packages: links to them,
    or (`copy`: the worker's uid cannot reach this installation, pyenv under /root) a copy, made once
    per grader process and removed at its exit."""
    folders = package_folders(names)
    if not folders:
        return ""
    home = Path(tempfile.mkdtemp(prefix="course-packages-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    for folder in folders:
        if copy:
            shutil.copytree(folder, home / folder.name, symlinks=True, ignore=shutil.ignore_patterns("tests"))
        else:
            (home / folder.name).symlink_to(folder)
    for path in [home, *home.rglob("*")]:
        if not path.is_symlink():
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return str(home)
_EXIT_STATUS = re.compile(r"-?\d{1,3}")
_MISSING = re.compile(r"No module named '(\w+)\.(\w+)[\w.]*'")  # as autograder.core.suite.describe_failure reads it


def _holds_text(value: Any) -> bool:
    """Whether a parsed JSON value has a string anywhere among its values (keys are the probes' own
    names, which the trusted side looks up and never quotes)."""
    if isinstance(value, str):
        return True
    if isinstance(value, dict):
        return any(_holds_text(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_text(v) for v in value)
    return False


def _redacted(value: Any, redact: Callable[[str], str]) -> Any:
    """A parsed JSON value with `redact` applied to each of its strings (keys are the probes' own names)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(v, redact) for key, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v, redact) for v in value]
    return value


def staged_line(where: str, submission: Path) -> str | None:
    """The line `where` names when it is exactly "<a file of the staged submission> line <N>", N within
    that file; else None. The files were staged before any code ran, so neither a crafted code
    object's filename nor anything the code read can pass."""
    found = _WHERE.fullmatch(where)
    if found is None or ".." in found[1].split("/"):
        return None
    path = submission / found[1]
    try:
        if not stat.S_ISREG(path.lstat().st_mode) or not path.resolve().is_relative_to(submission.resolve()):
            return None
        lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    except (OSError, ValueError):
        return None
    return lines[int(found[2]) - 1] if 1 <= int(found[2]) <= len(lines) else None


def grader_written(error: StudentError, submission: Path, forbidden: Sequence[str],
                   replaced: Sequence[str] = (), student_files: Sequence[str] = (),
                   unavailable: Sequence[str] = ()) -> StudentError:
    """The error of a worker that holds reference code, in the grader's words only: a built-in
    exception's name (or the worker's ForbiddenImport or UnavailableImport, with the name from course.yml), the
    student's file and line; the message only when it is a string literal written on that line of a
    student's file (the template's hints: `raise NotImplementedError('...')`), never in a file the
    mode `replaced` by reference code, or when it names a missing module that is one of the
    assignment's `student_files` (rewritten by the grader)."""
    line = staged_line(error.where, submission)
    where = error.where if line is not None else ""
    missing = _MISSING.fullmatch(error.message)
    if error.type == "ModuleNotFoundError" and missing and f"{missing[1]}/{missing[2]}.py" in student_files:
        return StudentError(error.type, f"No module named '{missing[1]}.{missing[2]}'", where)
    if error.type == "ForbiddenImport":
        found = _FORBIDDEN.search(error.message)
        name = found[1].partition(".")[0] if found else ""
        message = f"importing {name!r} is not allowed in this course's submissions" if name in forbidden else ""
        return StudentError("ForbiddenImport", message, where, withheld=not message)
    if error.type == "UnavailableImport":
        found = _UNAVAILABLE.match(error.message)
        name = found[1] if found else ""
        message = unavailable_message(name) if name in unavailable else ""
        return StudentError("UnavailableImport", message, where, withheld=not message)
    kind = error.type if error.type in BUILTIN_EXCEPTIONS else OWN_EXCEPTION
    written = line is not None and where.rpartition(" line ")[0] not in replaced and error.message \
        and (f"'{error.message}'" in line or f'"{error.message}"' in line)
    # An exit status of up to 3 digits carries no more than the outcome itself (autograder.core.suite words it).
    written = written or (kind == "SystemExit" and _EXIT_STATUS.fullmatch(error.message) is not None)
    return StudentError(kind, error.message if written else "", where, withheld=not written)


@dataclass(frozen=True)
class Reply:
    """What one call observed. Only `value` comes from the worker, as parsed JSON."""

    status: Literal["ok", "error", "timeout", "died", "garbled"]
    value: Any = None
    error: StudentError | None = None
    detail: str = ""  # for died/garbled/timeout: what the grader saw
    # What else was known when a call failed (the worker's notes and the grader's own look), so that
    # the failure is named for what it was (autograder.core.suite.describe_failure):
    importing: str = ""  # the submission's file whose import (its module-level code) was under way
    recursion_limit: int = 0  # the recursion limit the submission set (0: it set none)
    output_full: bool = False  # its output reached MAX_OUTPUT_BYTES
    memory_mb: int = 0  # timeout: the most memory the worker had held (MB; 0: unknown)
    memory_limit_mb: int = 0
    signal: str = ""  # died: the signal that killed it ("SIGSEGV")
    exit_status: int | None = None  # died: the status it exited with

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def available_sandbox() -> Literal["bwrap", "process"]:
    return "bwrap" if shutil.which("bwrap") else "process"


def _ancestors(path: Path) -> list[Path]:
    return [p for p in reversed(path.parents) if p != Path("/")]


def reachable_by_others(path: Path) -> bool:
    """Whether a user that owns nothing and is in no group can open `path` (ignoring ACLs)."""
    path = Path(path).resolve()
    if not path.exists():
        return False
    for directory in _ancestors(path):
        if not directory.stat().st_mode & stat.S_IXOTH:
            return False
    return bool(path.stat().st_mode & stat.S_IROTH)


def _executable_by_others(path: Path) -> bool:
    path = Path(path).resolve()
    return all(p.stat().st_mode & stat.S_IXOTH for p in [*_ancestors(path), path])


def worker_python(sandbox: str, as_root: bool) -> str:
    """The interpreter for the worker. The worker needs only the standard library, so where
    this one cannot be run by an unprivileged user (pyenv under /root, which is 0700) the
    process sandbox falls back to the system's interpreter of the same version."""
    own = os.path.realpath(sys.executable)
    if sandbox == "bwrap" or not as_root or _executable_by_others(Path(own)):
        return own
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for directory in ("/usr/local/bin", "/usr/bin"):
        candidate = Path(directory, version)
        if candidate.is_file() and _executable_by_others(candidate):
            return str(candidate.resolve())
    raise SandboxUnavailable(
        f"the 'process' sandbox runs submissions as an unprivileged user, who cannot run {own} "
        f"(a folder on its path is closed to other users) and no {version} was found in /usr/bin or "
        "/usr/local/bin. Install bubblewrap and use --sandbox bwrap, or install the same Python "
        "version system-wide.")


def check_sandbox(sandbox: str, protected: list[Path]) -> None:
    """Fail early, with a message, when `sandbox` cannot run here or cannot protect `protected`."""
    if sandbox == "bwrap" and not shutil.which("bwrap"):
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed; install it or use --sandbox process")
    if sandbox == "process":
        check_process_sandbox(protected)
        warn_without_landlock(sandbox)
    elif sandbox != "bwrap":
        raise SandboxUnavailable(f"unknown sandbox {sandbox!r} (use bwrap or process)")


@functools.cache
def landlock_abi() -> int:
    """Landlock's ABI version on this kernel (0: none, or refused by a container's seccomp profile): the
    process sandbox's workers confine their file access with it (autograder/boundary/worker/main.py confine)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    version = libc.syscall(ctypes.c_long(LANDLOCK_CREATE_RULESET), None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(version), 0)


def warn_without_landlock(sandbox: str) -> None:
    """Say once that the process sandbox runs on seccomp alone here (docs/security.md says what remains)."""
    if sandbox == "process" and not landlock_abi():
        _say_no_landlock()


@functools.cache
def _say_no_landlock() -> None:
    print("course: this kernel offers no Landlock, so the process sandbox's workers can read /proc and write "
          "/tmp: concurrent workers could pass data through them. Use --sandbox bwrap for untrusted code.",
          file=sys.stderr)


def check_process_sandbox(protected: list[Path]) -> None:
    """As root, the process sandbox relies on file permissions alone: refuse to run when an
    unprivileged user could read the hidden tests or the reference (the message says how to fix)."""
    if os.geteuid() != 0:
        return
    worker_python("process", as_root=True)
    exposed = [str(p) for p in protected if reachable_by_others(p)]
    if exposed:
        raise SandboxUnavailable(
            "the 'process' sandbox cannot hide these from submissions, since any user may read them: "
            + ", ".join(exposed) + ". Use --sandbox bwrap, or close them with `chmod o-rwx`.")


# Not --unshare-all: as root a user namespace would stop setpriv from changing uid.
BWRAP_ISOLATION = ["bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                   "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]


def bwrap_system() -> list[str]:
    """bwrap options showing /usr read-only, with the top-level links (/bin, /lib ...) into it."""
    cmd = ["--ro-bind", "/usr", "/usr"]
    for top in ("bin", "lib", "lib64", "sbin"):
        target = Path("/", top)
        if target.is_symlink():
            cmd += ["--symlink", os.readlink(target), str(target)]
        elif target.exists():
            cmd += ["--ro-bind", str(target), str(target)]
    return cmd


def bwrap_read_only(paths: list[Path], *, crossable: tuple[Path, ...] = ()) -> list[str]:
    """bwrap options showing `paths` read-only at their own place. bwrap would create their
    parents (and those of `crossable`) as 0700 root dirs, which an unprivileged uid cannot cross."""
    outside_usr = [p for p in paths if not str(p).startswith("/usr")]
    parents = {a for p in [*outside_usr, *crossable] for a in _ancestors(p) if not str(a).startswith("/usr")}
    cmd = []
    for parent in sorted(parents, key=lambda p: len(p.parts)):
        cmd += ["--perms", "0755", "--dir", str(parent)]
    for path in outside_usr:
        cmd += ["--ro-bind", str(path), str(path)]
    return cmd


def _bwrap_command(submission: Path, worker: Path, uid: int | None, seccomp_fd: int,
                   packages: tuple[Path, ...] = ()) -> list[str]:
    cmd = [*BWRAP_ISOLATION, "--seccomp", str(seccomp_fd),
           "--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--setenv", "HOME", "/scratch",
           "--setenv", "TMPDIR", "/scratch", "--setenv", "OPENBLAS_NUM_THREADS", "1",
           *bwrap_system(), *bwrap_read_only([Path(sys.base_prefix).resolve()])]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    sites = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
    sites |= {Path("/usr/lib/python3/dist-packages"), Path(f"/usr/local/lib/{version}/dist-packages")}
    for site in sorted(sites):
        if site.is_dir():
            cmd += ["--tmpfs", str(site)]  # hide installed packages (torch among them), the system's too
    if packages:  # but the course's allowed_imports, read-only in a folder of their own
        cmd += ["--perms", "0755", "--dir", BWRAP_PACKAGES]
        for folder in packages:
            cmd += ["--ro-bind", str(folder), f"{BWRAP_PACKAGES}/{folder.name}"]
    # Only /scratch is writable, and it is bounded: without root, bwrap's own tmpfs folders (/, /tmp,
    # /dev with /dev/shm) belong to the grader's uid inside the user namespace, so they are made
    # read-only rather than left to fill memory without a limit.
    cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            "--perms", "01777", "--size", str(SCRATCH_BYTES), "--tmpfs", "/scratch",
            "--ro-bind", str(worker), "/grader",
            "--ro-bind", str(submission), "/submission",
            "--remount-ro", "/", "--remount-ro", "/tmp", "--remount-ro", "/dev", "--chdir", "/scratch"]
    if uid is not None:
        cmd += ["--", "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    else:
        cmd += ["--cap-drop", "ALL", "--"]
    return cmd


@functools.cache
def _tool(name: str) -> str:
    """The path of a util-linux command the sandboxes need (prlimit, setpriv)."""
    path = shutil.which(name)
    if path is None:
        raise SandboxUnavailable(f"{name} (from util-linux) is not installed; the sandbox needs it")
    return path


def _as_user(uid: int) -> list[str]:
    """A command prefix that runs the rest as `uid`, with no supplementary groups (a prefix, not
    Popen's user=, which forks where vfork would do)."""
    return [_tool("setpriv"), f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]


def _kill_uid(uid: int) -> None:
    """Kill every process running as `uid` (a worker's own uid), wherever it went: kill(-1)
    from a shell that became `uid` reaches exactly the processes that uid may signal. A few
    rounds, since a fork bomb refills between two (RLIMIT_NPROC bounds it); dead children of
    an init that does not reap stay as zombies, which still count as signalled, hence the cap."""
    rounds = "i=0; while [ $i -lt 50 ] && kill -KILL -1 2>/dev/null; do i=$((i+1)); done"
    subprocess.run([*_as_user(uid), "/bin/sh", "-c", rounds], env={}, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)


def _peak_memory_mb(pid: int) -> int:
    """The largest VmPeak (the most address space it held) of `pid` and its descendants, in MB,
    from /proc (which shows it for any process, also inside bwrap's namespaces); 0 if unreadable."""
    peak, todo = 0, [pid]
    while todo:
        pid = todo.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmPeak:"):
                peak = max(peak, int(line.split()[1]) >> 10)
        try:
            todo += [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except (OSError, ValueError):
            pass
    return peak


def _own_processes() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == uid
            except OSError:
                pass
    return count


class Worker:
    """One submission's sandboxed worker, started on first use and after a crash or timeout.

    As root the worker takes over `submission`'s permissions: the staged copy becomes readable
    by this worker's uid and by nobody else but root.
    """

    def __init__(self, submission: Path, limits: Limits, sandbox: str | None = None, probes: Sequence[Path] = (),
                 worker_files: Sequence[Path] = (), holds_reference: bool = False, replaced: Sequence[str] = (),
                 student_files: Sequence[str] = (), redact: Callable[[str], str] | None = None):
        """holds_reference: reference code sits in this worker (an isolation mode's), so its replies
        carry numbers and grader-written words only (grader_written); replaced: the submission's
        files that hold reference code in this worker's copy; student_files: the assignment's.
        redact: applied to every text the worker sends (its student-produced text: the only text that
        is redacted, so the grader's own words never are)."""
        self.submission = Path(submission)
        self.redact = redact or (lambda text: text)
        self.holds_reference = holds_reference
        self.replaced = tuple(replaced)
        self.student_files = tuple(student_files)
        self.asked = False
        self.limits = limits
        self.sandbox = sandbox or available_sandbox()
        if self.sandbox not in ("bwrap", "process"):
            raise SandboxUnavailable(f"unknown sandbox {self.sandbox!r} (use bwrap or process)")
        if self.sandbox == "bwrap" and not shutil.which("bwrap"):
            raise SandboxUnavailable("bubblewrap (bwrap) is not installed; install it or use --sandbox process")
        as_root = os.geteuid() == 0
        self.uid = FIRST_UID + 256 * os.getpid() + next(_worker_numbers) % 256 if as_root else None
        self.python = worker_python(self.sandbox, as_root)
        if self.uid is not None and self.sandbox == "process" and not all(
                p.stat().st_mode & stat.S_IXOTH for p in _ancestors(self.submission.resolve())):
            raise SandboxUnavailable(f"the 'process' sandbox's unprivileged user cannot reach {self.submission} "
                                     "(a folder above it is closed to other users)")
        self.stdout_excerpt = b""
        self.restarts = 0
        self._home = Path(tempfile.mkdtemp(prefix="course-worker-"))
        os.chmod(self._home, 0o711)
        self._grader = self._home / "grader"  # a copy of the worker's own files, readable by it
        self._grader.mkdir(mode=0o755)
        # The worker's own files, the probe modules the assignment's suite provides (default: the
        # ones beside the worker) and worker_files, modules only this worker may import (an isolation
        # mode's reference pieces); none may replace the worker itself.
        if any(path.name in WORKER_FILES for path in [*probes, *worker_files]):
            raise SandboxUnavailable(f"probe modules may not be named like the worker's own files {WORKER_FILES}")
        for source in [*WORKER_DIR.glob("*.py"), *probes, *worker_files]:
            shutil.copyfile(source, self._grader / source.name)
            os.chmod(self._grader / source.name, 0o644)
        self._probes = ",".join(probe.stem for probe in probes)  # the suite's: the worker itself knows none
        self._preload = imported_packages(self.submission, limits.allowed_imports)
        if self.uid is not None:
            self._hand_over(self.submission)
        self._proc: subprocess.Popen[bytes] | None = None
        self._ready = False  # it said it is ready (before any student code ran)
        self._reply_fd: int | None = None
        self._buffer = b""
        self._next_id = 0
        self._deadline: float | None = None

    def _hand_over(self, folder: Path) -> None:
        assert self.uid is not None  # only a grader running as root hands folders over
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, 0, self.uid, follow_symlinks=False)
            if not path.is_symlink():
                os.chmod(path, 0o750 if path.is_dir() else 0o640)

    # -- lifecycle -------------------------------------------------------------------------
    def _command(self, write_fd: int, args: tuple[int, int], seccomp_fd: int
                 ) -> tuple[list[str], Path | None, dict[str, str]]:
        """The worker's command, cwd and environment; bwrap's options go into the pipe `args`. The
        seccomp filter (autograder/boundary/syscall_filter.py) is read from `seccomp_fd`: by bwrap, or in the
        process sandbox by the worker itself, which also confines its writes to its scratch folder."""
        forbidden = ",".join(self.limits.forbidden_imports)
        unavailable = ",".join(self.limits.unavailable_imports)
        if self.sandbox == "bwrap":
            packages = package_folders(self.limits.allowed_imports)
            cmd = _bwrap_command(self.submission, self._grader, self.uid, seccomp_fd, packages)
            # bwrap's options come through a pipe, so the sandbox's PID 1 (bwrap, whose command
            # line the worker can read) does not show the grader's folders.
            separator = cmd.index("--")
            with open(args[1], "wb", closefd=False) as pipe:
                pipe.write(b"".join(option.encode() + b"\0" for option in cmd[1:separator]))
            cmd = ["bwrap", "--args", str(args[0]), *cmd[separator:]]
            cmd += [self.python, "-I", "-S", "-u", "-X", "frozen_modules=on", "/grader/main.py",
                    str(write_fd), "/submission", forbidden, unavailable,
                    ",".join([BWRAP_PACKAGES, *self._preload]) if packages else "",
                    self._probes]
            return cmd, None, {}
        scratch = self._home / f"scratch{self.restarts}"
        scratch.mkdir(mode=0o700)
        if self.uid is not None:
            os.chown(scratch, self.uid, self.uid)
        package_path = _process_packages(self.limits.allowed_imports,
                                         self.uid is not None and self.python != os.path.realpath(sys.executable))
        cmd = [self.python, "-I", "-S", "-u", str(self._grader / "main.py"), str(write_fd), str(self.submission),
               forbidden, unavailable, ",".join([package_path, *self._preload]) if package_path else "", self._probes,
               str(seccomp_fd), str(scratch)]
        if self.uid is not None:
            cmd = [*_as_user(self.uid), *cmd]
        env = {"HOME": str(scratch), "TMPDIR": str(scratch), "PYTHONDONTWRITEBYTECODE": "1",
               "OPENBLAS_NUM_THREADS": "1"}  # numpy's BLAS: one thread, as in bwrap
        return cmd, scratch, env

    def launch(self) -> None:
        """Start the worker's process without waiting for it, so that its start overlaps other work
        (a submission's workers start together); the first call waits until it is ready."""
        if self._proc is None:
            self._spawn()

    def _start(self) -> None:
        self._spawn()
        self._wait_until_ready()

    def _spawn(self) -> None:
        try:
            seccomp_fd = syscall_filter.pipe_with_program()
        except syscall_filter.FilterUnavailable as exc:
            raise SandboxUnavailable(str(exc)) from None
        read_fd, write_fd = os.pipe()
        args_fd, args_writer = os.pipe()
        try:
            cmd, cwd, env = self._command(write_fd, (args_fd, args_writer), seccomp_fd)
        finally:
            os.close(args_writer)
        output = os.open(self._home / f"output{self.restarts}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            self._proc = subprocess.Popen(
                [*self._limits(), *cmd], stdin=subprocess.PIPE, stdout=output, stderr=subprocess.STDOUT,
                pass_fds=(write_fd, args_fd, seccomp_fd), cwd=cwd, env=env, start_new_session=True)
        except OSError as exc:
            os.close(read_fd)
            raise SandboxUnavailable(f"cannot start the {self.sandbox} sandbox: {exc}") from None
        finally:
            os.close(write_fd)
            os.close(args_fd)
            os.close(seccomp_fd)
            os.close(output)
        os.set_blocking(self._stdin.fileno(), False)
        self._reply_fd, self._buffer, self._ready = read_fd, b"", False
        self._notes: dict[str, Any] = {}

    def _limits(self) -> list[str]:
        """prlimit's command prefix: the limits hold from the sandbox's first process on (bwrap, or the
        worker's interpreter), before any student code. A command prefix rather than a preexec_fn,
        which would make every start fork a copy of this (large) process instead of using vfork."""
        # As root the uid is fresh, so its process count starts at 0; otherwise leave room
        # above what this user already runs.
        processes = MAX_PROCESSES if self.uid is not None else _own_processes() + MAX_PROCESSES
        return [_tool("prlimit"), f"--as={self.limits.memory_mb << 20}", f"--fsize={MAX_OUTPUT_BYTES}", "--core=0",
                f"--nofile={MAX_OPEN_FILES}", f"--nproc={processes}", "--"]

    def _wait_until_ready(self) -> None:
        """The worker says it is ready before any student code is imported: failing to get
        there is the grader's problem (a broken installation), never the submission's."""
        waiting = time.monotonic()
        line = self._read_line(waiting + max(STARTUP_SECONDS, self.limits.time_limit))
        if line == READY:
            self._ready = True
            if self._deadline is not None:  # a test's time is for its calls; the start is the grader's
                self._deadline += time.monotonic() - waiting
            return
        detail = line.detail if isinstance(line, Reply) else "it wrote something unexpected"
        self._stop()
        raise SandboxUnavailable(f"the {self.sandbox} worker could not start ({detail}); its output began: "
                                 + self.stdout_excerpt[-600:].decode("utf-8", "replace"))

    def _stop(self) -> None:
        if self._proc is None:
            return
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)  # the whole session, not just the leader
        except ProcessLookupError:
            pass
        if self.uid is not None and self.sandbox == "process":
            # and whatever left the session (setsid daemons). Under bwrap nothing can leave the PID
            # namespace, and the kernel kills all of it when bwrap's init dies (--die-with-parent).
            _kill_uid(self.uid)
        self._proc.wait()
        self._stdin.close()
        os.close(self._reply)
        self._keep_output()
        self._proc, self._reply_fd = None, None
        self.restarts += 1

    @property
    def _running(self) -> subprocess.Popen[bytes]:
        """The worker's process: only asked for while one runs."""
        assert self._proc is not None
        return self._proc

    @property
    def _stdin(self) -> IO[bytes]:
        stdin = self._running.stdin
        assert stdin is not None  # started with stdin=PIPE
        return stdin

    @property
    def _reply(self) -> int:
        """The reply channel's read end: only asked for while a worker runs."""
        assert self._reply_fd is not None
        return self._reply_fd

    def _keep_output(self) -> None:
        path = self._home / f"output{self.restarts}"
        if path.exists() and len(self.stdout_excerpt) < 4096:
            with open(path, "rb") as f:
                self.stdout_excerpt += f.read(4096 - len(self.stdout_excerpt))
        path.unlink(missing_ok=True)

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
        self.asked = False

    def call(self, probe: str, **args: Any) -> Reply:
        self.asked = True  # this test asked this worker (its numbers may be quoted: reference_numbers)
        if self._proc is None:
            self._start()
        elif not self._ready:
            self._wait_until_ready()
        self._next_id += 1
        request = (json.dumps({"id": self._next_id, "probe": probe, "args": args}) + "\n").encode()
        deadline = self._deadline or time.monotonic() + self.limits.time_limit
        line: bytes | Reply | None = self._send(request, deadline)
        while True:
            if line is None:
                line = self._read_line(deadline)
            if isinstance(line, Reply):
                return line
            try:
                reply = json.loads(line)
                if isinstance(reply, dict) and isinstance(reply.get("note"), dict):
                    self._notes.update(reply["note"])
                    line = None
                    continue
                if not isinstance(reply, dict) or reply.get("id") != self._next_id:
                    raise ValueError("reply out of order")
            except ValueError:
                self._stop()
                return Reply("garbled", detail="the worker's reply was not readable "
                             "(did the submission write to the grader's reply channel?)")
            break
        if reply.get("ok") is True:
            if self.holds_reference and _holds_text(reply.get("value")):
                return Reply("garbled", detail=TEXT_REFUSED)
            return Reply("ok", value=_redacted(reply.get("value"), self.redact))
        error: dict[str, Any] = reply["error"] if isinstance(reply.get("error"), dict) else {}
        student_error = StudentError(str(error.get("type", "Error"))[:80],
                                     self.redact(str(error.get("message", ""))[:300]),
                                     self.redact(str(error.get("where", ""))[:120]))
        if self.holds_reference:
            student_error = grader_written(student_error, self.submission, self.limits.forbidden_imports,
                                           self.replaced, self.student_files, self.limits.unavailable_imports)
        return Reply("error", error=student_error, **self._evidence(importing=reply.get("importing")))

    def _evidence(self, importing: Any = None) -> dict[str, Any]:
        """Reply's fields on what else was known: the worker's notes (its word: they only ever change how
        the submission's own failure is worded) and what the grader sees itself."""
        notes = self._notes
        importing = notes.get("importing") if importing is None else importing
        # Only the name of one of the submission's own files: a note is no channel for other text.
        if not (isinstance(importing, str) and importing.endswith(".py") and ".." not in importing
                and not importing.startswith("/") and (self.submission / importing).is_file()):
            importing = ""
        limit = notes.get("recursion_limit")
        try:
            full = os.stat(self._home / f"output{self.restarts}").st_size >= MAX_OUTPUT_BYTES
        except OSError:
            full = False
        return {"importing": importing,
                "recursion_limit": limit if type(limit) is int and limit > 0 else 0,
                "output_full": full, "memory_limit_mb": self.limits.memory_mb}

    def _timeout(self) -> Reply:
        evidence = self._evidence()
        memory = _peak_memory_mb(self._running.pid)
        self._stop()
        return Reply("timeout", detail=f"no answer within {self.limits.time_limit:g} s", memory_mb=memory,
                     **evidence)

    def _send(self, request: bytes, deadline: float) -> Reply | None:
        """Write the request without ever blocking past the deadline (a worker that stops
        reading its stdin would otherwise hang the grader once the pipe is full)."""
        stdin = self._stdin.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(stdin, selectors.EVENT_WRITE)
            while request:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    return self._timeout()
                try:
                    request = request[os.write(stdin, request):]
                except BlockingIOError:
                    continue
                except OSError:  # BrokenPipeError: the worker is gone
                    return self._died()
        return None

    def _read_line(self, deadline: float) -> bytes | Reply:
        with selectors.DefaultSelector() as selector:
            selector.register(self._reply, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    return self._timeout()
                chunk = os.read(self._reply, 1 << 16)
                if not chunk:
                    return self._died()
                self._buffer += chunk
                if len(self._buffer) > MAX_REPLY_BYTES:
                    self._stop()
                    return Reply("garbled", detail="the worker's reply was too large")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _died(self) -> Reply:
        try:  # the reply channel closed: the worker exited, or closed it and lives on
            code = self._running.wait(timeout=1)
        except subprocess.TimeoutExpired:
            code = None
        evidence = self._evidence()
        self._stop()
        if code is not None and self.sandbox == "bwrap" and code > 128:
            code = 128 - code  # bwrap exits with 128 + the signal that killed the worker
        killed = ""
        if code is None:
            detail = "the worker closed the grader's reply channel"
        elif code < 0:
            try:
                killed = signal.Signals(-code).name
            except ValueError:
                killed = f"signal {-code}"
            detail = f"the worker was killed by {killed}"
            if -code == signal.SIGXFSZ:
                detail += " (it wrote more output than allowed)"
        else:
            detail = f"the worker process exited with status {code} (sys.exit or os._exit in the submission?)"
        return Reply("died", detail=detail, signal=killed, exit_status=code if code is not None and code >= 0 else None,
                     **evidence)
