"""`course similarity`: pairs of a class's submissions ranked by how much of their own code they share.

copydetect's fingerprints (winnowed k-grams of the token stream, the MOSS method) are taken of each student
file; what everybody is given or led to write is discounted as boilerplate: the fingerprints of the student
template and of the reference solution (the lecture's code) are removed, so what is left is a student's own
code. A pair's similarity is the share of the smaller own code (summed over the files both hold) that the
other holds too. Pairs at or above course.yml's `grading.similarity_threshold` are
flagged; the HTML report shows each flagged pair's matching regions side by side (student code only: the
reference is never shown).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from autograder import REPO_ROOT, commands, config
from autograder.markers import strip_markers
from autograder.sources import InputError, collect


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    similarity: float
    regions: tuple[tuple[str, str, str], ...]  # (file, first's code highlighted, second's) as HTML


def _write(folder: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text, encoding="utf-8")


def boilerplate(assignment: config.Assignment, root: Path = REPO_ROOT) -> dict[str, str]:
    """What every student is given or led to write: the template's and the reference's student files."""
    found = {}
    for tree in ("student_template", "solutions"):
        for relative in assignment.student_files:
            path = root / tree / relative
            if path.is_file():
                found[f"{tree}/{relative}"] = strip_markers(path.read_text(encoding="utf-8"))
    return found


NOISE_TOKENS, GUARANTEE_TOKENS = 25, 25  # copydetect's defaults: k-grams of 25 tokens, window 1
MIN_OWN_FINGERPRINTS = 20  # less own code than this is too little to call anything a copy


def ranked(submissions: dict[str, dict[str, str]], common: dict[str, str]) -> list[Pair]:
    """Every pair of submissions, most similar first. Per file, the fingerprints left after the boilerplate's
    are removed are each submission's own code; a pair's similarity is the share of the smaller one's own
    fingerprints that the other holds too (1.0: one's own code is wholly in the other's), over all files."""
    import numpy as np  # copydetect brings numpy and pygments: imported when used
    from copydetect import CodeFingerprint, compare_files, utils

    with tempfile.TemporaryDirectory(prefix="course-similarity-") as workspace:
        root = Path(workspace)
        _write(root / "boilerplate", common)
        given = [CodeFingerprint(str(root / "boilerplate" / f), NOISE_TOKENS, GUARANTEE_TOKENS - NOISE_TOKENS + 1)
                 for f in common]
        boiler = np.array(sorted(set().union(*(fp.hashes for fp in given))), dtype=np.int64)
        prints: dict[str, dict[str, object]] = {}
        for name, files in submissions.items():
            _write(root / "subs" / name, files)
            prints[name] = {f: CodeFingerprint(str(root / "subs" / name / f), NOISE_TOKENS,
                                               GUARANTEE_TOKENS - NOISE_TOKENS + 1, boilerplate=boiler)
                            for f in files if f.endswith(".py")}
        pairs = []
        for first, second in combinations(sorted(submissions), 2):
            shared = own = 0
            regions = []
            for relative in sorted(set(prints[first]) & set(prints[second])):
                a, b = prints[first][relative], prints[second][relative]
                smaller = min(len(a.hashes), len(b.hashes))
                if smaller == 0:
                    continue
                common_hashes = len(a.hashes & b.hashes)
                shared, own = shared + common_hashes, own + smaller
                if common_hashes:
                    _, _, (left, right) = compare_files(a, b)
                    regions.append((relative,
                                    utils.highlight_overlap(a.raw_code, left, ">>", "<<", escape_html=True)[0],
                                    utils.highlight_overlap(b.raw_code, right, ">>", "<<", escape_html=True)[0]))
            score = shared / own if own >= MIN_OWN_FINGERPRINTS else 0.0
            pairs.append(Pair(first, second, score, tuple(regions)))
    return sorted(pairs, key=lambda p: (-p.similarity, p.first, p.second))


def write_html(pairs: list[Pair], threshold: float, out: Path) -> None:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("autograder", "templates"), autoescape=select_autoescape())
    out.write_text(env.get_template("similarity.html.j2").render(pairs=pairs, threshold=threshold), encoding="utf-8")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submissions", nargs="+", type=Path, help="the class, as for course grade")
    parser.add_argument("--out", type=Path, help="an HTML report of the flagged pairs, side by side")
    commands.add_course_options(parser)


def main(*, submissions: list[Path], out: Path | None = None, assignment: str | None = None,
         config_path: Path = config.DEFAULT_PATH) -> int:
    course = config.load(config_path)
    name, spec = course.assignment(assignment)
    try:
        sources = collect(submissions, name, spec)
    except InputError as exc:
        print(f"course similarity: {exc}", file=sys.stderr)
        return 2
    texts = {s.name: {f: data.decode("utf-8", "replace") for f, data in s.files.items()} for s in sources}
    threshold = course.grading.similarity_threshold
    pairs = ranked(texts, boilerplate(spec, course.root))
    for pair in pairs[:20]:
        flag = "  FLAGGED" if pair.similarity >= threshold else ""
        print(f"{pair.similarity:6.1%}  {pair.first}  {pair.second}{flag}")
    if out is not None:
        write_html([p for p in pairs if p.similarity >= threshold], threshold, out)
        print(f"similarity report: {out}")
    return 0


def run(args: argparse.Namespace) -> int:
    return main(submissions=args.submissions, out=args.out, assignment=args.assignment, config_path=args.config)
