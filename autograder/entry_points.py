"""Find this environment's console scripts (alembic, nbgrader, actionlint, zizmor ...) whatever PATH says.

`make demo PYTHON=.venv/bin/python` runs the grader from a virtual environment that is not
activated, so its bin/ is not on PATH. Libraries that shell out to an entry point by name
(nbgrader's Gradebook runs `alembic`) would then find another installation's, or none. The
folders here are those of the running interpreter, so they hold exactly the scripts installed
with the packages this process imports.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from collections.abc import Mapping
from pathlib import Path


def script_folders() -> list[str]:
    """Where this interpreter's console scripts live, most specific first: the interpreter's own
    folder (not resolved: a venv's python is a link to the base one), the install scheme's
    scripts folder, and the base installation's (a venv with system site-packages uses its scripts)."""
    candidates = [Path(sys.executable).parent, Path(sysconfig.get_path("scripts")), Path(sys.base_prefix) / "bin"]
    folders: list[str] = []
    for folder in candidates:
        if folder.is_dir() and str(folder) not in folders:
            folders.append(str(folder))
    return folders


def path_with_scripts(path: str | None) -> str:
    """`path` (a PATH value) with this interpreter's script folders first."""
    rest = [entry for entry in (path or os.defpath).split(os.pathsep) if entry and entry not in script_folders()]
    return os.pathsep.join([*script_folders(), *rest])


def environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A child process's environment: `base` (default: ours) with the script folders first on PATH."""
    env = dict(os.environ if base is None else base)
    env["PATH"] = path_with_scripts(env.get("PATH"))
    return env


def put_scripts_first_on_path() -> None:
    """For libraries that run an entry point by name from this process (nbgrader's Gradebook)."""
    os.environ["PATH"] = path_with_scripts(os.environ.get("PATH"))


def which(name: str) -> str | None:
    """The console script `name` of this environment, else whatever PATH has."""
    return shutil.which(name, path=os.pathsep.join(script_folders())) or shutil.which(name)
