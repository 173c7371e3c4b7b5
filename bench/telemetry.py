"""Issue #22's benchmark, the cost of sending a run's numbers out: ``python bench/telemetry.py``.

req/s of 50 FastHttpUsers with constant(0) wait (bench/scenarios/distributed_fast_loadtest.py) against
nginx (bench/run.py's target), the generator pinned to one core, in one invocation, repeats
interleaved (off, metrics, 1 %, 100 %, off, ...):

- ``off``: no telemetry;
- ``metrics``: ``--load-metrics-port`` scraped once a second (Prometheus' exposition, read from the stats);
- ``otel_1``: ``--load-otel --load-otel-sampling=1%`` (OTLP metrics, a span for 1 % of the requests);
- ``otel_100``: ``--load-otel`` (a span for every request);

and, beside it on HttpUser (Locust's ``--otel`` instruments requests only), Locust off and with
``--otel``, next to ours off and at 100 %. The OTLP receiver is a sink on 127.0.0.1 that answers 200
to every export. Goals: metrics <= 5 % slower than off, 1 % sampling <= 10 % slower.

req/s is each tool's own count (our --load-json, Locust's --json): its requests over the span from
its first to its last request. Results: a table on stdout and bench/results/<date>-telemetry.json.
``--smoke``: ours only, 10 users, 1 s runs, examples/target_app.py, nothing written
(tests/test_bench_smoke.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import distributed as dist  # bench/distributed.py: rate_of, json_documents
import run as shared  # bench/run.py: the Locust venv, nginx, pinning

BENCH, ROOT, SCENARIOS = shared.BENCH, shared.ROOT, shared.SCENARIOS
MODES = {
    "off": [],
    "metrics": ["--load-metrics-port={metrics_port}"],
    "otel_1": ["--load-otel", "--load-otel-sampling=1%"],
    "otel_100": ["--load-otel"],
}
GOALS = {"metrics": 0.05, "otel_1": 0.10}  # at most this much slower than off


class OtlpSink:
    """Answers 200 to every OTLP/HTTP export (counting them): the cost measured is the sender's."""

    def __init__(self) -> None:
        sink = self
        self.exports = 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.exports += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def scrape_every_second(port: int, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read()
        except OSError:
            pass  # not up yet, or gone


def otel_env(sink: OtlpSink) -> dict[str, str]:
    return {**shared.clean_env(), "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url, "OTEL_EXPORTER_OTLP_PROTOCOL":
            "http/protobuf", "OTEL_METRIC_EXPORT_INTERVAL": "5000", "OTEL_SERVICE_NAME": "bench"}


def rps_ours(kind: str, mode: str, url: str, sink: OtlpSink, args: argparse.Namespace) -> dict:
    metrics_port = shared.free_port()
    extra = [option.format(metrics_port=metrics_port) for option in MODES[mode]]
    stop = threading.Event()
    if mode == "metrics":
        threading.Thread(target=scrape_every_second, args=(metrics_port, stop), daemon=True).start()
    with tempfile.TemporaryDirectory(prefix="bench-telemetry-") as tmp:
        directory = Path(tmp)
        name = f"distributed_{kind}_loadtest.py"
        shutil.copy(SCENARIOS / name, directory / name)
        (directory / "pytest.ini").write_text("[pytest]\n")
        command = [sys.executable, "-m", "pytest", name, "-q", "-p", "no:cacheprovider", f"--load-users={args.users}",
                   f"--load-spawn-rate={args.users}", f"--load-run-time={args.run_time:g}s", f"--load-host={url}",
                   "--load-json=result.json", *extra]
        started = time.perf_counter()
        try:
            done = subprocess.run(shared.pinned(command, args.core), cwd=directory, capture_output=True, text=True,
                                  timeout=args.run_time + 90, env=otel_env(sink))
        except subprocess.TimeoutExpired:
            return {"error": "timed out"}
        finally:
            stop.set()
        wall = time.perf_counter() - started
        result = directory / "result.json"
        if not result.exists():
            return {"error": f"exit {done.returncode}: " + " | ".join((done.stdout + done.stderr).splitlines()[-4:])}
        document = json.loads(result.read_text())
    rate, requests, _failures = dist.rate_of(document["total"])
    return {"rps": rate, "requests": requests, "wall_s": wall, "warnings": document["run"].get("warnings", [])}


def locust_with_otel(python: str) -> str | None:
    """Why Locust's --otel cannot run in the bench venv, or None (its otel extra installed on first use)."""
    probe = [python, "-c", "import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http, "
                           "opentelemetry.instrumentation.requests"]
    if subprocess.run(probe, capture_output=True).returncode == 0:
        return None
    print("installing locust[otel] into bench/.venv-locust (once) ...", flush=True)
    installed = subprocess.run([python, "-m", "pip", "install", "-q", f"locust[otel]=={shared.LOCUST_VERSION}",
                                "opentelemetry-exporter-otlp-proto-http"], capture_output=True, text=True)
    if installed.returncode != 0:
        return "locust[otel] could not be installed: " + installed.stderr.strip()[-300:]
    return None if subprocess.run(probe, capture_output=True).returncode == 0 else "locust[otel] is incomplete"


def rps_locust(python: str, otel: bool, url: str, sink: OtlpSink, args: argparse.Namespace) -> dict:
    locust = str(Path(python).parent / "locust")
    with tempfile.TemporaryDirectory(prefix="bench-telemetry-locust-") as tmp:
        directory = Path(tmp)
        shutil.copy(SCENARIOS / "distributed_http_locustfile.py", directory / "locustfile.py")
        command = [locust, "-f", "locustfile.py", "--headless", "-u", str(args.users), "-r", str(args.users),
                   "-t", f"{args.run_time:g}s", "-H", url, "--json", "--skip-log", *(["--otel"] if otel else [])]
        try:
            done = subprocess.run(shared.pinned(command, args.core), cwd=directory, capture_output=True, text=True,
                                  timeout=args.run_time + 90, env=otel_env(sink))
        except subprocess.TimeoutExpired:
            return {"error": "timed out"}
    entries = max(dist.json_documents(done.stdout), key=lambda doc: sum(e.get("num_requests", 0) for e in doc),
                  default=None)
    if not entries:
        return {"error": f"exit {done.returncode}: " + " | ".join((done.stdout + done.stderr).splitlines()[-4:])}
    total = {"num_requests": sum(e["num_requests"] for e in entries),
             "start_time": min(e["start_time"] for e in entries),
             "last_request_timestamp": max(e["last_request_timestamp"] or 0 for e in entries)}
    rate, requests, _failures = dist.rate_of(total)
    return {"rps": rate, "requests": requests}


def plan(args: argparse.Namespace, locust_python: str | None) -> list[tuple[str, str, object]]:
    """(key, tool, how to run it) in the order of one repeat."""
    steps: list[tuple[str, str, object]] = [(f"fast_{mode}", "ours", ("fast", mode)) for mode in MODES]
    if not args.smoke:
        steps += [("http_off", "ours", ("http", "off")), ("http_otel_100", "ours", ("http", "otel_100"))]
        if locust_python:
            steps += [("http_off", "locust", False), ("http_otel_100", "locust", True)]
    return steps


def table(medians: dict[str, dict[str, float]]) -> str:
    rows = ["| scenario | tool | req/s (median) | vs off | goal |", "| --- | --- | --- | --- | --- |"]
    for key, by_tool in medians.items():
        kind, mode = key.split("_", 1)
        for tool, value in by_tool.items():
            off = medians.get(f"{kind}_off", {}).get(tool)
            change = f"{(value / off - 1) * 100:+.1f} %" if off and mode != "off" else ""
            goal = GOALS.get(mode) if tool == "ours" and kind == "fast" else None
            verdict = "" if goal is None or not off else (
                f"<= {goal * 100:.0f} % slower: " + ("met" if value >= off * (1 - goal) else "NOT met"))
            rows.append(f"| {'FastHttpUser' if kind == 'fast' else 'HttpUser'} {mode} | {tool} | {value:,.0f} | "
                        f"{change} | {verdict} |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each scenario (default 3)")
    parser.add_argument("--run-time", type=float, default=10.0, help="seconds of each run (default 10)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--ours-only", action="store_true", help="no Locust beside it")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--no-write", action="store_true", help="don't write bench/results")
    parser.add_argument("--smoke", action="store_true", help="ours only, 10 users, 1 s runs, one repeat, "
                        "examples/target_app.py, nothing written: proves the harness runs (tests/test_bench_smoke.py)")
    args = parser.parse_args()
    args.core = shared.GENERATOR_CORE
    if args.smoke:
        args.repeats, args.run_time, args.users, args.no_write, args.ours_only, args.core = 1, 1.0, 10, True, True, None
    locust_python, locust_problem = None, None
    if not args.ours_only:
        locust_python = shared.ensure_locust_venv(shared.LOCUST_VERSION)
        locust_problem = locust_with_otel(locust_python)
        if locust_problem:
            print(f"note: Locust --otel not measured: {locust_problem}", flush=True)
            locust_python = None
    target = shared.TargetApp() if args.smoke else shared.Nginx(shared.TARGET_CORE)
    sink = OtlpSink()
    raw: dict[str, dict[str, list[float]]] = {}
    results: dict = {"smoke": args.smoke, "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
                     "machine": shared.machine(), "target": target.version, "users": args.users,
                     "run_time_s": args.run_time, "repeats": args.repeats, "runs": [], "errors": [],
                     "locust": locust_problem or (shared.LOCUST_VERSION if locust_python else "not measured")}
    try:
        for repeat in range(args.repeats):
            for key, tool, how in plan(args, locust_python):
                if tool == "ours":
                    outcome = rps_ours(*how, target.url, sink, args)  # type: ignore[misc]
                else:
                    outcome = rps_locust(locust_python, bool(how), target.url, sink, args)  # type: ignore[arg-type]
                results["runs"].append({"key": key, "tool": tool, "repeat": repeat, **outcome})
                if "error" in outcome:
                    results["errors"].append(f"{key} {tool}: {outcome['error']}")
                else:
                    raw.setdefault(key, {}).setdefault(tool, []).append(outcome["rps"])
                print(f"{key:16} {tool:7} {outcome.get('rps', 0):10,.0f} req/s {outcome.get('error', '')}", flush=True)
    finally:
        target.stop()
    medians = {key: {tool: statistics.median(values) for tool, values in by_tool.items()} for key, by_tool in raw.items()}
    results["metrics"] = {key: {tool: {"median": value, "runs": raw[key][tool]} for tool, value in by_tool.items()}
                          for key, by_tool in medians.items()}
    results["otlp_exports_received"] = sink.exports
    markdown = table(medians)
    print(markdown)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if not args.no_write:
        out = BENCH / "results" / f"{dt.datetime.now():%Y-%m-%d}-telemetry.json"
        out.write_text(json.dumps(results, indent=2))
        print(f"wrote {out.relative_to(ROOT)}")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
