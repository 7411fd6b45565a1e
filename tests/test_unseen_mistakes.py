"""Mistakes found in code written elsewhere (issue 20's real and fresh code), each named where it is made and
charged in its own part. The expected names and parts come from reading the mistake, not from the grader."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.frontends import validate
from autograder.frontends.grade import grade

REPR = "    def __repr__(self):\n"
CASES = {
    # a Value equal to any other of the same data: two nodes of a diamond become one in the visited set
    "value-equality": ((("engine.py", REPR, "    def __eq__(self, other):\n        return isinstance(other, Value) "
                         "and self.data == other.data\n\n    def __hash__(self):\n        return hash(self.data)\n\n"
                         + REPR),), "topo_sort", "value-equality", "compares (or hashes) nodes by their data"),
    # pow's exponent, a plain number, listed among the output's children: backward() fails on it
    "pow-number-child": ((("engine.py", "(self,), f'**{other}')", "(self, other), f'**{other}')"),), "operations",
                         "children-not-values:pow", "is not a Value among its output's children"),
    # relu's gradient gated at 1 instead of 0: right at the fixed test points, wrong at 0.9
    "relu-threshold-one": ((("engine.py", "self.grad += (out.data > 0) * out.grad",
                             "self.grad += (out.data > 1) * out.grad"),), "operations", "wrong-derivative:relu",
                           "`self.grad += (out.data > 1) * out.grad`"),
    # backward() resets the leaves (not the interior nodes): leaves no longer add up across backward() calls
    "reset-leaves": ((("engine.py", "            if node._prev:\n", "            if not node._prev:\n"),), "backward",
                     None, "x0.grad"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_unseen_mistake_is_charged_and_named_in_its_own_part(tmp_path: Path, case: str):
    patches, part, pitfall, words = CASES[case]
    [result] = grade([validate.write_submission(tmp_path / "s", validate.patched_sources(patches, case))])
    lost = {p.name: p.max_score - p.score for p in result.parts if p.max_score - p.score > 1e-6}
    assert lost and lost[part] >= 0.8 * sum(lost.values()), lost
    failing = [t for t in result.tests if t.status != "passed" and t.part == part]
    assert failing and all(words in t.output for t in failing), [t.output for t in failing]
    if pitfall:
        assert {t.pitfall for t in failing} == {pitfall}
