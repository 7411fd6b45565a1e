"""The sandboxed worker: runs one submission's code on request and replies with plain data.

Everything in this process is untrusted (the student's code shares it), so it holds no
expected value and decides nothing; the trusted grader checks what it sends back. It is
started as `python -I -S -u main.py REPLY_FD SUBMISSION_DIR FORBIDDEN,NAMES PROBE,MODULES` and
imports only the standard library, the probe modules beside it (each defines PROBES, a dict of
name -> function; the assignment's suite provides them) and the submission. Requests come on
stdin, one JSON object a line: {"id": 1, "probe": "graph", "args": {...}}; replies go to
REPLY_FD, one JSON object a line.
"""

import _json  # json's own C codec: the json package would import re, enum and collections (~8 ms a start)
import importlib
import os
import sys

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
    sys.path[:0] = [submission]
    forbidden = frozenset(forbidden)
    sys.meta_path.insert(0, _ForbiddenImports(forbidden))
    # Python's default recursion limit stays: a graph deeper than it needs a sort with an explicit stack.
    os.write(reply_fd, b'{"ready": true}\n')  # the grader's own part started; student code comes next
    for line in sys.stdin:
        request = loads(line)
        try:
            reply = {"id": request["id"], "ok": True, "value": probes[request["probe"]](**request["args"])}
        except BaseException as exc:  # SystemExit and KeyboardInterrupt from student code too
            reply = {"id": request["id"], "ok": False, "error": _describe(exc, submission, forbidden)}
        data = (dumps(reply) + "\n").encode()
        while data:
            data = data[os.write(reply_fd, data):]


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], [name for name in sys.argv[3].split(",") if name],
          load_probes(name for name in sys.argv[4].split(",") if name))
