#!/usr/bin/env bash
# Sets up what the test suite needs on a fresh Debian machine, the way most users work: a
# virtual environment (.venv, made if missing) holding the package with its test extras, and
# Debian's chromium for the browser tests (Playwright drives it; we never download
# Playwright's own browsers). Run the tests afterwards with .venv/bin/python -m pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq chromium >/dev/null
fi
chromium --version 2>/dev/null | tail -1
