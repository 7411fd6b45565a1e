"""The isolation modes of the micrograd suite (autograder/core/isolation.py, docs/hidden-suites.md).

- "own" (implicit): the student's code as is. Operations are graded here, one _backward at a
  time or along a reference walk the trusted side sends as steps; no reference code at all.
- "reference_derivatives": backward() and the topological sort. Every node is the student's
  Value, built with reference data and a reference _backward; only this worker holds them.
- "reference_engine": nn and training. The student's nn.py on the reference engine.py; an exception it
  withholds is asked again of the student's own code, whose message may be shown.
"""

from pathlib import Path

from autograder.core.isolation import Mode

HERE = Path(__file__).resolve().parent
SOLUTIONS = HERE.parents[1] / "solutions"

MODES = {
    "reference_derivatives": Mode(worker_files=(HERE / "sandboxed" / "reference_operations.py",),
                                  graph_options={"derivatives": "reference"}),
    # The student's own engine.py and nn.py hold no reference code: what they raise may be shown.
    "reference_engine": Mode(replaced=(("micrograd/engine.py", SOLUTIONS / "micrograd" / "engine.py"),),
                             explain_with_own_code=True),
}
