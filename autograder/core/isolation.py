"""Part isolation by substitution: the extra workers that grade one part on reference behaviour.

A hidden test that grades part P asks `submission.isolated(mode)` for a worker in which the
student's code that P depends on, but that belongs to another part, is replaced by reference
behaviour; a mistake outside P then cannot cost P's points. A suite declares its modes in
`<suite>/isolation.py` as `MODES = {name: Mode(...)}`; "own" (the student's code as is) always
exists. Each mode's worker holds only its own reference pieces, never those of the parts it
grades, so a submission that imports or delegates to them gains nothing (docs/hidden-suites.md).
"""

from __future__ import annotations

import os
import runpy
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.markers import strip_markers

OWN = "own"


@dataclass(frozen=True)
class Mode:
    """What one isolation mode's worker gets besides the student's files."""

    # Modules copied beside the worker's own files (importable only in this mode's worker).
    worker_files: tuple[Path, ...] = ()
    # (path in the submission, reference file or the reference code itself): the student's file
    # replaced by the reference, with its solution markers stripped.
    replaced: tuple[tuple[str, Path | str], ...] = ()
    # Options the graph probe receives in this mode (e.g. which local derivatives to run).
    graph_options: dict[str, Any] = field(default_factory=dict)
    # An exception message this mode's worker withholds is asked again of the student's own code (the same
    # call means the same there, and the own worker holds nothing of the reference): the real error first.
    explain_with_own_code: bool = False

    @property
    def holds_reference(self) -> bool:
        """Whether this mode's worker holds reference code (its replies then carry no student text)."""
        return bool(self.worker_files or self.replaced)

    def reference_sources(self) -> list[str]:
        """The reference code this mode puts in a sandbox (to keep it out of feedback)."""
        return ([path.read_text(encoding="utf-8") for path in self.worker_files]
                + [_code(reference) for _, reference in self.replaced])


def _code(reference: Path | str) -> str:
    return strip_markers(reference.read_text(encoding="utf-8") if isinstance(reference, Path) else reference)


def load_modes(suite: Path) -> dict[str, Mode]:
    """The isolation modes a hidden suite declares (none when it has no isolation.py)."""
    declared = suite / "isolation.py"
    if not declared.is_file():
        return {}
    return dict(runpy.run_path(str(declared))["MODES"])


def reference_sources(modes: dict[str, Mode]) -> list[str]:
    return [source for mode in modes.values() for source in mode.reference_sources()]


def stage(directory: Path, name: str, mode: Mode) -> Path:
    """A copy of a staged submission for `mode`'s worker (each worker owns its copy as root)."""
    target = directory.with_name(f"{directory.name}.{name}")
    shutil.copytree(directory, target, symlinks=True)
    for relative, reference in mode.replaced:
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(_code(reference), encoding="utf-8")
    for path in [target, *target.rglob("*")]:
        if not path.is_symlink():
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return target
