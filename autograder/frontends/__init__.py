"""What users run: one module per `course` subcommand (each with add_arguments() and run()), nbgrader's
sandboxed preprocessors (kernel) and the Gradescope container's entry point (gradescope_run)."""
