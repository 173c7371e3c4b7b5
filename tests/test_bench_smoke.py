"""The benchmark harness still runs: ``python bench/run.py --smoke`` (our side only, ~1 s a scenario).

No timing is asserted here (speed is the bench's business, not CI's): the smoke run must
finish, and every scenario must have produced a number.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_smoke_mode_produces_numbers(tmp_path):
    out = tmp_path / "smoke.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--json", str(out)],
        capture_output=True, text=True, timeout=170, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads(out.read_text())
    assert results["smoke"] is True
    metrics = results["metrics"]
    for key in ("http_rps", "fast_rps", "http_rps_cpu", "fast_rps_cpu", "idle_1000_kib",
                "request_fire_ns", "fire_0_ns", "fire_1_ns", "fire_10_ns", "overhead_s"):
        assert key in metrics, f"{key} missing; errors: {results['errors']}"
        ours = metrics[key]["ours"]
        assert ours["runs"] and all(isinstance(value, float) for value in ours["runs"]), key
        assert "locust" not in metrics[key]  # the smoke mode never needs Locust
    for key in ("http_rps", "fast_rps", "request_fire_ns", "fire_0_ns"):
        assert metrics[key]["ours"]["median"] > 0
    assert results["errors"] == []
    assert "pytest-loadhooks median" in done.stdout  # the table was printed
    # The smoke mode writes nothing into the repository.
    assert not (ROOT / "bench" / "results" / "smoke.json").exists()
