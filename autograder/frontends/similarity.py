"""`course similarity`: pairs of a class's submissions ranked by how much of their own code they share
(autograder/semester/similar_code.py says how), printed, the flagged ones written side by side as HTML, and with
--results kept beside the class's results for its class report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder import config
from autograder.frontends import options
from autograder.inputs.sources import InputError, collect
from autograder.semester.similar_code import Pair, of_sources, save


def write_html(pairs: list[Pair], threshold: float, out: Path) -> None:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("autograder", "templates"), autoescape=select_autoescape())
    out.write_text(env.get_template("similarity.html.j2").render(pairs=pairs, threshold=threshold), encoding="utf-8")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submissions", nargs="+", type=Path, help="the class, as for course grade")
    parser.add_argument("--out", type=Path, help="an HTML report of the flagged pairs, side by side")
    parser.add_argument("--results", type=Path, metavar="DIR",
                        help="the class's results folder: keep the ranking there for its class report")
    options.add_course_options(parser)


def main(*, submissions: list[Path], out: Path | None = None, results: Path | None = None,
         assignment: str | None = None, config_path: Path | None = None) -> int:
    course = config.load(config_path)
    name, spec = course.assignment(assignment)
    try:
        sources = collect(submissions, name, spec)
    except InputError as exc:
        print(f"course similarity: {exc}", file=sys.stderr)
        return 2
    threshold = course.grading.similarity_threshold
    pairs = of_sources(sources, spec, course.root)
    for pair in pairs[:20]:
        flag = "  FLAGGED" if pair.similarity >= threshold else ""
        print(f"{pair.similarity:6.1%}  {pair.first}  {pair.second}{flag}")
    if out is not None:
        write_html([p for p in pairs if p.similarity >= threshold], threshold, out)
        print(f"similarity report: {out}")
    if results is not None:
        if not results.is_dir():
            print(f"course similarity: {results} is not a folder of results", file=sys.stderr)
            return 2
        print(f"kept for the class report: {save(pairs, threshold, results)}")
    return 0


def run(args: argparse.Namespace) -> int:
    return main(submissions=args.submissions, out=args.out, results=args.results, assignment=args.assignment,
                config_path=args.config)
