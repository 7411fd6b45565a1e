"""Graphs written out the way a notebook writes them, and the Mistake for wrong gradients on them.

Used by the notebook suites (grading_tests/conftest.py puts this folder on their sys.path), so
their feedback has the module suite's pitfall model and wording: the pitfall named by diagnose (a
check that replays the student's numbers, not a guess), then the expression with the notebook's
own labels and the student's values, never an expected value.
"""

from __future__ import annotations

from collections.abc import Sequence

from autograder.core.suite import Mistake

from . import diagnose, drawing
from .diagnose import PITFALLS, Tolerance
from .observations import GraphObservation, MicrogradSubmission
from .order_words import described
from .writing import Labelled


def gradient_mistake(submission: MicrogradSubmission, labelled: Labelled, steps: list | None,
                     observation: GraphObservation, wrong: Sequence[int], tolerance: Tolerance, *,
                     candidates: Sequence[str] | None = None, leaves_only: bool = False,
                     doing: str = "backward()") -> Mistake:
    """Name the mistake behind wrong gradients (replayed in the student's own order of _backward calls)
    and write out the expression with the student's gradients."""
    graph = labelled.graph
    recorded = submission.graph(graph, steps, doing=doing, record_calls=True)
    pitfall = diagnose.explain_graph(graph, steps, recorded.data, recorded.grad, recorded.calls, tolerance,
                                     candidates=candidates, leaves_only=leaves_only)
    if pitfall is None:
        pitfall = diagnose.explain_graph(graph, steps, observation.data, observation.grad, None, tolerance,
                                         candidates=candidates, leaves_only=leaves_only)
    ops = {op for op, *_ in graph["ops"]}
    if pitfall is None and len(ops) == 1:
        pitfall = f"wrong-derivative:{ops.pop()}"
    pitfall = pitfall or "wrong-gradient"
    headline = PITFALLS[pitfall]
    walked = [step for step in steps or [["backward"]] if step[0] in ("backward", "local_backward")]
    backward_calls = [c for (kind, *_), c in zip(walked, recorded.calls or [], strict=False) if kind == "backward"]
    if pitfall.startswith("topo-") and backward_calls:  # worded from the calls and the student's backward()
        pitfall, headline = described(pitfall, graph, backward_calls[0], submission.sources,
                                      lambda node: labelled.labels[node])
    shown = sorted(set(range(len(graph["leaves"]))) & diagnose.computed_from(graph) | set(wrong[:3]))
    return drawing.with_gradients(Mistake(pitfall, f"{headline}.\nIn {labelled.render(shown)}, "
                                          f"{labelled.steps(steps)}: your {labelled.yours(observation.grad, shown)}."),
                                  graph, observation, wrong, labelled.labels)


def forward_mistake(labelled: Labelled, observation: GraphObservation, node: int) -> Mistake:
    op = labelled.graph["ops"][node - len(labelled.graph["leaves"])][0]
    pitfall = f"forward:{op}"
    return Mistake(pitfall, f"{PITFALLS[pitfall]}.\nIn {labelled.render([node])}: your "
                   f"{labelled.yours(observation.data, [node], 'data')}.")
