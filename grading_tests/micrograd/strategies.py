"""The hidden suite's one module of hypothesis strategies: random expression graphs.

A graph is the probes' JSON description (grading_tests/probes/micrograd_probes.py). Values are tracked
while the graph is drawn so that every operation stays in a safe domain: no overflow, no
division by (nearly) zero, no ReLU input near its kink, powers of positive bases only.

The examples are drawn under the "grading" profile: derandomized, no example database, no shrinking,
so every submission meets the same examples (expected.random_graphs precomputes them: grading with a
current cache never imports hypothesis). The profile is applied only where examples are drawn, not
loaded globally, so a grader running inside another pytest session leaves its settings alone.
"""

import functools

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from .operations import OPERATIONS

settings.register_profile(
    "grading", derandomize=True, database=None, deadline=None, max_examples=5, print_blob=False,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=(HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large),
)

LEAF = st.floats(-2.0, 2.0, allow_nan=False).map(lambda x: round(x, 3))
CONSTANT = st.sampled_from([-1.5, -0.5, 0.5, 2.0, 3.0])
EXPONENT = st.sampled_from([2, 3, -1, 0.5, 1.5])
OPS = tuple(OPERATIONS)
LIMIT = 50.0  # every intermediate value stays below this in magnitude


def _value(values, ref):
    return ref["c"] if isinstance(ref, dict) else values[ref]


def _forward(op, a, b):
    return OPERATIONS[op].forward(a) if b is None else OPERATIONS[op].forward(a, b)


def _safe(op, a, b):
    if op == "truediv" and abs(b) < 0.2:
        return False
    if op == "pow" and (a < 0.2 or (b < 0 and a < 0.2)):
        return False
    if op == "relu" and abs(a) < 1e-2:
        return False
    if op == "exp" and a > 3.0:
        return False
    return abs(_forward(op, a, b)) < LIMIT


@st.composite
def expression_graphs(draw, min_ops=3, max_ops=8):
    """A random graph over every operation, with reuse of nodes and plain numbers on either side."""
    leaves = draw(st.lists(LEAF.filter(lambda x: abs(x) > 0.05), min_size=1, max_size=3))
    values, ops = list(leaves), []
    for _ in range(draw(st.integers(min_ops, max_ops))):
        op = draw(st.sampled_from(OPS))
        # Prefer the newest node so graphs grow deep, but reuse any node too.
        a = draw(st.one_of(st.just(len(values) - 1), st.integers(0, len(values) - 1)))
        if op in ("neg", "tanh", "relu", "exp"):
            refs, b = [a], None
        elif op == "pow":
            b = draw(EXPONENT)
            refs = [a, b]
        else:
            other = draw(st.one_of(st.integers(0, len(values) - 1), CONSTANT.map(lambda c: {"c": c})))
            refs = [a, other] if draw(st.booleans()) else [other, a]
            a, b = _value(values, refs[0]), _value(values, refs[1])
            if not _safe(op, a, b):
                op, refs, b = "tanh", [len(values) - 1], None
            values.append(_forward(op, _value(values, refs[0]), b))
            ops.append([op, *refs])
            continue
        if not _safe(op, values[a], b):
            op, refs, b = "tanh", [a], None
        values.append(_forward(op, values[a], b))
        ops.append([op, *refs])
    return {"leaves": leaves, "ops": ops}


def graph_batches(size=8):
    """Several graphs at once: one worker call checks them all."""
    return st.lists(expression_graphs(), min_size=size, max_size=size)


@functools.cache
def random_graphs(batches=5, size=8) -> tuple:
    """The examples a derandomized hypothesis run draws, collected once so every submission gets the
    same graphs in one batched worker call."""
    drawn = []

    @settings(settings.get_profile("grading"), max_examples=batches)
    @given(graph_batches(size))
    def collect(graphs):
        drawn.extend(graphs)

    collect()
    return tuple(drawn)
