"""The examples and the README's commands work as written, against the real example target."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def run_example(directory: str, target: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", f"examples/{directory}", "--load-users=10", "--load-run-time=2s",
         f"--load-host={target}", "-p", "no:cacheprovider", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=without_load_settings(),
    )


def without_load_settings() -> dict[str, str]:
    """This process's environment less LOADHOOKS_* variables: a shell's settings must not leak into examples."""
    return {key: value for key, value in os.environ.items() if not key.startswith("LOADHOOKS_")}


def test_quickstart_example_passes_and_writes_a_report(target, tmp_path):
    report = tmp_path / "report.html"
    result = run_example("quickstart", target, f"--load-html={report}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert "PASS threshold 'p95 < 500'" in result.stdout  # from the example's own pytest.ini
    assert report.exists() and report.stat().st_size > 0


def test_flaky_example_fails_on_its_fail_ratio(target):
    result = run_example("flaky", target, "--load-fail-ratio=1%")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED examples/flaky/test_flaky.py::load_run" in result.stdout
    assert re.search(r"threshold 'fail_ratio <= 0.01' failed: fail_ratio of all requests = 0\.\d+", result.stdout)


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(.+?)\n```", readme)
    assert commands[0] == "bash scripts/try-it.sh"
    assert commands[1] == "bash scripts/setup-dev.sh && .venv/bin/python -m pytest -q -ra"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/setup-dev.sh" in ci and ".venv/bin/python -m pytest -q -ra" in ci
    # Nothing the README asks to run installs into whatever Python is there (PEP 668 refuses it).
    for command in commands:
        assert "pip install" not in command and not re.search(r"(^|[;&|(] *)python3? ", command), command


def test_no_example_target_on_the_web_uis_port():
    """The web UI listens on 8089 by default: a target the docs start there would clash with --load-web."""
    files = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "examples").rglob("*.py"),
             *(ROOT / "examples").rglob("*.ini"), *(ROOT / "scripts").glob("*.sh")]
    clashes = [f"{path.relative_to(ROOT)}: {match}" for path in files for match in re.findall(
        r"--load-host[= ]\S*127\.0\.0\.1:8089\S*|target_app\.py --port 8089|load_host = \S*:8089",
        path.read_text())]
    assert clashes == []


SIMULATED_PEP_668 = """#!/bin/sh
# A system Python that refuses to install packages, as Debian's does (PEP 668); venvs are fine.
case " $* " in
  *" -m pip "*) echo "error: externally-managed-environment" >&2; exit 1 ;;
esac
exec {python} "$@"
"""


def copy_of_the_checkout(destination: Path) -> Path:
    """The working tree as a fresh clone has it: no virtual environment, no caches, no outputs."""
    shutil.copytree(ROOT, destination, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "*.egg-info", ".pytest_cache", ".loadhooks", "report*.html", "bench"))
    return destination


def run_try_it(checkout: Path, port: int, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {**without_load_settings(), **(env or {}), "TARGET_PORT": str(port), "TARGET_SECONDS": "120"}
    return subprocess.run(["bash", "scripts/try-it.sh", *args], cwd=checkout, capture_output=True, text=True,
                          timeout=500, env=environment)


def stop_started_target(output: str) -> None:
    for pid in re.findall(r"example target at \S+ \(pid (\d+)", output):
        try:
            os.kill(int(pid), signal.SIGTERM)
        except ProcessLookupError:
            pass


@pytest.mark.timeout(600)  # installs the package and its dependencies into a new venv (from pip's cache)
def test_try_it_from_a_fresh_checkout_makes_its_own_venv_and_a_target_that_outlives_it(tmp_path):
    """README command 1 on a machine whose Python refuses pip installs: .venv, the target, a passing run."""
    checkout = copy_of_the_checkout(tmp_path / "checkout")
    system = tmp_path / "system-bin"
    system.mkdir()
    python = system / "python3"
    python.write_text(SIMULATED_PEP_668.format(python=getattr(sys, "_base_executable", sys.executable)))
    python.chmod(0o755)
    port = free_port()
    result = run_try_it(checkout, port, "examples/quickstart", "--load-users=2", "--load-run-time=1s",
                        "--load-html=report.html", env={"PATH": f"{system}:{os.environ['PATH']}"})
    output = result.stdout + result.stderr
    try:
        assert result.returncode == 0, output
        assert "externally-managed-environment" not in output
        assert (checkout / ".venv" / "bin" / "python").exists()
        assert "2 passed" in result.stdout and (checkout / "report.html").stat().st_size > 0
        assert "+ .venv/bin/python -m pytest examples/quickstart --load-users=2" in result.stdout
        assert f"--load-host=http://127.0.0.1:{port}" in result.stdout
        # The README's next command finds the target still there: it is reused, not started again.
        again = run_try_it(checkout, port, "examples/flaky", "--load-users=5", "--load-run-time=2s",
                           "--load-fail-ratio=1%")
        assert again.returncode == 1, again.stdout + again.stderr
        assert f"example target at http://127.0.0.1:{port} already running" in again.stdout
        assert "threshold 'fail_ratio <= 0.01' failed" in again.stdout
    finally:
        stop_started_target(output)


def test_try_it_refuses_a_port_that_something_else_holds(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_try_it(ROOT, port)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "TARGET_PORT" in lines[0], result.stderr
