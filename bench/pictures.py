"""What pictures of failing graphs cost: grading a class where half the submissions fail, with and without.

    python bench/pictures.py [--n 10] [--rounds 2]

Half the class is the reference solution, half carries a gradient bug (mul's _backward overwriting,
tanh's forgetting `* out.grad`, alternately), so several graph tests fail per buggy submission and
draw a picture. Both runs grade the same sources in this process (autograder.core.pipeline.grade); "without"
replaces the SVG rendering (the only costly step: one `dot` run per failing test) by nothing. Rounds
alternate the order so that warm caches favour neither. The goal: pictures add <= 10 %.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from unittest import mock

from autograder import config
from autograder.core import pipeline
from autograder.outcome import pictures

REPO_ROOT = Path(__file__).resolve().parents[1]

BUGS = [("self.grad += other.data * out.grad", "self.grad = other.data * out.grad"),
        ("self.grad += (1 - t**2) * out.grad", "self.grad += (1 - t**2)")]


def make_class(work: Path, n: int) -> list[Path]:
    folders = []
    for i in range(n):
        folder = work / f"student{i:03}"
        shutil.copytree(REPO_ROOT / "solutions", folder)
        if i % 2:
            engine = folder / "micrograd" / "engine.py"
            old, new = BUGS[(i // 2) % len(BUGS)]
            engine.write_text(engine.read_text().replace(old, new, 1))
        folders.append(folder)
    return folders


def timed(folders: list[Path], course: config.Course, with_pictures: bool) -> tuple[float, int]:
    patch = mock.patch.object(pictures, "to_svg", return_value="") if not with_pictures else mock.MagicMock()
    with patch:
        start = time.perf_counter()
        results = pipeline.grade(folders, course=course)
        seconds = time.perf_counter() - start
    return seconds, sum(bool(t.picture) for r in results for t in r.tests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    course = config.load()
    with tempfile.TemporaryDirectory() as work:
        folders = make_class(Path(work), args.n)
        timed(folders[:2], course, True)  # warm up: torch expectations, imports
        times: dict[bool, list[float]] = {True: [], False: []}
        drawn = 0
        for round_ in range(args.rounds):
            for with_pictures in ((True, False) if round_ % 2 == 0 else (False, True)):
                seconds, count = timed(folders, course, with_pictures)
                times[with_pictures].append(seconds)
                drawn = max(drawn, count)
    without, with_ = min(times[False]), min(times[True])
    print(f"{args.n} submissions, {args.n // 2} failing, {drawn} pictures drawn")
    print(f"without pictures: {without:.2f} s   with pictures: {with_:.2f} s   "
          f"overhead: {100 * (with_ - without) / without:+.1f} %  (best of {args.rounds})")


if __name__ == "__main__":
    main()
