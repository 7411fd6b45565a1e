#!/usr/bin/env bash
# Gradescope runs this once, as root in /autograder/source, while it builds the autograder image
# (docs/gradescope.md). Supported base images: Ubuntu 22.04 (Python 3.11 from Ubuntu's own
# archive) and Ubuntu 24.04 (its Python 3.12). Everything comes from the Ubuntu archive and
# PyPI; requirements.txt pins every Python package to the version the course was tested with.
#
# Each step is a function: `setup.sh` runs them all, `setup.sh STEP...` only those (the project's
# tests run every step but system_packages, with COURSE_PYTHON naming the interpreter).
set -euo pipefail

ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="$ROOT/venv"

base_python() {
    if [ -n "${COURSE_PYTHON:-}" ]; then  # another interpreter of a supported version (the tests use this)
        echo "$COURSE_PYTHON"
        return
    fi
    # shellcheck disable=SC1091
    . /etc/os-release
    case "${VERSION_ID:-}" in
        22.04) echo python3.11 ;;  # jammy's default python3 is 3.10, too old for the grader
        24.04) echo python3.12 ;;
        *) echo "setup.sh: unsupported base image '${PRETTY_NAME:-unknown}'; choose Ubuntu 22.04 or 24.04" >&2
           return 1 ;;
    esac
}

system_packages() {
    local python
    python="$(base_python)"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        bubblewrap util-linux ca-certificates graphviz "$python" "$python-venv"
    rm -rf /var/lib/apt/lists/*
}

python_env() {
    "$(base_python)" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --no-cache-dir --disable-pip-version-check --only-binary=:all: \
        -r "$SOURCE/requirements.txt"
}

course_package() {
    # The grader runs from source/ (it finds course.yml and the hidden suite beside itself): the
    # virtual environment gets source/ on its path, which is what an editable install amounts to.
    local site
    site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    echo "$SOURCE" > "$site/micrograd_course.pth"
}

lock_down() {
    # The hidden suite, the reference, course.yml and the grader: root only. Student code runs as
    # another user (both sandboxes), so it can read none of them.
    chown -R root:root "$SOURCE"
    chmod -R go-rwx "$SOURCE"
    chmod 0700 "$SOURCE"
}

self_check() {
    AUTOGRADER_ROOT="$ROOT" "$VENV/bin/python" -m autograder.frontends.gradescope_run check
}

steps=("$@")
if [ ${#steps[@]} -eq 0 ]; then
    steps=(system_packages python_env course_package self_check lock_down)
fi
for step in "${steps[@]}"; do
    case "$step" in
        system_packages|python_env|course_package|lock_down|self_check) "$step" ;;
        *) echo "setup.sh: unknown step '$step'" >&2; exit 2 ;;
    esac
done
