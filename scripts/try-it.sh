#!/usr/bin/env bash
# The README's first command: a real load test of this checkout, from a fresh clone, whatever
# the machine's Python.
#
#   bash scripts/try-it.sh      # examples/quickstart: 20 users for 10 s, writes report.html
#   bash scripts/try-it.sh examples/flaky --load-users=10 --load-run-time=5s --load-fail-ratio=1%
#
# 1. A virtual environment .venv (made if missing) with this checkout installed in it. Nothing
#    is installed into the system's Python, which Debian's refuses anyway (PEP 668).
# 2. The example target (examples/target_app.py) on 127.0.0.1:$TARGET_PORT, default 8080 (clear
#    of the web UI's 8089, so --load-web works beside it): reused when it already answers there,
#    started otherwise. It stops by itself after $TARGET_SECONDS (default 900), so the README's
#    next commands find it running.
# 3. pytest in .venv with the arguments given (default: the quickstart), pointed at the target
#    unless they name a --load-host. The command is printed first; its exit status is this one's.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh

PORT="${TARGET_PORT:-8080}"
LIFETIME="${TARGET_SECONDS:-900}"
TARGET="http://127.0.0.1:$PORT"

# Prints what answers on the port: "ours" (the example target), "other" or "free".
target_state() {
    "$1" - "$PORT" <<'PROBE'
import socket, sys, urllib.request

port = int(sys.argv[1])
try:
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
except OSError:
    print("free")
    sys.exit()
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through an http_proxy
try:
    with opener.open(f"http://127.0.0.1:{port}/", timeout=2) as response:
        server = response.headers.get("Server", "")
except Exception:  # noqa: BLE001 - not HTTP, or not answering: not the example target
    server = ""
print("ours" if server.startswith("loadhooks-example-target") else "other")
PROBE
}

refuse_port() {
    echo "$0: something else holds 127.0.0.1:$PORT (not the example target): stop it, or pick another port" \
         "with TARGET_PORT=NNNN bash scripts/try-it.sh" >&2
    exit 1
}

# Checked first: a taken port costs no install. (No Python at all is make_venv's to explain.)
if [ "$(target_state "${PYTHON:-python3}" 2>/dev/null)" = "other" ]; then
    refuse_port
fi

make_venv
if ! .venv/bin/python -I - "$PWD" <<'INSTALLED' 2>/dev/null; then
import pathlib, sys
from importlib.metadata import distribution

import pytest_loadhooks

distribution("pytest-loadhooks")  # registered with pytest (its entry point), not just importable
here = pathlib.Path(sys.argv[1]).resolve()
sys.exit(pathlib.Path(pytest_loadhooks.__file__).resolve().parents[1] != here)
INSTALLED
    echo "try-it: installing this checkout into .venv (a minute or two the first time)"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
fi

case "$(target_state .venv/bin/python)" in
    ours)
        echo "try-it: example target at $TARGET already running"
        ;;
    other)
        refuse_port
        ;;
    free)
        nohup .venv/bin/python examples/target_app.py --port "$PORT" --max-seconds "$LIFETIME" \
            >.venv/target.log 2>&1 &
        pid=$!
        for _ in $(seq 100); do
            [ "$(target_state .venv/bin/python)" = "ours" ] && break
            if ! kill -0 "$pid" 2>/dev/null; then
                echo "$0: the example target did not start: $(tail -1 .venv/target.log)" >&2
                exit 1
            fi
            sleep 0.1
        done
        echo "try-it: example target at $TARGET (pid $pid; it stops by itself after ${LIFETIME}s)"
        ;;
esac

if [ $# -eq 0 ]; then
    set -- examples/quickstart --load-users=20 --load-run-time=10s --load-html=report.html
fi
case " $* " in
    *" --load-host"*) ;;
    *) set -- "$@" "--load-host=$TARGET" ;;
esac
echo "+ .venv/bin/python -m pytest $*"
exec .venv/bin/python -m pytest "$@"
