"""Measuring a command: wall time and the peak memory of its whole process tree (grader, pool
processes, bwrap, workers), sampled while it runs. Used by the scripts in bench/."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_memory(root: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes summed over `root` and every descendant. RSS counts a shared page (torch's
    libraries, mapped by every grading process) once per process; PSS divides it among them."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    fields = f.read().rpartition(")")[2].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * PAGE
    total_rss, total_pss, frontier = 0, 0, [root]
    while frontier:
        pid = frontier.pop()
        total_rss += rss.get(pid, 0)
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                total_pss += next(int(line.split()[1]) << 10 for line in f if line.startswith("Pss:"))
        except (OSError, StopIteration):
            pass
        frontier += children.get(pid, [])
    return total_rss, total_pss


def measure(command: list[str], cwd: Path | None = None, env: dict | None = None,
            ok: tuple[int, ...] = (0, 1)) -> tuple[float, float, float]:
    """(seconds, peak RSS MiB, peak PSS MiB of the process tree) of one command; its exit status
    must be in `ok`."""
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_rss, peak_pss, done = 0, 0, threading.Event()

    def sample() -> None:
        nonlocal peak_rss, peak_pss
        while not done.is_set():
            rss, pss = tree_memory(process.pid)
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, stderr = process.communicate()
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    if process.returncode not in ok:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr.decode(errors='replace')}")
    return seconds, peak_rss / (1 << 20), peak_pss / (1 << 20)
