"""Neuron, Layer, MLP: parameters (count and order) and forward/backward against torch with the same weights."""

import checks
import expected
import models
import pytest

from autograder.diagnose import PITFALLS, Tolerance
from autograder.suite import Mistake

pytestmark = pytest.mark.part("nn")

FORWARD_VARIANTS = ("bias-first", "no-activation", "no-bias")
VARIANT_PITFALL = {"bias-first": "parameters-order", "no-activation": "activation-missing",
                   "no-bias": "bias-not-in-forward"}
INPUTS = {3: expected.LECTURE_XS, 2: [[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0]]}


def test_parameter_counts(submission):
    """Neuron(3) -> 4, Layer(3, 4) -> 16, MLP(3, [4, 4, 1]) -> 41, MLP(2, [16, 16, 1]) -> 337."""
    models.check_counts(submission)


def _matches(outputs, reference, tolerance: Tolerance) -> bool:
    return all(len(o) == len(r) and all(tolerance.close(a, b) for a, b in zip(o, r, strict=True))
               for o, r in zip(outputs, reference, strict=True))


def _forward_mistake(cls, args, xs, outputs, tolerance) -> Mistake:
    params = models.parameters(cls, args)
    pitfall = next((VARIANT_PITFALL[v] for v in FORWARD_VARIANTS
                    if _matches(outputs, expected.forward(cls, args, params, xs, v), tolerance)), "nn-forward-wrong")
    shown = "; ".join(f"{x} -> {', '.join(f'{v:.6g}' for v in o)}" for x, o in zip(xs, outputs, strict=True))
    return Mistake(pitfall, f"{PITFALLS[pitfall]}.\nYour {models.describe(cls, args)} with the parameters "
                   f"set in parameters() order gives: {shown}.")


def check_forward(submission, tolerance, cls, args) -> None:
    xs = INPUTS[args[0]]
    observed = models.observe(submission, cls, args, [["forward", xs]],
                              doing=f"calling {models.describe(cls, args)}").forward[0]
    single = expected.layer_sizes(cls, args)[-1][1] == 1
    if single and any(isinstance(o, list) for o in observed):
        models.check_single_output(submission, cls, args)
    if not single and not all(isinstance(o, list) for o in observed):
        raise Mistake("nn-forward-wrong", f"{models.describe(cls, args)}(x) must return a list of Values, "
                      "one per neuron.")
    outputs = [o if isinstance(o, list) else [o] for o in observed]
    if not _matches(outputs, expected.forward(cls, args, models.parameters(cls, args), xs), tolerance):
        raise _forward_mistake(cls, args, xs, outputs, tolerance)


def test_forward_matches_torch(submission, tolerance):
    """Every model's outputs with the same weights as torch; a single-output Layer (and so an MLP) returns a Value."""
    for cls, args in models.MODELS:
        check_forward(submission, tolerance, cls, args)


def test_gradients_match_torch(submission, tolerance):
    """The lecture's MLP(3, [4, 4, 1]) and loss: every parameter's gradient after loss.backward()."""
    cls, args = models.LECTURE_MLP
    xs, ys = expected.LECTURE_XS, expected.LECTURE_YS
    loss, grads = expected.backward_loss(cls, args, models.parameters(cls, args), xs, ys)
    try:
        observed = models.observe(submission, cls, args, [["backward_loss", xs, ys]],
                                  doing="loss.backward() on an MLP")
    except Mistake:
        check_forward(submission, tolerance, cls, args)  # name what is wrong with the model, if that is it
        raise
    if not tolerance.close(observed.losses[0], loss):
        check_forward(submission, tolerance, cls, args)
        raise Mistake("nn-forward-wrong", f"{PITFALLS['nn-forward-wrong']}.\nYour loss on the lecture's four "
                      f"samples is {observed.losses[0]:.6g}.")
    wrong = [i for i, (a, b) in enumerate(zip(observed.grads, grads, strict=True)) if not tolerance.close(a, b)]
    if wrong:
        shown = ", ".join(f"parameters()[{i}].grad = {observed.grads[i]:.6g}" for i in wrong[:checks.MAX_SHOWN])
        raise Mistake("nn-gradient", f"{PITFALLS['nn-gradient']}.\nAfter loss.backward() on the lecture's four "
                      f"samples: your {shown}.")
