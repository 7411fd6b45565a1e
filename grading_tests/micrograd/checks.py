"""Checks shared by the hidden tests: compare a submission's observations with torch and, on a
mismatch, raise a Mistake whose pitfall comes from autograder.diagnose (a check, not a guess).

Feedback shows the graph (inputs chosen by the test) and the student's own values, never an
expected value.
"""

import functools

import diagnose
import drawing
import expected
import operations
from diagnose import PITFALLS, Tolerance
from writing import MAX_SHOWN, Labelled

from autograder.suite import GraphObservation, Mistake, Submission

H = 1e-5  # central-difference step
UPSTREAM = 5.0  # != 1, so a _backward that forgets `* out.grad` shows
# Inputs for one operation's _backward alone (no point near relu's kink; positive bases for powers).
LOCAL_POINTS = {"add": [(2.0, -3.0), (0.5, 4.0)], "mul": [(2.0, -3.0), (-1.5, 0.25)],
                "tanh": [(0.7,), (-1.3,)], "relu": [(1.5,), (-0.7,)], "exp": [(0.5,), (-1.2,)],
                "pow": [(1.7, 2), (0.8, 3), (2.5, -1), (2.0, 0.5), (1.3, 1.5)]}
def feedback(pitfall: str, graph: dict, steps: list | None, observation: GraphObservation, nodes) -> str:
    text, written = PITFALLS.get(pitfall, pitfall), Labelled(graph)
    return (f"{text}.\nIn {written.render()}, {written.steps(steps)}: your "
            f"{written.yours(observation.grad, nodes, 'grad')}.")


def single_op(op: str, point: tuple) -> dict:
    values = operations.OPERATIONS[op].values
    return {"leaves": list(point[:values]), "ops": [[op, *range(values), *point[values:]]]}


def local_steps(graph: dict) -> list:
    out = len(graph["leaves"])
    return [["set_grad", out, UPSTREAM], ["local_backward", out]]


def check_local_derivative(submission: Submission, tolerance: Tolerance, op: str) -> None:
    """out.grad = 5 then out._backward(): every input's grad is 5 times the local derivative."""
    graphs = [single_op(op, point) for point in LOCAL_POINTS[op]]
    check_graphs(submission, graphs, [local_steps(g) for g in graphs], tolerance=tolerance, upstream=UPSTREAM,
                 doing=f"calling {op}'s _backward", localize=False)


def wrong_operation(submission: Submission, tolerance: Tolerance, graph: dict) -> Mistake | None:
    """Which operation of a graph has the wrong _backward, from each one's _backward alone: a mistake in
    pow is named for pow even where it shows through truediv (built from pow and mul)."""
    for op in diagnose.LOCAL_OPS:
        if op in diagnose.ops_in(graph):
            try:
                check_local_derivative(submission, tolerance, op)
            except Mistake as mistake:
                return mistake
    return None


def check_forward(graph: dict, observation: GraphObservation, tolerance: Tolerance) -> None:
    data, _ = expected.graph(graph)
    for i, (mine, theirs) in enumerate(zip(observation.data, data, strict=True)):
        if not tolerance.close(mine, theirs):
            op, *refs = graph["ops"][i - len(graph["leaves"])]
            pitfall = f"forward:{op}"
            if isinstance(refs[0], dict) and op in ("sub", "truediv"):
                # `number - value`: check whether the operands were swapped (value - number).
                b = observation.data[refs[1]]
                swapped = b - refs[0]["c"] if op == "sub" else b / refs[0]["c"]
                if tolerance.close(mine, swapped):
                    pitfall = f"reflected-operand-order:r{op}"
            raise Mistake(pitfall, f"{PITFALLS[pitfall]}.\nIn {Labelled(graph).render()}: your v{i}.data = {mine:.6g}.")


def wrong_gradients(graph: dict, observation: GraphObservation, tolerance: Tolerance, *,
                    upstream: float = 1.0) -> list[int]:
    _, grads = expected.graph(graph, upstream=upstream)
    return [i for i in range(diagnose.size(graph)) if not tolerance.close(observation.grad[i], grads[i])]


def shows_in(found: Mistake, graph: dict, observation: GraphObservation, wrong: list[int]) -> Mistake:
    """An operation's mistake found on its own, pictured where it shows in a bigger graph."""
    feedback = f"{found.feedback}\nIt shows in {Labelled(graph).render()} too."
    return drawing.with_gradients(Mistake(found.pitfall, feedback, found.flags), graph, observation, wrong)


def gradient_mistake(submission: Submission | None, graph: dict, steps: list | None, observation: GraphObservation,
                     tolerance: Tolerance, wrong: list[int], pitfall: str | None, localize: bool = True) -> Mistake:
    """The Mistake for wrong gradients; without a known pitfall, finite differences tell forward from backward,
    and (localize) each operation's _backward alone names the operation. In the other isolation modes the
    local derivatives are the reference's: never blame them."""
    own = submission is None or submission.mode == "own"
    if pitfall is None and submission is not None and own:
        pitfall = finite_difference_pitfall(submission, graph, observation, tolerance)
        if pitfall in (None, "gradient-disagrees-with-forward") and localize:
            found = wrong_operation(submission, tolerance, graph)
            if found is not None:
                return shows_in(found, graph, observation, wrong)
    ops = {op for op, *_ in graph["ops"]}
    if pitfall in (None, "gradient-disagrees-with-forward") and len(ops) == 1 and own:
        pitfall = f"wrong-derivative:{ops.pop()}"
    pitfall = pitfall or "wrong-gradient"
    shown = sorted(set(range(len(graph["leaves"]))) | set(wrong[:3]))
    return drawing.with_gradients(Mistake(pitfall, feedback(pitfall, graph, steps, observation, shown)), graph,
                                  observation, wrong)


def finite_difference_pitfall(submission: Submission, graph: dict, observation: GraphObservation,
                              tolerance: Tolerance) -> str | None:
    """Tell a wrong forward from a wrong backward with central differences of the student's own forward."""
    outputs = [o.data[-1] for o in submission.graphs(diagnose.central_differences(graph, H), [[]] * (
        2 * len(graph["leaves"])), doing="evaluating your forward pass near the inputs")]
    fd = diagnose.finite_difference_gradient(outputs, H)
    _, grads = expected.graph(graph)
    limit = tolerance.finite_difference
    forward_right = all(diagnose.finite_difference_agrees(d, g, limit) for d, g in zip(fd, grads, strict=False))
    backward_consistent = all(diagnose.finite_difference_agrees(d, g, limit)
                              for d, g in zip(fd, observation.grad, strict=False))
    if not forward_right:
        return "forward-wrong-nearby"
    if not backward_consistent:
        return "gradient-disagrees-with-forward"
    return None


# Expressions that each need one thing to work, with the pitfall when building them raises.
NUMBER_GRAPHS = [
    ({"leaves": [1.5], "ops": [["add", 0, {"c": 2.0}]]}, "number-not-wrapped:add"),
    ({"leaves": [1.5], "ops": [["mul", 0, {"c": 3.0}]]}, "number-not-wrapped:mul"),
    ({"leaves": [1.5], "ops": [["add", {"c": 2.0}, 0]]}, "number-not-wrapped:add"),
    ({"leaves": [1.5], "ops": [["mul", {"c": 3.0}, 0]]}, "number-not-wrapped:mul"),
    ({"leaves": [1.5], "ops": [["sub", 0, {"c": 2.0}]]}, "number-not-wrapped:add"),
    ({"leaves": [1.5], "ops": [["sub", {"c": 2.0}, 0]]}, "number-not-wrapped:add"),
    ({"leaves": [1.5], "ops": [["truediv", 0, {"c": 4.0}]]}, "number-not-wrapped:mul"),
    ({"leaves": [1.5], "ops": [["truediv", {"c": 4.0}, 0]]}, "number-not-wrapped:mul"),
    ({"leaves": [1.5], "ops": [["neg", 0]]}, "number-not-wrapped:mul"),
    ({"leaves": [1.5], "ops": [["pow", 0, 2.5]]}, "pow-float-exponent"),
    ({"leaves": [0.8, -1.5], "ops": [["mul", 0, {"c": 2.0}], ["sub", {"c": 1.0}, 2], ["truediv", 3, 1],
                                     ["add", {"c": 0.5}, 4]]}, "number-not-wrapped:mul"),
]
OPERATORS = ["__radd__", "__rmul__", "__rsub__", "__rtruediv__", "__neg__", "__sub__", "__truediv__", "__pow__"]


def check_operators(submission: Submission) -> None:
    present = submission.api(OPERATORS)
    for operator in OPERATORS:
        if not present[operator]:
            pitfall = f"missing-operator:{operator}"
            raise Mistake(pitfall, f"{PITFALLS[pitfall]}.")


def explain_error(submission: Submission, mistake: Mistake) -> Mistake:
    """An expression that raised: is an operator missing, or a plain number not wrapped? Else the error itself."""
    if mistake.pitfall != "error" or submission.mode != "own":  # other modes build without the operators
        return mistake
    try:
        check_operators(submission)
        for graph, pitfall in NUMBER_GRAPHS:
            try:
                submission.graph(graph, doing=f"computing {Labelled(graph).render()}")
            except Mistake as failure:
                if failure.pitfall == "error":
                    return Mistake(pitfall, f"{PITFALLS[pitfall]}.\n{failure.feedback}")
                return failure
    except Mistake as found:
        return found
    return mistake


def check_backward(submission: Submission, graphs: list[dict], steps: list | None = None, *, tolerance: Tolerance,
                   doing: str, leaves_only: bool = False) -> None:
    """backward()'s own job, whatever its walk: replaying the student's own order of _backward calls on
    the model engine must give the student's gradients, so the seed is right and gradients are kept as
    they should be between calls. A walk that skips, repeats or misorders nodes is the topo_sort part's
    to grade (from the same calls), so it cannot cost points here."""
    steps = steps or [diagnose.default_steps(g) for g in graphs]
    observations = submission.graphs(graphs, steps, doing=doing, record_calls=True)
    replayed = [(o.data, o.grad, o.calls) for o in observations]
    explain = functools.partial(diagnose.explain_batch, tolerance=tolerance, candidates=diagnose.SEED_BUGS,
                                leaves_only=leaves_only, judge_order=False)
    # Without a walk there is nothing seeded or kept to judge: no credit for a backward() that only seeds.
    # (Any _backward of an op node counts: a walk that skips some nodes is the topo_sort part's mistake.)
    if not any(node >= len(g["leaves"]) for g, o in zip(graphs, observations, strict=True)
               for calls in o.calls for node in calls):
        raise Mistake("backward-no-walk", feedback("backward-no-walk", graphs[0], steps[0], observations[0],
                                                   range(diagnose.size(graphs[0]))))
    for graph, step, observation, seen in zip(graphs, steps, observations, replayed, strict=True):
        if diagnose.reproduces(None, graph, step, *seen, tolerance, leaves_only):
            continue
        pitfall = explain(graphs, steps, replayed) or explain([graph], [step], [seen]) or "wrong-gradient"
        shown = range(len(graph["leaves"])) if leaves_only else range(diagnose.size(graph))
        mistake = Mistake(pitfall, feedback(pitfall, graph, step, observation, list(shown)[:MAX_SHOWN]))
        wrong = drawing.replay_wrong(graph, step, observation, tolerance, leaves_only)
        raise drawing.with_gradients(mistake, graph, observation, wrong)


def check_graphs(submission: Submission, graphs: list[dict], steps: list | None = None, *, tolerance: Tolerance,
                 doing: str, upstream: float = 1.0, localize: bool = True) -> list[GraphObservation]:
    """One worker call for all graphs; on a wrong one, one more call records the order of the _backward
    calls, and the mistake that reproduces the student's observations on ALL the graphs is named
    (localize: failing that, the operation whose _backward alone is wrong)."""
    steps = steps or [None] * len(graphs)
    try:
        observations = submission.graphs(graphs, steps, doing=doing)
    except Mistake as mistake:
        raise explain_error(submission, mistake) from None
    for graph, observation in zip(graphs, observations, strict=True):
        check_forward(graph, observation, tolerance)
    if not any(wrong_gradients(g, o, tolerance, upstream=upstream) for g, o in zip(graphs, observations, strict=True)):
        return observations
    recorded = submission.graphs(graphs, steps, doing=doing, record_calls=True)
    if not any(wrong_gradients(g, o, tolerance, upstream=upstream) for g, o in zip(graphs, recorded, strict=True)):
        # Right this time: the gradients depend on the order of a set. Explain the first run without its order.
        recorded = [GraphObservation(o.data, o.grad, o.prev, None) for o in observations]
    pitfall = diagnose.explain_batch(graphs, steps, [(o.data, o.grad, o.calls) for o in recorded], tolerance)
    for graph, step, observation in zip(graphs, steps, recorded, strict=True):
        check_forward(graph, observation, tolerance)
        wrong = wrong_gradients(graph, observation, tolerance, upstream=upstream)
        if wrong:
            if pitfall is None and localize and submission.mode == "own":
                # No one mistake explains them all: look at each operation's _backward alone first.
                found = wrong_operation(submission, tolerance, graph)
                if found is not None:
                    raise shows_in(found, graph, observation, wrong)
            if pitfall is None:  # explain this graph alone
                pitfall = diagnose.explain_batch([graph], [step], [(observation.data, observation.grad,
                                                 observation.calls)], tolerance)
            raise gradient_mistake(submission, graph, step, observation, tolerance, wrong, pitfall, localize)
    return observations
