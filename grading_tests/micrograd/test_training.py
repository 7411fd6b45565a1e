"""zero_grad on its own, and the lecture's training loop end to end against torch SGD on the same weights."""

import pytest

from autograder.core.suite import Mistake

from . import expected, models
from .diagnose import PITFALLS
from .observations import REVISITS
from .zero_grad import zero_grad_mistake

pytestmark = pytest.mark.part("training")
MODE = "reference_engine"  # zero_grad alone; the end-to-end loop runs on the student's own engine

CLS, ARGS = models.LECTURE_MLP
XS, YS = expected.LECTURE_XS, expected.LECTURE_YS
LR, STEPS = 0.05, 20


def test_zero_grad_resets_every_parameter(submission):
    """zero_grad() sets every parameter's grad (biases too) to 0 and leaves data alone. Judged on the reference
    engine, so an engine mistake costs nothing here; a zero_grad that is right on the student's own engine but
    relies on its extensions (a Value.zero_grad, a grad property over _grad) is right too."""
    try:
        mistake = zero_grad_mistake(submission.isolated(MODE))
    except Mistake as failure:  # e.g. a Value.zero_grad the reference engine does not have
        mistake = failure
    if mistake and not right_on_their_own_engine(submission):
        raise mistake


def right_on_their_own_engine(submission) -> bool:
    try:
        return zero_grad_mistake(submission) is None
    except Mistake:
        return False


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
