"""Pictures in feedback: Graphviz DOT, rendered to SVG in the trusted process.

A hidden suite draws what it observed (plain numbers, never the submission's objects) as DOT and
attaches the SVG to its Mistake (`autograder.core.suite.Mistake.picture`); the sinks show it inline
(HTML reports, nbgrader feedback, Gradescope, `course grade --format html`) and, where Markdown is all a
channel takes (a pull request's comment), as the same graph in Mermaid, which GitHub draws itself. A
picture is the grader's risk,
never the student's: when `dot` is missing, too slow, crashes, refuses the source or prints
something that is not SVG, there is no picture, the feedback text says so and the verdict stands.
"""

from __future__ import annotations

import base64
import functools
import html
import logging
import re
import resource
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

log = logging.getLogger("autograder")

ALT = ("your graph with your own data and gradients; the node in red is the first, from the output back, whose "
       "gradient is wrong")
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
# Mermaid: GitHub stops drawing a diagram past 50 000 characters (Mermaid's maxTextSize); ours stay far below.
MAX_MERMAID_CHARS = 20_000
# A label is quoted text; these characters would end it, become markup or an entity code (`#name;`), start a
# directive (`%%{`) or close the Markdown fence: each is written as a character that looks the same and means
# nothing to Mermaid (Mermaid's own entity codes are not decoded by every renderer).
MERMAID_LOOKALIKES = str.maketrans({'"': "'", "`": "'", "<": "\u2039", ">": "\u203a", "&": "\uff06",
                                    "%": "\uff05", ";": "\u037e"} | {chr(c): " " for c in range(32)} | {"\x7f": " "})
SVG_WIDTH = re.compile(r'<svg\b[^>]*?\swidth="([\d.]+)(pt|px)?"')
UNFILLED = frozenset({"none", "white", "transparent", "#ffffff"})
_SVG = "{http://www.w3.org/2000/svg}"
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


def readable_html(svg: str, alt: str) -> str:
    """The picture for a page that is not ours (nbgrader's feedback, Gradescope): at its natural size, in a frame
    that scrolls sideways when the graph is wider than the page. Such pages cap an image at its container's width
    and may drop an image's style, so the inner frame is as wide as the picture and the image says its width; a
    data: URI, so nothing in the SVG runs."""
    found = SVG_WIDTH.search(svg)
    width = round(float(found[1]) * (4 / 3 if found[2] == "pt" else 1)) if found else None
    inner, sized = (f'<div style="width: {width}px">', f' width="{width}"') if width else ("<div>", "")
    return (f'<div style="overflow-x: auto; max-width: 100%">{inner}<img alt="{html.escape(alt)}"{sized} '
            f'src="{data_uri(svg)}"></div></div>')


def mermaid(svg: str) -> str:
    """The picture as a Mermaid flowchart, for Markdown that GitHub renders (a pull request's comment, a job
    summary): the same nodes with the same text, fills and edge labels, read from the SVG `dot` drew (so any
    course's drawing works). "" when there is nothing to draw or it would be too long to render. A label is plain
    text: a student's text can neither end it, add a statement, nor close the Markdown fence around it
    (MERMAID_LOOKALIKES)."""
    try:
        root = ElementTree.fromstring(svg)
    except ElementTree.ParseError:
        return ""
    ids: dict[str, str] = {}
    lines, styles = ["flowchart LR"], []
    for group in root.iter(f"{_SVG}g"):
        if group.get("class") != "node":
            continue
        name = ids.setdefault(_title(group), f"g{len(ids)}")
        texts = [t.text or "" for t in group.iter(f"{_SVG}text")]
        label = (" | " if group.find(f"{_SVG}polyline") is not None else "<br/>").join(
            _mermaid_text(text) for text in texts)
        lines.append(f'    {name}(["{label}"])' if group.find(f"{_SVG}ellipse") is not None
                     else f'    {name}["{label}"]')
        fill = _fill(group)
        if fill:
            styles.append(f"    style {name} fill:{fill},color:#000")
    edges = 0
    for group in root.iter(f"{_SVG}g"):
        if group.get("class") != "edge":
            continue
        tail, _, head = _title(group).partition("->")
        if tail not in ids or head not in ids:
            continue
        label = " ".join(_mermaid_text(t.text or "") for t in group.iter(f"{_SVG}text"))
        lines.append(f'    {ids[tail]} -->|"{label}"| {ids[head]}' if label else f"    {ids[tail]} --> {ids[head]}")
        path = group.find(f"{_SVG}path")
        stroke = path.get("stroke", "black") if path is not None else "black"
        if stroke not in ("black", "#000000") and _colour(stroke):
            styles.append(f"    linkStyle {edges} stroke:{stroke},stroke-width:2px")
        edges += 1
    text = "\n".join(lines + styles)
    return text if ids and len(text) <= MAX_MERMAID_CHARS else ""


def _title(group: ElementTree.Element) -> str:
    title = group.find(f"{_SVG}title")
    return (title.text or "") if title is not None else ""


def _fill(group: ElementTree.Element) -> str:
    """The colour the node's first shape (its outline: a record's box or an ellipse) is filled with, or ""."""
    shapes = [*group.iter(f"{_SVG}polygon"), *group.iter(f"{_SVG}ellipse")]
    fill = shapes[0].get("fill", "none").lower() if shapes else "none"
    return fill if fill not in UNFILLED and _colour(fill) else ""


def _colour(value: str) -> bool:
    return re.fullmatch(r"#[0-9a-fA-F]{3,8}|[a-z]{3,20}", value) is not None


def _mermaid_text(text: str) -> str:
    return text.translate(MERMAID_LOOKALIKES)


def data_uri(svg: str) -> str:
    """The SVG as an <img> source: a page shows it without ever running anything it might contain."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
