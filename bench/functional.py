"""Issue #20's benchmark: functional pytest tests as load, ours next to Locust's pytest mode.

``python bench/functional.py``; both tools back to back, repeats interleaved (Locust, ours, ...):

1. iterations/s (and per CPU-second of the generator) of the same trivial HTTP test (one GET
   of a small static file, status asserted), one generator process each, pinned to one core,
   10 users, no wait: ``locust -f test_x.py --headless`` (Locust 2.40+'s pytest mode, the test
   asking for its ``session`` fixture) against
   ``pytest test_x.py --load-only`` (the same body asking for ``load_client``). Iterations are
   counted from each tool's own end-of-run output (Locust's ``--json``, our ``--load-json``):
   the test's requests (one per iteration) divided by the span from first to last.
   Twice: on requests-based clients (Locust's ``session`` fixture, our ``load_client``) and, like for
   like, on geventhttpclient (Locust's ``fastsession``, our ``fast_load_client``).
2. our per-iteration overhead, in µs: the median of the test's ``TEST`` entry (fixtures set up,
   the test called, fixtures torn down) minus the median of its one request, in a run of 1 user
   (with 10, the other users' turns would be counted in it); and the
   whole cost of one iteration of a test with three function-scoped yield fixtures and no I/O
   (one user: 1e6 / iterations per second), which Locust's mode has no counterpart for (it sets
   a test's one fixture up once per user and never tears it down).

The target is Debian's nginx (``apt-get install -y nginx-light``), bench/run.py's, pinned to another
core. ``--smoke``: our side only, about a second each, against examples/target_app.py (no Locust, no
nginx, no pinning); tests/test_bench_smoke.py runs it to check the harness, never to judge speed.
Results: a table on stdout, bench/results/<date>-functional.json unless --smoke or --no-write.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as shared  # bench/run.py: the Locust venv, nginx, the example target, pinning

USERS = 10
TEST_BODY = '''
def test_home({fixture}):
    assert {fixture}.get("/").status_code == 200
'''
NOOP_TESTS = '''
import pytest

@pytest.fixture
def one():
    yield 1

@pytest.fixture
def two(one):
    yield one + 1

@pytest.fixture
def three(two, tmp_path_factory):
    yield two + 1

@pytest.mark.load_task
def test_noop(three):
    assert three == 3
'''


def sampled_run(command: list[str], cwd: Path, timeout: float) -> tuple[str, list[tuple[float, float]]]:
    """Run ``command``; its stdout, and (wall clock, CPU seconds so far) samples of its process every 0.1 s.

    The samples let each tool's rate be divided by the CPU time it used between its first and last request,
    which stays comparable when other processes share the machine (wall-clock rates do not).
    """
    import psutil

    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, text=True,
                                   env=shared.clean_env())
        samples: list[tuple[float, float]] = []
        watched = psutil.Process(process.pid)  # taskset execs the tool: the same process
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            try:
                times = watched.cpu_times()
            except psutil.Error:
                break
            samples.append((time.time(), times.user + times.system))
            time.sleep(0.1)
        if process.poll() is None:
            process.kill()
        process.wait()
        out.seek(0)
        return out.read(), samples


def cpu_between(samples: list[tuple[float, float]], start: float, end: float) -> float | None:
    """The CPU seconds the process used from wall-clock ``start`` to ``end`` (nearest samples inside)."""
    inside = [cpu for wall, cpu in samples if start <= wall <= end]
    return inside[-1] - inside[0] if len(inside) >= 2 and inside[-1] > inside[0] else None


def per_cpu(entries: list[dict], samples: list[tuple[float, float]]) -> float | None:
    """Iterations per CPU-second of the generator between its first and last request."""
    start = min(entry["start_time"] for entry in entries)
    last = max(entry["last_request_timestamp"] or 0 for entry in entries)
    inside = [(wall, cpu) for wall, cpu in samples if start <= wall <= last]
    cpu = cpu_between(samples, start, last)
    if cpu is None:
        return None
    span = inside[-1][0] - inside[0][0]
    requests = sum(entry["num_requests"] for entry in entries)
    return requests * (span / (last - start)) / cpu if last > start else None


def span_rate(entries: list[dict]) -> tuple[float, int]:
    """Requests per second over the span from the first to the last request of ``entries``."""
    requests = sum(entry["num_requests"] for entry in entries)
    start = min(entry["start_time"] for entry in entries)
    last = max(entry["last_request_timestamp"] or 0 for entry in entries)
    return (requests / (last - start) if last > start else 0.0), requests


CLIENTS = {"http": ("session", "load_client"), "fast": ("fastsession", "fast_load_client")}
"""The fixture each tool's test asks for, per client kind: (Locust's, ours)."""


def ours(url: str, run_time: float, core: str | None, users: int = USERS, client: str = "http") -> dict:
    """Our side: the test through ``pytest --load-only``; iterations/s, and the mean time an iteration spends
    beyond its request (with one user, where no other user's turn is counted in it: the fixture overhead)."""
    with tempfile.TemporaryDirectory(prefix="bench-func-ours-") as tmp:
        directory = Path(tmp)
        (directory / "test_x.py").write_text("import pytest\n\n@pytest.mark.load_task" + TEST_BODY.format(
            fixture=CLIENTS[client][1]))
        report = ours_run(directory, ["test_x.py", f"--load-host={url}", f"--load-users={users}",
                                      f"--load-spawn-rate={users}"], run_time, core)
        if "error" in report:
            return report
        tests = [entry for entry in report["stats"] if entry["method"] == "TEST"]
        gets = [entry for entry in report["stats"] if entry["method"] == "GET"]
        rate, iterations = span_rate(tests)
        rate_cpu = per_cpu(tests, report["samples"])
        # Medians: a loaded machine's outliers (a descheduled process, a GC pause) swing the means.
        overhead_us = (tests[0]["percentiles"]["50"] - gets[0]["percentiles"]["50"]) * 1000
        mean_us = (tests[0]["avg_response_time"] - gets[0]["avg_response_time"]) * 1000
        failures = tests[0]["num_failures"]
    return {"rate": rate, "rate_cpu": rate_cpu, "iterations": iterations, "failures": failures,
            "overhead_us": overhead_us, "overhead_mean_us": mean_us}


def ours_noop(run_time: float, core: str | None) -> dict:
    """One user iterating a no-I/O test with three function-scoped yield fixtures: µs per iteration."""
    with tempfile.TemporaryDirectory(prefix="bench-func-noop-") as tmp:
        directory = Path(tmp)
        (directory / "test_noop.py").write_text(NOOP_TESTS)
        report = ours_run(directory, ["test_noop.py", "--load-users=1"], run_time, core)
        if "error" in report:
            return report
        rate, iterations = span_rate([entry for entry in report["stats"] if entry["method"] == "TEST"])
    return {"rate": rate, "iterations": iterations, "iteration_us": 1e6 / rate if rate else None}


def ours_run(directory: Path, args: list[str], run_time: float, core: str | None) -> dict:
    command = [sys.executable, "-m", "pytest", *args, f"--load-run-time={run_time:g}s", "--load-only",
               "--load-json=out.json", "-p", "no:cacheprovider", "-q"]
    output, samples = sampled_run(shared.pinned(command, core), directory, run_time + 90)
    if not (directory / "out.json").exists():
        return {"error": "no --load-json output: " + " | ".join(output.strip().splitlines()[-5:])}
    return {**json.loads((directory / "out.json").read_text()), "samples": samples}


def locust(python: str, url: str, run_time: float, core: str | None, client: str = "http") -> dict:
    """Locust's pytest mode: ``locust -f test_x.py --headless``, the test asking for Locust's ``session``
    (``fastsession`` for the geventhttpclient variant)."""
    binary = str(Path(python).parent / "locust")
    with tempfile.TemporaryDirectory(prefix="bench-func-locust-") as tmp:
        directory = Path(tmp)
        (directory / "test_x.py").write_text(TEST_BODY.format(fixture=CLIENTS[client][0]))
        command = [binary, "-f", "test_x.py", "--headless", "-u", str(USERS), "-r", str(USERS),
                   "-t", f"{run_time:g}s", "-H", url, "--json", "--skip-log", "--loglevel=ERROR"]
        output, samples = sampled_run(shared.pinned(command, core), directory, run_time + 90)
    # --json prints the stats as a JSON list when the run ends; stderr's log lines may surround it.
    found = re.search(r"^\[", output, re.MULTILINE)
    try:
        entries = json.JSONDecoder().raw_decode(output, found.start())[0] if found else None
    except ValueError:
        entries = None
    if entries is None:
        return {"error": "no --json output: " + " | ".join(output.strip().splitlines()[-5:])}
    if not entries:
        return {"error": "Locust's --json listed no requests"}
    rate, iterations = span_rate(entries)
    return {"rate": rate, "rate_cpu": per_cpu(entries, samples), "iterations": iterations,
            "failures": sum(entry["num_failures"] for entry in entries)}


def median(runs: list[dict], key: str) -> float | None:
    values = [run[key] for run in runs if run.get(key) is not None]
    return statistics.median(values) if values else None


def table(results: dict) -> str:
    metrics = results["metrics"]
    lines = ["| measure | Locust's pytest mode | pytest-loadhooks | ours/Locust |", "| --- | --- | --- | --- |"]
    theirs, mine = metrics["iterations_per_s"].get("locust"), metrics["iterations_per_s"]["ours"]
    ratio = f"{mine / theirs:.2f}x (goal >= 1.5x)" if theirs and mine else "-"
    lines.append(f"| iterations/s, trivial HTTP test, {USERS} users, 1 process | "
                 f"{f'{theirs:,.0f}' if theirs else '-'} | {f'{mine:,.0f}' if mine else '-'} | {ratio} |")
    theirs, mine = metrics["iterations_per_cpu_s"].get("locust"), metrics["iterations_per_cpu_s"]["ours"]
    ratio = f"{mine / theirs:.2f}x" if theirs and mine else "-"
    lines.append(f"| the same, per generator CPU-second | {f'{theirs:,.0f}' if theirs else '-'} | "
                 f"{f'{mine:,.0f}' if mine else '-'} | {ratio} |")
    lines += fast_rows(metrics)
    overhead = metrics["overhead_us"]["ours"]
    lines.append(f"| per-iteration overhead, 1 user (TEST median - its request's median) | - | "
                 f"{f'{overhead:.0f} µs' if overhead is not None else '-'} | |")
    noop = metrics["noop_iteration_us"]["ours"]
    lines.append(f"| one iteration, 3 function-scoped yield fixtures, no I/O | - | "
                 f"{f'{noop:.0f} µs' if noop is not None else '-'} | |")
    return "\n".join(lines)


def fast_rows(metrics: dict) -> list[str]:
    """The table's rows of the like-for-like geventhttpclient variant."""
    rows = []
    for key, label in (("fast_iterations_per_s", "the same on geventhttpclient (`fastsession` / `fast_load_client`)"),
                       ("fast_iterations_per_cpu_s", "the same on geventhttpclient, per generator CPU-second")):
        theirs, mine = metrics.get(key, {}).get("locust"), metrics.get(key, {}).get("ours")
        ratio = f"{mine / theirs:.2f}x" if theirs and mine else "-"
        rows.append(f"| {label} | {f'{theirs:,.0f}' if theirs else '-'} | {f'{mine:,.0f}' if mine else '-'} | {ratio} |")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="our side only, about a second, against the example target")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--run-time", type=float, default=10.0)
    parser.add_argument("--locust-version", default=shared.LOCUST_VERSION)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    repeats, run_time = (1, 1.0) if args.smoke else (args.repeats, args.run_time)
    target = shared.TargetApp() if args.smoke else shared.Nginx(shared.TARGET_CORE)
    core = None if args.smoke else shared.GENERATOR_CORE
    python = None if args.smoke else shared.ensure_locust_venv(args.locust_version)
    runs: list[dict] = []
    load_before = os.getloadavg()[0]
    try:
        for repeat in range(repeats):
            if python is not None:
                runs.append({"impl": "locust", "repeat": repeat, **locust(python, target.url, run_time, core)})
            runs.append({"impl": "ours", "repeat": repeat, **ours(target.url, run_time, core)})
            if python is not None:
                runs.append({"impl": "locust-fast", "repeat": repeat,
                             **locust(python, target.url, run_time, core, client="fast")})
            runs.append({"impl": "ours-fast", "repeat": repeat, **ours(target.url, run_time, core, client="fast")})
            runs.append({"impl": "ours-1-user", "repeat": repeat, **ours(target.url, run_time, core, users=1)})
            runs.append({"impl": "ours-noop", "repeat": repeat, **ours_noop(run_time, core)})
    finally:
        target.stop()
    by = {impl: [run for run in runs if run["impl"] == impl and "error" not in run]
          for impl in ("locust", "ours", "locust-fast", "ours-fast", "ours-1-user", "ours-noop")}
    metrics = {"iterations_per_s": {"ours": median(by["ours"], "rate")},
               "iterations_per_cpu_s": {"ours": median(by["ours"], "rate_cpu")},
               "fast_iterations_per_s": {"ours": median(by["ours-fast"], "rate")},
               "fast_iterations_per_cpu_s": {"ours": median(by["ours-fast"], "rate_cpu")},
               "overhead_us": {"ours": median(by["ours-1-user"], "overhead_us")},
               "noop_iteration_us": {"ours": median(by["ours-noop"], "iteration_us")}}
    if python is not None:
        metrics["iterations_per_s"]["locust"] = median(by["locust"], "rate")
        metrics["iterations_per_cpu_s"]["locust"] = median(by["locust"], "rate_cpu")
        metrics["fast_iterations_per_s"]["locust"] = median(by["locust-fast"], "rate")
        metrics["fast_iterations_per_cpu_s"]["locust"] = median(by["locust-fast"], "rate_cpu")
    results = {"smoke": args.smoke, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "target": target.version, "users": USERS, "run_time_s": run_time, "machine": shared.machine(),
               "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)], "runs": runs,
               "metrics": metrics, "errors": [run["error"] for run in runs if "error" in run]}
    markdown = table(results)
    print(markdown)
    for error in results["errors"]:
        print("ERROR:", error)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if not args.smoke and not args.no_write:
        out = shared.BENCH / "results" / f"{dt.date.today().isoformat()}-functional.json"
        out.write_text(json.dumps(results, indent=2))
        print(f"wrote {out.relative_to(shared.ROOT)}")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
