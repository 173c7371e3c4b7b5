"""Issue #10's benchmarks, the distributed mode next to Locust's: ``python bench/distributed.py``.

Both tools back to back, repeats interleaved (Locust, ours, Locust, ours ...):

1. master CPU time per worker report: the tool's real MasterRunner on 127.0.0.1 fed by 100
   simulated workers (one process, one zmq DEALER each, speaking the tool's own protocol:
   ready, heartbeats once a second, a stats report every 3 s built with the tool's own
   RequestStats: 100 endpoints x 200 requests of log-normal response times). The master's
   CPU time (getrusage: all its threads) while it merges the reports, minus what the same
   heartbeats cost it alone, divided by the reports merged (bench/scenarios/distributed_report_merge.py);
2. aggregate req/s with 1 and 2 local processes: ``pytest ... --load-processes=N`` next to
   ``locust --headless --processes N``, 50 users, constant(0), against nginx (bench/run.py's
   target), requests counted from each tool's own end-of-run output (our --load-json, Locust's
   --json): the total's requests divided by the span from its first to its last request.

Reuses bench/run.py's helpers (the Locust venv, nginx, pinning). Results: a table on stdout,
bench/results/<date>-distributed.json, and the table in bench/README.md's distributed section.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as shared  # bench/run.py: the Locust venv, nginx, pinning, the table cells

BENCH, ROOT, SCENARIOS = shared.BENCH, shared.ROOT, shared.SCENARIOS
MERGE_SCRIPT = SCENARIOS / "distributed_report_merge.py"
README_START, README_END = "<!-- bench-distributed:start -->", "<!-- bench-distributed:end -->"
USERS = 50

# (key, label, unit, better)
METRICS = [
    ("master_cpu_ms", "master CPU per worker report, {workers} workers x {endpoints} endpoints", "ms/report", "lower"),
    ("master_cpu_gross_ms", "the same, heartbeats not subtracted", "ms/report", "lower"),
    ("report_kib", "one worker report on the wire (msgpack)", "KiB", "lower"),
    ("http_rps_p1", "HttpUser, 50 users, 1 process", "req/s", "higher"),
    ("http_rps_p2", "HttpUser, 50 users, 2 processes", "req/s", "higher"),
    ("fast_rps_p1", "FastHttpUser, 50 users, 1 process", "req/s", "higher"),
    ("fast_rps_p2", "FastHttpUser, 50 users, 2 processes", "req/s", "higher"),
    ("worker_loss_s", "a SIGKILLed worker's counts that never reached the master (ours only)", "s of its work",
     "lower"),
]


# -- 1. the master's CPU time per worker report ----------------------------------------------------

def read_line_starting(process: subprocess.Popen, prefix: str, timeout: float) -> str | None:
    """The first line of ``process``'s stdout that starts with ``prefix``, or None (exited, timed out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()
            if not line:
                return None
            if line.startswith(prefix):
                return line[len(prefix):].strip()
        elif process.poll() is not None:
            return None
    return None


def stop(process: subprocess.Popen) -> str:
    """End ``process`` (ours: started here) and return the rest of its output."""
    if process.poll() is None:
        process.terminate()
    try:
        out, err = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return (out or "") + (err or "")


def start_feeders(python: str, impl: str, port: str, args: argparse.Namespace, workers: int, rounds: int,
                  baseline: float) -> list[subprocess.Popen]:
    """``args.feeders`` processes simulating ``workers`` workers between them (one alone cannot send a
    thousand reports a second), each told when to start once all have connected (``GO <time>``)."""
    feeders = max(1, min(args.feeders, workers))
    share, extra = divmod(workers, feeders)
    processes, first = [], 0
    for index in range(feeders):
        count = share + (1 if index < extra else 0)
        command = [python, str(MERGE_SCRIPT), "--impl", impl, "workers", "--port", port, "--workers", str(count),
                   "--first-worker", str(first), "--endpoints", str(args.endpoints), "--requests", str(args.requests),
                   "--rounds", str(rounds), "--report-interval", f"{args.report_interval:g}",
                   "--baseline", f"{baseline:g}", "--wait-go", *([] if index == 0 else ["--no-marks"])]
        processes.append(subprocess.Popen(shared.pinned(command, shared.TARGET_CORE), stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                          env=shared.clean_env()))
        first += count
    return processes


def merge_run(python: str, impl: str, args: argparse.Namespace, workers: int | None = None,
              rounds: int | None = None, baseline: float = 3.0) -> dict:
    """One master and its simulated workers (from ``args.feeders`` processes); the master's CPU per merged
    report, and whether it kept up: every report merged within a report interval of the last one sent."""
    workers = workers or args.workers
    rounds = rounds or args.rounds
    reports = workers * rounds
    master = subprocess.Popen(
        shared.pinned([python, str(MERGE_SCRIPT), "--impl", impl, "master", "--expect-reports", str(reports),
                       "--timeout", "150"], shared.GENERATOR_CORE),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=shared.clean_env())
    feeders: list[subprocess.Popen] = []
    try:
        port = read_line_starting(master, "PORT ", 30)
        if port is None:
            return {"error": "the master did not start: " + stop(master)[-500:]}
        feeders = start_feeders(python, impl, port, args, workers, rounds, baseline)
        built = [read_line_starting(feeder, "BENCH-BUILT ", 180) for feeder in feeders]
        if None in built:
            return {"error": "the simulated workers failed: " + stop(feeders[built.index(None)])[-500:]}
        start_at = time.time() + 0.5
        for feeder in feeders:
            feeder.stdin.write(f"GO {start_at!r}\n")
            feeder.stdin.flush()
        result_line = read_line_starting(master, "BENCH-RESULT ", 170)
        if result_line is None:
            return {"error": "the master gave no result: " + stop(master)[-500:]}
        fed = [read_line_starting(feeder, "BENCH-FED ", 30) for feeder in feeders]
    finally:
        for process in (*feeders, master):
            stop(process)
    result = json.loads(result_line)
    sent = json.loads(built[0])
    late = max((json.loads(line)["max_late_s"] for line in fed if line), default=None)
    if not result["completed"]:
        return {"error": f"the master merged {result['reports']} of {reports} reports within its timeout",
                "kept_up": False, "feeders_late_s": late}
    expected_requests = reports * args.endpoints * args.requests
    if result["requests_merged"] != expected_requests:
        return {"error": f"the master counted {result['requests_merged']:,} requests, {expected_requests:,} were sent"}
    marks = {sample["label"]: sample for sample in result["samples"]}
    base_start, base_end, start, done = (marks[k] for k in ("baseline_start", "baseline_end", "reports_start", "done"))
    idle_rate = (base_end["cpu_s"] - base_start["cpu_s"]) / max(base_end["wall"] - base_start["wall"], 1e-9)
    gross = done["cpu_s"] - start["cpu_s"]
    phase = done["wall"] - start["wall"]
    net = gross - idle_rate * phase
    # The last report is sent before rounds x interval after the phase starts: merged later than that
    # by more than an interval, the master fell behind.
    catch_up = done["wall"] - start["wall"] - rounds * args.report_interval
    busy = gross / phase if phase else None
    return {
        "version": result["version"], "workers": workers, "feeders": len(feeders),
        "master_cpu_ms": net / reports * 1000, "master_cpu_gross_ms": gross / reports * 1000,
        "report_kib": sent["mean_report_bytes"] / 1024,
        "reports": reports, "requests_merged": result["requests_merged"], "phase_s": phase,
        "heartbeats_only_cpu_per_s": idle_rate, "master_cpu_s": gross,
        "master_busy_share": busy, "catch_up_s": catch_up, "feeders_late_s": late,
        "kept_up": catch_up <= args.report_interval and busy is not None and busy < 0.9,
        # What a whole core would keep up with at this CPU per report (heartbeats included), 90 % busy: the
        # figure to read on a shared machine, where the pinned master gets only part of its core.
        "workers_per_core": 0.9 * args.report_interval / (gross / reports) if gross else None,
    }


def capacity(python: str, impl: str, args: argparse.Namespace) -> dict:
    """The most simulated workers (of ``--capacity-workers``, ascending) whose reports one master core
    merges as they come; the ramp stops at the first count it does not keep up with."""
    runs, most = [], 0
    for workers in sorted(int(w) for w in args.capacity_workers.split(",")):
        result = merge_run(python, impl, args, workers=workers, rounds=args.capacity_rounds, baseline=1.0)
        result.setdefault("workers", workers)
        runs.append(result)
        late = result.get("feeders_late_s")
        verdict = ("kept up" if result.get("kept_up") else "fell behind") if "error" not in result or \
            "kept_up" in result else f"ERROR {result['error']}"
        print(f"  capacity     {impl:6} {workers:5} workers: {verdict}"
              + (f" (master busy {result['master_busy_share']:.0%}, last report merged "
                 f"{result['catch_up_s']:+.2f} s after the phase, {result['master_cpu_gross_ms']:.2f} ms/report: "
                 f"{result['workers_per_core']:.0f} workers a whole core would keep up with)"
                 if "master_busy_share" in result else "")
              + (f"; feeders up to {late:.2f} s late" if late is not None else ""), flush=True)
        if late is not None and late > 0.5:
            result["note"] = "the feeding processes fell behind their schedule: not the master's limit"
        if not result.get("kept_up"):
            break
        most = workers
    return {"runs": runs, "most_kept_up": most}


# -- 2. aggregate req/s with N local processes ---------------------------------------------------

def processes_option_missing() -> str | None:
    """Why ``--load-processes`` cannot be benchmarked yet, or None when the plugin has it."""
    options = ROOT / "pytest_loadhooks" / "plugin" / "options.py"
    if "processes" not in options.read_text():
        return ("--load-processes has not landed yet (pytest_loadhooks/plugin/options.py defines no "
                "'processes' option)")
    return None


def rate_of(total: dict) -> tuple[float, int, int]:
    """(req/s, requests, failures) of a run's total: its requests over the span first..last request."""
    span = (total.get("last_request_timestamp") or 0) - (total.get("start_time") or 0)
    if span <= 0 or not total.get("num_requests"):
        raise ValueError(f"no requests counted ({total.get('num_requests')} requests over {span:.2f} s)")
    return total["num_requests"] / span, total["num_requests"], total.get("num_failures", 0)


def rps_ours(kind: str, processes: int, url: str, args: argparse.Namespace) -> dict:
    missing = processes_option_missing()
    if missing:
        return {"error": missing}
    with tempfile.TemporaryDirectory(prefix="bench-dist-pytest-") as tmp:
        directory = Path(tmp)
        name = f"distributed_{kind}_loadtest.py"
        shutil.copy(SCENARIOS / name, directory / name)
        (directory / "pytest.ini").write_text("[pytest]\n")
        command = [sys.executable, "-m", "pytest", name, "-q", "-p", "no:cacheprovider",
                   f"--load-processes={processes}", f"--load-users={USERS}", f"--load-spawn-rate={USERS}",
                   f"--load-run-time={args.run_time:g}s", f"--load-host={url}", "--load-json=result.json"]
        core = shared.GENERATOR_CORE if processes == 1 else None
        wall, error = shared.timed_run(shared.pinned(command, core), directory, args.run_time + 90)
        if wall is None:
            return {"error": error}
        document = json.loads((directory / "result.json").read_text())
    rate, requests, failures = rate_of(document["total"])
    return {"rps": rate, "requests": requests, "failures": failures, "wall_s": wall}


# -- 3. what a SIGKILLed worker's counts lose -----------------------------------------------------

# Each worker writes, at every request, how many it has made: what a SIGKILLed one made is on disk.
LOSS_CONFTEST = """
import json, os, time
from pytest_loadhooks import events

TALLY = {"requests": 0, "first_at": None, "last_at": None}

@events.request.add_listener
def _count(**kw):
    TALLY["requests"] += 1
    TALLY["last_at"] = time.time()
    TALLY["first_at"] = TALLY["first_at"] or TALLY["last_at"]
    path = f"tally-{os.getpid()}.json"
    with open(path + ".tmp", "w") as handle:
        json.dump(TALLY, handle)
    os.replace(path + ".tmp", path)
"""

LOSS_TEST = """
from pytest_loadhooks import HttpUser, task, constant

class Shopper(HttpUser):
    wait_time = constant(0.01)

    @task
    def page(self):
        self.client.get("/")
"""

LOSS_LINE = re.compile(r"(?P<counted>\d+) requests counted from it.*?about (?P<estimate>\d+) requests it made after "
                       r"that are missing \((?P<gap>[\d.]+) s at its (?P<rate>[\d.]+) req/s\)")


def worker_loss_run(url: str, args: argparse.Namespace) -> dict:
    """A master and two workers (separate pytest processes); one SIGKILLed mid-run. What it made (its own
    tally, written at every request) against what reached the master, and the master's estimate of the gap."""
    import signal
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="bench-dist-loss-") as tmp:
        directory = Path(tmp)
        (directory / "conftest.py").write_text(LOSS_CONFTEST)
        (directory / "test_loss.py").write_text(LOSS_TEST)
        (directory / "pytest.ini").write_text("[pytest]\n")
        base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_loss.py"]
        run_time = args.kill_at + 4

        def spawn(*extra: str) -> subprocess.Popen:
            return subprocess.Popen([*base, *extra], cwd=directory, env=shared.clean_env(), stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)

        master = spawn("--load-master", "--load-expect-workers=2", f"--load-master-bind-port={port}",
                       "--load-users=10", f"--load-run-time={run_time:g}s", f"--load-host={url}",
                       "--load-json=result.json", "--load-allow-worker-loss")
        workers = [spawn("--load-worker", f"--load-master-port={port}") for _ in range(2)]
        victim = workers[0]
        deadline = time.monotonic() + 60
        while not (directory / f"tally-{victim.pid}.json").exists():
            if time.monotonic() > deadline or master.poll() is not None:
                for process in (master, *workers):
                    process.kill()
                return {"error": "the run did not start"}
            time.sleep(0.02)
        time.sleep(args.kill_at)
        victim.send_signal(signal.SIGKILL)
        for process in (master, *workers):
            try:
                process.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
        tally = json.loads((directory / f"tally-{victim.pid}.json").read_text())
        document = json.loads((directory / "result.json").read_text())
    lines = [line for line in document["run"]["warnings"] if "was lost at" in line]
    match = LOSS_LINE.search(lines[0]) if lines else None
    if match is None:
        return {"error": f"no loss line with an estimate: {lines}"}
    made, counted = tally["requests"], int(match["counted"])
    rate = made / max(tally["last_at"] - tally["first_at"], 1e-9)  # what the victim really did, by its own clock
    return {"made": made, "counted": counted, "lost": made - counted, "lost_s": (made - counted) / rate,
            "estimate": int(match["estimate"]), "rate": rate, "master_rate": float(match["rate"]),
            "duration": document["run"]["duration"], "run_time": run_time}


def json_documents(text: str) -> list[list]:
    """Every JSON list of objects printed in ``text``, in order."""
    decoder, documents, index = json.JSONDecoder(), [], 0
    while (index := text.find("[", index)) >= 0:
        try:
            document, end = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            index += 1
            continue
        if isinstance(document, list) and all(isinstance(entry, dict) for entry in document):
            documents.append(document)
        index = end
    return documents


def rps_locust(python: str, kind: str, processes: int, url: str, args: argparse.Namespace) -> dict:
    locust = str(Path(python).parent / "locust")
    with tempfile.TemporaryDirectory(prefix="bench-dist-locust-") as tmp:
        directory = Path(tmp)
        shutil.copy(SCENARIOS / f"distributed_{kind}_locustfile.py", directory / "locustfile.py")
        command = [locust, "-f", "locustfile.py", "--headless", "--processes", str(processes), "-u", str(USERS),
                   "-r", str(USERS), "-t", f"{args.run_time:g}s", "-H", url, "--json", "--skip-log"]
        core = shared.GENERATOR_CORE if processes == 1 else None
        started = time.perf_counter()
        try:
            done = subprocess.run(shared.pinned(command, core), cwd=directory, capture_output=True, text=True,
                                  check=False, timeout=args.run_time + 90, env=shared.clean_env())
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {args.run_time + 90:.0f}s"}
        wall = time.perf_counter() - started
    # --json prints the endpoints' serialized stats (a JSON list) when the run ends, in every
    # process: the workers' lists are empty (all reported), the master's holds the merged counts.
    # Exit 1 only means some requests failed, which the failures count says.
    entries = max(json_documents(done.stdout), key=lambda doc: sum(e.get("num_requests", 0) for e in doc),
                  default=None)
    if not entries:
        tail = (done.stdout + done.stderr).strip().splitlines()[-6:]
        return {"error": f"exit {done.returncode}, no --json output: " + " | ".join(tail)}
    total = {
        "num_requests": sum(e["num_requests"] for e in entries),
        "num_failures": sum(e["num_failures"] for e in entries),
        "start_time": min(e["start_time"] for e in entries),
        "last_request_timestamp": max(e["last_request_timestamp"] or 0 for e in entries),
    }
    rate, requests, failures = rate_of(total)
    return {"rps": rate, "requests": requests, "failures": failures, "wall_s": wall}


# -- the table -----------------------------------------------------------------------------------

def table(results: dict) -> str:
    header = ("| scenario | unit | Locust median (min–max) | pytest-loadhooks median (min–max) | ours/Locust "
              "| 1-min load avg after the runs |")
    lines = [header,
             "| --- | --- | --- | --- | --- | --- |"]
    for key, label, unit, _better in METRICS:
        label = label.format(**results["settings"])
        entry = results["metrics"].get(key)
        if entry is None:
            continue
        ours, locust = entry.get("ours"), entry.get("locust")
        ratio = ours["median"] / locust["median"] if ours and locust and locust["median"] else None
        loads = entry.get("load_average") or []
        load = f"{min(loads):.1f}–{max(loads):.1f}" if loads else "-"
        ours_cell = shared.cell(ours, unit) if ours else f"error: {entry.get('ours_error', 'n/a')}"
        lines.append(f"| {label} | {unit} | {shared.cell(locust, unit)} | {ours_cell} "
                     f"| {f'{ratio:.2f}x' if ratio is not None else '-'} | {load} |")
    return "\n".join(lines)


def write_readme(results: dict, markdown: str) -> None:
    readme = BENCH / "README.md"
    text = readme.read_text()
    m = results["machine"]
    block = (f"{README_START}\n"
             f"Measured {results['date']} on {m['cpu']}, {m['cores']} cores, {m['memory']}, {m['os']}, "
             f"Python {m['python']}; Locust {results['locust_version']}, pytest-loadhooks "
             f"{results.get('ours_version') or '-'}, target {results['target']}; "
             f"{results['repeats']} repeats of the master scenario, {results['rps_repeats']} of each req/s one "
             f"({results['run_time_s']:g} s runs); 1-min load average {results['load_average_start']:.1f} at the "
             f"start and {results['load_average_end']:.1f} at the end (`python bench/distributed.py`).\n\n"
             f"{markdown}\n{README_END}")
    if README_START in text and README_END in text:
        text = re.sub(re.escape(README_START) + ".*?" + re.escape(README_END), lambda _m: block, text, flags=re.DOTALL)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    readme.write_text(text)


# -- the run -------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="merge,rps",
                        help="comma-separated subset of: merge,rps,loss,capacity (the most workers reporting every "
                             "--report-interval one master core keeps up with)")
    parser.add_argument("--loss-repeats", type=int, default=5, help="runs of the worker-loss scenario (default 5)")
    parser.add_argument("--kill-at", type=float, default=2.3,
                        help="seconds into the worker-loss run its victim is SIGKILLed (default 2.3)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the master scenario per tool (default 3)")
    parser.add_argument("--rps-repeats", type=int, default=2, help="runs of each req/s scenario per tool (default 2)")
    parser.add_argument("--kinds", default="http,fast", help="user classes in the req/s scenarios: http,fast")
    parser.add_argument("--processes", default="1,2", help="process counts in the req/s scenarios")
    parser.add_argument("--run-time", type=float, default=12.0, help="seconds of each req/s run (default 12)")
    parser.add_argument("--workers", type=int, default=100, help="simulated workers (default 100)")
    parser.add_argument("--endpoints", type=int, default=100, help="endpoints per report (default 100)")
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint per report (default 200)")
    parser.add_argument("--rounds", type=int, default=3, help="reports per simulated worker (default 3)")
    parser.add_argument("--report-interval", type=float, default=3.0,
                        help="seconds between a simulated worker's reports (default 3, Locust's; ours report every "
                             "1 s: give 1 with --requests scaled to what a second holds)")
    parser.add_argument("--feeders", type=int, default=1,
                        help="processes the simulated workers are spread over (default 1; the capacity scenario "
                             "uses at least 4)")
    parser.add_argument("--capacity-workers", default="250,500,750,1000,1500",
                        help="worker counts the capacity scenario ramps through (default 250,500,750,1000,1500)")
    parser.add_argument("--capacity-rounds", type=int, default=8,
                        help="reports per simulated worker in each capacity run (default 8)")
    parser.add_argument("--ours-only", action="store_true", help="measure pytest-loadhooks alone (no Locust venv)")
    parser.add_argument("--locust-version", default=shared.LOCUST_VERSION)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--no-write", action="store_true", help="don't write bench/results or bench/README.md")
    parser.add_argument("--smoke", action="store_true",
                        help="our side only, tiny settings (3 workers x 5 endpoints, one 2 s FastHttpUser run), "
                             "writes nothing: proves the harness still runs (tests/test_bench_smoke.py)")
    args = parser.parse_args()
    if args.smoke:
        for name, value in (("workers", 3), ("endpoints", 5), ("requests", 20), ("rounds", 1), ("repeats", 1),
                            ("rps_repeats", 1), ("run_time", 2.0), ("kinds", "fast"), ("processes", "1"),
                            ("no_write", True), ("capacity_workers", "4"), ("capacity_rounds", 2),
                            ("feeders", 2)):
            setattr(args, name, value)
    only = set(args.only.split(","))
    if args.smoke:
        only.add("capacity")
    impls = ("ours",) if args.smoke or args.ours_only else ("locust", "ours")

    pythons = {"ours": sys.executable}
    if "locust" in impls:
        pythons["locust"] = shared.ensure_locust_venv(args.locust_version)
    try:
        target = shared.Nginx(shared.TARGET_CORE)
    except SystemExit as missing:
        print(f"note: {missing}; using examples/target_app.py as the target instead", flush=True)
        target = shared.TargetApp()
    results: dict = {
        "smoke": args.smoke, "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"), "machine": shared.machine(), "target": target.version,
        "locust_version": args.locust_version, "repeats": args.repeats, "rps_repeats": args.rps_repeats,
        "run_time_s": args.run_time, "settings": {k: getattr(args, k) for k in
                                                  ("workers", "endpoints", "requests", "rounds", "report_interval",
                                                   "kinds", "processes")},
        "metrics": {}, "runs": [], "errors": [], "load_average_start": os.getloadavg()[0],
    }
    raw: dict[str, dict] = {}

    def record(key: str, impl: str, value: float) -> None:
        raw.setdefault(key, {}).setdefault(impl, []).append(value)

    def note_load(keys: list[str]) -> float:
        load = os.getloadavg()[0]
        for key in keys:
            raw.setdefault(key, {}).setdefault("load_average", []).append(load)
        return load

    def note_error(keys: list[str], impl: str, name: str, error: str) -> None:
        results["errors"].append(f"{name} {impl}: {error}")
        for key in keys:
            raw.setdefault(key, {})[f"{impl}_error"] = error

    started = time.monotonic()
    try:
        if "merge" in only:
            keys = ["master_cpu_ms", "master_cpu_gross_ms", "report_kib"]
            for repeat in range(args.repeats):
                for impl in impls:
                    result = merge_run(pythons[impl], impl, args)
                    load = note_load(keys)
                    results["runs"].append({"scenario": "merge", "impl": impl, "repeat": repeat + 1,
                                            "load_average": load, **result})
                    if "error" in result:
                        note_error(keys, impl, "merge", result["error"])
                        print(f"  merge        {impl:6} #{repeat + 1}: ERROR {result['error']}", flush=True)
                        continue
                    results[f"{impl}_version"] = result["version"]
                    for key in keys:
                        record(key, impl, result[key])
                    print(f"  merge        {impl:6} #{repeat + 1}: {result['master_cpu_ms']:.2f} ms/report net "
                          f"({result['master_cpu_gross_ms']:.2f} gross, {result['report_kib']:.0f} KiB a report, "
                          f"master busy {result['master_busy_share']:.0%} of {result['phase_s']:.1f} s)", flush=True)
        if "capacity" in only:
            args.feeders = max(args.feeders, 2 if args.smoke else 4)
            results["capacity"] = {impl: capacity(pythons[impl], impl, args) for impl in impls}
        if "rps" in only:
            for kind in args.kinds.split(","):
                for processes in (int(p) for p in args.processes.split(",")):
                    key, name = f"{kind}_rps_p{processes}", f"{kind}-rps-p{processes}"
                    for repeat in range(args.rps_repeats):
                        for impl in impls:
                            if impl == "ours":
                                result = rps_ours(kind, processes, target.url, args)
                            else:
                                result = rps_locust(pythons["locust"], kind, processes, target.url, args)
                            load = note_load([key])
                            results["runs"].append({"scenario": name, "impl": impl, "repeat": repeat + 1,
                                                    "load_average": load, **result})
                            if "error" in result:
                                note_error([key], impl, name, result["error"])
                                print(f"  {name:12} {impl:6} #{repeat + 1}: ERROR {result['error']}", flush=True)
                                continue
                            record(key, impl, result["rps"])
                            if result["failures"]:
                                results["errors"].append(f"{name} {impl}: {result['failures']} failed requests")
                            print(f"  {name:12} {impl:6} #{repeat + 1}: {result['rps']:,.0f} req/s "
                                  f"({result['requests']:,} requests, load average {load:.1f})", flush=True)
        if "loss" in only:
            for repeat in range(args.loss_repeats):
                result = worker_loss_run(target.url, args)
                results["runs"].append({"scenario": "worker-loss", "impl": "ours", "repeat": repeat + 1, **result})
                if "error" in result:
                    note_error(["worker_loss_s"], "ours", "worker-loss", result["error"])
                    print(f"  worker-loss  ours   #{repeat + 1}: ERROR {result['error']}", flush=True)
                    continue
                record("worker_loss_s", "ours", result["lost_s"])
                print(f"  worker-loss  ours   #{repeat + 1}: {result['lost']} of the victim's {result['made']} requests "
                      f"never reached the master ({result['lost_s']:.2f} s of its {result['rate']:.0f} req/s; the "
                      f"master estimated {result['estimate']}); run {result['duration']:.1f} s of "
                      f"{result['run_time']:g}", flush=True)
    finally:
        target.stop()
    for key, per_impl in raw.items():
        entry = results["metrics"].setdefault(key, {})
        for impl, values in per_impl.items():
            entry[impl] = values if impl in ("load_average",) or impl.endswith("_error") else shared.summarize(values)
    results["elapsed_s"] = time.monotonic() - started
    results["load_average_end"] = os.getloadavg()[0]

    markdown = table(results)
    print()
    print(f"distributed mode, pytest-loadhooks vs Locust — {results['date']}, {results['machine']['cpu']}, "
          f"{results['machine']['cores']} cores")
    print(markdown)
    for impl, found in results.get("capacity", {}).items():
        print(f"capacity ({impl}): one master core kept up with {found['most_kept_up']} workers reporting every "
              f"{args.report_interval:g} s ({args.endpoints} endpoints x {args.requests} requests a report)")
    for error in dict.fromkeys(results["errors"]):
        print(f"note: {error}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if not args.no_write:
        out = BENCH / "results" / f"{dt.date.today().isoformat()}-distributed.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
        write_readme(results, markdown)
        print(f"wrote {out.relative_to(ROOT)} and bench/README.md's distributed section")
    return 0 if results["metrics"] or results.get("capacity") else 1


if __name__ == "__main__":
    sys.exit(main())
