"""The examples and the README's commands work as written, against the real example target."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

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
    assert commands[0].startswith("pip install -e . && (python examples/target_app.py --port 8089")
    assert "python -m pytest examples/quickstart" in commands[0]
    assert commands[1] == "bash scripts/setup-dev.sh && .venv/bin/python -m pytest -q -ra"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/setup-dev.sh" in ci and ".venv/bin/python -m pytest -q -ra" in ci
