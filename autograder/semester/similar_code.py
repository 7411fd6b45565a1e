"""Similar code in a class: pairs of submissions ranked by how much of their own code they share, and where
that ranking is kept for the class report (RESULTS_DIR/similarity.jsonl: its threshold, then a pair per line;
not .json, which names results files there).

copydetect's fingerprints (winnowed k-grams of the token stream, the MOSS method) are taken of each student
file; what everybody is given or led to write is discounted as boilerplate: the fingerprints of the student
template and of the reference solution (the lecture's code) are removed, so what is left is a student's own
code. A pair's similarity is the share of the smaller own code (summed over the files both hold) that the
other holds too. Pairs at or above course.yml's `grading.similarity_threshold` are flagged, with their matching
regions side by side (student code only: the reference is never shown). `course similarity` (autograder/
similarity.py) prints and writes them; `course grade --report` puts them in the class report.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path

from autograder import config
from autograder.inputs.sources import Source
from autograder.markers import strip_markers

STORED = "similarity.jsonl"
SHOWN_UNFLAGGED = 10  # the most similar pairs below the threshold the report lists (names and share only)


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    similarity: float
    regions: tuple[tuple[str, str, str], ...]  # (file, first's matching code, second's): escaped HTML, <mark>ed


def _write(folder: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text, encoding="utf-8")


def boilerplate(assignment: config.Assignment, root: Path | None = None) -> dict[str, str]:
    """What every student is given or led to write: the template's and the reference's student files."""
    root = root or assignment.root
    found = {}
    for tree in (config.TEMPLATE, config.SOLUTIONS):
        for relative in assignment.student_files:
            path = root / tree / relative
            if path.is_file():
                found[f"{tree}/{relative}"] = strip_markers(path.read_text(encoding="utf-8"))
    return found


NOISE_TOKENS, GUARANTEE_TOKENS = 25, 25  # copydetect's defaults: k-grams of 25 tokens, window 1
MIN_OWN_FINGERPRINTS = 20  # less own code than this is too little to call anything a copy
CONTEXT_LINES = 2  # around each matching region (copydetect cuts the rest to "...")


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
        prints: dict[str, dict[str, CodeFingerprint]] = {}
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
                    regions.append((relative, *(utils.highlight_overlap(fp.raw_code, slices, "<mark>", "</mark>",
                                                                        truncate=CONTEXT_LINES, escape_html=True)[0]
                                                for fp, slices in ((a, left), (b, right)))))
            score = shared / own if own >= MIN_OWN_FINGERPRINTS else 0.0
            pairs.append(Pair(first, second, score, tuple(regions)))
    return sorted(pairs, key=lambda p: (-p.similarity, p.first, p.second))


def of_sources(sources: list[Source], assignment: config.Assignment, root: Path | None = None) -> list[Pair]:
    """The ranking of a class's submissions (their student files as text), the course's boilerplate discounted."""
    texts = {s.name: {f: data.decode("utf-8", "replace") for f, data in s.files.items()} for s in sources}
    return ranked(texts, boilerplate(assignment, root))


def kept(pairs: list[Pair], threshold: float) -> list[Pair]:
    """What the class report keeps: every flagged pair with its regions, then the next few without."""
    flagged = [p for p in pairs if p.similarity >= threshold]
    rest = [Pair(p.first, p.second, p.similarity, ()) for p in pairs if p.similarity < threshold][:SHOWN_UNFLAGGED]
    return flagged + rest


def save(pairs: list[Pair], threshold: float, results_dir: Path) -> Path:
    path = results_dir / STORED
    lines = [json.dumps({"threshold": threshold})] + [json.dumps(asdict(p)) for p in kept(pairs, threshold)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load(results_dir: Path) -> tuple[list[Pair], float] | None:
    """The ranking kept beside a class's results, or None when there is none (or it cannot be read)."""
    try:
        header, *rows = [json.loads(line) for line in (results_dir / STORED).read_text(encoding="utf-8").splitlines()]
        pairs = [Pair(p["first"], p["second"], float(p["similarity"]), tuple(tuple(r) for r in p["regions"]))
                 for p in rows]
        return pairs, float(header["threshold"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
