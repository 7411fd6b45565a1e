"""nbgrader autograde, made safe: the student's kernel runs in a sandbox and scores come from the grader.

nbgrader executes a submitted notebook as the instructor, so student code could read the gradebook
(hidden tests in plain text), the source notebooks and the hidden suites, overwrite files, or
print whatever output a test cell is scored by (nbgrader#483). assignments/nbgrader_config.py
puts these into nbgrader's autograde pipeline instead:

- `NotebooksOnly` removes every other file nbgrader copied into the autograded folder.

- `SandboxedExecute` runs the kernel under bubblewrap (`SandboxedKernelManager`): no network
  (ZeroMQ over unix sockets in a private folder), its own PID namespace, as `nobody` when root,
  seeing only the system and the Python installation (read-only), and working in a private
  folder and /tmp that are discarded afterwards. It does not see the autograded folder: nbgrader
  copies a submission's symlinks as the files they point to (it could hold a copy of the
  gradebook), and a writable folder would let the kernel plant a symlink nbgrader later writes
  the graded notebook through. A cell that exceeds the timeout, or a kernel that dies, ends the
  execution for this notebook only; nothing else is affected.
- `TrustedScores`, in nbgrader's own process after execution, extracts the student's code from
  the notebook (autograder.inputs.notebooks), grades it through `autograder.frontends.grade.grade` exactly like
  `course grade` does, and overwrites every graded test cell's outputs with the part's score and
  feedback. Whatever the kernel printed there is discarded; output other than the honest
  placeholder is logged as possible tampering.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader import utils as nbgrader_utils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Int, Unicode

from autograder import config
from autograder.boundary import sandbox
from autograder.inputs import notebooks
from autograder.outcome import pictures
from autograder.outcome.results import printable

NOBODY = 65534
TMP_BYTES = 256 << 20  # the kernel's private /tmp lives in memory
# /etc files the kernel's libraries read: shared-library cache, fonts for Graphviz, time zone.
_ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/fonts", "/etc/localtime")


def bwrap_command(*, runtime: Path, as_nobody: bool, memory_mb: int) -> list[str]:
    """The bubblewrap prefix that runs a kernel: what it sees is listed here, nothing else."""
    prefix = Path(sys.base_prefix).resolve()
    venv = Path(sys.prefix).resolve()
    cmd = [*sandbox.BWRAP_ISOLATION,
           "--setenv", "HOME", "/tmp", "--setenv", "MPLCONFIGDIR", str(runtime / "matplotlib"),
           "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin", "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
           *sandbox.bwrap_system(),
           "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(TMP_BYTES), "--tmpfs", "/tmp",
           "--perms", "0755", "--dir", "/etc"]
    cmd += [arg for etc in _ETC if os.path.exists(etc) for arg in ("--ro-bind", etc, etc)]
    visible = sorted({prefix, venv, Path(sysconfig.get_paths()["purelib"]).resolve()})
    cmd += sandbox.bwrap_read_only(visible, crossable=(runtime,))
    # Without root, bwrap's own tmpfs folders (/, /dev with /dev/shm) belong to the grader's uid in the
    # user namespace: read-only, so that only the bounded /tmp and the runtime folder take writes.
    cmd += ["--bind", str(runtime), str(runtime), "--remount-ro", "/", "--remount-ro", "/dev",
            "--chdir", str(runtime / "work")]
    limit = ["prlimit", f"--as={memory_mb << 20}", "--core=0"]
    if as_nobody:
        return cmd + ["--", "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                      "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", *limit]
    return cmd + ["--cap-drop", "ALL", "--", *limit]


class SandboxedKernelManager(AsyncKernelManager):
    """An ipykernel inside bwrap, talking to nbgrader over unix sockets in a private folder."""

    memory_limit_mb = Int(2048, config=True, help="address-space limit of the kernel (MB)")

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        # Fixed, whatever the notebook's metadata asks for; interrupts go as messages because a
        # signal to bwrap does not reach the kernel in its own PID namespace.
        self._kernel_spec = KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                       display_name="course kernel (sandboxed)", language="python",
                                       interrupt_mode="message")
        self._runtime: Path | None = None

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        if shutil.which("bwrap") is None:
            raise RuntimeError("the sandboxed kernel needs bubblewrap (`apt-get install bubblewrap`)")
        as_nobody = os.geteuid() == 0
        self._runtime = Path(tempfile.mkdtemp(prefix="course-kernel-"))
        os.chmod(self._runtime, 0o700)
        if as_nobody:
            os.chown(self._runtime, NOBODY, NOBODY)
        self.transport = "ipc"
        self.ip = str(self._runtime / "ipc")
        self.connection_file = str(self._runtime / "connection.json")
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        matplotlib, work = self._runtime / "matplotlib", self._runtime / "work"
        matplotlib.mkdir()
        work.mkdir()
        for cache in Path.home().glob(".cache/matplotlib/fontlist-*.json"):  # saves rebuilding it per kernel
            shutil.copy(cache, matplotlib)
        if as_nobody:
            for path in (Path(self.connection_file), matplotlib, work, *matplotlib.iterdir()):
                os.chown(path, NOBODY, NOBODY)
        kw["env"] = {}
        return bwrap_command(runtime=self._runtime, as_nobody=as_nobody, memory_mb=self.memory_limit_mb) + cmd, kw

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self._runtime is not None and not restart:
            shutil.rmtree(self._runtime, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


class _StopExecution(Exception):
    pass


class SandboxedExecute(Execute):
    """nbgrader's Execute with the sandboxed kernel; a timeout or a dead kernel stops this notebook only."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(**kwargs)

    async def _async_handle_timeout(self, timeout: int, cell: nbformat.NotebookNode | None = None) -> None:
        # A student's loop may swallow KeyboardInterrupt, so an interrupt is not enough: stop here.
        self.log.warning("a cell ran longer than %s s; the kernel is stopped and the rest of the notebook "
                         "is not run (the trusted grader still scores every part)", timeout)
        await self._async_stop_kernel()
        raise _StopExecution(f"a cell ran longer than {timeout} s")

    async def _async_stop_kernel(self) -> None:
        if self.km is not None:
            try:
                await self.km._async_shutdown_kernel(now=True)
            except Exception:  # the kernel is already gone
                pass

    def preprocess(self, nb: nbformat.NotebookNode, resources: dict, km: Any = None):
        try:
            return super().preprocess(nb, resources, km)
        except (_StopExecution, DeadKernelError, CellTimeoutError) as exc:
            where = resources.get("nbgrader", {})
            self.log.warning("execution of %s's %s stopped early: %s", where.get("student", "a student"),
                             where.get("notebook", "notebook"), exc)
            return nb, resources


FEEDBACK_WIDTH = 88  # nbgrader's feedback shows a cell's output as preformatted text: wrap it to be read
# (nbconvert turns ANSI escapes in a stream into styled HTML: `printable` shows a student's as text)


def _feedback(results: Any, part: str) -> str:
    lines = [f"{t.name.split('::')[-1]}: {printable(t.output)}"
             for t in results.tests if t.part == part and t.status != "passed" and t.visibility == "visible"]
    return "\n".join(textwrap.fill(line, FEEDBACK_WIDTH, break_long_words=False, break_on_hyphens=False)
                     for text in lines for line in text.splitlines())


def graded_cell_outputs(results: Any, part: str, score: float, execution_count: int | None) -> list:
    """A graded cell's outputs, which generate_feedback passes on to the student: the feedback and pictures of the
    part's failing tests (Results.for_students: none for a part that is not visible), then the trusted score."""
    shown = results.for_students()
    outputs = []
    feedback = _feedback(shown, part)
    if feedback:
        outputs.append(nbformat.v4.new_output("stream", name="stdout", text=feedback + "\n"))
    drawn = [t for t in shown.tests if t.part == part and t.status != "passed" and t.picture]
    outputs += [nbformat.v4.new_output("display_data", data={
        "text/html": pictures.readable_html(t.picture, pictures.ALT), "image/svg+xml": t.picture,
        "text/plain": f"<picture of {t.name}>"}) for t in drawn]
    outputs.append(nbformat.v4.new_output("execute_result", data={"text/plain": repr(float(score))},
                                          execution_count=execution_count))
    return outputs


class NotebooksOnly(NbGraderPreprocessor):
    """Removes every file but notebooks from the autograded folder before anything runs.

    nbgrader copies a submission's other files with shutil.copy, which follows symlinks: a
    `leak.txt -> ../../../gradebook.db` handed in arrives as a copy of the gradebook, and
    generate_feedback would pass it back to the student. These assignments are notebooks only.
    """

    def preprocess(self, nb: nbformat.NotebookNode, resources: dict):
        folder = Path(resources["metadata"]["path"])
        for path in sorted(folder.rglob("*"), reverse=True):
            if path.is_symlink() or (path.is_file() and path.suffix != ".ipynb"):
                self.log.warning("removed %s from the autograded folder: only notebooks are graded", path.name)
                path.unlink()
        return nb, resources


class TrustedScores(NbGraderPreprocessor):
    """Replaces the output of every graded test cell with the trusted grader's score for its part."""

    course_config = Unicode("", config=True, help="the course.yml to grade with (tolerances, limits, points); "
                            "default: the nearest course.yml in nbgrader's folder or above")

    def preprocess(self, nb: nbformat.NotebookNode, resources: dict):
        from autograder.core import pipeline  # imported here: nbgrader imports this module for every command
        from autograder.inputs import sources

        assignment = resources["nbgrader"]["assignment"]
        student = resources["nbgrader"]["student"]
        course = config.load(self.course_config or None)
        if assignment not in notebooks.notebook_assignments(course):
            raise RuntimeError(f"nbgrader assignment {assignment!r} is not a `kind: notebook` assignment in "
                               f"{course.root / config.COURSE_FILE}")
        source = sources.notebook_source(nb, student, assignment, course.assignments[assignment])
        results = pipeline.grade([source], assignment_name=assignment, course=course)[0]
        scores = {part.name: part.score for part in results.parts}
        for cell in nb.cells:
            if cell.cell_type != "code" or not nbgrader_utils.is_grade(cell):
                continue
            part = cell.metadata["nbgrader"].get("grade_id", "")  # a test cell's grade_id is its part's name
            if self._tampered(cell):
                self.log.warning("possible tampering: %s's cell %s printed something other than the honest "
                                 "placeholder; its output is replaced by the trusted score", student, part)
            score = scores.get(part, 0.0)
            if part not in scores:
                self.log.warning("graded cell %s is no part of %s in course.yml; it scores 0", part, assignment)
            cell.outputs = graded_cell_outputs(results, part, score, cell.get("execution_count"))
        resources.setdefault("course", {})["results"] = results
        return nb, resources

    @staticmethod
    def _tampered(cell: nbformat.NotebookNode) -> bool:
        """A result an honest kernel never shows: the hidden call answers the placeholder, and a
        failing visible assert or a kernel that never got there shows an error or nothing."""
        for output in cell.outputs:
            if output.get("output_type") == "display_data":
                return True
            if output.get("output_type") == "execute_result" \
                    and output.get("data", {}).get("text/plain") != notebooks.HONEST_PLACEHOLDER:
                return True
        return False
