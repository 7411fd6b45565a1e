"""The adversarial corpus (corpus.py) and helpers shared by the sandbox tests."""

import subprocess
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


# A uid no account or file uses, below the sandbox's worker uids (2**30 and up).
OUTSIDER_UID = (1 << 30) - 2


def readable_by_an_outsider(path: Path) -> bool:
    """Whether a uid that owns nothing and is in no group can read `path` (open a file, list a
    folder), as the kernel decides it: a child process running as that uid tries. Needs root."""
    script = 'if [ -d "$1" ]; then ls -- "$1"; else cat -- "$1"; fi'
    done = subprocess.run(["/bin/sh", "-c", script, "sh", str(path)], user=OUTSIDER_UID, group=OUTSIDER_UID,
                          extra_groups=[], env={}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    return done.returncode == 0
