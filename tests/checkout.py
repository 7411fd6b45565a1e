"""Where the tests find this repository's course (course.yml, solutions/, grading_tests/ ...): the package
itself knows no repository; a course is the directory of its course.yml (autograder.config)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

# The probe modules this course's assignments load into a submission's worker (course.yml: probes)
PROBES = tuple(sorted((REPO_ROOT / "grading_tests" / "probes").glob("*.py")))
