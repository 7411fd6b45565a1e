"""A course's grader and the `course` command (the course itself is described by course.yml)."""

from pathlib import Path

# The course repository this package lives in: course.yml, grading_tests/, solutions/ ...
REPO_ROOT = Path(__file__).resolve().parent.parent
