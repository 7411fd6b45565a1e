"""The micrograd course's grader and the `course` command."""

from pathlib import Path

# The course repository this package lives in: course.yml, grading_tests/, solutions/ ...
REPO_ROOT = Path(__file__).resolve().parent.parent
