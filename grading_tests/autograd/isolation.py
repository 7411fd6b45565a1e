"""The isolation modes of the autograd notebook's suite (autograder/core/isolation.py).

- "own" (implicit): each _backward, one at a time (local_backward), and the accumulation of a
  reused node along a reference walk over the student's own closures (reused_node); the tanh
  neuron along that walk too (tanh_neuron: the student's operations chained, not their backward()).
- "reference_derivatives": the topological sort and backward() (part backward) on the student's
  Value with reference local derivatives, as the module suite grades them.
"""

from pathlib import Path

from autograder.core.isolation import Mode

MICROGRAD_SUITE = Path(__file__).resolve().parents[1] / "micrograd"

MODES = {
    "reference_derivatives": Mode(worker_files=(MICROGRAD_SUITE / "sandboxed" / "reference_operations.py",),
                                  graph_options={"derivatives": "reference"}),
}
