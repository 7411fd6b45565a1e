"""The one grading path: staged submissions -> the hidden suites (pytest, in the trusted process) asking sandboxed
workers -> verdicts -> Results, with part isolation, policies and precomputed expectations."""
