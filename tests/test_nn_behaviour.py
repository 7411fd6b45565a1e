"""The nn tests judge what a model computes, not how it was built (issue 20)."""

from __future__ import annotations

from pathlib import Path

from autograder import validate
from autograder.grade import grade

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
