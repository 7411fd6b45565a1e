import pytest
import torch

from autograder.suite import Mistake, close

pytestmark = pytest.mark.part("operations")

GRAPH = {"leaves": [2.0, -3.0], "ops": [["mul", 0, 1], ["add", 2, {"c": 1.0}], ["tanh", 3]]}


def _torch_grads():
    a = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(-3.0, dtype=torch.float64, requires_grad=True)
    out = torch.tanh(a * b + 1.0)
    out.backward()
    return out.item(), a.grad.item(), b.grad.item()


def test_tanh_of_product(submission, tolerances):
    obs = submission.graph(GRAPH)
    out, ga, gb = _torch_grads()
    if not close(obs.data[-1], out, rel=tolerances.rel, abs=tolerances.abs):
        raise Mistake("forward", f"tanh(a*b + 1) has the wrong value: yours is {obs.data[-1]:.6g}")
    for i, expected in ((0, ga), (1, gb)):
        if not close(obs.grad[i], expected, rel=tolerances.rel, abs=tolerances.abs):
            raise Mistake("gradient", f"x{i}.grad is wrong: yours is {obs.grad[i]:.6g}")
