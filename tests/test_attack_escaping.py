"""Every renderer escapes what it quotes (issue 19): arbitrary student text, wherever it lands (a test's
feedback, a message, the output excerpt, the submission name), is read back by a real parser of each
target and is found there only as text.

Student text reaches results through feedback quoting exception messages and the student's names and
values, staging messages (file names), what the code printed, and the submission's name. Each target is
parsed as its readers parse it: GitHub Markdown with markdown-it-py (CommonMark, GFM tables,
strikethrough and linkify), HTML with html.parser, JUnit with xml.etree and junitparser, results.json
with json, Gradescope's `md` output with markdown-it-py, terminal lines as the characters they hold.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import html.parser
import io
import json
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from xml.etree import ElementTree as ET

import junitparser
import pytest
from checkout import REPO_ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from rich.console import Console

from autograder import config
from autograder.frontends import ci_grade, gradescope_run, nbgrader_preprocessors
from autograder.outcome.results import PartResult, Results, TestResult, printable
from autograder.render import gradebook
from autograder.render.formats import to_html, to_junit, to_markdown
from autograder.render.text import markdown_text, spreadsheet_cell
from autograder.semester import batch, report

# Pieces of hostile text, mixed by hypothesis with arbitrary unicode (controls included).
FRAGMENTS = [
    "[click](https://evil.example/p)", "![](https://evil.example/t.png)", "<https://evil.example>",
    "https://evil.example/x", "www.evil.example", "mallory@evil.example", "@octocat", "#1", "GH-1",
    "<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "<!-- course-ci-grade:micrograd -->",
    "<a href='javascript:alert(1)'>", "&lt;b&gt;", "&#91;x&#93;(y)", "&amp;", "\\", "\\|", "|", "| a | b |",
    "\n| --- | --- |\n", "# heading", "\n===\n", "\n---\n", "***", "```", "~~~", "`", "``", "**", "__", "~~",
    "> ", "- ", "+ ", "1. ", "2) ", "    indented", "\t", "[ref]: https://evil.example", "[ref]", ":+1:",
    "\x1b[31m", "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\", "\x1b]0;title\x07", "\r", "\x00",
    "\x7f", "\x85", "\u202e", "\u2066", "\u2028", "\ud800", "\udc80", "\ufffe", "[bold]", "[/]",
    "[link=https://evil.example]x[/link]", "=HYPERLINK(\"https://evil.example\")", "+1", "-1", "@SUM(A1)",
    "]]>", "<![CDATA[", "\"", "'", "{{ 7*7 }}", "%s", "ünïcødé", "😀",
]
student_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), min_size=1,
                        max_size=6).map("".join)
# Text without characters `printable` shows as escapes: it must come out exactly as it went in.
_SHOWN_AS_ESCAPES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
plain_text = student_text.map(lambda text: _SHOWN_AS_ESCAPES.sub("", text.encode("utf-8", "ignore").decode()))

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(FAST, max_examples=30)  # rich tables and whole HTML pages take milliseconds each
COURSE = config.load()
ASSIGNMENT_NAME, ASSIGNMENT = COURSE.assignment()
PART = next(iter(ASSIGNMENT.parts))


def results_with(text: str, *, submission: str = "alice") -> Results:
    """A result in which `text` is everywhere a student's text can be."""
    tests = (TestResult("test_operations.py::test_add", PART, 1.0, 1.0, "passed", "", "visible"),
             TestResult("test_operations.py::test_mul", PART, 0.0, 2.0, "failed", f"yours is {text}", "visible",
                        "overwrite-grad"),
             TestResult("test_operations.py::test_pow", PART, 0.0, 2.0, "failed", text, "visible"))
    parts = tuple(PartResult(name, part.title, 1.0 if name == PART else 0.0, part.points)
                  for name, part in ASSIGNMENT.parts.items())
    return Results(submission=submission, assignment=ASSIGNMENT_NAME, tests=tests, parts=parts, flags=("crash",),
                   messages=(f"{text} is not a regular file; it was not graded.", text), output_excerpt=text)


# -- GitHub Markdown: `course grade --format markdown`, the PR comment and the job summary -----------------
GITHUB = MarkdownIt("commonmark", {"linkify": True}).enable(["table", "strikethrough", "linkify"])


def _shape(markdown: str) -> list:
    """Every token as GitHub would build it, with the text of everything but code spans: the same shape
    for any student text means the student's text made no structure and sits only in code spans."""
    shape = []
    for token in GITHUB.parse(markdown):
        shape.append((token.type, token.tag, token.nesting))
        for child in token.children or []:
            shape.append((child.type, None if child.type == "code_inline" else child.content, child.attrs))
    return shape


def _code_spans(markdown: str) -> list[str]:
    return [child.content for token in GITHUB.parse(markdown) for child in token.children or []
            if child.type == "code_inline"]


def _github_documents(results: Results) -> list[str]:
    change = ci_grade.Change("a" * 40, "b" * 40, ("micrograd/engine.py",), ("micrograd/engine.py",), ())
    summary = ci_grade.render_summary(results, change)
    return [to_markdown(results), summary, ci_grade.render_comment(summary, ASSIGNMENT_NAME, None)]


@FAST
@given(student_text)
def test_github_markdown_shows_student_text_only_in_code_spans(text):
    documents, reference = _github_documents(results_with(text)), _github_documents(results_with("x"))
    for document, expected in zip(documents, reference, strict=True):
        if text.split():  # all whitespace makes no code span at all
            assert _shape(document) == _shape(expected)
        assert not any(token.type in ("link_open", "image")  # the comment's own HTML is in its shape
                       for token in GITHUB.parse(document) for token in [token, *(token.children or [])])
    assert documents[2].startswith(ci_grade.marker(ASSIGNMENT_NAME) + "\n")  # the workflow finds it there


@FAST
@given(plain_text)
def test_github_markdown_shows_the_student_text_as_written(text):
    """A message on one line (whitespace runs as one space) in a code span; a failure's feedback whole, in a
    fenced block, exactly as written."""
    def flat(words: str) -> str:
        return " ".join(words.split())

    markdown = to_markdown(results_with(text))
    shown = [m for m in (flat(f"{text} is not a regular file; it was not graded."), flat(text)) if m]
    assert _code_spans(markdown)[:len(shown)] == shown
    fences = [token.content.rstrip("\n") for token in GITHUB.parse(markdown) if token.type == "fence"]
    # (a fence keeps every line but trailing blank ones)
    assert fences == [f"yours is {text}".rstrip("\n"), (text if text.strip() else "failed").rstrip("\n")]


def test_the_issue_link_and_image_are_code():
    """Issue 19, found on a8e86a8: `--format markdown` kept live links and images from an exception message."""
    text = "yours is 3 [click here](https://evil.example/phish) ![](https://evil.example/t.png) @octocat #1"
    markdown = to_markdown(results_with(text))
    inline = [child.type for token in GITHUB.parse(markdown) for child in token.children or []]
    assert "link_open" not in inline and "image" not in inline
    assert f"> `{text}`" in markdown and f"\nyours is {text}\n" in markdown


# -- Gradescope: results.json with `md` outputs, `html` where a picture is shown --------------------------
GRADESCOPE_MD = MarkdownIt("commonmark", {"linkify": True}).enable(["table", "strikethrough", "linkify"])


def _markdown_lines(markdown: str) -> list[str]:
    """The text Gradescope's Markdown shows, line by line; fails on anything but plain paragraphs."""
    lines, line = [], []
    for token in GRADESCOPE_MD.parse(markdown):
        assert token.type in ("paragraph_open", "paragraph_close", "inline"), token.type
        for child in token.children or []:
            assert child.type in ("text", "hardbreak", "softbreak"), child.type
            if child.type == "text":
                line.append(child.content)
            else:
                lines.append("".join(line))
                line = []
        if token.type == "paragraph_close":
            lines.append("".join(line))
            line = []
    return [shown for line in lines if (shown := line.strip())]


def _visible_lines(text: str) -> list[str]:
    return [shown for line in text.split("\n") if (shown := line.strip())]


class _Page(html.parser.HTMLParser):
    """Tags with their attribute names, attribute values and text, as a browser's tokenizer reads them."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, tuple[str, ...]]] = []
        self.values: list[tuple[str, str]] = []
        self.text: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, tuple(name for name, _ in attrs)))
        self.values += [(name, value or "") for name, value in attrs]

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        self.text.append(data)

    def handle_comment(self, data):
        self.tags.append(("<!--", ()))

    def handle_decl(self, decl):
        self.tags.append(("<!", (decl,)))

    def handle_pi(self, data):
        self.tags.append(("<?", ()))


def _gradescope(results: Results) -> dict:
    data = gradescope_run.gradescope_json(results, ASSIGNMENT, sandbox="bwrap", seconds=1.0)
    return json.loads(json.dumps(data))  # what Gradescope reads


@FAST
@given(student_text)
def test_gradescope_output_is_plain_text_in_its_declared_format(text):
    drawn = replace(results_with(text), tests=(
        *results_with(text).tests,
        TestResult("test_graph.py::test_drawn", PART, 0.0, 1.0, "failed", text, "visible", picture="<svg/>")))
    data = _gradescope(drawn)
    assert data["output_format"] == data["test_output_format"] == "md"
    for test in data["tests"]:
        if test.get("output_format") == "html":
            page = _Page(test["output"])
            assert [tag for tag, _ in page.tags] == ["pre", "div", "div", "img"]  # the picture's scrolling frame
            assert {name for name, _ in page.values} == {"style", "alt", "src"}
            assert [value for name, value in page.values if name == "style"] == ["overflow-x: auto; max-width: 100%"]
            assert dict(page.values)["src"].startswith("data:image/svg+xml;base64,")
        else:
            _markdown_lines(test["output"])  # paragraphs of text only
    # the submission's output: the messages as text, the parts' table, what the code printed in a fence
    blocks = {token.type for token in GRADESCOPE_MD.parse(data["output"])}
    assert blocks <= {"paragraph_open", "paragraph_close", "inline", "fence", "table_open", "table_close",
                      "thead_open", "thead_close", "tbody_open", "tbody_close", "tr_open", "tr_close",
                      "th_open", "th_close", "td_open", "td_close"}
    fences = [token.content for token in GRADESCOPE_MD.parse(data["output"]) if token.type == "fence"]
    lines = (text + "\n").replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")  # as CommonMark reads
    assert fences == ([lines] if text else [])
    assert not any(child.type in ("link_open", "image", "html_inline") for token in GRADESCOPE_MD.parse(data["output"])
                   for child in token.children or [])


@FAST
@given(plain_text)
def test_gradescope_markdown_shows_the_text_itself(text):
    assert _markdown_lines(markdown_text(text)) == _visible_lines(printable(text))


def test_plain_results_json_declares_text_output():
    """Gradescope renders a top-level output without output_format as simple_format, which is HTML."""
    data = json.loads(json.dumps(results_with("<a href='https://evil.example'>x</a>").to_gradescope()))
    assert data["output_format"] == data["test_output_format"] == "text"


# -- HTML: `--format html`, ci-grade's results.html, the class report's pages --------------------------------
_SCHEME = re.compile(r"^\s*[a-zA-Z][a-zA-Z0-9+.-]*:|^\s*//")


@FEWER
@given(student_text, st.one_of(st.text(min_size=1, max_size=12),
                               st.sampled_from(["//evil.example/x", "javascript:alert(1)", "data:text/html,x"])))
def test_html_pages_hold_student_text_as_text_only(text, name):
    for render in (to_html, report._submission_page):
        page = _Page(render(results_with(text, submission=name)))
        expected = _Page(render(results_with("x" if text else "")))
        assert page.tags == expected.tags  # no element, attribute, comment or declaration came from the text
        for attribute, value in page.values:
            if attribute in ("href", "src"):
                assert not _SCHEME.match(value) or value.startswith("data:image/svg+xml;base64,"), value
        assert "".join(page.text).count(printable(text)) >= 3  # two messages and the test's own feedback


@FAST
@given(plain_text)
def test_html_pages_show_the_text_as_written(text):
    assert text in "".join(_Page(to_html(results_with(text))).text)


# -- JUnit XML ----------------------------------------------------------------------------------------------
def _failures(xml: str) -> dict[str, ET.Element]:
    root = ET.fromstring(xml.encode("utf-8", "backslashreplace"))
    return {case.get("name"): case.find("failure") for case in root.iter("testcase")}


@FAST
@given(student_text)
def test_junit_parses_whatever_the_text(text):
    xml = to_junit(results_with(text, submission=text))
    failures = _failures(xml)
    assert failures["test_operations.py::test_pow"] is not None
    junitparser.JUnitXml.fromstring(xml.encode("utf-8", "backslashreplace"))


@FAST
@given(plain_text)
def test_junit_round_trips_readable_text(text):
    text = text.replace("\ufffe", "").replace("\uffff", "")  # not characters of XML 1.0
    failure = _failures(to_junit(results_with(text)))["test_operations.py::test_pow"]
    assert (failure.text or "") == text


# -- terminal, CSV, nbgrader feedback --------------------------------------------------------------------------
_ACTS_ON_A_TERMINAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


@FAST
@given(student_text)
def test_terminal_lines_hold_no_control_sequence(text):
    """`course grade` in a batch prints each submission's line and each problem through rich."""
    display = batch._Display(total=1, skipped=0, quiet=False)
    with contextlib.redirect_stderr(io.StringIO()) as err:
        display.console = Console(file=err, force_terminal=False, width=4000, highlight=False)
        display.live = False
        display.done(text, 1.0, 2.0, ["crash"])
        display.error(f"could not grade {text}")
    assert not _ACTS_ON_A_TERMINAL.search(err.getvalue())
    assert not _ACTS_ON_A_TERMINAL.search(printable(text))


@FEWER
@given(student_text)
def test_gradebook_table_shows_student_ids_as_text(text):
    """A rich table reads `[bold]` or `[link=...]` in a cell as markup; a student id is text."""
    text = " ".join(text.split())  # an id of one line (each line of a cell is styled on its own), no tab
    buffer = io.StringIO()
    Console(file=buffer, width=4000, force_terminal=True, color_system="truecolor").print(
        gradebook.table({text: {PART: 1.0, "total": 1.0}}, COURSE, ASSIGNMENT_NAME))
    reference = io.StringIO()
    Console(file=reference, width=4000, force_terminal=True, color_system="truecolor").print(
        gradebook.table({"x": {PART: 1.0, "total": 1.0}}, COURSE, ASSIGNMENT_NAME))
    sequences = re.compile(r"\x1b\[[0-9;]*m")
    assert sequences.findall(buffer.getvalue()) == sequences.findall(reference.getvalue())
    assert "\x1b]" not in buffer.getvalue()  # no hyperlink (OSC 8) nor title


@FAST
@given(student_text)
def test_csv_cells_never_start_a_formula(text):
    [_, row] = list(csv.reader(io.StringIO(gradebook.csv_text([results_with("x", submission=text)], COURSE,
                                                              ASSIGNMENT_NAME))))
    assert not row[0].startswith(("=", "+", "-", "@", "\t", "\r"))
    assert row[0] in (printable(text), "'" + printable(text))


def test_spreadsheet_cell_examples():
    assert spreadsheet_cell('=HYPERLINK("https://evil.example")') == '\'=HYPERLINK("https://evil.example")'
    assert spreadsheet_cell("alice") == "alice" and spreadsheet_cell("-1") == "'-1"


@FAST
@given(student_text)
def test_nbgrader_feedback_holds_no_terminal_escape(text):
    """nbconvert turns ANSI escapes in a stream output into styled HTML in the student's feedback page."""
    assert not _ACTS_ON_A_TERMINAL.search(nbgrader_preprocessors._feedback(results_with(text), PART))


def test_printable_examples():
    assert printable("a\x1b[31mb\x1b]0;t\x07\r\n\tc\u202ed\re") == "a\\x1b[31mb\\x1b]0;t\\x07\n\tc\\u202ed\\x0de"
    assert printable("ünïcødé 😀") == "ünïcødé 😀"


# -- end to end: an exception message that carries a link, an image, ANSI and a lone surrogate -------------------
HOSTILE_ADD = ('            raise ValueError("yours is 3 [click here](https://evil.example/phish) "\n'
               '                             "![](https://evil.example/t.png) @octocat #1 \\x1b[31mred\\x1b[0m "'
               ' + chr(0xdc80))\n')


@pytest.mark.slow
def test_a_hostile_exception_message_is_inert_in_every_results_file(tmp_path: Path):
    """On a8e86a8 the Markdown kept the link and the image and wrote ESC raw, and with a lone surrogate in the
    message `--results r.md` and `--results r.html` wrote nothing and said nothing (exit 0)."""
    engine = (REPO_ROOT / "solutions" / "micrograd" / "engine.py").read_text()
    honest = "            self.grad += out.grad\n            other.grad += out.grad\n"
    assert honest in engine
    (tmp_path / "mallory" / "micrograd").mkdir(parents=True)
    for name in ("__init__.py", "nn.py"):
        shutil.copy(REPO_ROOT / "solutions" / "micrograd" / name, tmp_path / "mallory" / "micrograd" / name)
    (tmp_path / "mallory" / "micrograd" / "engine.py").write_text(engine.replace(honest, HOSTILE_ADD, 1))
    written = {}
    for fmt in ("markdown", "html", "junit", "json"):
        done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(tmp_path / "mallory"), "--format", fmt,
                               "--results", str(tmp_path / f"r.{fmt}")], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "\x1b" not in done.stderr
        written[fmt] = (tmp_path / f"r.{fmt}").read_text(encoding="utf-8")  # valid UTF-8
    assert "[click here](https://evil.example/phish)" in written["markdown"]  # the feedback quotes it ...
    inline = [child.type for token in GITHUB.parse(written["markdown"]) for child in token.children or []]
    assert "link_open" not in inline and "image" not in inline  # ... as code
    assert "\x1b" not in written["markdown"] and "\\x1b[31mred" in written["markdown"]
    page = _Page(written["html"])
    assert "yours is 3 [click here](https://evil.example/phish)" in "".join(page.text)
    # the only links are the page's own, to its parts (autograder/templates/results/feedback.html.j2)
    assert all(value.startswith("#part-") for name, value in page.values if name == "href")
    ET.fromstring(written["junit"].encode("utf-8"))
    assert any("yours is 3 [click here]" in test["output"] for test in json.loads(written["json"])["tests"])


def test_pictures_are_images_never_markup():
    """A picture is SVG from `dot`; pages show it only as an <img> with a data: URI, which runs no script.
    (Its labels are the grader's numbers and names: no student text is drawn.)"""
    svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
    drawn = replace(results_with("x"), tests=(
        TestResult("test_graph.py::test_drawn", PART, 0.0, 1.0, "failed", "x", "visible", picture=svg),))
    for page in (to_html(drawn), report._submission_page(drawn)):
        parsed = _Page(page)
        assert not {"svg", "script"} & {tag for tag, _ in parsed.tags}
        assert [value for name, value in parsed.values if name == "src"] == [
            "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()]
    [drawn_test] = [t for t in _gradescope(drawn)["tests"] if t["name"] == "test_graph.py::test_drawn"]
    assert "<script>" not in drawn_test["output"] and drawn_test["output_format"] == "html"
