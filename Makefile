# Two entry points for a fresh clone: `make demo` and `make test` (both run `setup` first).
PYTHON ?= python3
COURSE := $(PYTHON) -m autograder
# dot draws graphs (draw_dot); bwrap is the grader's sandbox, libseccomp its workers' seccomp filter; chromium(-driver) opens the class report in tests.
DEBIAN_PACKAGES := graphviz bubblewrap libseccomp2 chromium chromium-driver

.PHONY: setup demo test check

setup:
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" -eq 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEBIAN_PACKAGES); \
	else \
		echo "setup: not root or no apt-get; make sure these are installed: $(DEBIAN_PACKAGES)"; \
	fi
	$(PYTHON) -m pip install -e '.[dev]'

# Grades the bundled demo class end to end.
demo: setup
	$(COURSE) demo

test: setup
	$(COURSE) build --check
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pytest tests

# The developers' fast tier (after one `make test` or `make setup`): lint and every test not marked slow,
# on both cores. CI and `make test` run everything.
check:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pytest -q -m "not slow" -n 2 tests
