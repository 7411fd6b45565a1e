"""zero_grad and the lecture's training loop, step by step against torch SGD on the same weights."""

import expected
import models
import pytest
from diagnose import PITFALLS

from autograder.suite import Mistake

pytestmark = pytest.mark.part("training")

CLS, ARGS = models.LECTURE_MLP
XS, YS = expected.LECTURE_XS, expected.LECTURE_YS
LR, STEPS = 0.05, 20


def zero_grad_mistake(submission) -> Mistake | None:
    """Look at zero_grad() itself after one backward(): which parameters does it reset?"""
    observed = models.observe(submission, CLS, ARGS, [["backward_loss", XS, YS], ["zero_grad"]],
                              doing="model.zero_grad() after loss.backward()")
    params = models.parameters(CLS, ARGS)
    _, grads = expected.backward_loss(CLS, ARGS, params, XS, YS)
    left = [i for i, g in enumerate(observed.grads) if g != 0]
    biases = set(expected.bias_indices(CLS, ARGS))
    if all(p == 0 for p in observed.params) and any(params):
        pitfall = "zero-grad-zeroes-data"
    elif not left:
        return None
    elif set(left) == {i for i in biases if grads[i] != 0}:
        pitfall = "zero-grad-weights-only"
    elif len(left) == sum(g != 0 for g in grads):
        pitfall = "zero-grad-noop"
    else:
        pitfall = "zero-grad-incomplete"
    shown = ", ".join(f"parameters()[{i}].grad = {observed.grads[i]:.6g}" for i in left[:6])
    return Mistake(pitfall, f"{PITFALLS[pitfall]}.\nAfter loss.backward() then model.zero_grad() on "
                   f"{models.describe(CLS, ARGS)}: your {shown or 'parameters are all 0'}.")


def test_zero_grad_resets_every_parameter(submission):
    """After loss.backward(), zero_grad() sets every parameter's grad (biases too) to 0 and leaves data alone."""
    mistake = zero_grad_mistake(submission)
    if mistake:
        raise mistake


def check_trajectory(submission, tolerance, steps: int) -> None:
    params = models.parameters(CLS, ARGS)
    observed = models.observe(submission, CLS, ARGS, [["train", XS, YS, LR, steps, True]],
                              doing=f"{steps} steps of gradient descent with zero_grad()")
    losses, final, _ = expected.train(CLS, ARGS, params, XS, YS, LR, steps)
    diverged = next((i for i, (a, b) in enumerate(zip(observed.losses, losses, strict=True))
                     if not tolerance.close(a, b)), None)
    if diverged is None and all(tolerance.close(a, b) for a, b in zip(observed.params, final, strict=True)):
        return
    # Which loop does the student's trajectory follow? One that forgets zero_grad, or clears weights only?
    pitfall = None
    for zeroing, name in (("none", "zero-grad-noop"), ("weights", "zero-grad-weights-only")):
        other_losses, other_final, _ = expected.train(CLS, ARGS, params, XS, YS, LR, steps, zeroing)
        if all(tolerance.close(a, b) for a, b in zip([*observed.losses, *observed.params],
                                                     [*other_losses, *other_final], strict=True)):
            pitfall = name
            break
    if pitfall is None:
        mistake = zero_grad_mistake(submission)
        if mistake is None:
            models.check_forward(submission, tolerance, CLS, ARGS)  # a wrong model is named as such
        pitfall = mistake.pitfall if mistake else "training-trajectory"
    shown = ", ".join(f"{loss:.6g}" for loss in observed.losses[:8])
    where = f"from step {diverged + 1}" if diverged is not None else "in the final parameters"
    raise Mistake(pitfall, f"{PITFALLS[pitfall]}.\nTraining {models.describe(CLS, ARGS)} on the lecture's four "
                  f"samples (lr {LR}) goes wrong {where}; your losses: {shown}{', ...' if steps > 8 else ''}.")


def test_one_sgd_step_matches_torch(submission, tolerance):
    """One step: loss, zero_grad(), backward(), p.data -= lr * p.grad gives torch SGD's parameters."""
    check_trajectory(submission, tolerance, 1)


def test_lecture_training_loop(submission, tolerance):
    """The lecture's loop, 20 steps, loss by loss against torch (a loop that forgets zero_grad is recognised)."""
    check_trajectory(submission, tolerance, STEPS)
