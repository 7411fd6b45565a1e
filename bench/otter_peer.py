"""otter-grader as a peer of `course grade` in bench/benchmark.py.

otter-grader (pinned) lives in its own virtual environment under bench/.cache/, created on first
use, never in the project's. The autograd notebook becomes an otter assignment: a master notebook
in otter's format made from the nbgrader source notebook (same cells, same points; each part a
question whose public test is the notebook's visible assert and whose hidden tests are
bench/otter_autograd_tests.py), built with `otter assign`. Each nbgrader submission becomes the
otter student notebook with the student's answer cells, and `otter run` grades it.

    python bench/otter_peer.py FOLDER   # writes the master notebook and otter assign's dist/ there
"""

from __future__ import annotations

import argparse
import ast
import builtins
import inspect
import json
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import nbformat
from otter_autograd_tests import HIDDEN

from autograder.inputs import notebooks

REPO_ROOT = Path(__file__).resolve().parents[1]

OTTER = "otter-grader==7.0.0"
CACHE = Path(__file__).resolve().parent / ".cache"
# `otter run` executes the notebook in a kernel of its own environment: that kernel must import what
# the notebook imports (graphviz), at the versions the course's kernel has.
KERNEL_PACKAGES = ("ipykernel", "graphviz")
ASSIGNMENT_CONFIG = """\
# ASSIGNMENT CONFIG
name: {name}
init_cell: true
export_cell: false
check_all_cell: false
strip_solutions_from_all_cells: true
tests:
  files: false
  ok_format: false
generate: true
"""


def requirements() -> list[str]:
    return [OTTER, *(f"{name}=={version(name)}" for name in KERNEL_PACKAGES)]


def environment() -> tuple[Path | None, str]:
    """(the bin folder of otter's virtual environment, "") once it is installed; (None, why not)
    when it cannot be. Installing takes about a minute, once: a later run reuses the environment
    while its requirements are unchanged."""
    venv = CACHE / OTTER.replace("==", "-")
    stamp = venv / "bench-requirements.txt"
    wanted = "\n".join(requirements()) + "\n"
    if (venv / "bin" / "otter").is_file() and stamp.is_file() and stamp.read_text() == wanted:
        return venv / "bin", ""
    print(f"  installing {', '.join(requirements())} into {venv} (once)", file=sys.stderr, flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True,
                       text=True, timeout=300)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *requirements()],
                       check=True, capture_output=True, text=True, timeout=1200)
    except subprocess.CalledProcessError as error:
        lines = [line for line in error.stderr.splitlines() if line.strip() and not line.startswith("WARNING")]
        return None, f"installing {OTTER} failed: {lines[-1][:300] if lines else error}"
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"installing {OTTER} failed: {error}"
    stamp.write_text(wanted)
    return venv / "bin", ""


def docker_answers() -> bool:
    """Whether a Docker daemon answers (`otter grade` grades in Docker containers)."""
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


# -- the assignment ----------------------------------------------------------------------------
def _raw(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_raw_cell(text)


def _otter_markers(source: str) -> str:
    """nbgrader's `### BEGIN SOLUTION` lines as otter's `# BEGIN SOLUTION` (the hint comment stays)."""
    return re.sub(r"^(\s*)### (BEGIN|END) SOLUTION$", r"\1# \2 SOLUTION", source, flags=re.M)


def _free_names(code: str) -> list[str]:
    """The notebook variables a cell reads without assigning them."""
    names = [node for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Name)]
    stored = {node.id for node in names if isinstance(node.ctx, ast.Store)}
    return sorted({node.id for node in names} - stored - set(dir(builtins)))


def _public_test(part: str, visible: str) -> str:
    """The visible assert of a test cell as an otter test function; otter passes it the notebook's
    variables it names as parameters."""
    return f"def test_{part}_public({', '.join(_free_names(visible))}):\n{textwrap.indent(visible, '    ')}"


def _question(part: str, points: float, test_source: str) -> list[nbformat.NotebookNode]:
    visible = test_source.split(notebooks.HIDDEN_BEGIN)[0].strip()
    tests = ([nbformat.v4.new_code_cell(_public_test(part, visible))] if visible else [])
    tests += [nbformat.v4.new_code_cell(f"# HIDDEN\n{inspect.getsource(test)}") for test in HIDDEN[part]]
    return [_raw(f"# BEGIN QUESTION\nname: {part}\npoints: {points:g}"), _raw("# BEGIN TESTS"), *tests,
            _raw("# END TESTS"), _raw("# END QUESTION")]


def master_notebook(source: Path) -> nbformat.NotebookNode:
    """Otter's master notebook for an nbgrader source notebook: its cells in order, each test cell
    replaced by a question with that part's name and points."""
    nb = nbformat.read(source, as_version=4)
    cells = [_raw(ASSIGNMENT_CONFIG.format(name=source.stem))]
    for cell in nb.cells:
        nbgrader = cell.metadata.get("nbgrader", {})
        if nbgrader.get("grade"):
            cells += _question(nbgrader["grade_id"], nbgrader["points"], cell.source)
        elif cell.cell_type == "code":
            # the grade id names the student's answer cell when a submission is converted
            grade_id = nbgrader.get("grade_id")
            cells.append(nbformat.v4.new_code_cell(_otter_markers(cell.source),
                                                   metadata={"bench": {"cell": grade_id}} if grade_id else {}))
        else:
            cells.append(nbformat.v4.new_markdown_cell(cell.source))
    master = nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)
    nbformat.validate(master)
    return master


@dataclass
class Assignment:
    student: Path  # the notebook otter hands out
    autograder: Path  # the zip `otter run` grades with


def assign(bin_dir: Path, source: Path, folder: Path) -> Assignment:
    """`otter assign` on the master notebook made from `source` (it also checks that the reference
    passes every test)."""
    folder.mkdir(parents=True, exist_ok=True)
    master = folder / source.name
    nbformat.write(master_notebook(source), master)
    try:
        done = subprocess.run([str(bin_dir / "otter"), "assign", "--no-pdfs", master.name, "dist"], cwd=folder,
                              capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RuntimeError(f"otter assign failed: {error}") from error
    zips = sorted((folder / "dist" / "autograder").glob("*.zip"))
    if done.returncode != 0 or not zips:
        raise RuntimeError(f"otter assign failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return Assignment(folder / "dist" / "student" / source.name, zips[-1])


def convert(submission: Path, student: Path, target: Path) -> Path:
    """The otter student notebook with the answer cells of an nbgrader submission."""
    answers = {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in nbformat.read(submission, 4).cells
               if cell.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(student, as_version=4)
    for cell in nb.cells:
        answer = cell.metadata.get("bench", {}).get("cell")
        if answer in answers:
            cell.source = answers.pop(answer)
    if answers:
        raise RuntimeError(f"{student}: no cell for the answers {sorted(answers)} of {submission}")
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return target


def run_command(bin_dir: Path, assignment: Assignment, submission: Path, out: Path) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    return [str(bin_dir / "otter"), "run", "--no-logo", "-a", str(assignment.autograder), "-o", str(out),
            str(submission)]


def grade_command(bin_dir: Path, assignment: Assignment, submissions: Path, out: Path, containers: int) -> list[str]:
    """`otter grade` of every notebook in `submissions`, in `containers` Docker containers at a time."""
    out.mkdir(parents=True, exist_ok=True)
    return [str(bin_dir / "otter"), "grade", "-n", "bench", "-a", str(assignment.autograder), "-o", str(out),
            "--ext", "ipynb", "--containers", str(containers), str(submissions)]


def score(out: Path) -> tuple[float, float]:
    """(score, possible points) from the results.json `otter run` wrote into `out`."""
    # Gradescope's format: one entry per question, plus a summary of the public tests without a score
    questions = [test for test in json.loads((out / "results.json").read_text())["tests"] if "max_score" in test]
    return sum(test["score"] for test in questions), sum(test["max_score"] for test in questions)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--assignment", default="autograd")
    options = parser.parse_args()
    bin_dir, why = environment()
    if bin_dir is None:
        print(why, file=sys.stderr)
        return 1
    built = assign(bin_dir, REPO_ROOT / "assignments" / "source" / options.assignment / f"{options.assignment}.ipynb",
                   options.folder)
    print(f"student notebook: {built.student}\nautograder: {built.autograder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
