"""The `course` command: one subcommand per module, each with add_arguments() and run()."""

from __future__ import annotations

import argparse
import importlib
import sys

from autograder.config import ConfigError
from autograder.markers import MarkerError
from autograder.outcome.results import printable

# subcommand -> (module, one-line help). A command's module is imported to add its options: only the
# command being run (every one for `course --help` or a mistyped command); each keeps its heavy
# imports (torch, the hidden suites) inside the functions that need them.
COMMANDS: dict[str, tuple[str, str]] = {
    "build": ("autograder.frontends.build", "generate student_template/ from solutions/ (--check: fail if stale)"),
    "grade": ("autograder.frontends.grade", "grade submissions in the sandbox and write results"),
    "validate": ("autograder.frontends.validate",
                 "prove the hidden suite: reference, template, correct variants, bug catalog"),
    "ci-grade": ("autograder.frontends.ci_grade",
                 "grade a pull request in CI: summary, PR comment, status, results.json"),
    "merge": ("autograder.frontends.merge", "combine the results of grading shards into one gradebook, CSV and report"),
    "report": ("autograder.semester.report", "write the class report (HTML and PNGs) from a folder of results"),
    "demo": ("autograder.frontends.demo", "grade a generated demo class and show its gradebook and report"),
    "gradescope": ("autograder.frontends.gradescope", "write the Gradescope autograder zip of an assignment"),
    "override": ("autograder.frontends.override",
                 "record an instructor's decision on a student's score (kept across regrades)"),
    "similarity": ("autograder.frontends.similarity",
                   "rank pairs of submissions by how much of their own code they share"),
    "export": ("autograder.frontends.export",
               "write results as the gradebook CSV Canvas, Moodle or Gradescope imports"),
}


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with the options of `command` (of every command when it is not one)."""
    parser = argparse.ArgumentParser(prog="course", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(module=module)
        if command not in COMMANDS or name == command:
            importlib.import_module(module).add_arguments(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser(argv[0] if argv else None).parse_args(argv)
    try:
        return importlib.import_module(args.module).run(args)
    except (ConfigError, MarkerError) as exc:
        print(f"course {args.command}: {printable(exc)}", file=sys.stderr)
        return 2
