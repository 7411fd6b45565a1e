"""Views of Results for their readers: Gradescope JSON, JUnit, Markdown, HTML, files, gradebooks and CSVs."""
