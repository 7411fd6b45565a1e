"""The sandboxed worker: runs one submission's code on request and replies with plain data.

Everything in this process is untrusted (the student's code shares it), so it holds no
expected value and decides nothing; the trusted grader checks what it sends back. It is
started as `python -I -S -u main.py REPLY_FD SUBMISSION_DIR FORBIDDEN,NAMES PROBE,MODULES` and
imports only the standard library, the probe modules beside it (each defines PROBES, a dict of
name -> function; the assignment's suite provides them) and the submission. Requests come on
stdin, one JSON object a line: {"id": 1, "probe": "graph", "args": {...}}; replies go to
REPLY_FD, one JSON object a line. Before a reply the worker may write notes, {"note": {...}}, that
tell the grader what it could not learn after a crash: which file of the submission is being
imported ("importing") and the recursion limit the submission set ("recursion_limit").
"""

import _json  # json's own C codec: the json package would import re, enum and collections (~8 ms a start)
import importlib
import os
import sys
from importlib.machinery import PathFinder

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


_scan = _json.make_scanner(_Decoding())


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


def load_probes(modules):
    """name -> function, from the probe modules (imported before any student code)."""
    found = {}
    for module in modules:
        found.update(importlib.import_module(module).PROBES)
    return found


def serve(reply_fd, submission, forbidden, probes):
    def write(value):
        data = (dumps(value) + "\n").encode()
        while data:
            data = data[os.write(reply_fd, data):]

    def note(**fields):
        write({"note": fields})

    sys.path[:0] = [submission]
    forbidden = frozenset(forbidden)
    imports = _ImportNotes(note, submission)
    sys.meta_path[:0] = [_ForbiddenImports(forbidden), imports]
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


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], [name for name in sys.argv[3].split(",") if name],
          load_probes(name for name in sys.argv[4].split(",") if name))
