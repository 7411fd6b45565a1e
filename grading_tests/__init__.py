"""The course's hidden suites: one package per assignment; the notebook suites explain mistakes with the
micrograd suite's modules (from ..micrograd import diagnose). grading_tests/probes (run in the sandboxed
worker) and grading_tests/catalog (read by `course validate`) are folders of files, not part of it."""
