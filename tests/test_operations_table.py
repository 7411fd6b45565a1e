"""The trusted table of operations (grading_tests/micrograd/operations.py) and the worker's two
tables (grading_tests/probes/operations.py in every worker; the reference values and derivatives in
grading_tests/micrograd/sandboxed/reference_operations.py) define the same operations the same way,
and the trusted table agrees with torch and with the reference engine."""

import importlib.util
from pathlib import Path

import pytest
import torch
from checkout import REPO_ROOT

from grading_tests.micrograd import operations as trusted

# Sample operands per operation (away from relu's kink; positive bases for fractional powers).
POINTS = {
    "add": [(2.0, -3.0), (0.5, 4.0)], "sub": [(2.5, -1.25), (-0.3, 0.8)], "mul": [(2.0, -3.0), (-1.5, 0.25)],
    "truediv": [(2.5, -1.25), (-0.7, 0.4)], "neg": [(1.75,), (-0.2,)],
    "pow": [(1.7, 2), (0.8, 3), (2.5, -1), (2.0, 0.5), (1.3, 1.5)],
    "tanh": [(0.7,), (-1.3,)], "relu": [(1.5,), (-0.7,)], "exp": [(0.5,), (-1.2,)],
}


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


WORKER = load(REPO_ROOT / "grading_tests" / "probes" / "operations.py", "worker_operations")
SANDBOXED = load(REPO_ROOT / "grading_tests" / "micrograd" / "sandboxed" / "reference_operations.py",
                 "worker_reference_operations")


def split(name: str, point: tuple) -> tuple[tuple, tuple]:
    count = trusted.OPERATIONS[name].values
    return point[:count], point[count:]


def test_every_table_has_the_same_operations_with_the_same_operands():
    assert set(POINTS) == set(trusted.OPERATIONS) == set(WORKER.APPLY) == set(SANDBOXED.REFERENCE)
    for name, op in trusted.OPERATIONS.items():
        assert WORKER.APPLY[name][0] == op.values, name
    assert set(trusted.LOCAL_OPS) | set(trusted.COMPOSITES) == set(trusted.OPERATIONS)
    assert all(set(parts) <= set(trusted.LOCAL_OPS) for parts in trusted.COMPOSITES.values())


@pytest.mark.parametrize("name", sorted(POINTS))
def test_the_worker_reference_agrees_with_the_trusted_table(name):
    op, (forward, derivative) = trusted.OPERATIONS[name], SANDBOXED.REFERENCE[name]
    for point in POINTS[name]:
        out = op.forward(*point)
        assert forward(*point) == out
        assert derivative(*point, out) == op.derivative(*point, out)


@pytest.mark.parametrize("name", sorted(POINTS))
def test_the_trusted_table_agrees_with_torch(name):
    op = trusted.OPERATIONS[name]
    for point in POINTS[name]:
        values, parameters = split(name, point)
        tensors = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
        result = op.torch(torch, *tensors, *parameters)
        result.backward()
        out = op.forward(*point)
        assert result.item() == pytest.approx(out, rel=1e-12)
        assert [t.grad.item() for t in tensors] == pytest.approx(list(op.derivative(*point, out)), rel=1e-12)


@pytest.mark.parametrize("name", sorted(POINTS))
def test_the_worker_applies_each_operation_as_the_reference_engine_computes_it(name, reference):
    """The worker's APPLY on the reference engine's Values gives the trusted forward and, after
    backward(), the trusted local derivatives (every Value made inside the op walked too)."""
    op, (_, apply) = trusted.OPERATIONS[name], WORKER.APPLY[name]
    for point in POINTS[name]:
        values, parameters = split(name, point)
        leaves = [reference.engine.Value(v) for v in values]
        out = apply(*leaves, *parameters)
        out.backward()
        expected = op.forward(*point)
        assert out.data == pytest.approx(expected, rel=1e-12)
        assert [leaf.grad for leaf in leaves] == pytest.approx(list(op.derivative(*point, expected)), rel=1e-12)
