"""Expected values the hidden suites compute once for every student, precomputed by `course build`.

A suite wraps each computation that does not depend on the student (torch float64 results for its
graphs, models and training runs; the examples derandomized hypothesis draws) in `memo(kind)`:
a function of one JSON key. `course build` grades the reference, the bug catalog and the reference
notebooks while recording every such value, and writes them as plain JSON to
grading_tests/expectations.json together with the key of what they were computed from
(`cache_key`: the hidden suites, the reference and the course's assignments). Grading loads that
file when its key is current and then never imports torch. A missing or stale file, or a value the
build never met, is computed as before (torch, hypothesis) and said once on stderr. Every value is
read back from its JSON form, so a precomputed grade is byte-identical to a computed one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.config import HIDDEN, SOLUTIONS

if TYPE_CHECKING:
    from autograder.config import Course

FILE_NAME = "expectations.json"
FORMAT = 1
# Set to "compute" to ignore the cache (the tests compare a computed grade with a precomputed one).
IGNORE_VARIABLE = "COURSE_EXPECTATIONS"
_SKIPPED = {"__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"}


class ExpectationUnavailable(RuntimeError):
    """A value is not precomputed and torch (the source of truth) is not installed to compute it."""


def source_files(root: Path) -> list[Path]:
    """The files under root that make up a source tree (no caches, no bytecode)."""
    return sorted(path for path in root.rglob("*")
                  if path.is_file() and not _SKIPPED.intersection(path.relative_to(root).parts)
                  and path.suffix != ".pyc")


def cache_path(course: Course) -> Path:
    return course.hidden / FILE_NAME


def cache_key(course: Course) -> str:
    """What the precomputed values depend on: the hidden suites (and their catalog), the reference and
    which suite grades which files in course.yml. Points, limits and tolerances decide verdicts, not
    expected values: changing them keeps the cache."""
    assignments = {name: [a.kind, a.suite, list(a.student_files)] for name, a in course.assignments.items()}
    digest = hashlib.sha256(f"expectations {FORMAT}\0".encode() + json.dumps(assignments, sort_keys=True).encode())
    for folder, root in ((HIDDEN, course.hidden), (SOLUTIONS, course.solutions)):
        for path in source_files(root) if root.is_dir() else []:
            if path.name != FILE_NAME:
                digest.update(f"{folder}/{path.relative_to(root).as_posix()}".encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def read_cache(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def current_cache(course: Course) -> tuple[dict | None, str]:
    """(the course's cache if it is current, else None; a one-line account of it)."""
    path = cache_path(course)
    data = read_cache(path)
    if data is None:
        return None, f"{_shown(path)} is missing"
    if data.get("key") != cache_key(course):
        return None, f"{_shown(path)} is stale (the suites, solutions/ or course.yml changed since it was built)"
    count = sum(len(values) for values in data["values"].values())
    return data, f"{_shown(path)} is up to date ({count} expected values)"


def freshness(course: Course) -> tuple[bool, str]:
    """(whether the course's cache is current, a one-line account of it)."""
    data, account = current_cache(course)
    return data is not None, account


def is_fresh(course: Course) -> bool:
    return freshness(course)[0]


def torch():
    """torch, imported on first need: grading with a current cache never needs it."""
    try:
        import torch
    except ImportError:
        raise ExpectationUnavailable(
            "an expected value is not precomputed and torch is not installed to compute it: "
            "run `course build` where torch is installed (pip install 'micrograd-course[torch]')") from None
    return torch


# -- the store -------------------------------------------------------------------------------
class _Store:
    """The values of one grading run (run_with), or of whatever runs outside one (the default store)."""

    def __init__(self, course: Course | None = None) -> None:
        self.course = course
        self.loaded: Path | None = None  # the cache file whose values `raw` holds
        self.raw: dict[str, dict[str, Any]] = {}  # kind -> digest -> JSON value, as read from the cache
        self.values: dict[str, dict[str, Any]] = {}  # kind -> key -> decoded value
        self.said: set[str] = set()

    def cached(self, kind: str, digest: str) -> Any:
        if _recording is not None:  # a rebuild's own values, and of the previous cache only drawn inputs
            if digest in _recording.recorded.get(kind, {}):
                return json.loads(_recording.recorded[kind][digest])
            return _recording.kept.get(kind, {}).get(digest, _MISSING) if kind in _DRAWN else _MISSING
        if self.course is not None and os.environ.get(IGNORE_VARIABLE) != "compute":
            if self.loaded is None:  # a run's course is fixed: its cache is read once, on first need
                data, account = current_cache(self.course)
                self.loaded, self.raw = cache_path(self.course), data["values"] if data else {}
                if data is None:
                    self.say(account, f"{account}: expected values are computed as the tests need them "
                                      "(run `course build`)")
            return self.raw.get(kind, {}).get(digest, _MISSING)
        return _MISSING

    def say(self, once: str, message: str) -> None:
        if once not in self.said:
            self.said.add(once)
            print(f"course: {message}", file=sys.stderr, flush=True)


@dataclass
class _Recording:
    """While `course build` records: every value computed, as compact JSON, and the previous cache's values."""

    recorded: dict[str, dict[str, str]] = field(default_factory=dict)
    kept: dict[str, dict[str, Any]] = field(default_factory=dict)


_MISSING = object()
_DRAWN: set[str] = set()
_store = _Store()
_recording: _Recording | None = None
_digests: dict[str, str] = {}


def _digest(key: str) -> str:
    found = _digests.get(key)
    if found is None:
        found = _digests[key] = hashlib.sha256(key.encode()).hexdigest()
    return found


@contextlib.contextmanager
def run_with(course: Course) -> Iterator[None]:
    """One grading run's expected values: read from this course's cache (or computed), kept while the run
    lasts and gone after it, so the next run (another course, an edited suite) starts from its own cache.
    The hidden suites' conftest enters it in a session fixture."""
    global _store
    outer, _store = _store, _Store(course)
    try:
        yield
    finally:
        _store = outer


def memo(kind: str, decode: Callable[[Any], Any] = lambda value: value, *, drawn: bool = False) -> Callable:
    """Decorate compute(key: str) -> JSON-able value: its values come from the run's cache when precomputed,
    else from compute (then kept for the run and recorded while `course build` records).
    decode turns the JSON form back into what callers use (lists -> tuples). drawn: the values are
    inputs drawn at random (hypothesis examples), kept by a rebuild as long as their key is the same
    (the key names what draws them), so every rebuild grades on the same examples."""
    if drawn:
        _DRAWN.add(kind)

    def wrap(compute: Callable[[str], Any]) -> Callable[[str], Any]:
        def lookup(key: str) -> Any:
            store = _store
            values = store.values.setdefault(kind, {})
            found = values.get(key, _MISSING)
            if found is not _MISSING:
                return found
            digest = _digest(key)
            plain = store.cached(kind, digest)
            if plain is _MISSING:
                if _recording is None and store.raw:
                    store.say(f"miss {kind}", f"a {kind} expectation is not in {_shown(store.loaded)}: computed now")
                plain = compute(key)
            text = json.dumps(plain, separators=(",", ":"))
            if _recording is not None:
                _recording.recorded.setdefault(kind, {})[digest] = text
            # Always the JSON form, never shared: a computed value reads exactly like a precomputed one.
            found = values[key] = decode(json.loads(text))
            return found

        return lookup

    return wrap


def tuples(value: Any) -> Any:
    """Lists (JSON arrays) back to tuples, all the way down."""
    return tuple(tuples(v) for v in value) if isinstance(value, list) else value


@contextlib.contextmanager
def recording(previous: dict | None = None) -> Iterator[dict[str, dict[str, str]]]:
    """Compute every value afresh and collect them: kind -> digest -> compact JSON. Drawn inputs
    (memo(drawn=True)) whose key is in the previous cache (read_cache) are kept as they were."""
    global _store, _recording
    outer, _store = _store, _Store()
    _recording = _Recording(kept=(previous or {}).get("values", {}))
    try:
        yield _recording.recorded
    finally:
        _store, _recording = outer, None


def write_cache(course: Course, recorded: dict[str, dict[str, str]], path: Path | None = None) -> Path:
    """Write the recorded values with the course's cache key (and the torch that computed them)."""
    path = path or cache_path(course)
    head = {"format": FORMAT, "key": cache_key(course), "torch": torch().__version__}
    kinds = []
    for kind, values in sorted(recorded.items()):  # one line per value: a rebuild's diff stays readable
        lines = ",\n".join(f"{json.dumps(digest)}: {text}" for digest, text in sorted(values.items()))
        kinds.append(f"{json.dumps(kind)}: {{\n{lines}\n}}")
    text = json.dumps(head)[:-1] + ', "values": {\n' + ",\n".join(kinds) + "\n}}\n"
    path.write_text(text, encoding="utf-8")
    return path


def _shown(path: Path | None) -> str:
    try:
        return str(path.relative_to(Path.cwd())) if path is not None else "no expectation file"
    except ValueError:
        return str(path)
