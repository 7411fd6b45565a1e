# Two entry points for a fresh clone: `make demo` and `make test` (both run `setup` first).
PYTHON ?= python3
COURSE := $(PYTHON) -m autograder
# dot draws graphs (draw_dot); bwrap is the grader's sandbox, libseccomp its workers' seccomp filter; chromium(-driver) opens the class report in tests.
DEBIAN_PACKAGES := graphviz bubblewrap libseccomp2 chromium chromium-driver

# Mermaid's browser build: tests draw the PR comment's pictures with it, as GitHub does (from npm, pinned).
MERMAID_JS := .cache/mermaid/node_modules/mermaid/dist/mermaid.min.js
MERMAID_VERSION := 11.17.2

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

$(MERMAID_JS):
	@if command -v npm >/dev/null 2>&1; then \
		npm install --no-save --no-audit --no-fund --prefix .cache/mermaid mermaid@$(MERMAID_VERSION); \
	else \
		echo "setup: npm is missing: the test drawing the PR comment's pictures with Mermaid cannot run"; \
	fi

test: setup $(MERMAID_JS)
	$(COURSE) build --check
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy
	$(PYTHON) -m pytest tests

# The developers' fast tier (after one `make test` or `make setup`): lint and every test not marked slow,
# on both cores. CI and `make test` run everything.
check:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy
	$(PYTHON) -m pytest -q -m "not slow" -n 2 tests
