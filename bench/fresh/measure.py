"""Grade issue 20's fresh set (bench/fresh/entries.py) and print how well the grades measure the mistakes.

    PYTHONPATH=$PWD python bench/fresh/measure.py --label a8e86a8 --md bench/fresh/baseline-a8e86a8.md

Builds every entry as a submission in a temporary folder (the module entries on the marker-stripped
reference, the notebook entries on the source notebook's answers), grades each assignment's entries with
ONE `course grade --out` call of the checked-out code, and reports per entry: score, loss per part, the share
of the loss in the home part (net of what the unmodified reference loses), caught, charged (share >= 0.8),
named (every failing test of the home part matches the entry's regex), and each correct variant's score.
The method is /work/shared/measuring-grades.md's; the thresholds are issue 20's "Done when".
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import entries  # noqa: E402  (this folder)

from autograder.inputs import notebooks  # noqa: E402
from autograder.markers import strip_markers  # noqa: E402

REFERENCE = "reference"
SHARE = 0.8  # the least share of a bug's loss in its home part to count as charged there
EPS = 1e-6
HINT = re.compile(r"^\s*# Hint: .*\n", re.M)
CITED_LINE = re.compile(r"(?:micrograd/)?(engine|nn)\.py,? line (\d+)")


class EntryError(Exception):
    """An entry's text to replace is not in the reference exactly once."""


def patched(sources: dict[str, str], patches, entry: str) -> dict[str, str]:
    sources = dict(sources)
    for where, old, new in patches:
        found = sources[where].count(old) if where in sources else 0
        if found != 1:
            raise EntryError(f"{entry}: {old!r} occurs {found} times in {where} (must be once)")
        sources[where] = sources[where].replace(old, new)
    return sources


def module_reference() -> dict[str, str]:
    return {p.name: strip_markers(p.read_text(encoding="utf-8"))
            for p in sorted((ROOT / "solutions" / "micrograd").glob("*.py"))}


def write_module(folder: Path, sources: dict[str, str]) -> Path:
    (folder / "micrograd").mkdir(parents=True)
    for name, text in sources.items():
        (folder / "micrograd" / name).write_text(text, encoding="utf-8")
    return folder


def notebook_answers(assignment: str) -> tuple[object, dict[str, str]]:
    """The source notebook and its answer cells (grade_id -> code, markers and hints stripped)."""
    nb = nbformat.read(ROOT / "assignments" / "source" / assignment / f"{assignment}.ipynb", 4)
    answers = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            answers[meta["grade_id"]] = HINT.sub("", strip_markers(cell.source))
    return nb, answers


def write_notebook(path: Path, nb, answers: dict[str, str]) -> Path:
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            cell.source = answers[meta["grade_id"]]
    nbformat.write(nb, path)
    return path


def function_span(files: dict[str, str], qualified: str) -> tuple[str, int, int] | None:
    """(file, first line, last line) of a function such as "Value.__add__._backward" or "build_topo" in the
    submission's micrograd/<file> sources; None when it is not found."""
    parts = qualified.split(".")
    for name, text in files.items():
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        scope: list[ast.AST] = [tree]
        for part in parts:
            found = [n for s in scope for n in ast.walk(s) if isinstance(n, (ast.ClassDef, ast.FunctionDef))
                     and n.name == part and n is not s]
            if not found:
                break
            scope = found[:1]
        else:
            node = scope[0]
            return name, node.lineno, node.end_lineno or node.lineno
    return None


def cites_line_in(output: str, span: tuple[str, int, int] | None) -> bool:
    """The feedback reports the student's own error at a line inside the function (the real error first)."""
    return span is not None and any(f"{m[1]}.py" == span[0] and span[1] <= int(m[2]) <= span[2]
                                    for m in CITED_LINE.finditer(output))


def names(entry, output: str, span: tuple[str, int, int] | None) -> bool:
    """The feedback of one failing test names the entry's mistake: its regex, or (module submissions: a notebook
    student has no micrograd/*.py to look up) its own error at a line of the function; and no contradicting
    mistake."""
    if entry.named.unless and re.search(entry.named.unless, output):
        return False
    by_line = entry.assignment == "micrograd" and cites_line_in(output, span)
    return bool(re.search(entry.named.regex, output)) or by_line


def grade(assignment: str, submissions: list[Path], out: Path) -> tuple[dict[str, dict], float]:
    """One `course grade --out` call; submission name -> its results JSON."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", *map(str, submissions), "--assignment",
                           assignment, "--out", str(out), "--quiet"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    seconds = time.monotonic() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"course grade failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}, seconds


def part_losses(result: dict) -> dict[str, float]:
    return {p["name"]: p["max_score"] - p["score"] for p in result["parts"]}


def measure_entry(entry, result: dict, reference_loss: dict[str, float], files: dict[str, str]) -> dict:
    loss = {part: max(0.0, lost - reference_loss.get(part, 0.0)) for part, lost in part_losses(result).items()}
    total = sum(loss.values())
    tests = [{"name": t["name"].split("::")[-1], "part": t["part"], "status": t["status"],
              "pitfall": t["pitfall"], "output": t["output"]}
             for t in result["tests"] if t["status"] == "failed"]
    row = {"id": entry.id, "kind": entry.kind, "assignment": entry.assignment, "description": entry.description,
           "score": result["score"], "max_score": result["max_score"],
           "loss": {k: round(v, 4) for k, v in loss.items() if v > EPS}, "failing": tests}
    if entry.kind == "bug":
        home = [t for t in tests if t["part"] == entry.part]
        share = loss.get(entry.part, 0.0) / total if total > EPS else 0.0
        span = function_span(files, entry.function)
        row.update(part=entry.part, function=entry.function, named_regex=entry.named.regex,
                   named_unless=entry.named.unless, function_lines=span, share=round(share, 4),
                   caught=total > EPS, charged=total > EPS and share >= SHARE,
                   named=bool(home) and all(names(entry, t["output"] or "", span) for t in home))
    return row


def percent(count: int, total: int) -> str:
    return f"{count}/{total} ({100 * count / total:.0f} %)" if total else "0/0"


def summary(rows: list[dict]) -> dict:
    bugs = [r for r in rows if r["kind"] == "bug"]
    correct = [r for r in rows if r["kind"] == "correct"]
    policy = [r for r in rows if r["kind"] == "policy"]
    return {"bugs": len(bugs), "caught": sum(r["caught"] for r in bugs), "charged": sum(r["charged"] for r in bugs),
            "named": sum(r["named"] for r in bugs), "correct": len(correct),
            "correct_full": sum(r["score"] >= r["max_score"] - EPS for r in correct),
            "policy": len(policy), "policy_full": sum(r["score"] >= r["max_score"] - EPS for r in policy)}


def short(text: str, width: int = 110) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= width else line[:width - 1] + "…"


def markdown(label: str, sets: dict[str, list[dict]], seconds: dict[str, float]) -> str:
    out = [f"# Issue 20 fresh set on {label}", "",
           "Generated by `bench/fresh/measure.py` (entries in `bench/fresh/entries.py`). Loss is net of the "
           "unmodified reference's; *home* = share of the loss in the entry's own part; *charged* = home >= 80 %; "
           "*named* = every failing test of the home part matches the entry's regex.", ""]
    out += ["## Summary", "", "| set | mistakes | caught | charged >= 0.8 | named | correct at 100 | policy variants "
            "at 100 |", "|---|---|---|---|---|---|---|"]
    for name, rows in sets.items():
        s = summary(rows)
        out.append(f"| {name} | {s['bugs']} | {percent(s['caught'], s['bugs'])} | {percent(s['charged'], s['bugs'])} | "
                   f"{percent(s['named'], s['bugs'])} | {s['correct_full']}/{s['correct']} | "
                   f"{s['policy_full']}/{s['policy']} |")
    out += ["", "Done when (issue 20): all caught, >= 90 % charged >= 0.8, >= 85 % named, correct variants 100 "
            "(or only a documented policy loss).", ""]
    out.append("Grading time: " + ", ".join(f"{a} {s:.0f} s" for a, s in seconds.items()) + ".")
    for name, rows in sets.items():
        out += ["", f"## {name}: mistakes", "", "| entry | home part | function | score | loss per part | home | "
                "caught | charged | named | diagnoses of the home part |", "|---|---|---|---|---|---|---|---|---|---|"]
        for r in (r for r in rows if r["kind"] == "bug"):
            loss = ", ".join(f"{k} {v:.1f}" for k, v in r["loss"].items()) or "-"
            diagnoses = "; ".join(sorted({f"{t['pitfall'] or '-'}" for t in r["failing"] if t["part"] == r["part"]}))
            out.append(f"| {r['id']} | {r['part']} | `{r['function']}` | {r['score']:g} | {loss} | {r['share']:.0%} | "
                       f"{'yes' if r['caught'] else '**no**'} | {'yes' if r['charged'] else '**no**'} | "
                       f"{'yes' if r['named'] else '**no**'} | {diagnoses or '-'} |")
        out += ["", f"## {name}: correct variants", "", "| entry | kind | score | loss per part | failing tests |",
                "|---|---|---|---|---|"]
        for r in (r for r in rows if r["kind"] != "bug"):
            loss = ", ".join(f"{k} {v:.1f}" for k, v in r["loss"].items()) or "-"
            failing = "; ".join(f"{t['name']} ({t['pitfall'] or '-'})" for t in r["failing"]) or "-"
            out.append(f"| {r['id']} | {r['kind']} | {r['score']:g}/{r['max_score']:g} | {loss} | {failing} |")
        out += ["", f"## {name}: first line of each failing home-part test (bugs not named)", ""]
        for r in (r for r in rows if r["kind"] == "bug" and not r["named"]):
            home = [t for t in r["failing"] if t["part"] == r["part"]]
            out.append(f"- **{r['id']}** (`{r['function']}`): " + (" / ".join(
                f"{t['name']}: {short(t['output'].splitlines()[0] if t['output'] else '')}" for t in home)
                or "no failing test in its home part"))
    return "\n".join(out) + "\n"


def entries_of(path: Path | None):
    """The entries module at `path` (which may import this folder's entries for its helpers), or ours."""
    if path is None:
        return entries
    spec = importlib.util.spec_from_file_location("held_out_entries", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="working tree", help="what is measured, for the title")
    parser.add_argument("--md", type=Path, help="write the Markdown here (it is printed in any case)")
    parser.add_argument("--json", type=Path, help="write every entry's measurements and feedback here")
    parser.add_argument("--only", nargs="*", help="entry ids to measure (default: all)")
    parser.add_argument("--keep", type=Path, help="build the submissions here and keep them")
    parser.add_argument("--entries", type=Path, help="another set's entries.py (a held-out set kept outside the "
                        "repository, in this file's format; default: bench/fresh/entries.py)")
    args = parser.parse_args(argv)

    chosen = [e for e in entries_of(args.entries).ALL if not args.only or e.id in args.only]
    workspace = args.keep or Path(tempfile.mkdtemp(prefix="fresh-"))
    by_assignment: dict[str, list] = {}
    for entry in chosen:
        by_assignment.setdefault(entry.assignment, []).append(entry)
    sets: dict[str, list[dict]] = {}
    seconds: dict[str, float] = {}
    raw: dict[str, dict] = {}
    for assignment, group in by_assignment.items():
        folder = workspace / assignment
        folder.mkdir(parents=True, exist_ok=True)
        files: dict[str, dict[str, str]] = {}  # entry -> micrograd/<file> -> source, for function spans
        if assignment == "micrograd":
            reference = module_reference()
            paths = [write_module(folder / REFERENCE, reference)]
            for e in group:
                files[e.id] = patched(reference, e.patches, e.id)
                paths.append(write_module(folder / e.id, files[e.id]))
        else:
            nb, answers = notebook_answers(assignment)
            recipe = notebooks.load_recipe(assignment, notebooks.recipes_dir(ROOT))
            paths = [write_notebook(folder / f"{REFERENCE}.ipynb", nb, answers)]
            for e in group:
                paths.append(write_notebook(folder / f"{e.id}.ipynb", nb, patched(answers, e.patches, e.id)))
                extracted = notebooks.extract(notebooks.read_notebook(paths[-1]), recipe)
                files[e.id] = {Path(k).name: v for k, v in extracted.items()}
        results, seconds[assignment] = grade(assignment, paths, workspace / f"{assignment}-results")
        reference_loss = part_losses(results[REFERENCE])
        if any(v > EPS for v in reference_loss.values()):
            print(f"warning: the reference loses points in {assignment}: {reference_loss}", file=sys.stderr)
        rows = [measure_entry(e, results[e.id], reference_loss, files[e.id]) for e in group]
        title = "module (micrograd)" if assignment == "micrograd" else "notebooks"
        sets.setdefault(title, []).extend(rows)
        raw[assignment] = {"reference_loss": reference_loss, "seconds": seconds[assignment]}
    text = markdown(args.label, sets, seconds)
    print(text)
    if args.md:
        args.md.write_text(text, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps({"label": args.label, "assignments": raw,
                                         "summary": {k: summary(v) for k, v in sets.items()}, "entries": sets},
                                        indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
