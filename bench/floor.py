"""The floor of grading one submission on this machine: what no grader of sandboxed Python avoids.

    python bench/floor.py [--repeat 20]

Each row is the median of --repeat runs, wall and CPU (user+sys of the processes it started):
- a Python start (`python -I -S -c pass`, what a worker's interpreter costs before any work);
- an empty bubblewrap sandbox (`bwrap --unshare-all ... true`);
- one sandboxed worker of the reference, from launch to its first answer (bwrap, Python, the probe
  modules and the student's engine imported, one tiny probe);
- the same with the three workers of one submission (own code and the two isolation modes) started
  together, as grading starts them.
The rest of a submission's time is running the student's code for the probes and the trusted
side's checks; bench/benchmark.py --profile splits that.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from autograder import config
from autograder.boundary.sandbox import Limits, Worker, available_sandbox
from autograder.core import isolation

REPO_ROOT = Path(__file__).resolve().parents[1]

def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(action: Callable[[], None], repeat: int) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds of this process and its children) of action()."""
    walls, cpus = [], []
    for _ in range(repeat):
        cpu, started = time.process_time() + _children_cpu(), time.perf_counter()
        action()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() + _children_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    repeat = parser.parse_args().repeat
    course = config.load()
    grading = course.grading
    limits = Limits(grading.time_limit_seconds, grading.memory_limit_mb, tuple(grading.forbidden_imports))
    modes = isolation.load_modes(course.suite(course.assignments["micrograd"]))
    sandbox = available_sandbox()
    work = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    os.chmod(work, 0o711)
    rows = []
    try:
        rows.append(("python -I -S -c pass", *timed(
            lambda: subprocess.run([sys.executable, "-I", "-S", "-c", "pass"], check=True), repeat)))
        if shutil.which("bwrap"):
            rows.append(("bwrap --unshare-all (empty sandbox)", *timed(lambda: subprocess.run(
                ["bwrap", "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"], check=True), repeat)))
        count = 0

        def workers(how_many: int) -> None:
            nonlocal count
            started = []
            for name, mode in [(isolation.OWN, None), *modes.items()][:how_many]:
                count += 1
                staged = work / f"s{count}"
                shutil.copytree(REPO_ROOT / "solutions" / "micrograd", staged / "micrograd")
                os.chmod(staged, 0o755)
                folder = staged if mode is None else isolation.stage(staged, name, mode)
                started.append(Worker(folder, limits, sandbox, worker_files=mode.worker_files if mode else (),
                                      probes=sorted((REPO_ROOT / "grading_tests" / "probes").glob("*.py"))))
            for worker in started:
                worker.launch()
            for worker in started:
                assert worker.call("api", names=["__add__"]).status == "ok"
            for worker in started:
                worker.close()

        rows.append((f"one {sandbox} worker: launch to first answer", *timed(lambda: workers(1), repeat)))
        rows.append((f"{1 + len(modes)} {sandbox} workers together (one submission)",
                     *timed(lambda: workers(1 + len(modes)), repeat)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores; median of {repeat}")
    print(f"{'what':<52} {'wall ms':>8} {'CPU ms':>8}")
    for what, wall, cpu in rows:
        print(f"{what:<52} {wall * 1000:>8.1f} {cpu * 1000:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
