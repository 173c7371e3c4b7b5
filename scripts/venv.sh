# Sourced by the scripts (from the repository's root): make_venv makes the virtual environment
# .venv from $PYTHON (default python3) when there is no working one. Packages go into .venv
# only: a system's Python may refuse them (PEP 668: Debian's "externally-managed-environment"),
# and a shared one should not get them anyway.

make_venv() {
    local python="${PYTHON:-python3}"
    if .venv/bin/python -m pip --version >/dev/null 2>&1; then
        return 0
    fi
    if ! command -v "$python" >/dev/null 2>&1; then
        echo "$0: no $python found: install Python 3.10 or newer (or set PYTHON=/path/to/python3)" >&2
        return 1
    fi
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
        echo "$0: $python is Python $("$python" -c 'import platform; print(platform.python_version())'):" \
             "pytest-loadhooks needs 3.10 or newer (set PYTHON=/path/to/python3.10+)" >&2
        return 1
    fi
    # Run again on a .venv without pip (an earlier attempt without the venv module), venv completes it.
    if ! "$python" -m venv .venv >/dev/null; then
        echo "$0: '$python -m venv .venv' failed: on Debian or Ubuntu install the venv module" \
             "(sudo apt-get install python3-venv) and run this again" >&2
        return 1
    fi
}
