"""Results rendered for their readers: Gradescope JSON, JUnit XML, and, from one feedback model
(autograder/outcome/feedback.py), Markdown (PR comments) and HTML (one submission's page, its graph pictures inline)."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from autograder.outcome import feedback, pictures
from autograder.outcome.results import Results, TestResult, printable
from autograder.render.files import atomic_write
from autograder.render.text import code_block, markdown_code, markdown_plain, score_of, template_value

if TYPE_CHECKING:
    import jinja2

FORMATS = ("json", "junit", "markdown", "html")
SUFFIX = {"json": ".json", "junit": ".xml", "markdown": ".md", "html": ".html"}
PICTURE_NOTE = "(the same picture, drawn by Graphviz, is in the HTML results)"


def to_json(results: Results) -> str:
    """The stored form (Results.to_dict, docs/results.schema.json)."""
    return json.dumps(results.to_dict(), indent=2, sort_keys=True) + "\n"


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    """text without the characters XML 1.0 cannot hold (a student's message may contain any)."""
    return _NOT_XML.sub("\ufffd", text)


def to_junit(results: Results) -> str:
    failures = sum(t.status == "failed" for t in results.tests)
    suites = ET.Element("testsuites", name=_xml(results.assignment), tests=str(len(results.tests)),
                        failures=str(failures))
    by_part: dict[str, list[TestResult]] = {}
    for test in results.tests:
        by_part.setdefault(test.part, []).append(test)
    for part, tests in by_part.items():
        suite = ET.SubElement(suites, "testsuite", name=_xml(f"{results.submission}.{part}"),
                              tests=str(len(tests)), failures=str(sum(t.status == "failed" for t in tests)),
                              errors="0", skipped="0")
        for test in tests:
            case = ET.SubElement(suite, "testcase", classname=_xml(f"{results.assignment}.{part}"),
                                 name=_xml(test.name))
            ET.SubElement(ET.SubElement(case, "properties"), "property", name="score",
                          value=score_of(test.score, test.max_score))
            if test.status == "failed":
                output = _xml(test.output)
                ET.SubElement(case, "failure", message=output.splitlines()[0] if output else "failed",
                              type=_xml(test.pitfall or "failed")).text = output
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def markdown_feedback(model: feedback.Feedback, *, heading: str = "###", picture_note: str = PICTURE_NOTE,
                      max_chars: int | None = None) -> list[str]:
    """The feedback model (autograder/outcome/feedback.py) as GitHub Markdown lines: the parts as a table, then each
    failure whole (its text in a fenced block, where nothing a student wrote can become markup) and its picture
    as a Mermaid diagram, which GitHub draws in the comment itself (no image host, no file committed, private
    repositories too). With max_chars, whole failures are left out, last first, and a line says how many."""
    lines = ["| Part | Points | Tests |", "| --- | ---: | --- |"]
    for part in model.parts:
        state = f"{len(part.failures)} to fix" if part.failures else "all passed" if part.passed else ""
        lines.append(f"| {markdown_plain(part.title)} | {part.score} | {state} |")
    blocks = []
    for part in model.failing_parts:
        for number, failure in enumerate(part.failures):
            block = ([f"{heading}# {markdown_plain(part.title)}: {part.score}", ""] if number == 0 else [])
            block += [f"{markdown_code(failure.test, in_table=False)} (\u2212{failure.lost})", "",
                      code_block(printable(failure.headline + ("\n" + failure.details if failure.details else ""))), ""]
            diagram = pictures.mermaid(failure.picture) if failure.picture else ""
            if diagram:
                block += [markdown_plain(pictures.ALT[0].upper() + pictures.ALT[1:] + ":"), "",
                          "```mermaid", diagram, "```", ""]
            if failure.picture:
                block += [markdown_plain(picture_note), ""]
            blocks.append(block)
    if not blocks:
        return [*lines, "", "All visible tests passed."]
    kept, size = [], sum(len(line) + 1 for line in lines)
    for block in blocks:
        cost = sum(len(line) + 1 for line in block)
        if max_chars is not None and size + cost > max_chars:
            break
        kept.append(block)
        size += cost
    left_out = len(blocks) - len(kept)
    body = [line for block in kept for line in block]
    if left_out:
        body.append(markdown_plain(f"{left_out} more failing tests are left out here (the comment would be too "
                                   "long); the results file has them all."))
    passed = model.passed_tests
    return [*lines, "", *body, *([markdown_plain(f"{passed} tests passed.")] if passed else [])]


def to_markdown(results: Results, decimals: int = feedback.DECIMALS) -> str:
    """GitHub Markdown: the course's words escaped, every text a student produced in code."""
    model = feedback.feedback_of(results, decimals=decimals)
    lines = [f"### {markdown_plain(results.assignment)}: {model.score}", ""]
    messages = [markdown_code(message, in_table=False) for message in results.messages]
    lines += [f"> {message}" for message in messages if message]
    if any(messages):
        lines.append("")
    return "\n".join(lines + markdown_feedback(model)) + "\n"


@functools.cache
def _templates() -> jinja2.Environment:
    """The HTML templates (jinja2 is imported on first use: grading into JSON never needs it)."""
    import jinja2

    templates = jinja2.Environment(loader=jinja2.PackageLoader("autograder", "templates"), autoescape=True,
                                   undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                   finalize=template_value)
    templates.filters["svg_data_uri"] = pictures.data_uri
    return templates


def to_html(results: Results, decimals: int = feedback.DECIMALS) -> str:
    """One submission's results as a page (outcome/feedback.py): the parts, what to fix part by part with each
    failing graph's picture, the tests that passed folded."""
    return _templates().get_template("results/results.html.j2").render(
        title=f"{results.assignment}: results", feedback=feedback.feedback_of(results, decimals=decimals)) + "\n"


RENDER = {"json": to_json, "junit": to_junit, "markdown": to_markdown, "html": to_html}


def write(results: Results, path: Path, fmt: str, decimals: int = feedback.DECIMALS) -> None:
    """The results file in format `fmt`, written atomically (HTML shows scores with `decimals`)."""
    atomic_write(path, to_html(results, decimals) if fmt == "html" else RENDER[fmt](results))
