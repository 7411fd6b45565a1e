"""Grading a whole class over a semester: batches and shards, regrades, overrides, deadlines, submission
limits, similar code, and the class report."""
