"""The micrograd suite's policies (autograder/core/policies.py): mistakes lecture-faithful code makes, charged by
default, that course.yml may make feedback-only."""

POLICIES = {
    # The lecture's tanh, (exp(2x) - 1) / (exp(2x) + 1), overflows near |x| = 355 (test_tanh_of_large_inputs).
    "tanh-overflow": "tanh computed with exp fails for large inputs (|x| near 355)",
    # The lecture's recursive build_topo stops at Python's recursion limit (test_deep_chain: 10,000 nodes).
    "topo-recursion-limit": "a recursive topological sort fails on a graph deeper than the recursion limit",
}
