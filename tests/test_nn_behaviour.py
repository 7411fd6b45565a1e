"""The nn tests judge what a model computes, not how it was built (issue 20)."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.frontends import validate
from autograder.frontends.grade import grade

LAYER = "        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]\n"
SET_AFTERWARDS = ("        self.neurons = [Neuron(nin) for _ in range(nout)]\n"
                  "        for n in self.neurons:  # nonlin set after building, not passed on\n"
                  "            n.nonlin = kwargs.get('nonlin', True)\n")


def test_a_layer_that_makes_its_neurons_linear_another_way_gets_full_marks(tmp_path: Path):
    sources = validate.patched_sources((("nn.py", LAYER, SET_AFTERWARDS),), "linear-afterwards")
    [result] = grade([validate.write_submission(tmp_path / "s", sources)])
    failed = [(t.name, t.output) for t in result.tests if t.status != "passed"]
    assert not failed and result.score == result.max_score, failed


def test_a_layer_that_drops_nonlin_still_loses_its_test(tmp_path: Path):
    sources = validate.patched_sources((("nn.py", LAYER, LAYER.replace("**kwargs", "")),), "drops")
    [result] = grade([validate.write_submission(tmp_path / "s", sources)])
    failed = {t.name.rsplit("::", 1)[-1]: t for t in result.tests if t.status != "passed"}
    assert "test_layer_passes_nonlin_to_its_neurons" in failed
    assert failed["test_layer_passes_nonlin_to_its_neurons"].pitfall == "layer-drops-kwargs"


ZERO_GRAD = "            p.grad = 0.0\n"
REPR = "    def __repr__(self):\n"
VALUE_METHOD = "    def zero_grad(self):\n        self.grad = 0.0\n\n" + REPR
GRAD_PROPERTY = ("    @property\n    def grad(self):\n        return self._grad\n\n    @grad.setter\n"
                 "    def grad(self, value):\n        self._grad = value\n\n" + REPR)


@pytest.mark.parametrize("patches", [
    (("engine.py", REPR, VALUE_METHOD), ("nn.py", ZERO_GRAD, "            p.zero_grad()\n")),
    (("engine.py", REPR, GRAD_PROPERTY), ("nn.py", ZERO_GRAD, "            p._grad = 0.0\n")),
], ids=["zero-grad-as-a-value-method", "zero-grad-over-a-grad-property"])
def test_a_zero_grad_built_on_the_students_own_engine_gets_full_marks(tmp_path: Path, patches):
    """Their nn is graded on the reference engine, which has neither extension: the student's own engine decides."""
    sources = validate.patched_sources(patches, "own-design")
    [result] = grade([validate.write_submission(tmp_path / "s", sources)])
    failed = [(t.name, t.output) for t in result.tests if t.status != "passed"]
    assert not failed and result.score == result.max_score, failed


def test_a_zero_grad_that_resets_nothing_still_loses_its_test(tmp_path: Path):
    sources = validate.patched_sources((("nn.py", ZERO_GRAD, "            p.grad\n"),), "no-reset")
    [result] = grade([validate.write_submission(tmp_path / "s", sources)])
    assert "test_zero_grad_resets_every_parameter" in {t.name.rsplit("::", 1)[-1] for t in result.tests
                                                         if t.status != "passed"}
