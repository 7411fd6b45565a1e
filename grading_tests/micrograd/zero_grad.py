"""zero_grad judged on its own (no forward pass, no backward()): shared by the module suite's training part and
the neural-nets notebook's, so a mistake in zero_grad is named as such wherever training is graded."""

from autograder.core.suite import Mistake, numbers

from . import expected, models
from .diagnose import PITFALLS

ZERO_GRAD_MODEL = ("MLP", [3, [4, 1]])


ALONE_GRADS = [0.5 + i / 8 for i in range(6)]


def zero_grad_alone(submission) -> Mistake | None | bool:
    """Module.zero_grad on a module of the grader's (parameters() lists six Values with grads): zero_grad judged
    apart from the student's Neuron, Layer and MLP. False when that cannot be done (no Module.zero_grad, a model
    class with its own, or it raises there)."""
    try:
        value = submission.ask("model.zero_grad() on a module whose parameters() lists six Values",
                               "zero_grad_alone", grads=ALONE_GRADS)
    except Mistake:
        return False
    if value.get("available") is not True:
        return False
    params, grads = numbers(value.get("params"), "params", 6), numbers(value.get("grads"), "grads", 6)
    left = [i for i, g in enumerate(grads) if g != 0]
    if all(p == 0 for p in params):
        pitfall = "zero-grad-zeroes-data"
    elif not left:
        return None
    else:
        pitfall = "zero-grad-noop" if len(left) == len(grads) else "zero-grad-incomplete"
    shown = ", ".join(f"parameters()[{i}].grad = {grads[i]:.6g}" for i in left)
    return Mistake(pitfall, f"{PITFALLS[pitfall]}.\nOn a module whose parameters() lists six Values, each with a "
                   f"non-zero grad, your Module.zero_grad() left: {shown or 'every data at 0'}.")


def zero_grad_mistake(submission) -> Mistake | None:
    """Look at zero_grad() alone: give every parameter a gradient, call zero_grad(), see which are reset.

    No forward pass and no backward(): a mistake in the model or the engine cannot show here; where zero_grad
    is the lecture's Module method, not even a mistake in Neuron, Layer or MLP can."""
    alone = zero_grad_alone(submission)
    if alone is not False:
        return alone
    cls, args = ZERO_GRAD_MODEL
    n = expected.parameter_count(cls, args)
    observed = submission.model(cls, args, steps=[["set_grads", [0.5 + i / 64 for i in range(n)]], ["snapshot"],
                                                  ["zero_grad"]],
                                doing="model.zero_grad() after every parameter got a gradient")
    before = observed.snapshots[0]
    left = [i for i, g in enumerate(observed.grads) if g != 0]
    biases = set(expected.bias_indices(cls, args)) if observed.n_parameters == n else set()
    if all(p == 0 for p in observed.params) and any(before["params"]):
        pitfall = "zero-grad-zeroes-data"
    elif not left:
        return None
    elif set(left) == biases:
        pitfall = "zero-grad-weights-only"
    elif len(left) == observed.n_parameters:
        pitfall = "zero-grad-noop"
    else:
        pitfall = "zero-grad-incomplete"
    shown = ", ".join(f"parameters()[{i}].grad = {observed.grads[i]:.6g}" for i in left[:6])
    return Mistake(pitfall, f"{PITFALLS[pitfall]}.\nAfter setting every parameter's grad of "
                   f"{models.describe(cls, args)} to a non-zero number, then model.zero_grad(): your "
                   f"{shown or 'parameters are all 0'}.")
