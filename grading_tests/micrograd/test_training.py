"""zero_grad on its own, and the lecture's training loop end to end against torch SGD on the same weights."""

import expected
import models
import pytest
from diagnose import PITFALLS

from autograder.suite import REVISITS, Mistake, numbers

pytestmark = pytest.mark.part("training")
MODE = "reference_engine"  # zero_grad alone; the end-to-end loop runs on the student's own engine

CLS, ARGS = models.LECTURE_MLP
XS, YS = expected.LECTURE_XS, expected.LECTURE_YS
LR, STEPS = 0.05, 20


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


def test_zero_grad_resets_every_parameter(submission):
    """zero_grad() sets every parameter's grad (biases too) to 0 and leaves data alone."""
    mistake = zero_grad_mistake(submission.isolated(MODE))
    if mistake:
        raise mistake


GENERIC = {"error", "timeout", "recursion", "memory", REVISITS}  # failures that do not say where the mistake is


def train(submission, steps: int):
    return models.observe(submission, CLS, ARGS, [["train", XS, YS, LR, steps, True]],
                          doing=f"{steps} steps of gradient descent with zero_grad()")


def diverges(observed, tolerance, steps: int, zeroing: str = "all") -> int | None:
    """The first step (or steps, for the final parameters) where a trajectory leaves torch's; None if it never does."""
    losses, final, _ = expected.train(CLS, ARGS, models.parameters(CLS, ARGS), XS, YS, LR, steps, zeroing)
    diverged = next((i for i, (a, b) in enumerate(zip(observed.losses, losses, strict=True))
                     if not tolerance.close(a, b)), None)
    if diverged is None and not all(tolerance.close(a, b) for a, b in zip(observed.params, final, strict=True)):
        return steps
    return diverged


def elsewhere(submission, tolerance, steps: int) -> str:
    """Why the own-engine loop fails, found on the reference engine: zero_grad, the model (raised as its
    own Mistake), or, when the student's nn.py trains right there, the student's engine."""
    nn = submission.isolated(MODE)
    mistake = zero_grad_mistake(nn)
    if mistake:
        return mistake.pitfall
    models.check_forward(nn, tolerance, CLS, ARGS)  # a wrong model is named as such
    models.check_gradients(nn, tolerance)
    if nn is not submission and diverges(train(nn, steps), tolerance, steps) is None:
        return "training-own-engine"
    return "training-trajectory"


def check_trajectory(submission, tolerance, steps: int) -> None:
    try:
        observed = train(submission, steps)
    except Mistake as failure:
        if failure.pitfall not in GENERIC:
            raise
        pitfall = elsewhere(submission, tolerance, steps)
        raise Mistake(pitfall, f"{PITFALLS[pitfall]}.\nTraining {models.describe(CLS, ARGS)} on the lecture's four "
                      f"samples (lr {LR}): {failure.feedback}", failure.flags) from None
    diverged = diverges(observed, tolerance, steps)
    if diverged is None:
        return
    # Which loop does the student's trajectory follow? One that forgets zero_grad, or clears weights only?
    pitfall = next((name for zeroing, name in (("none", "zero-grad-noop"), ("weights", "zero-grad-weights-only"))
                    if diverges(observed, tolerance, steps, zeroing) is None), None)
    pitfall = pitfall or elsewhere(submission, tolerance, steps)
    shown = ", ".join(f"{loss:.6g}" for loss in observed.losses[:8])
    where = f"from step {diverged + 1}" if diverged < steps else "in the final parameters"
    raise Mistake(pitfall, f"{PITFALLS[pitfall]}.\nTraining {models.describe(CLS, ARGS)} on the lecture's four "
                  f"samples (lr {LR}) goes wrong {where}; your losses: {shown}{', ...' if steps > 8 else ''}.")


def test_lecture_training_loop(submission, tolerance):
    """End to end, on the student's own engine and nn: the lecture's loop, 20 steps, loss by loss against torch
    (a loop that forgets zero_grad is recognised). Its weight is small (course.yml): a mistake elsewhere
    costs its points in its own part, and here only this test's share."""
    check_trajectory(submission, tolerance, STEPS)
