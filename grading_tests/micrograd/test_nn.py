"""Neuron, Layer, MLP: parameters (count, objects, fresh values, order), nonlin=False, and forward/backward
against torch with the same weights.

Graded on the reference engine (isolation mode "reference_engine": the student's nn.py on the
reference engine.py), so a mistake in the engine costs points in its own parts only.
"""

import pytest

from . import models

pytestmark = pytest.mark.part("nn")
MODE = "reference_engine"


def test_parameter_counts(submission):
    """Neuron(3) -> 4, Layer(3, 4) -> 16, MLP(3, [4, 4, 1]) -> 41, MLP(2, [16, 16, 1]) -> 337."""
    models.check_counts(submission.isolated(MODE))


def test_fresh_parameters_are_random_and_distinct(submission):
    """As built: one Value per parameter, drawn from random.uniform(-1, 1) (in range, both signs, not all
    equal, different within a neuron and across neurons)."""
    models.check_fresh_parameters(submission.isolated(MODE))


def test_linear_neuron(submission, tolerance):
    """Neuron(3, nonlin=False) computes w·x + b without tanh."""
    models.check_linear_neuron(submission.isolated(MODE), tolerance)


def test_layer_passes_nonlin_to_its_neurons(submission, tolerance):
    """Layer(3, 2, nonlin=False) computes linear outputs (building each neuron with nonlin=False does)."""
    models.check_layer_passes_kwargs(submission.isolated(MODE), tolerance)


def test_forward_matches_torch(submission, tolerance):
    """Every model's outputs with the same weights as torch; a single-output Layer (and so an MLP) returns a Value."""
    submission = submission.isolated(MODE)
    for cls, args in models.MODELS:
        models.check_forward(submission, tolerance, cls, args)


def test_gradients_match_torch(submission, tolerance):
    """The lecture's MLP(3, [4, 4, 1]) and loss: every parameter's gradient after loss.backward()."""
    models.check_gradients(submission.isolated(MODE), tolerance)
