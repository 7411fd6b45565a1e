"""Scores out of the grader: nbgrader's gradebook (any SQLAlchemy URL), a CSV, a terminal table.

All three are rebuilt from Results, so writing them again (a resumed batch, a merge of shards)
updates rows instead of adding them. In the gradebook an assignment is one nbgrader notebook of
the same name with one grade cell per graded part (its points from course.yml); a part's score
is that cell's auto_score, and nbgrader adds them up into the submission's total.
"""

from __future__ import annotations

import csv
import io
import os
import warnings
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from autograder import config
from autograder.entry_points import put_scripts_first_on_path
from autograder.outcome.results import Results, printable
from autograder.render.files import atomic_write
from autograder.render.text import points, spreadsheet_cell


def database_url(url_or_path: str | os.PathLike) -> str:
    """An SQLAlchemy URL as given, or a path turned into an SQLite URL."""
    text = str(url_or_path)
    if "://" in text:
        return text
    path = Path(text).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _ensure_structure(gb, assignment_name: str, assignment: config.Assignment) -> None:
    gb.update_or_create_assignment(assignment_name)
    from nbgrader.api import MissingEntry

    try:
        gb.find_notebook(assignment_name, assignment_name)
    except MissingEntry:
        gb.add_notebook(assignment_name, assignment_name)
    for part_name, part in assignment.parts.items():
        try:
            cell = gb.find_grade_cell(part_name, assignment_name, assignment_name)
            if cell.max_score != part.points:
                cell.max_score = part.points
                gb.db.commit()
        except MissingEntry:
            gb.add_grade_cell(part_name, assignment_name, assignment_name, max_score=part.points, cell_type="code")


def write_gradebook(results: list[Results], url: str, course: config.Course, assignment_name: str) -> None:
    """Put each submission's part scores into nbgrader's gradebook (created or updated in place)."""
    from nbgrader.api import Gradebook, MissingEntry  # imported on use: `course` starts faster
    from sqlalchemy.exc import SAWarning

    _, assignment = course.assignment(assignment_name)
    put_scripts_first_on_path()  # a new gradebook runs `alembic` by name
    with Gradebook(url) as gb, warnings.catch_warnings():
        # nbgrader's add_submission builds objects in a way SQLAlchemy 2 warns about; the rows are right
        warnings.simplefilter("ignore", SAWarning)
        _ensure_structure(gb, assignment_name, assignment)
        for result in results:
            gb.update_or_create_student(result.submission)
            try:
                gb.find_submission(assignment_name, result.submission)
            except MissingEntry:
                gb.add_submission(assignment_name, result.submission)
            scores = {part.name: part.score for part in result.parts}
            for part_name in assignment.parts:
                grade = gb.find_grade(part_name, assignment_name, assignment_name, result.submission)
                grade.auto_score = scores.get(part_name, 0.0)
            gb.db.commit()


def read_gradebook(url: str, assignment_name: str) -> dict[str, dict[str, float]]:
    """{student: {part: score, ..., "total": score}} as nbgrader computes them."""
    from nbgrader.api import Gradebook

    table = {}
    put_scripts_first_on_path()  # a new gradebook runs `alembic` by name
    with Gradebook(url) as gb:
        assignment = gb.find_assignment(assignment_name)
        for submission in assignment.submissions:
            row = {grade.name: grade.score for notebook in submission.notebooks for grade in notebook.grades}
            row["total"] = submission.score
            table[submission.student.id] = row
    return table


def csv_text(results: list[Results], course: config.Course, assignment_name: str) -> str:
    _, assignment = course.assignment(assignment_name)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["submission", "total", "max_score", *assignment.parts, "flags"])
    for result in sorted(results, key=lambda r: r.submission):
        scores = {part.name: part.score for part in result.parts}
        writer.writerow([spreadsheet_cell(result.submission), points(result.score), points(assignment.max_score),
                         *(points(scores.get(name, 0.0)) for name in assignment.parts), ";".join(result.flags)])
    return buffer.getvalue()


def write_csv(results: list[Results], path: Path, course: config.Course, assignment_name: str) -> None:
    atomic_write(path, csv_text(results, course, assignment_name))


def _short(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def table(book: dict[str, dict[str, float]], course: config.Course, assignment_name: str,
          flags: dict[str, tuple[str, ...]] | None = None) -> Table:
    """A gradebook (read_gradebook) as a rich table: one row per student, one column per part (a student
    id is shown as text: rich reads `[...]` in a cell as markup, a terminal reads ANSI escapes)."""
    _, assignment = course.assignment(assignment_name)
    flags = flags or {}
    grid = Table(title=f"nbgrader gradebook: {assignment_name}, {len(book)} submissions")
    grid.add_column("student")
    for name, part in assignment.parts.items():
        grid.add_column(f"{name}\n/{_short(part.points)}", justify="right")
    grid.add_column(f"total\n/{_short(assignment.max_score)}", justify="right", style="bold")
    grid.add_column("flags", style="red")
    for student, row in sorted(book.items()):
        grid.add_row(escape(printable(student)), *(_short(row.get(name, 0.0)) for name in assignment.parts),
                     _short(row["total"]), ", ".join(flags.get(student, ())))
    return grid
