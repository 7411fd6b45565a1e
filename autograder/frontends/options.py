"""What the `course` subcommands share: the option groups every grading command takes, declared once."""

from __future__ import annotations

import argparse
from pathlib import Path

SANDBOXES = ("bwrap", "process")


def add_course_options(parser: argparse.ArgumentParser, *, assignment: bool = True) -> None:
    """--config (the course.yml every step reads) and --assignment."""
    group = parser.add_argument_group("course")
    group.add_argument("--config", type=Path, help="course.yml to use (default: the nearest one in the "
                       "current folder or above)")
    if assignment:
        group.add_argument("--assignment", help="assignment in course.yml (default: the first)")


def add_sandbox_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sandbox", choices=SANDBOXES, help="default: bwrap where installed")
