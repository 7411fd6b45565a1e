"""A class downloaded from an LMS (Canvas, Moodle, Blackboard): flat files named per student and attempt,
turned into one Source per student (the latest attempt, or every attempt on request).

The naming each LMS documents for its "download all submissions":
- Canvas (Assignments > Download Submissions): `<name>_<user id>_<submission id>_<file>`, `<name>_LATE_<user
  id>_...` for a late one, and Canvas appends `-1`, `-2` to a file name uploaded again in one submission.
- Moodle (assignment > View all submissions > Download all submissions): a folder per participant,
  `<Full Name>_<participant id>_assignsubmission_file_/<file>`, or the same prefix on flat files when
  "Download submissions in folders" is off.
- Blackboard (Grade Centre > Assignment File Download): `<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_
  <file>`, with a `<assignment>_<username>_attempt_<...>.txt` receipt per attempt.
Files are mapped onto the assignment's student_files by name, as an upload is (sources._pick); a student whose
files match none of them is still a submission, with a note saying what was expected.
"""

from __future__ import annotations

import csv
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from autograder import config
from autograder.inputs.sources import (
    MAX_FILE_BYTES,
    InputError,
    Source,
    _extract_zip,
    _uploaded_files,
    iso_time,
    safe_name,
    shown,
)

CANVAS = re.compile(r"^(?P<who>[^_]+)_(?:(?P<late>LATE)_)?(?P<id>\d+)_(?P<attempt>\d+)_(?P<file>.+)$")
MOODLE = re.compile(r"^(?P<who>.+?)_(?P<id>\d+)_assignsubmission_(?:file|onlinetext)_(?P<file>.*)$")
BLACKBOARD = re.compile(r"^(?P<assignment>.+?)_(?P<id>[^_]+)_attempt_(?P<attempt>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)"
                        r"(?:_(?P<file>.+)|\.txt)$")
BLACKBOARD_STAMP = re.compile(r"\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d")  # taken as UTC (the server's)
RESUBMITTED = re.compile(r"^(?P<stem>.+?)-(?P<copy>\d+)(?P<suffix>\.[^.]+)$")  # Canvas: engine-1.py
LAYOUTS = {"canvas": CANVAS, "moodle": MOODLE, "blackboard": BLACKBOARD}


@dataclass(frozen=True)
class Entry:
    """One downloaded file: whose, which attempt, the file's own name and its bytes."""

    student: str
    attempt: str  # orders a student's attempts (submission id, or Blackboard's time stamp)
    name: str
    data: bytes
    late: bool = False


def layout_of(names: Iterable[str]) -> str | None:
    """The LMS whose naming every one of these file names (paths relative to the download) follows."""
    names = [name for name in names if not name.startswith((".", "__MACOSX"))]
    for lms, pattern in LAYOUTS.items():
        if names and all(pattern.match(name.split("/", 1)[0]) for name in names):
            return lms
    return None


def entries(files: dict[str, bytes], lms: str) -> list[Entry]:
    """The download's files (relative path -> bytes) as entries; Blackboard's receipts are left out."""
    found = []
    for path, data in sorted(files.items()):
        head, _, rest = path.partition("/")
        match = LAYOUTS[lms].match(head)
        if match is None:
            continue
        name = rest or match["file"] or ""
        if lms == "blackboard" and not match["file"]:  # the attempt's receipt (`..._attempt_<time>.txt`)
            continue
        if not name:
            continue
        found.append(Entry(match["id"], match["attempt"] if "attempt" in match.groupdict() else "0",
                           Path(name).name, data[:MAX_FILE_BYTES], late=bool(match.groupdict().get("late"))))
    return found


def _base_name(name: str) -> tuple[str, int]:
    """Canvas's `engine-1.py` is the student's `engine.py`, uploaded again: (engine.py, 1)."""
    found = RESUBMITTED.match(name)
    return (found["stem"] + found["suffix"], int(found["copy"])) if found else (name, 0)


def sources(files: dict[str, bytes], lms: str, assignment: config.Assignment, origin: str,
            every_attempt: bool = False) -> list[Source]:
    """One Source per student (named by the LMS id), from the latest attempt, or one per attempt."""
    by_student: dict[str, list[Entry]] = {}
    for entry in entries(files, lms):
        by_student.setdefault(entry.student, []).append(entry)
    found = []
    for student, own in sorted(by_student.items()):
        attempts = sorted({entry.attempt for entry in own}, key=_attempt_key)
        chosen = attempts if every_attempt else attempts[-1:]
        for attempt in chosen:
            name = safe_name(student if not every_attempt else f"{student}-{attempt}")
            found.append(_source(name, [e for e in own if e.attempt == attempt], assignment, f"{origin} ({lms})"))
    return found


def _attempt_key(attempt: str) -> tuple[int, str]:
    return (int(attempt), attempt) if attempt.isdigit() else (0, attempt)


def _source(name: str, attempt: list[Entry], assignment: config.Assignment, origin: str) -> Source:
    picked: dict[str, bytes] = {}
    for relative in assignment.student_files:
        wanted = Path(relative).name
        candidates = [(copy, entry) for entry in attempt for base, copy in [_base_name(entry.name)] if base == wanted]
        if candidates:
            picked[relative] = max(candidates, key=lambda pair: pair[0])[1].data  # the last upload of that file
    notes: tuple[str, ...] = ()
    if not picked:
        shown = ", ".join(sorted({entry.name for entry in attempt})[:10])
        expected = " and ".join(Path(f).name for f in assignment.student_files)
        notes = (f"None of this assignment's files was in the download ({shown}); expected {expected}.",)
    stamp = attempt[0].attempt
    submitted = (f"{stamp[:10]}T{stamp[11:].replace('-', ':')}+00:00" if BLACKBOARD_STAMP.fullmatch(stamp) else "")
    source = Source(name, picked, origin, notes, submitted_at=submitted)
    return replace(source, flags=("late",)) if any(entry.late for entry in attempt) else source


def read_download(path: Path, assignment: config.Assignment, *, lms: str | None = None,
                  every_attempt: bool = False) -> list[Source] | None:
    """The Sources of an LMS download (a folder, or a zip of one), or None when it does not follow any LMS's
    naming (then it is read like any other input). `lms` names the layout instead of recognising it."""
    if not path.is_dir() and path.suffix.lower() != ".zip":
        return None
    with tempfile.TemporaryDirectory(prefix="course-lms-") as unzipped:
        folder = path
        if not path.is_dir():
            try:
                _extract_zip(path, Path(unzipped), shown(path))
            except InputError:  # not a readable zip: read as any other input (a submission saying so)
                return None
            folder = Path(unzipped)
        names = [p.as_posix() for p in _uploaded_files(folder)]
        kind = lms or layout_of(names)
        if kind is None:
            return None
        if layout_of(names) != kind:
            raise InputError(f"{shown(path)} does not follow {kind.capitalize()}'s naming "
                             f"({LAYOUT_EXAMPLES[kind]}): not every file in it is named that way")
        files = {name: (folder / name).read_bytes() for name in names}
    return sources(files, kind, assignment, shown(path), every_attempt)


def read_times(path: Path) -> dict[str, str]:
    """Submission times for a download that carries none (Canvas's, Moodle's): a CSV with the columns `student`
    (the LMS id the download names) and `submitted_at` (ISO 8601 with its time zone), e.g. from Canvas's
    submissions API or Moodle's grading worksheet. Raises InputError naming the first bad row."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
            header = set(rows[0]) if rows else set()
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read the submission times {shown(path)}: {exc}") from None
    if not {"student", "submitted_at"} <= header:
        raise InputError(f"{shown(path)} needs the columns student,submitted_at (ISO 8601 with a time zone)")
    times = {}
    for line, row in enumerate(rows, start=2):
        moment = iso_time((row["submitted_at"] or "").strip())
        if moment is None or moment.tzinfo is None:
            raise InputError(f"{shown(path)} line {line}: submitted_at {row['submitted_at']!r} is not an ISO 8601 "
                             "time with a time zone (e.g. 2026-12-10T23:59:00+01:00)")
        times[(row["student"] or "").strip()] = moment.isoformat()
    return times


def with_times(found: list[Source], times: dict[str, str]) -> tuple[list[Source], list[str]]:
    """The sources with their submission times, and the ids in `times` that name no source."""
    names = {source.name for source in found}
    return ([replace(s, submitted_at=times[s.name]) if s.name in times else s for s in found],
            sorted(set(times) - names))


LAYOUT_EXAMPLES = {"canvas": "<name>_<user id>_<submission id>_<file>",
                   "moodle": "<Full Name>_<id>_assignsubmission_file_/<file>",
                   "blackboard": "<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>"}
