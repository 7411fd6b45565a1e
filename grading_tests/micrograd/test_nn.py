"""Neuron, Layer, MLP: parameters (count, objects, fresh values, order), nonlin=False, and forward/backward
against torch with the same weights."""

import checks
import expected
import models
import pytest
from diagnose import PITFALLS

from autograder.suite import Mistake

pytestmark = pytest.mark.part("nn")


def test_parameter_counts(submission):
    """Neuron(3) -> 4, Layer(3, 4) -> 16, MLP(3, [4, 4, 1]) -> 41, MLP(2, [16, 16, 1]) -> 337."""
    models.check_counts(submission)


def test_fresh_parameters_are_random_and_distinct(submission):
    """As built: one Value per parameter, drawn from random.uniform(-1, 1) (in range, both signs, not all
    equal, different within a neuron and across neurons)."""
    models.check_fresh_parameters(submission)


def test_linear_neuron(submission, tolerance):
    """Neuron(3, nonlin=False) computes w·x + b without tanh."""
    models.check_linear_neuron(submission, tolerance)


def test_layer_passes_nonlin_to_its_neurons(submission, tolerance):
    """Layer(3, 2, nonlin=False) builds each of its neurons with nonlin=False."""
    models.check_layer_passes_kwargs(submission, tolerance)


def test_forward_matches_torch(submission, tolerance):
    """Every model's outputs with the same weights as torch; a single-output Layer (and so an MLP) returns a Value."""
    for cls, args in models.MODELS:
        models.check_forward(submission, tolerance, cls, args)


def test_gradients_match_torch(submission, tolerance):
    """The lecture's MLP(3, [4, 4, 1]) and loss: every parameter's gradient after loss.backward()."""
    cls, args = models.LECTURE_MLP
    xs, ys = expected.LECTURE_XS, expected.LECTURE_YS
    loss, grads = expected.backward_loss(cls, args, models.parameters(cls, args), xs, ys)
    try:
        observed = models.observe(submission, cls, args, [["backward_loss", xs, ys]],
                                  doing="loss.backward() on an MLP")
    except Mistake:
        models.check_forward(submission, tolerance, cls, args)  # name what is wrong with the model, if that is it
        raise
    if not tolerance.close(observed.losses[0], loss):
        models.check_forward(submission, tolerance, cls, args)
        raise Mistake("nn-forward-wrong", f"{PITFALLS['nn-forward-wrong']}.\nYour loss on the lecture's four "
                      f"samples is {observed.losses[0]:.6g}.")
    wrong = [i for i, (a, b) in enumerate(zip(observed.grads, grads, strict=True)) if not tolerance.close(a, b)]
    if wrong:
        shown = ", ".join(f"parameters()[{i}].grad = {observed.grads[i]:.6g}" for i in wrong[:checks.MAX_SHOWN])
        raise Mistake("nn-gradient", f"{PITFALLS['nn-gradient']}.\nAfter loss.backward() on the lecture's four "
                      f"samples: your {shown}.")
