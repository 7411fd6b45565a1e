"""Run pytest as an unprivileged user, so the sandbox is tested with a grader that is not root.

Usage (as root): python .ci/unprivileged.py PYTEST_ARGUMENTS...

The user is a fresh uid (no account, no group) that owns a writable copy of what the tests
need; the copy is imported instead of the editable install. bubblewrap then runs the workers
in a user namespace, as it would for any instructor grading without root. The interpreter may
live in a folder closed to other users (pyenv under /root, 0700): a mount namespace replaces
each such folder with an empty one that shows only the entries on the interpreter's path,
for this run alone (nothing on the machine changes).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COPIED = ["autograder", "grading_tests", "solutions", "student_template", "assignments", "tests",
          "course.yml", "pyproject.toml"]
# No account uses it; below the sandbox's worker uids (sandbox.FIRST_UID = 2**30), since pids stay
# below 2**22, and different for concurrent runs.
UID = (1 << 29) + os.getpid()


def copy_repository(into: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, into / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(source, into / name)
    for path in [into, *into.rglob("*")]:
        os.chown(path, UID, UID, follow_symlinks=False)


def closed_folders_on_the_way(paths: list[Path]) -> list[str]:
    """bwrap options that let any user reach `paths`: each folder others cannot cross becomes a
    tmpfs showing only its entry on the way, bound from the real one."""
    options: list[str] = []
    shown: set[Path] = set()
    for path in paths:
        for folder in reversed(path.parents):
            if folder.stat().st_mode & stat.S_IXOTH:
                continue
            entry = folder / path.relative_to(folder).parts[0]
            if folder not in shown:
                options += ["--tmpfs", str(folder)]
            if entry not in shown:
                options += ["--bind", str(entry), str(entry)]
            shown |= {folder, entry}
            break
    return options


def main(pytest_arguments: list[str]) -> int:
    if os.geteuid() != 0:
        print("unprivileged.py: run it as root (it switches to an unprivileged uid)", file=sys.stderr)
        return 2
    interpreter = [Path(sys.executable).absolute(), Path(sys.executable).resolve(), Path(sys.prefix),
                   Path(sys.base_prefix).resolve(), Path(sysconfig.get_paths()["purelib"]).resolve()]
    with tempfile.TemporaryDirectory(prefix="course-unprivileged-") as temporary:
        copy = Path(temporary)
        copy_repository(copy)
        home = copy / "home"
        home.mkdir()
        os.chown(home, UID, UID)
        env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
        env.update(HOME=str(home), PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1", TMPDIR="/tmp",
                   PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)]))
        command = ["bwrap", "--dev-bind", "/", "/", *closed_folders_on_the_way(interpreter), "--chdir", str(copy),
                   "--", "setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups", "--inh-caps=-all",
                   "--bounding-set=-all", "--",
                   sys.executable, "-c", "import autograder, pathlib, sys; sys.exit(pathlib.Path(autograder.__file__)"
                   ".resolve().parents[1] != pathlib.Path.cwd())"]
        imports = subprocess.run(command, env=env)
        if imports.returncode != 0:
            print(f"unprivileged.py: the copy in {copy} is not what gets imported", file=sys.stderr)
            return 2
        command[command.index("-c"):] = ["-m", "pytest", "-p", "no:cacheprovider", f"--basetemp={copy / 'pytest'}",
                                         *pytest_arguments]
        print(f"unprivileged.py: uid {UID}, a copy in {copy}: pytest {' '.join(pytest_arguments)}", flush=True)
        return subprocess.run(command, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
