"""The sandboxed worker: runs one submission's code on request and replies with plain data.

Everything in this process is untrusted (the student's code shares it), so it holds no
expected value and decides nothing; the trusted grader checks what it sends back. It is
started as `python -I -S -u main.py REPLY_FD SUBMISSION_DIR FORBIDDEN,NAMES UNAVAILABLE,NAMES
PACKAGES_DIR,PRELOADED,NAMES PROBE,MODULES` (in the "process" sandbox also `SECCOMP_FD SCRATCH_DIR`: see
`confine`) and imports only the standard library, the probe modules beside it (each defines PROBES, a
dict of name -> function; the assignment's suite provides them), the submission and what the submission
imports from PACKAGES_DIR (the course's allowed_imports, numpy by default: nothing else of the
installation's site-packages is visible; the PRELOADED ones, which the submission's files import, before
it says it is ready).
An import of an UNAVAILABLE name (plotting and drawing libraries) gives a placeholder module, so that an
unused import or a demo never costs points; using it raises UnavailableImport. Requests come on stdin,
one JSON object a line:
{"id": 1, "probe": "graph", "args": {...}}; replies go to REPLY_FD, one JSON object a line. Before a
reply the worker may write notes, {"note": {...}}, that tell the grader what it could not learn after
a crash: which file of the submission is being imported ("importing") and the recursion limit the
submission set ("recursion_limit").
"""

import _json  # json's own C codec: the json package would import re, enum and collections (~8 ms a start)
import importlib
import os
import sys
from importlib.machinery import ModuleSpec, PathFinder

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the probe modules (-I keeps it off)

ERROR_MESSAGE_CHARS = 300


class _Decoding:
    """What json.JSONDecoder gives its C scanner, with the defaults json.loads uses."""

    strict = True
    object_hook = object_pairs_hook = None
    parse_float, parse_int = float, int
    parse_constant = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}.__getitem__


def _not_serializable(value):
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_scan = _json.make_scanner(_Decoding())  # type: ignore[arg-type]  # any object with a JSONDecoder's fields


def loads(line):
    """json.loads of one request line (the grader's json.dumps: no leading whitespace)."""
    value, _ = _scan(line, 0)
    return value


def dumps(value):
    """json.dumps(value, allow_nan=True), byte for byte: markers (for the circular check), default,
    ASCII strings, no indent, separators, no sort_keys, no skipkeys, allow_nan."""
    encode = _json.make_encoder({}, _not_serializable, _json.encode_basestring_ascii, None, ": ", ", ",
                                False, False, True)
    return "".join(encode(value, 0))


class ForbiddenImport(ImportError):
    pass


class _ForbiddenImports:
    """A sys.meta_path finder (any object with find_spec; importing importlib.abc for its base class
    would add tens of milliseconds to every worker start)."""

    def __init__(self, names):
        self.names = frozenset(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in self.names:
            raise ForbiddenImport(f"importing {fullname!r} is not allowed in this course's submissions")
        return None


class UnavailableImport(ImportError):
    pass


def unavailable_message(name):
    """The one sentence a use of an unavailable library raises (the grader's sandbox.py rewrites it from the name)."""
    return (f"{name} is not available while grading: keep it to draw_dot, plots and demos under "
            "if __name__ == '__main__'")


class _Placeholder(type(sys)):  # type: ignore[misc]  # ModuleType, without importing types
    """What `import matplotlib.pyplot as plt` gives while grading: any attribute but a module's own
    is itself a placeholder, and calling one raises UnavailableImport with the library's name."""

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _PlaceholderUse(self.__name__.partition(".")[0])


def _importing():
    """Whether a submission's file is being imported (set by serve): module-level set-up such as
    matplotlib.use("Agg") then does nothing instead of failing the whole file."""
    return False


class _PlaceholderUse:
    def __init__(self, top):
        self._top = top

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self

    def __call__(self, *args, **kwargs):
        if _importing():
            return self
        raise UnavailableImport(unavailable_message(self._top))

    def __mro_entries__(self, bases):  # `class Plot(tqdm.tqdm)`: the class still defines; using it raises
        return (type(self._top, (_PlaceholderBase,), {"_top": self._top}),)


class _PlaceholderBase:
    _top = "this library"

    def __init__(self, *args, **kwargs):
        if not _importing():
            raise UnavailableImport(unavailable_message(self._top))


class _UnavailableImports:
    """A sys.meta_path finder and loader giving placeholder modules for the course's unavailable_imports."""

    def __init__(self, names):
        self.names = frozenset(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] not in self.names:
            return None
        return ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        module = _Placeholder(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


class _ImportNotes:
    """A sys.meta_path finder that wraps the loader of each of the submission's modules, so that the
    grader is told while its module-level code runs: an exit, a crash or a time-out there is then
    named as happening at import."""

    def __init__(self, note, submission):
        self.note, self.submission = note, submission
        self.importing = []  # the submission's files being imported, innermost last
        self.failed = None  # (id of the exception, file) for the innermost import it ended

    def find_spec(self, fullname, path=None, target=None):
        top = os.path.join(self.submission, fullname.partition(".")[0])
        if not (os.path.isdir(top) or os.path.isfile(top + ".py")):  # not the submission's: no second search
            return None
        spec = PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None or not (spec.origin or "").startswith(self.submission):
            return None
        spec.loader = _NotedLoader(spec.loader, self, os.path.relpath(spec.origin, self.submission))
        return spec

    def run(self, loader, module, file):
        self.importing.append(file)
        self.note(importing=file)
        try:
            loader.exec_module(module)
        except BaseException as exc:
            if self.failed is None or self.failed[0] != id(exc):
                self.failed = (id(exc), file)
            raise
        finally:
            self.importing.pop()
            self.note(importing=self.importing[-1] if self.importing else "")

    def failed_import(self, exc):
        """The submission's file whose import `exc` ended, or ""."""
        return self.failed[1] if self.failed is not None and self.failed[0] == id(exc) else ""


class _NotedLoader:
    def __init__(self, loader, notes, file):
        self._loader, self._notes, self._file = loader, notes, file

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._notes.run(self._loader, module, self._file)

    def __getattr__(self, name):  # get_source, get_code ... (tracebacks, linecache)
        return getattr(self._loader, name)


def _noting_recursion_limit(note):
    """sys.setrecursionlimit, telling the grader the new limit (a crash after a raised limit is
    most likely a recursion that overflowed the C stack)."""
    set_limit = sys.setrecursionlimit

    def setrecursionlimit(limit):
        set_limit(limit)
        note(recursion_limit=sys.getrecursionlimit())

    return setrecursionlimit


def _where(tb, submission):
    """'micrograd/engine.py line 57' for the innermost frame in the submission, if any (read from the
    traceback itself: the traceback module is slow to import)."""
    where = ""
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(submission):
            where = f"{os.path.relpath(filename, submission)} line {tb.tb_lineno}"
        tb = tb.tb_next
    return where


def _describe(exc, submission, forbidden):
    where = _where(exc.__traceback__, submission)
    if isinstance(exc, UnavailableImport):
        return {"type": "UnavailableImport", "message": str(exc), "where": where}
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").partition(".")[0] in forbidden:
        # The import hook was removed, but the module is not there either: still the policy.
        return {"type": "ForbiddenImport", "message": f"importing {exc.name!r} is not allowed in this "
                "course's submissions", "where": where}
    if isinstance(exc, SyntaxError) and exc.filename and exc.filename.startswith(submission):
        where = f"{os.path.relpath(exc.filename, submission)} line {exc.lineno}"
    try:
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc)  # msg: without "(file, line)"
    except Exception:  # a student exception whose __str__ itself fails
        message = "<unprintable>"
    return {"type": type(exc).__name__, "message": message[:ERROR_MESSAGE_CHARS], "where": where}


# Landlock (linux/landlock.h): what the process sandbox's worker may still do to files.
_LANDLOCK_WRITES = sum(1 << bit for bit in (1, 4, 5, 6, 7, 8, 9, 10, 11, 12))  # write, remove, make anything
_LANDLOCK_READS = (1 << 2) | (1 << 3)  # read files, list folders
_LANDLOCK_SINCE = {2: 1 << 13, 3: 1 << 14}  # ABI version -> rights it adds (refer, truncate)
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1, 2  # ABI 6
_NR_LANDLOCK = {"create_ruleset": 444, "add_rule": 445, "restrict_self": 446}  # the same on every architecture
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2


def confine(seccomp_fd, scratch, submission, packages=""):
    """The process sandbox's confinement, which bwrap's namespaces give the other sandbox: writes only
    in `scratch`; no reading /proc or /sys (the other workers' command lines, names, states) nor other
    workers' scratch folders (reads: the system, the Python installation, this worker's files); signals and
    abstract sockets only within this worker (Landlock, where the kernel has it), and the grader's seccomp
    filter, read from `seccomp_fd`. Fails (before the worker says it is ready) where seccomp cannot load."""
    import ctypes  # only here: the bwrap worker does not pay for it

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long

    def check(result, what):
        if result < 0:
            raise OSError(ctypes.get_errno(), f"{what}: {os.strerror(ctypes.get_errno())}")
        return result

    # Landlock's ABI version; 0 where the kernel (before 5.13, or without landlock among its LSMs) or a
    # container's seccomp profile (Docker before 23) refuses it: then the seccomp filter alone applies,
    # as the grader says when it starts (autograder.boundary.sandbox.landlock_abi, docs/security.md).
    abi = max(libc.syscall(ctypes.c_long(_NR_LANDLOCK["create_ruleset"]), None, ctypes.c_size_t(0),
                           ctypes.c_uint32(1)), 0)
    check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")  # Landlock and seccomp need it first
    if abi:
        _landlock(libc, check, abi, scratch, submission, packages)
    program = b""
    while chunk := os.read(seccomp_fd, 1 << 16):
        program += chunk
    os.close(seccomp_fd)

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    check(libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(Program(len(program) // 8, program)), 0, 0),
          "seccomp")


def _landlock(libc, check, abi, scratch, submission, packages=""):
    """Writes only in `scratch`; reads everywhere but /proc, /sys and the other workers' folders."""
    import ctypes

    handled = _LANDLOCK_WRITES | _LANDLOCK_READS
    handled |= sum(bits for version, bits in _LANDLOCK_SINCE.items() if abi >= version)
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0
    attr = (ctypes.c_uint64 * 3)(handled, 0, scoped)
    ruleset = check(libc.syscall(ctypes.c_long(_NR_LANDLOCK["create_ruleset"]), attr,
                                 ctypes.c_size_t(24 if abi >= 6 else 8), ctypes.c_uint32(0)), "landlock_create_ruleset")

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    def allow(path, access):
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        try:
            check(libc.syscall(ctypes.c_long(_NR_LANDLOCK["add_rule"]), ruleset, 1,
                               ctypes.byref(PathBeneath(access, fd)), ctypes.c_uint32(0)), f"landlock_add_rule {path}")
        finally:
            os.close(fd)

    # Not the top folder holding the workers' scratch folders (/tmp): without root, another worker's
    # is readable by the same uid. This worker's own files there are allowed one by one.
    shared = os.path.join("/", scratch.split("/")[1])
    for entry in os.scandir("/"):
        if entry.name not in ("proc", "sys") and entry.path != shared and entry.is_dir():
            allow(entry.path, _LANDLOCK_READS)
    for own in (sys.base_prefix, sys.prefix, os.path.dirname(os.path.abspath(__file__)), submission, packages):
        if own:
            allow(own, _LANDLOCK_READS)
    allow(scratch, handled)
    check(libc.syscall(ctypes.c_long(_NR_LANDLOCK["restrict_self"]), ruleset, ctypes.c_uint32(0)),
          "landlock_restrict_self")
    os.close(ruleset)


def load_probes(modules):
    """name -> function, from the probe modules (imported before any student code); a module without PROBES
    is a helper of the others."""
    found = {}
    for module in modules:
        found.update(getattr(importlib.import_module(module), "PROBES", {}))
    return found


def serve(reply_fd, submission, forbidden, probes, unavailable=(), packages=""):
    def write(value):
        data = (dumps(value) + "\n").encode()
        while data:
            data = data[os.write(reply_fd, data):]

    def note(**fields):
        write({"note": fields})

    sys.path[:0] = [submission]
    packages, *preload = packages.split(",") if packages else [""]
    if packages:
        sys.path.append(packages)  # the allowed packages only
    for name in preload:  # those the submission imports (the grader read its files): before any test's clock
        try:
            importlib.import_module(name)
        except Exception:  # raised again, and reported, where the submission imports it
            pass
    forbidden = frozenset(forbidden)
    imports = _ImportNotes(note, submission)
    global _importing
    _importing = imports.importing.__len__  # the submission's files being imported, innermost last
    sys.meta_path[:0] = [_ForbiddenImports(forbidden), _UnavailableImports(unavailable), imports]
    sys.setrecursionlimit = _noting_recursion_limit(note)
    reserve = bytearray(1 << 20)  # freed on a MemoryError, so that the reply can still be made
    # Python's default recursion limit stays: a graph deeper than it needs a sort with an explicit stack.
    os.write(reply_fd, b'{"ready": true}\n')  # the grader's own part started; student code comes next
    for line in sys.stdin:
        request = loads(line)
        try:
            reply = {"id": request["id"], "ok": True, "value": probes[request["probe"]](**request["args"])}
        except BaseException as exc:  # SystemExit and KeyboardInterrupt from student code too
            if isinstance(exc, MemoryError):
                reserve = None
            reply = {"id": request["id"], "ok": False, "error": _describe(exc, submission, forbidden),
                     "importing": imports.failed_import(exc)}
        # Here the exception and its frames (holding what filled the memory) are gone.
        imports.failed = None
        if reserve is None:
            try:
                reserve = bytearray(1 << 20)
            except MemoryError:
                pass
        write(reply)


def _names(arg):
    return [name for name in arg.split(",") if name]


if __name__ == "__main__":
    if len(sys.argv) > 7:
        confine(int(sys.argv[7]), sys.argv[8], sys.argv[2], sys.argv[5].partition(",")[0])
    serve(int(sys.argv[1]), sys.argv[2], _names(sys.argv[3]), load_probes(_names(sys.argv[6])),
          _names(sys.argv[4]), sys.argv[5])
