#!/usr/bin/env bash
# Sets up what the test suite needs on a fresh Debian machine, the way most users work: a
# virtual environment (.venv, made if missing) holding the package with its test extras, and
# Debian's chromium for the browser tests (Playwright drives it; we never download
# Playwright's own browsers). Run the tests afterwards with .venv/bin/python -m pytest.
# PYTHON names the Python that makes .venv (default python3); nothing is installed outside .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/venv.sh
make_venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

# Debian packages the tests (and benches) use, each installed only when missing, with one
# apt-get update for them all:
#   chromium            the browser tests (Playwright drives Debian's chromium)
#   postgresql, mosquitto  issue 23: the real servers tests/test_contrib_*.py start
#                       (initdb/pg_ctl under /usr/lib/postgresql/*/bin; /usr/sbin/mosquitto)
#   nginx-light         issues 20, 21, 24: the benches' target (their --smoke forms need none)
#   prometheus          issue 22: the telemetry tests start Debian's Prometheus server (tests/telemetry_servers.py)
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
chromium --version 2>/dev/null | tail -1

