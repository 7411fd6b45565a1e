"""The adversarial corpus (corpus.py) and helpers shared by the sandbox tests."""

from pathlib import Path


def processes_tagged(marker: str) -> list[str]:
    """PIDs of running processes whose command line contains `marker` (left-behind daemons)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                found.append(entry.name)
        except OSError:
            pass
    return found
