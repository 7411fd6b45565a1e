"""Pictures in feedback: Graphviz DOT, rendered to SVG in the trusted process.

A hidden suite draws what it observed (plain numbers, never the submission's objects) as DOT and
attaches the SVG to its Mistake (`autograder.suite.Mistake.picture`); the sinks show it inline
(HTML reports, nbgrader feedback, `course grade --format html`). A picture is the grader's risk,
never the student's: when `dot` is missing, too slow, crashes, refuses the source or prints
something that is not SVG, there is no picture, the feedback text says so and the verdict stands.
"""

from __future__ import annotations

import base64
import functools
import logging
import re
import resource
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

log = logging.getLogger("autograder")

NO_DOT_NOTE = "(A picture of your graph is missing: Graphviz's `dot` is not installed where this was graded.)"
NOT_DRAWN_NOTE = "(A picture of your graph is missing: the grader could not draw it. Nothing is lost by it.)"
# A suite's drawing is a few dozen nodes with short labels (grading_tests/micrograd/drawing.py cuts
# bigger graphs): ~10 kB of DOT, drawn in ~50 ms. The limits are far above that and far below what
# would hurt a batch: `dot` refuses quoted strings over 16384 characters anyway, a huge graph can keep
# it busy for minutes, and every failing test of every student may ask for a picture.
DOT = "dot"  # the command (tests put a misbehaving one in its place)
MAX_DOT_CHARS = 100_000
MAX_SVG_BYTES = 2_000_000
DOT_SECONDS = 10.0
_PROLOG = re.compile(r"\A(?:\s*<\?xml[^>]*\?>|\s*<!DOCTYPE[^>]*>|\s*<!--.*?-->)*\s*", re.DOTALL)


class NotDrawn(Exception):
    """`dot` did not give a picture; the message says why (for the instructor's log)."""


@dataclass(frozen=True)
class Drawing:
    svg: str = ""  # the SVG markup, or "" when there is no picture
    note: str = ""  # why there is no picture, in the student's words


def draw(dot: str) -> Drawing:
    """The DOT source drawn as SVG markup ready to inline in HTML, or a note saying why there is none."""
    if shutil.which(DOT) is None:
        return Drawing(note=NO_DOT_NOTE)
    try:
        return Drawing(svg=_drawn(dot))
    except NotDrawn as exc:
        log.warning("no picture: %s", exc)
        return Drawing(note=NOT_DRAWN_NOTE)


def to_svg(dot: str) -> str | None:
    """The DOT source drawn as SVG markup; None when there is no picture (draw says why)."""
    return draw(dot).svg or None


# Students with the same mistake draw the same picture (the same graphs, the same numbers): `dot` runs
# once per distinct picture in a grading process. A failure raises, so it is never remembered as a drawing.
@functools.lru_cache(maxsize=256)
def _drawn(dot: str) -> str:
    if len(dot) > MAX_DOT_CHARS:
        raise NotDrawn(f"the DOT source has {len(dot)} characters (at most {MAX_DOT_CHARS})")
    # Its output goes to files, not pipes: the file size limit stops a `dot` that writes without end.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            done = subprocess.run([DOT, "-Tsvg"], input=dot.encode("utf-8"), stdout=out, stderr=err,
                                  timeout=DOT_SECONDS, check=False, preexec_fn=_limit_output)
        except subprocess.TimeoutExpired:
            raise NotDrawn(f"dot gave no answer within {DOT_SECONDS:g} s") from None
        except OSError as exc:  # vanished since `which`, not executable, out of processes
            raise NotDrawn(f"dot could not start: {exc}") from None
        out.seek(0)
        err.seek(0)
        output, errors = out.read(MAX_SVG_BYTES), err.read(300).decode("utf-8", "replace")
    if done.returncode != 0:
        raise NotDrawn(f"dot exited with {done.returncode}: {errors}")
    svg = _PROLOG.sub("", output.decode("utf-8", "replace")).rstrip()
    if not (svg.startswith("<svg") and svg.endswith("</svg>")):
        raise NotDrawn(f"dot's output is not an SVG document: {svg[:100]!r}")
    return svg


def _limit_output() -> None:
    """In `dot`'s process, before it starts: writing more than MAX_SVG_BYTES kills it (SIGXFSZ)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_SVG_BYTES, MAX_SVG_BYTES))


def data_uri(svg: str) -> str:
    """The SVG as an <img> source: a page shows it without ever running anything it might contain."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
