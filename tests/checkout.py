"""Where the tests find this repository's course (course.yml, solutions/, grading_tests/ ...): the package
itself knows no repository; a course is the directory of its course.yml (autograder.config)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
