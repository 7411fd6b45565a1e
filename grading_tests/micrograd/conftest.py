"""Shared fixtures of the hidden micrograd suite (trusted side only).

Hypothesis runs under the "grading" profile: derandomized, no example database, no shrinking,
so every submission meets the same examples and regrading gives identical results. The profile
is applied explicitly where examples are drawn (strategies.random_graphs), not loaded globally,
so a grader running inside another pytest session leaves that session's hypothesis settings alone.
"""

from hypothesis import HealthCheck, Phase, settings

settings.register_profile(
    "grading", derandomize=True, database=None, deadline=None, max_examples=5, print_blob=False,
    phases=(Phase.explicit, Phase.generate),
    # `submission` is session-scoped; the per-test time budget fixture is cheap and meant to be shared.
    suppress_health_check=(HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large),
)

