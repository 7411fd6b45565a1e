"""Results rendered for their readers: Gradescope JSON, JUnit XML, Markdown (PR comments)."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from autograder.results import Results

FORMATS = ("json", "junit", "markdown")
SUFFIX = {"json": ".json", "junit": ".xml", "markdown": ".md"}


def _points(value: float) -> str:
    return f"{value:g}"


def to_json(results: Results) -> str:
    return json.dumps(results.to_gradescope(), indent=2, sort_keys=True) + "\n"


def to_junit(results: Results) -> str:
    failures = sum(t.status == "failed" for t in results.tests)
    suites = ET.Element("testsuites", name=results.assignment, tests=str(len(results.tests)),
                        failures=str(failures))
    by_part: dict[str, list] = {}
    for test in results.tests:
        by_part.setdefault(test.part, []).append(test)
    for part, tests in by_part.items():
        suite = ET.SubElement(suites, "testsuite", name=f"{results.submission}.{part}",
                              tests=str(len(tests)), failures=str(sum(t.status == "failed" for t in tests)),
                              errors="0", skipped="0")
        for test in tests:
            case = ET.SubElement(suite, "testcase", classname=f"{results.assignment}.{part}",
                                 name=test.name)
            ET.SubElement(ET.SubElement(case, "properties"), "property", name="score",
                          value=f"{_points(test.score)}/{_points(test.max_score)}")
            if test.status == "failed":
                ET.SubElement(case, "failure", message=test.output.splitlines()[0] if test.output else "failed",
                              type=test.pitfall or "failed").text = test.output
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def to_markdown(results: Results) -> str:
    lines = [f"### {results.assignment}: {_points(results.score)}/{_points(results.max_score)}", ""]
    lines += [f"> {_cell(message)}" for message in results.messages]
    if results.messages:
        lines.append("")
    lines += ["| Part | Points |", "| --- | ---: |"]
    lines += [f"| {_cell(p.title)} | {_points(p.score)}/{_points(p.max_score)} |" for p in results.parts]
    failed = [t for t in results.tests if t.status == "failed" and t.visibility == "visible"]
    if failed:
        lines += ["", "| Failed test | Part | What went wrong |", "| --- | --- | --- |"]
        lines += [f"| `{_cell(t.name.split('::')[-1])}` | {t.part} | {_cell(t.output)} |" for t in failed]
    else:
        lines += ["", "All visible tests passed."]
    return "\n".join(lines) + "\n"


RENDER = {"json": to_json, "junit": to_junit, "markdown": to_markdown}
