"""The nbgrader course's notebooks: recipes -> source notebooks, and notebooks -> gradable submissions.

A recipe (assignments/recipes/<assignment>.py) is a percent-format script. Each cell starts with

    # %% [kind] key=value ...

kind is one of
- markdown: text (each line's leading "# " is dropped);
- code: an ordinary cell the student may change;
- given: a locked cell nbgrader restores at autograde (id=...);
- solution: the student's answer (id=...), with `### BEGIN SOLUTION: <hint>` regions nbgrader stubs;
- test: the graded cell of a part of course.yml (part=...; its grade_id is the part's name and its
  points come from course.yml, as in the gradebook `course grade --gradebook` writes). Its
  visible asserts help the student; its hidden section only asks the grader for the part's score;
- header: not a notebook cell: the first lines of an exported file (file=...).
given and solution cells may carry export=<file>: the code of a submission, in the template
layout, is the concatenation of the cells exported to each file, so `course grade` and the trusted
nbgrader preprocessor grade a notebook exactly like a module submission.

A line `# include: <file under solutions/> <name>` pulls that top-level class or function from
the reference, markers and all, so no solution code is kept twice.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from autograder import config, markers

# nbformat imports jsonschema, which imports rfc3987-syntax when it is installed (Jupyter's packages
# install it) to check "iri" formats no notebook schema uses; building its grammar costs a second
# of every process that reads a notebook. Keep it out unless something imported it already.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # None: "cannot be imported"
import nbformat  # noqa: E402

# What a hidden test cell calls: honest kernels answer 0.0; the trusted preprocessor
# (autograder.frontends.nbgrader_preprocessors.TrustedScores) then replaces the output with the grader's score.
PART_SCORE = "course_part_score"
HONEST_PLACEHOLDER = "0.0"
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"

_HEADER = re.compile(r"^# %% \[(?P<kind>\w+)\](?P<options>.*)$")
_INCLUDE = re.compile(r"^(?P<indent>\s*)# include: (?P<file>\S+) (?P<name>\w+)\s*$")
_KINDS = {"markdown", "code", "given", "solution", "test", "header"}
_KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


class RecipeError(ValueError):
    """A recipe that cannot become a notebook; the message names the recipe and line."""


@dataclass(frozen=True)
class Cell:
    kind: str
    source: str
    id: str = ""
    part: str = ""
    export: str = ""


@dataclass(frozen=True)
class Recipe:
    assignment: str
    cells: tuple[Cell, ...]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def exports(self) -> dict[str, list[str]]:
        """file -> ids of the cells whose code makes it, in notebook order."""
        files: dict[str, list[str]] = {name: [] for name in self.headers}
        for cell in self.cells:
            if cell.export:
                files.setdefault(cell.export, []).append(cell.id)
        return files


# -- recipes -----------------------------------------------------------------------------------
def _definition(file: str, name: str, solutions: Path) -> str:
    path = solutions / file
    source = path.read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name == name:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            return "".join(source.splitlines(keepends=True)[first - 1:node.end_lineno]).rstrip("\n")
    raise RecipeError(f"solutions/{file} has no top-level class or function {name!r}")


def _expand(lines: list[str], solutions: Path) -> str:
    out = []
    for line in lines:
        include = _INCLUDE.match(line)
        out.append(_definition(include["file"], include["name"], solutions) if include else line)
    return "\n".join(out).strip("\n")


def _options(text: str, where: str) -> dict[str, str]:
    options = {}
    for item in text.split():
        key, sep, value = item.partition("=")
        if not sep or key not in {"id", "part", "export", "file"}:
            raise RecipeError(f"{where}: unknown cell option {item!r}")
        options[key] = value
    return options


def recipes_dir(course_root: Path) -> Path:
    """A course's notebook recipes: <course>/assignments/recipes/<assignment>.py."""
    return course_root / "assignments" / "recipes"


def source_dir(course_root: Path) -> Path:
    """nbgrader's source folder the recipes render into: <course>/assignments/source/."""
    return course_root / "assignments" / "source"


def parse(path: Path, solutions: Path | None = None) -> Recipe:
    """Read a recipe; includes are resolved against solutions/ (default: that of the course the recipe is in)."""
    solutions = solutions or path.resolve().parents[2] / config.SOLUTIONS
    assignment = path.stem
    cells: list[Cell] = []
    headers: dict[str, str] = {}
    current: tuple[str, dict[str, str], int] | None = None
    body: list[str] = []

    def close() -> None:
        if current is None:
            return
        kind, options, line = current
        where = f"{path.name}:{line}"
        if kind == "markdown":
            text = "\n".join(re.sub(r"^# ?", "", row) for row in body).strip("\n")
            cells.append(Cell("markdown", text))
        elif kind == "header":
            headers[options["file"]] = _expand(body, solutions) + "\n"
        else:
            source = _expand(body, solutions)
            if kind != "solution":  # only solution cells may keep markers: nbgrader stubs nothing else
                source = markers.strip_markers(source)
            if kind in {"given", "solution"} and "id" not in options:
                raise RecipeError(f"{where}: a {kind} cell needs id=...")
            if kind == "test" and "part" not in options:
                raise RecipeError(f"{where}: a test cell needs part=...")
            cell_id = options.get("id") or (options["part"] if kind == "test" else "")
            cells.append(Cell(kind, source, cell_id, options.get("part", ""),
                              options.get("export", "")))

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            close()
            if header["kind"] not in _KINDS:
                raise RecipeError(f"{path.name}:{number}: unknown cell kind {header['kind']!r}")
            current, body = (header["kind"], _options(header["options"], f"{path.name}:{number}"), number), []
        elif current is not None:
            body.append(line)
    close()
    ids = [c.id for c in cells if c.id]
    if len(ids) != len(set(ids)):
        raise RecipeError(f"{path.name}: cell ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}")
    return Recipe(assignment, tuple(cells), headers)


def included_files(path: Path) -> list[str]:
    """The files under solutions/ a recipe includes from (what a notebook's grading reads of them)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return sorted({include["file"] for line in lines if (include := _INCLUDE.match(line))})


def recipe_paths(recipes: Path) -> list[Path]:
    return sorted(recipes.glob("*.py"))


def load_recipe(assignment: str, recipes: Path) -> Recipe:
    path = recipes / f"{assignment}.py"
    if not path.is_file():
        raise config.ConfigError(f"assignment {assignment!r} has no notebook recipe at {path}")
    return parse(path)


# -- rendering ---------------------------------------------------------------------------------
def _notebook_solution_source(source: str) -> str:
    """Our `### BEGIN SOLUTION: hint` line becomes a hint comment above nbgrader's plain marker,
    so the hint survives nbgrader's stub (which replaces the whole marker line)."""
    out = []
    for line in source.split("\n"):
        begin = markers._BEGIN_LINE.match(line)
        if begin and begin["hint"]:
            out += [f"{begin['indent']}# Hint: {begin['hint']}", f"{begin['indent']}{markers.BEGIN}"]
        else:
            out.append(line)
    return "\n".join(out)


def _nbgrader(cell: Cell, points: float | None) -> dict:
    meta = {"grade": cell.kind == "test", "grade_id": cell.id, "locked": cell.kind != "solution",
            "schema_version": 3, "solution": cell.kind == "solution", "task": False}
    if cell.kind == "test":
        meta["points"] = points
    return meta


def _test_source(cell: Cell) -> str:
    hidden = (f"{HIDDEN_BEGIN}\n# At autograde the course's trusted grader replaces this cell's output\n"
              f"{PART_SCORE}({cell.part!r})\n{HIDDEN_END}")
    return f"{cell.source}\n{hidden}" if cell.source else hidden


def render(recipe: Recipe, assignment: config.Assignment) -> nbformat.NotebookNode:
    """The source notebook: solutions and hidden tests in place, no outputs, stable cell ids."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": dict(_KERNELSPEC), "language_info": {"name": "python"}}
    tested = set()
    for index, cell in enumerate(recipe.cells):
        cell_id = cell.id or f"{recipe.assignment}-{index:02d}"
        if cell.kind == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(cell.source, id=cell_id))
            continue
        source = cell.source
        metadata = {}
        if cell.kind == "solution":
            source = _notebook_solution_source(source)
        elif cell.kind == "test":
            if cell.part not in assignment.parts:
                raise RecipeError(f"{recipe.assignment}: test cell for part {cell.part!r}, which course.yml "
                                  f"does not list (parts: {', '.join(assignment.parts)})")
            tested.add(cell.part)
            source = _test_source(cell)
        if cell.kind in {"given", "solution", "test"}:
            points = assignment.parts[cell.part].points if cell.kind == "test" else None
            metadata["nbgrader"] = _nbgrader(cell, points)
        nb.cells.append(nbformat.v4.new_code_cell(source, id=cell_id, metadata=metadata))
    untested = set(assignment.parts) - tested
    if untested:
        raise RecipeError(f"{recipe.assignment}: course.yml parts without a test cell: {sorted(untested)}")
    return nb


def dumps(nb: nbformat.NotebookNode) -> bytes:
    nbformat.validate(nb)
    return (nbformat.writes(nb) + "\n").encode("utf-8")


def notebook_assignments(course: config.Course) -> dict[str, config.Assignment]:
    return {name: a for name, a in course.assignments.items() if a.kind == "notebook"}


def source_files(course: config.Course, recipes: Path | None = None) -> dict[str, bytes]:
    """What assignments/source/ must contain: <assignment>/<assignment>.ipynb -> bytes."""
    recipes = recipes or recipes_dir(course.root)
    notebook_kind = notebook_assignments(course)
    files = {}
    for path in recipe_paths(recipes):
        if path.stem not in notebook_kind:
            raise RecipeError(f"recipe {path.name} has no `kind: notebook` assignment {path.stem!r} in course.yml")
        files[f"{path.stem}/{path.stem}.ipynb"] = dumps(render(parse(path), notebook_kind[path.stem]))
    missing = set(notebook_kind) - {p.stem for p in recipe_paths(recipes)}
    if missing:
        raise RecipeError(f"notebook assignments without a recipe in {recipes}: {sorted(missing)}")
    return files


# -- notebook -> submission --------------------------------------------------------------------
_MAGIC = re.compile(r"^\s*[%!]")


def _plain_python(source: str) -> str:
    """IPython magics and shell escapes cannot run in a module; keep their line numbers."""
    return "\n".join(f"# {line}" if _MAGIC.match(line) else line for line in source.split("\n"))


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook's JSON, without validation beyond parsing (students' notebooks are messy)."""
    return nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)


def cell_sources(nb: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> source for the notebook's nbgrader cells (the first cell wins on duplicates)."""
    found: dict[str, str] = {}
    cells = nb.get("cells")
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        metadata = cell.get("metadata")
        nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
        grade_id = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
        if isinstance(grade_id, str):
            source = cell.get("source", "")
            found.setdefault(grade_id, "".join(map(str, source)) if isinstance(source, list) else str(source))
    return found


def extract(nb: nbformat.NotebookNode, recipe: Recipe) -> dict[str, str]:
    """file -> code of the submission this notebook makes (the template layout)."""
    return _exported(cell_sources(nb), recipe)


def solution_files(recipe: Recipe) -> dict[str, str]:
    """file -> the code a notebook with the recipe's solutions makes, solution markers included."""
    return _exported({cell.id: cell.source for cell in recipe.cells if cell.id}, recipe)


def _exported(sources: dict[str, str], recipe: Recipe) -> dict[str, str]:
    files = {}
    for file, ids in recipe.exports.items():
        parts = [recipe.headers.get(file, "").rstrip("\n")]
        parts += [_plain_python(sources[i]) for i in ids if i in sources]
        files[file] = "\n\n\n".join(p for p in parts if p) + "\n"
    return files


def missing_cells(nb: nbformat.NotebookNode, recipe: Recipe) -> list[str]:
    sources = cell_sources(nb)
    return [i for ids in recipe.exports.values() for i in ids if i not in sources]
