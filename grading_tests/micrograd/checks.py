"""Checks shared by the hidden tests: compare a submission's observations with torch and, on a
mismatch, raise a Mistake whose pitfall comes from autograder.diagnose (a check, not a guess).

Feedback shows the graph (inputs chosen by the test) and the student's own values, never an
expected value.
"""

import functools
import re

from autograder.boundary.sandbox import StudentError
from autograder.core.suite import FAILURES, Mistake

from . import diagnose, drawing, expected, operations, student_code
from .diagnose import PITFALLS, Tolerance
from .observations import NOT_A_VALUE_CHILD, OTHER_VALUE_CHILD, GraphObservation, MicrogradSubmission
from .writing import MAX_SHOWN, Labelled

H = 1e-5  # central-difference step
UPSTREAM = 5.0  # != 1, so a _backward that forgets `* out.grad` shows
# Inputs for one operation's _backward alone (no point near relu's kink; positive bases for powers).
LOCAL_POINTS = {"add": [(2.0, -3.0), (0.5, 4.0)], "mul": [(2.0, -3.0), (-1.5, 0.25)],
                "tanh": [(0.7,), (-1.3,)], "relu": [(1.5,), (-0.7,)], "exp": [(0.5,), (-1.2,)],
                "pow": [(1.7, 2), (0.8, 3), (2.5, -1), (2.0, 0.5), (1.3, 1.5), (0.0, 3)]}  # x**3 at 0: slope 0
def feedback(pitfall: str, graph: dict, steps: list | None, observation: GraphObservation, nodes) -> str:
    text, written = PITFALLS.get(pitfall, pitfall), Labelled(graph)
    return (f"{text}.\nIn {written.render(nodes)}, {written.steps(steps)}: your "
            f"{written.yours(observation.grad, nodes, 'grad')}.")


def single_op(op: str, point: tuple) -> dict:
    values = operations.OPERATIONS[op].values
    return {"leaves": list(point[:values]), "ops": [[op, *range(values), *point[values:]]]}


def local_steps(graph: dict) -> list:
    out = len(graph["leaves"])
    return [["set_grad", out, UPSTREAM], ["local_backward", out]]


def check_local_derivative(submission: MicrogradSubmission, tolerance: Tolerance, op: str) -> None:
    """out.grad = 5 then out._backward(): every input's grad is 5 times the local derivative, and the output
    records its inputs as its children (else backward() never reaches them)."""
    graphs = [single_op(op, point) for point in LOCAL_POINTS[op]]
    try:
        observations = check_graphs(submission, graphs, [local_steps(g) for g in graphs], tolerance=tolerance,
                                    upstream=UPSTREAM, doing=f"calling {op}'s _backward", localize=False)
    except Mistake as mistake:
        raise in_their_code(submission, op, mistake) from None
    check_children(submission, op, graphs[0], observations[0])


def check_children(submission: MicrogradSubmission, op: str, graph: dict, observation: GraphObservation) -> None:
    """The output of a one-operation graph must hold each input node among its children (_prev)."""
    out, inputs = len(graph["leaves"]), [ref for ref in graph["ops"][0][1:] if isinstance(ref, int)]
    inputs = inputs[:operations.OPERATIONS[op].values]
    missing = [i for i in inputs if i not in observation.prev[out]]
    written, method = Labelled(graph), student_code.METHOD[op]
    built = student_code.StudentCode(submission.sources).output_line(op)
    where = f"\nYour {method} builds its output at {built}." if built else ""
    if NOT_A_VALUE_CHILD in observation.prev[out]:
        raise Mistake(f"children-not-values:{op}", (
            f"your {method} lists something that is not a Value among its output's children: in {written.render()}, "
            f"your v{out}._prev holds a plain number. backward() visits every child, and a number has no _prev or "
            f"_backward, so backward() fails on any graph using {method}: pass only Values as _children (for a "
            f"number exponent, (self,)).{where}"))
    # A child that is not a node of the graph (-1) is a Value made on the way (a tanh built from exp, say): the
    # inputs may be reached through it, which the gradients already judged.
    if missing and OTHER_VALUE_CHILD not in observation.prev[out]:
        kept = [written.labels[i] for i in inputs if i not in missing]
        raise Mistake(f"children-missing:{op}", (
            f"your {method} does not record all its inputs as the children of its output: in "
            f"{written.render()}, your v{out}._prev " + (f"holds {', '.join(kept)} but not " if kept else "lacks ")
            + f"{', '.join(written.labels[i] for i in missing)}. backward() reaches a node only through _prev, so "
            f"an input left out never gets its gradient: pass every input, e.g. (self, other), as _children.{where}"))


# Pitfalls a _backward's own statements can contradict: (does it hold, given the writes into .grad).
AGREES = {"overwrite-grad": lambda writes: not all(w.accumulates for w in writes),
          "no-upstream-grad": lambda writes: not all(w.uses_upstream for w in writes),
          "missing-input-grad": lambda writes: len({w.target for w in writes}) < 2}


def source_agrees(submission: MicrogradSubmission, pitfall: str) -> bool:
    """Whether the student's _backward statements show this pitfall (an `=` into a .grad, say), so that a graph the
    pitfall's model does not reproduce exactly (only one input overwritten) still has it named."""
    kind, _, op = pitfall.partition(":")
    writes = student_code.StudentCode(submission.sources).grad_writes(op) if kind in AGREES and op else []
    return bool(writes) and AGREES[kind](writes)


def in_their_code(submission: MicrogradSubmission, op: str, mistake: Mistake) -> Mistake:
    """An operation's mistake worded with the student's own lines: the statements of their _backward (or the
    line building the output, for a wrong forward value). A pitfall their code contradicts becomes the plain
    "wrong local derivative"; a _backward never attached is named as such."""
    student = student_code.StudentCode(submission.sources)
    pitfall, feedback = mistake.pitfall, mistake.feedback
    kind = pitfall.split(":")[0]
    if kind in ("forward", "reflected-operand-order"):
        op = pitfall.split(":")[1] if pitfall.split(":")[1] in student_code.METHOD else op  # `2 + x`: __radd__
        built = student.output_line(op)
        shown = f"\nYour {student_code.METHOD[op]} computes its output at {built}." if built else ""
        return Mistake(pitfall, feedback + shown, mistake.flags, picture=mistake.picture)
    if kind in FAILURES or pitfall.startswith(("missing-operator", "number-not-wrapped")):
        return mistake
    details = feedback.partition("\n")[2]  # what was observed, below the headline
    if student.builds_output(op) and student.attaches_backward(op) is False:
        pitfall = f"backward-not-attached:{op}"
        headline = (f"your {student_code.METHOD[op]} never attaches a _backward to its output (no `out._backward = "
                    f"_backward`), so the output keeps the do-nothing _backward of a leaf and no gradient "
                    f"flows back through {op}")
        return Mistake(pitfall, f"{headline}.\n{details}", mistake.flags, picture=mistake.picture)
    writes = student.grad_writes(op)
    if writes and kind in AGREES and not AGREES[kind](writes):
        pitfall = f"wrong-derivative:{op}"
        feedback = f"{PITFALLS[pitfall]}.\n{details}"
    lines = sorted({line.number: line for line in student.backward_lines(op)}.values(), key=lambda line: line.number)
    shown = student_code.shown_lines((lines or [w.line for w in writes])[:MAX_BACKWARD_LINES], f"Your {op}'s _backward")
    return Mistake(pitfall, feedback + ("\n" + shown if shown else ""), mistake.flags, picture=mistake.picture)


def wrong_operation(submission: MicrogradSubmission, tolerance: Tolerance, graph: dict) -> Mistake | None:
    """Which operation of a graph has the wrong _backward, from each one's _backward alone: a mistake in
    pow is named for pow even where it shows through truediv (built from pow and mul); then the operations
    built from others (neg, sub, truediv), each alone, once all they are built from are right."""
    for op in diagnose.LOCAL_OPS:
        if op in diagnose.ops_in(graph):
            try:
                check_local_derivative(submission, tolerance, op)
            except Mistake as mistake:
                return mistake
    # A student may build sub from neg (the lecture) or truediv from anything: with any of them in the graph,
    # each is checked alone, the ones others are commonly built from first.
    if any(name in diagnose.COMPOSITES for name, *_ in graph["ops"]):
        for op in ("neg", "sub", "truediv"):
            found = composite_mistake(submission, tolerance, op)
            if found is not None:
                return found
    return None


MAX_BACKWARD_LINES = 8  # of a _backward quoted in feedback
KINK = 1e-3  # relu's derivative is a convention within this of 0: no central difference can judge it there


def wrong_at_its_values(submission: MicrogradSubmission, tolerance: Tolerance, graph: dict,
                        observation: GraphObservation) -> Mistake | None:
    """An operation whose _backward, alone, disagrees with central differences of its own forward at the very
    values it has in this graph (a relu threshold at 1, a derivative wrong only near some input): the student's
    own code on both sides, so it needs no expected value, for points wrong_operation's fixed ones miss."""
    for op, *refs in graph["ops"]:
        if op not in diagnose.LOCAL_OPS:
            continue
        count = operations.OPERATIONS[op].values
        point = tuple([observation.data[r] if isinstance(r, int) else r["c"] for r in refs[:count]] + refs[count:])
        if op == "relu" and abs(point[0]) < KINK:
            continue
        single = single_op(op, point)
        try:
            local = submission.graph(single, local_steps(single), doing=f"calling {op}'s _backward")
            slopes = own_slopes(submission, single)
        except Mistake:
            continue  # the tests of that operation report it
        if all(diagnose.finite_difference_agrees(UPSTREAM * slope, grad, tolerance.finite_difference)
               for slope, grad in zip(slopes, local.grad[:count], strict=True)):
            continue
        pitfall = f"wrong-derivative:{op}"
        return in_their_code(submission, op, Mistake(pitfall, feedback(pitfall, single, local_steps(single), local,
                                                                       range(count))))
    return None


COMPOSITE_PITFALLS = {"neg": (), "sub": ("sub-derivative-sign",), "truediv": ("div-derivative-sign",)}


def composite_mistake(submission: MicrogradSubmission, tolerance: Tolerance, op: str) -> Mistake | None:
    """An operation built from others, alone: its result's _backward and those of the Values it made on the
    way, called from the last made, must pass every input its gradient."""
    graph = next(g for g in SIMPLEST if g["ops"][0][0] == op and all(isinstance(r, int) for r in g["ops"][0][1:]))
    steps = local_steps(graph)
    try:
        observation = submission.graph(graph, steps, doing=f"calling the _backward of your {op}")
        check_forward(graph, observation, tolerance)
    except Mistake:
        return None  # the expression's own tests report it
    wrong = wrong_gradients(graph, observation, tolerance, upstream=UPSTREAM)
    if not wrong:
        return None
    written, method, out = Labelled(graph), student_code.METHOD[op], len(graph["leaves"])
    # A known mistake of this operation itself that reproduces these gradients words the headline (the ones of
    # the operations it may be built from passed their own checks before this one ran).
    pitfall = diagnose.explain_batch([graph], [steps], [(observation.data, observation.grad, None)], tolerance,
                                     candidates=COMPOSITE_PITFALLS[op])
    headline = (PITFALLS[pitfall] if pitfall in PITFALLS else
                f"your {method} does not pass the gradient back to its inputs as {op} should")
    detached = (f" Its result has no children (_prev is empty): a new Value cut off from the graph, so no "
                f"gradient can reach {written.labels[0]}." if not observation.prev[out] else "")
    returned = student_code.StudentCode(submission.sources).output_line(op)
    feedback = (f"{headline}: in {written.render()}, {written.steps(steps)} (and of the Values your {method} made "
                f"on the way), your {written.yours(observation.grad, range(out))}.{detached}"
                + (f"\nYour {method} returns at {returned}." if returned else ""))
    return drawing.with_gradients(Mistake(pitfall if pitfall in PITFALLS else f"composite-gradient:{op}", feedback),
                                  graph, observation, wrong)


def check_forward(graph: dict, observation: GraphObservation, tolerance: Tolerance) -> None:
    data, _ = expected.graph(graph)
    for i, (mine, theirs) in enumerate(zip(observation.data, data, strict=True)):
        if not tolerance.close(mine, theirs):
            op, *refs = graph["ops"][i - len(graph["leaves"])]
            pitfall = f"forward:{op}"
            if isinstance(refs[0], dict) and op in ("add", "mul"):  # `2 + x`: Python calls the reflected method
                pitfall = f"forward:r{op}"
            if isinstance(refs[0], dict) and op in ("sub", "truediv"):
                # `number - value`: check whether the operands were swapped (value - number).
                b = observation.data[refs[1]]
                swapped = b - refs[0]["c"] if op == "sub" else b / refs[0]["c"]
                if tolerance.close(mine, swapped):
                    pitfall = f"reflected-operand-order:r{op}"
            raise Mistake(pitfall,
                          f"{PITFALLS[pitfall]}.\nIn {Labelled(graph).render([i])}: your v{i}.data = {mine:.6g}.")


def wrong_gradients(graph: dict, observation: GraphObservation, tolerance: Tolerance, *,
                    upstream: float = 1.0) -> list[int]:
    _, grads = expected.graph(graph, upstream=upstream)
    return [i for i in range(diagnose.size(graph)) if not tolerance.close(observation.grad[i], grads[i])]


def shows_in(found: Mistake, graph: dict, observation: GraphObservation, wrong: list[int]) -> Mistake:
    """An operation's mistake found on its own, pictured where it shows in a bigger graph."""
    feedback = f"{found.feedback}\nIt shows in {Labelled(graph).render()} too."
    return drawing.with_gradients(Mistake(found.pitfall, feedback, found.flags), graph, observation, wrong)


def gradient_mistake(submission: MicrogradSubmission | None, graph: dict, steps: list | None,
                     observation: GraphObservation, tolerance: Tolerance, wrong: list[int], pitfall: str | None,
                     localize: bool = True) -> Mistake:
    """The Mistake for wrong gradients; without a known pitfall, finite differences tell forward from backward,
    and (localize) each operation's _backward alone names the operation. In the other isolation modes the
    local derivatives are the reference's: never blame them."""
    own = submission is None or submission.mode == "own"
    if pitfall is None and submission is not None and own:
        pitfall = finite_difference_pitfall(submission, graph, observation, tolerance)
        if pitfall in (None, "gradient-disagrees-with-forward") and localize:
            found = wrong_operation(submission, tolerance, graph) or wrong_at_its_values(submission, tolerance, graph,
                                                                                          observation)
            if found is not None:
                return shows_in(found, graph, observation, wrong)
    ops = {op for op, *_ in graph["ops"]}
    if pitfall in (None, "gradient-disagrees-with-forward") and len(ops) == 1 and own:
        pitfall = f"wrong-derivative:{ops.pop()}"
    pitfall = pitfall or "wrong-gradient"
    shown = sorted(set(range(len(graph["leaves"]))) | set(wrong[:3]))
    return drawing.with_gradients(Mistake(pitfall, feedback(pitfall, graph, steps, observation, shown)), graph,
                                  observation, wrong)


def own_slopes(submission: MicrogradSubmission, graph: dict) -> list[float]:
    """The output's slope along each leaf: central differences of the student's own forward pass."""
    nearby = submission.graphs(diagnose.central_differences(graph, H), [[]] * (2 * len(graph["leaves"])),
                               doing="evaluating your forward pass near the inputs")
    return diagnose.finite_difference_gradient([o.data[-1] for o in nearby], H)


def finite_difference_pitfall(submission: MicrogradSubmission, graph: dict, observation: GraphObservation,
                              tolerance: Tolerance) -> str | None:
    """Tell a wrong forward from a wrong backward with central differences of the student's own forward."""
    fd = own_slopes(submission, graph)
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


def check_operators(submission: MicrogradSubmission) -> None:
    """Every operator Python needs for expressions mixing Values and numbers; all the missing ones are named."""
    present = submission.api(OPERATORS)
    missing = [operator for operator in OPERATORS if not present[operator]]
    if missing:
        pitfall = f"missing-operator:{missing[0]}"
        others = [PITFALLS[f"missing-operator:{operator}"] for operator in missing[1:]]
        raise Mistake(pitfall, f"{PITFALLS[pitfall]}." + "".join(f"\nAlso: {other}." for other in others))


# An exception about an operand of an operator (a missing reflected operator, a plain number not wrapped in
# Value): only then are the operators looked for. Any other exception is reported as itself, first.
ABOUT_OPERANDS = re.compile(r"unsupported operand|bad operand type|can't multiply sequence|"
                            r"'(?:int|float)' object has no attribute")
NOT_A_VALUE = re.compile(r"(\w+) returned an? (\w+), not a Value")
NOT_A_NUMBER = re.compile(r"(?:the \.(data|grad) of the Value your (\w+) returned|node \d+'s (data|grad)) "
                          r"(?:\(node \d+\) )?is an? (\w+), not a number")


def not_a_number(attribute: str, method: str | None, mistake: Mistake) -> Mistake:
    """A Value where a plain number belongs: in .data (a Value wrapped in another Value), or in .grad (a
    _backward that adds a Value, e.g. `other` instead of `other.data`, into a gradient)."""
    if attribute == "data":
        return Mistake(f"data-holds-value:{method or 'leaf'}", (
            f"your {method or 'code'} made a Value whose .data is itself a Value: wrap only a plain number in "
            "Value(...) (`other if isinstance(other, Value) else Value(other)`), and compute .data from the "
            f"inputs' .data.\n{mistake.feedback}"), error=mistake.error)
    return Mistake("grad-holds-value", (
        "a _backward put a Value into .grad: gradients are plain numbers, so inside _backward use the inputs' "
        f".data (other.data, not other) and out.grad.\n{mistake.feedback}"), error=mistake.error)


# The simplest expressions, in the order their methods build on each other: an exception is localised to
# the first of them that raises it too (a wrong __add__ shows in __sub__, built from it, and in any graph).
SIMPLEST = ([single_op(op, LOCAL_POINTS[op][0]) for op in diagnose.LOCAL_OPS]
            + [{"leaves": [1.75], "ops": [["neg", 0]]}]
            + [{"leaves": [2.5, -1.25], "ops": [[op, 0, 1]]} for op in ("sub", "truediv")]
            + [graph for graph, _ in NUMBER_GRAPHS[:-1]])


def same_failure(a: StudentError, b: StudentError) -> bool:
    """The same exception: raised at the same place, or saying the same of a method's result."""
    if a.type != b.type:
        return False
    if a.where == b.where and (a.where or a.message == b.message):
        return True
    x, y = NOT_A_NUMBER.match(a.message), NOT_A_NUMBER.match(b.message)
    if x and y:
        return (x[1] or x[3]) == (y[1] or y[3])
    return bool(NOT_A_VALUE.match(a.message) and NOT_A_VALUE.match(b.message))


def non_value_child(submission: MicrogradSubmission) -> Mistake | None:
    """The first operation whose output lists something other than a Value among its children, as a Mistake."""
    for graph in SIMPLEST:
        if len(graph["ops"]) != 1 or graph["ops"][0][0] not in student_code.METHOD:
            continue
        try:
            observation = submission.graph(graph, [], doing=f"computing {Labelled(graph).render()}")
            check_children(submission, graph["ops"][0][0], graph, observation)
        except Mistake as found:
            if found.pitfall.startswith("children-not-values:"):
                return found
    return None


def innermost(submission: MicrogradSubmission, mistake: Mistake) -> Mistake:
    """The same failure on the simplest expression that shows it (its _backward called too), or the mistake."""
    for graph in SIMPLEST:
        single = len(graph["ops"]) == 1
        try:
            submission.graph(graph, local_steps(graph) if single else None,
                             doing=f"computing {Labelled(graph).render()}" + (" and calling its _backward" if single
                                                                               else " and its backward()"))
        except Mistake as failure:
            if failure.error is not None and same_failure(failure.error, mistake.error):
                return failure
    return mistake


def first_wrong_forward(submission: MicrogradSubmission, tolerance: Tolerance) -> Mistake | None:
    """The simplest expression whose forward value is wrong, named for its method (with the student's line)."""
    for graph in SIMPLEST:
        try:
            observation = submission.graph(graph, [], doing=f"computing {Labelled(graph).render()}")
            check_forward(graph, observation, tolerance)
        except Mistake as mistake:
            if mistake.pitfall.startswith(("forward:", "reflected-operand-order")):
                return in_their_code(submission, graph["ops"][0][0], mistake)
            wrapped = NOT_A_NUMBER.match(mistake.error.message) if mistake.error else None
            if wrapped and wrapped[4] == "Value":
                return not_a_number(wrapped[1] or wrapped[3], wrapped[2], mistake)
    return None


# Exceptions that a wrong value computed earlier causes (a negative number to a fractional power, ...).
CAUSED_BY_VALUES = re.compile(r"complex|math domain error|division by zero|cannot be raised|out of range|overflow|"
                              r"not Value\b",
                              re.IGNORECASE)


def explain_error(submission: MicrogradSubmission, mistake: Mistake, tolerance: Tolerance | None = None) -> Mistake:
    """An expression that raised: the exception itself, localised to the simplest expression that raises it
    (or, for an exception that wrong values cause, to the simplest expression whose value is wrong); only an
    exception about an operand sends us looking for a missing operator or an unwrapped number."""
    if mistake.pitfall != "error" or submission.mode != "own" or mistake.error is None:  # other modes lack them
        return mistake
    if tolerance is not None and CAUSED_BY_VALUES.search(f"{mistake.error.type} {mistake.error.message}"):
        found = first_wrong_forward(submission, tolerance)
        if found is not None:
            return Mistake(found.pitfall, f"{found.feedback}\nThat is also why {mistake.feedback}", found.flags,
                           picture=found.picture)
    mistake = innermost(submission, mistake)
    error = mistake.error
    if returned := NOT_A_VALUE.match(error.message):
        method, kind = returned.groups()
        what = "None (is its `return` missing?)" if kind == "NoneType" else f"a {kind}"
        return Mistake(f"returns-non-value:{method}", f"your {method} returned {what} instead of a Value: every "
                       f"operation returns the Value it built.\n{mistake.feedback}", error=error)
    if (found := NOT_A_NUMBER.match(error.message)) and found[4] == "Value":
        return not_a_number(found[1] or found[3], found[2], mistake)
    if not ABOUT_OPERANDS.search(error.message):
        return mistake
    if (number_child := non_value_child(submission)) is not None:  # a number in a graph: backward() fails on it
        return Mistake(number_child.pitfall, f"{number_child.feedback}\nThat is also why {mistake.feedback}",
                       error=error)
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
        return Mistake(found.pitfall, f"{found.feedback}\n{mistake.feedback}", found.flags, picture=found.picture)
    return mistake


def seed_in_their_code(submission: MicrogradSubmission, mistake: Mistake) -> Mistake:
    """'never seeds' where their backward() does write a seed: then something after it resets it."""
    code = student_code.BackwardCode(student_code.StudentCode(submission.sources))
    seeds = code.seed_lines()
    if not seeds:
        return mistake
    resets = [line for line in code.reset_lines() if line.number > seeds[0].number]
    details = mistake.feedback.partition("\n")[2]
    if resets:
        headline = (f"your backward() seeds the output ({seeds[0]}) and then sets gradients to 0 ({resets[0]}), "
                    "which zeroes the seed again: reset first, then seed, then walk")
    else:
        headline = (f"your backward() writes a seed ({seeds[0]}), yet the output's gradient is 0 when the walk "
                    "begins: seed the output itself (self.grad = 1), after anything that resets gradients")
    return Mistake("seed-reset", f"{headline}.\n{details}", mistake.flags, picture=mistake.picture)


def check_backward(submission: MicrogradSubmission, graphs: list[dict], steps: list | None = None, *,
                   tolerance: Tolerance, doing: str, leaves_only: bool = False) -> None:
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
        if pitfall == "no-seed":
            mistake = seed_in_their_code(submission, mistake)
        wrong = drawing.replay_wrong(graph, step, observation, tolerance, leaves_only)
        raise drawing.with_gradients(mistake, graph, observation, wrong)


def check_graphs(submission: MicrogradSubmission, graphs: list[dict], steps: list | None = None, *,
                 tolerance: Tolerance, doing: str, upstream: float = 1.0,
                 localize: bool = True) -> list[GraphObservation]:
    """One worker call for all graphs; on a wrong one, one more call records the order of the _backward
    calls, and the mistake that reproduces the student's observations on ALL the graphs is named
    (localize: failing that, the operation whose _backward alone is wrong)."""
    steps = steps or [None] * len(graphs)
    try:
        observations = submission.graphs(graphs, steps, doing=doing)
    except Mistake as mistake:
        raise explain_error(submission, mistake, tolerance) from None
    for graph, observation in zip(graphs, observations, strict=True):
        try:
            check_forward(graph, observation, tolerance)
        except Mistake as mistake:  # named for the simplest expression whose value is wrong
            raise (first_wrong_forward(submission, tolerance) if localize and submission.mode == "own"
                   else None) or mistake from None
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
            if localize and submission.mode == "own":
                # Localise before naming: an operation whose _backward alone is wrong is the mistake, whatever
                # a pitfall that happens to reproduce this graph says (x**2 cannot tell n*x from x**(n-1)).
                found = wrong_operation(submission, tolerance, graph) or wrong_at_its_values(
                    submission, tolerance, graph, observation)
                if found is not None:
                    raise shows_in(found, graph, observation, wrong)
            if pitfall is None:  # explain this graph alone, unless another graph it could show on contradicts it
                pitfall = diagnose.explain_batch([graph], [step], [(observation.data, observation.grad,
                                                 observation.calls)], tolerance)
                if pitfall and not all(diagnose.reproduces(pitfall, g, diagnose.default_steps(g) if s is None else s,
                                                           o.data, o.grad, o.calls, tolerance, False)
                                       for g, s, o in zip(graphs, steps, recorded, strict=True)
                                       if pitfall in diagnose.candidates_for(g)) and not source_agrees(submission,
                                                                                                       pitfall):
                    pitfall = None
            raise gradient_mistake(submission, graph, step, observation, tolerance, wrong, pitfall, localize)
    return observations
