"""A course's grader and the `course` command (the course itself is a directory described by its course.yml)."""
