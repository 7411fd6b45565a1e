"""Results rendered for their readers: Gradescope JSON, JUnit XML, Markdown (PR comments), HTML (one
submission's page, its graph pictures inline)."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

from autograder import pictures
from autograder.results import Results
from autograder.sinks import atomic_write, markdown_code, markdown_plain, score_of, template_value

if TYPE_CHECKING:
    import jinja2

FORMATS = ("json", "junit", "markdown", "html")
SUFFIX = {"json": ".json", "junit": ".xml", "markdown": ".md", "html": ".html"}
PICTURE_NOTE = "(a picture of your graph is in the HTML results)"


def to_json(results: Results) -> str:
    return json.dumps(results.to_gradescope(), indent=2, sort_keys=True) + "\n"


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    """text without the characters XML 1.0 cannot hold (a student's message may contain any)."""
    return _NOT_XML.sub("\ufffd", text)


def to_junit(results: Results) -> str:
    failures = sum(t.status == "failed" for t in results.tests)
    suites = ET.Element("testsuites", name=_xml(results.assignment), tests=str(len(results.tests)),
                        failures=str(failures))
    by_part: dict[str, list] = {}
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


def to_markdown(results: Results) -> str:
    """GitHub Markdown: the course's words escaped, every text a student produced in a code span."""
    lines = [f"### {markdown_plain(results.assignment)}: {score_of(results.score, results.max_score)}", ""]
    messages = [markdown_code(message, in_table=False) for message in results.messages]
    lines += [f"> {message}" for message in messages if message]
    if any(messages):
        lines.append("")
    lines += ["| Part | Points |", "| --- | ---: |"]
    lines += [f"| {markdown_plain(p.title)} | {score_of(p.score, p.max_score)} |" for p in results.parts]
    failed = [t for t in results.tests if t.status == "failed" and t.visibility == "visible"]
    if failed:
        lines += ["", "| Failed test | Part | What went wrong |", "| --- | --- | --- |"]
        # Markdown targets (PR comments, job summaries) do not show inline SVG: the HTML results do.
        lines += [f"| {markdown_code(t.name.split('::')[-1])} | {markdown_plain(t.part)} | "
                  f"{markdown_code(t.output) or 'failed'}{' ' + PICTURE_NOTE if t.picture else ''} |" for t in failed]
    else:
        lines += ["", "All visible tests passed."]
    return "\n".join(lines) + "\n"


@functools.cache
def _templates() -> jinja2.Environment:
    """The HTML templates (jinja2 is imported on first use: grading into JSON never needs it)."""
    import jinja2

    templates = jinja2.Environment(loader=jinja2.PackageLoader("autograder", "templates"), autoescape=True,
                                   undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                   finalize=template_value)
    templates.filters["svg_data_uri"] = pictures.data_uri
    return templates


def to_html(results: Results) -> str:
    """One submission's results as a page: parts, visible tests, feedback and each failing graph's picture."""
    return _templates().get_template("results/results.html.j2").render(
        title=f"{results.assignment}: results", result=results, score=score_of(results.score, results.max_score),
        parts=[{"title": p.title, "points": score_of(p.score, p.max_score)} for p in results.parts]) + "\n"


RENDER = {"json": to_json, "junit": to_junit, "markdown": to_markdown, "html": to_html}


def write(results: Results, path: Path, fmt: str) -> None:
    """The results file in format `fmt`, written atomically."""
    atomic_write(path, RENDER[fmt](results))
