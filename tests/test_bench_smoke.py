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
                "request_fire_ns", "fire_0_ns", "fire_1_ns", "fire_10_ns", "overhead_s", "overhead_net_s",
                "run_length_s"):
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


def run_soak(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "soak.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "soak.py"), *args, "--json", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(out.read_text())


def test_soak_bench_simulates_through_the_real_recording_path(tmp_path):
    """``bench/soak.py`` (issue #13) in miniature, our side: 72 simulated seconds at 1,000 req/s."""
    results = run_soak(tmp_path, "--only", "ours", "--hours", "0.02", "--names", "10", "--rate", "1000",
                       "--warm", "10")
    *samples, done = results["results"]["ours"]
    assert done["done"] is True
    last = samples[-1]
    assert last["requests"] == 72 * 1000 and last["failures"] == 72 * 10
    assert last["history_rows"] == 72 and last["buckets"] > 0 and last["rss_mib"] > 0


def test_soak_bench_real_run_samples_memory_and_histograms(tmp_path):
    """``bench/soak.py --real``: a real run of our engine against a local target, sampled every second."""
    results = run_soak(tmp_path, "--real", "3", "--every", "1", "--names", "5", "--users", "5")
    *samples, done = results["samples"]
    assert done["done"] is True and done["requests"] > 0 and done["csv_rows"] >= 2
    assert len(samples) >= 3 and all(sample["rss_mib"] > 0 for sample in samples)
    assert samples[-1]["histogram_kib"] >= 0 and samples[-1]["buckets"] > 0


def test_distributed_bench_smoke_mode_produces_numbers(tmp_path):
    """``bench/distributed.py --smoke`` (issue #10's benchmarks), our side: a real MasterRunner fed by
    simulated workers over zmq, and a ``--load-processes=1`` run against a local target."""
    out = tmp_path / "distributed.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "distributed.py"), "--smoke", "--json", str(out)],
                          capture_output=True, text=True, timeout=170, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads(out.read_text())
    assert results["smoke"] is True and results["errors"] == []
    metrics = results["metrics"]
    for key in ("master_cpu_ms", "report_kib", "fast_rps_p1"):
        ours = metrics[key]["ours"]
        assert ours["runs"] and all(isinstance(value, float) for value in ours["runs"]), key
        assert "locust" not in metrics[key]
    assert metrics["report_kib"]["ours"]["median"] > 0 and metrics["fast_rps_p1"]["ours"]["median"] > 0
    run = next(run for run in results["runs"] if run["scenario"] == "merge")
    assert run["requests_merged"] == 3 * 5 * 20  # every simulated request reached the master's total
    # The capacity ramp (issue 24): workers fed from two processes, every report merged at each step.
    ramp = results["capacity"]["ours"]["runs"]
    assert [step["workers"] for step in ramp] == [4] and ramp[0]["feeders"] == 2, ramp
    assert ramp[0]["requests_merged"] == 4 * 2 * 5 * 20, ramp
    assert results["capacity"]["ours"]["most_kept_up"] in (0, 4)


def test_soak_bench_real_distributed_run_samples_master_and_workers(tmp_path):
    """``bench/soak.py --real N --processes 1``: a master and a worker of pytest --load-processes, RSS of both."""
    results = run_soak(tmp_path, "--real", "3", "--every", "1", "--names", "5", "--users", "5", "--processes", "1")
    *samples, done = results["samples"]
    assert done["done"] is True and done["exit_code"] == 0 and done["requests"] > 0, done
    assert any(sample["rss_mib"] and sample["workers_rss_mib"] for sample in samples)


def test_open_model_bench_smoke_mode_produces_numbers(tmp_path):
    """``bench/open_model.py --smoke`` (issue #21), our side: rate held, a slowing target, the rate ladder."""
    out = tmp_path / "open-model.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "open_model.py"), "--smoke", "--json", str(out)],
                          capture_output=True, text=True, timeout=170, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads(out.read_text())
    assert results["smoke"] is True
    held = results["rate_held"]["http"]
    assert "error" not in held, held
    assert held["iterations"] > 0 and held["achieved_rate"] > 0 and held["start_lag_ms"]["0.99"] >= 0
    assert set(results["slowing"]) == {"ours"}  # the smoke mode never needs Locust
    assert results["slowing"]["ours"]["requests_per_second"]
    assert all(steps["steps"] for steps in results["ladder"].values())
    assert "highest rate held within 1 %" in done.stdout


def test_functional_bench_smoke_mode_produces_numbers(tmp_path):
    """``bench/functional.py --smoke`` (issue #20's benchmark), our side: a functional test run as load tasks
    against the example target, its iterations/s and per-iteration overhead; a no-I/O test's iteration cost."""
    out = tmp_path / "functional.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "functional.py"), "--smoke", "--json", str(out)],
                          capture_output=True, text=True, timeout=170, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads(out.read_text())
    assert results["smoke"] is True and results["errors"] == []
    metrics = results["metrics"]
    assert metrics["iterations_per_s"]["ours"] > 0 and "locust" not in metrics["iterations_per_s"]
    assert isinstance(metrics["overhead_us"]["ours"], float)
    assert metrics["noop_iteration_us"]["ours"] > 0
    assert all(run["failures"] == 0 for run in results["runs"] if "failures" in run)


def test_telemetry_bench_smoke_mode_produces_numbers(tmp_path):
    """``bench/telemetry.py --smoke`` (issue #22's benchmark), our side: FastHttpUser off, with Prometheus
    metrics scraped, with OpenTelemetry at 1 % and 100 % sampling (exports to a local sink)."""
    out = tmp_path / "telemetry.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "telemetry.py"), "--smoke", "--json", str(out)],
                          capture_output=True, text=True, timeout=170, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads(out.read_text())
    assert results["smoke"] is True and results["errors"] == []
    for key in ("fast_off", "fast_metrics", "fast_otel_1", "fast_otel_100"):
        assert results["metrics"][key]["ours"]["median"] > 0, key
    assert results["otlp_exports_received"] > 0  # the OpenTelemetry runs really exported
    assert all(run["warnings"] == [] for run in results["runs"])
