"""Soak benchmark: does the generator's memory stay flat over hours? ``python bench/soak.py``.

Two modes:

``python bench/soak.py`` (simulated; both tools at once, 10-20 minutes on two shared cores)
    Drives each tool's own stats and history code through a simulated run (8 hours at
    10,000 requests/s over 200 request names by default) with time advanced synthetically,
    and reports resident memory at 1, 2, 4 and 8 simulated hours, ours beside Locust's (which
    lives in bench/.venv-locust, made on first use as bench/run.py makes it).

``python bench/soak.py --real 600`` (a real run of that many seconds)
    Our engine, FastHttpUser, 50 users, ``constant(0)``, 200 request names, against Debian's
    nginx (or examples/target_app.py when nginx is missing), the history CSV streamed to a
    temporary directory as a ``--load-csv`` run does; RSS every 10 s.

``python bench/soak.py --real 600 --processes 2`` (the same, distributed)
    ``pytest --load-processes=2`` on a generated test module with the same users: a master and
    two local workers, every worker reporting to the master every 3 s. RSS of the master and of
    each worker (read from /proc) every 10 s; the requests from the run's ``--load-json``.

What is simulated, and why it is honest for memory: what a tool keeps over time depends on
the number of distinct seconds it has seen (per-second counters), of history samples, and of
distinct histogram buckets and errors -- not on how many requests fell into each. So every
simulated second, for every request name, each tool's real recording path runs for a sample
of requests (``--sampled``, default 2, through ``RequestStats.log_request`` with the clock at
that second: every per-second key, bucket and cache the tool makes is made), and the rest of
the second's requests are added to the same counters in bulk (request and failure counts,
per-second counts, the sampled bucket's count), so the totals are a 10,000 req/s run's. The
first ``--warm`` seconds (default 120) go through the real path at the full rate, so the
histograms hold the buckets a real run's first minutes would. Failures: 1 % of requests,
five distinct errors, 20 of them a second through the real ``log_error`` (20 names in turn), the
other 80 in bulk into those names' failure counts.
History is sampled through each tool's own code at its own interval: ours
``RequestStats.sample_history`` every second (what our runners call), Locust's
``update_stats_history`` every ``HISTORY_STATS_INTERVAL_SEC`` (5 s, its ``stats_history``
greenlet). ``time.time`` is replaced by the simulated clock in the measuring process before
either tool is imported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CHECKPOINT_HOURS = (1, 2, 4, 8)
START = 1_800_000_000.0  # the simulated run's first second (epoch seconds)
ERRORS = [f"ConnectionError: upstream {i} reset the connection" for i in range(5)]


def rss_of(pid: int | str) -> float | None:
    """A process's resident memory in MiB, from /proc (None once it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def rss_mib() -> float:
    """This process's resident memory in MiB."""
    return rss_of("self") or 0.0


# -- the simulated run (in a process of its own, one per tool) -------------------------------------------------

class SimulatedClock:
    """What ``time.time`` returns in the measuring process: the simulated run's current instant."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class Tool:
    """One tool's stats, driven the same way: ``record`` (the real path), ``bulk`` (the same counters)
    and ``sample`` (the tool's own history sampling)."""

    def __init__(self, impl: str, clock: SimulatedClock) -> None:
        self.impl = impl
        self.clock = clock
        if impl == "locust":
            import locust
            from locust.stats import (
                HISTORY_STATS_INTERVAL_SEC,
                RequestStats,
                bucket_response_time,
                update_stats_history,
            )

            self.version = locust.__version__
            self.stats = RequestStats()  # use_response_times_cache=True: what a master or local run has
            self.bucket = bucket_response_time
            self.history_interval = HISTORY_STATS_INTERVAL_SEC
            runner = type("Runner", (), {"stats": self.stats, "user_count": 50})()
            self.sample = lambda: update_stats_history(runner)
        else:
            import pytest_loadhooks
            from pytest_loadhooks.stats import RequestStats, bucket

            self.version = pytest_loadhooks.__version__
            self.stats = RequestStats()
            self.bucket = bucket
            self.history_interval = 1  # the runners' HISTORY_INTERVAL
            self.sample = lambda: self.stats.sample_history(50, now=clock.now)
        self.record = self.stats.log_request
        self.fail = self.stats.log_error

    def bulk(self, name: str, second: int, requests: int, failures: int, response_time: float) -> None:
        """The second's other requests of ``name``: counted into the keys the real path already made."""
        targets = [self.stats.entries[(name, "GET")]]
        if self.impl == "locust":
            targets.append(self.stats.total)  # Locust counts every request into its total too
        else:
            self.stats.total.num_requests += requests  # ours keeps only the total's counts (the rest is summed)
            self.stats.total.num_failures += failures
        key = self.bucket(response_time)
        for entry in targets:
            entry.num_requests += requests
            entry.num_failures += failures
            entry.total_response_time += response_time * requests
            if self.impl == "locust":
                entry.response_times[key] += requests
            else:  # ours is a read-only mapping over an array: counted with add()
                entry.response_times.add(response_time, requests)
            if second in entry.num_reqs_per_sec:
                entry.num_reqs_per_sec[second] += requests
            if failures and second in entry.num_fail_per_sec:
                entry.num_fail_per_sec[second] += failures


def simulate(args: argparse.Namespace) -> None:
    clock = SimulatedClock(START)
    time.time = clock  # before either tool is imported: every time.time() they make reads it
    tool = Tool(args.driver, clock)
    rng = random.Random(7)
    # Response times (ms): log-normal around 20 ms, as a healthy target's; a pool reused in turn.
    pool = [rng.lognormvariate(math.log(20), 0.35) for _ in range(1 << 16)]
    mask = len(pool) - 1
    names = [f"/api/items/{i:03d}" for i in range(args.names)]
    per_name = args.rate // args.names
    failures_per_second = args.rate // 100
    real_failures = min(20, failures_per_second, args.names)
    seconds = int(args.hours * 3600)
    checkpoints = {int(h * 3600) for h in CHECKPOINT_HOURS if h <= args.hours} | {seconds}
    record, fail, bulk = tool.record, tool.fail, tool.bulk
    gc.collect()
    print(json.dumps({"hour": 0, "rss_mib": round(rss_mib(), 1)}), flush=True)
    started = time.perf_counter()
    i = 0
    for second in range(seconds):
        t = START + second
        sampled = per_name if second < args.warm else args.sampled
        for n, name in enumerate(names):
            for k in range(sampled):
                clock.now = t + k / sampled
                record("GET", name, pool[i & mask], 612)
                i += 1
            failing = (n - second) % args.names < real_failures
            extra_failures = 0
            if failing:
                fail("GET", name, ERRORS[(second + n) % len(ERRORS)])
                extra_failures = (failures_per_second - real_failures) // real_failures
            if sampled < per_name:
                bulk(name, int(t), per_name - sampled, extra_failures, pool[(i - 1) & mask])
        clock.now = t + 1.0  # the end of the second, where the runner's history sample falls
        if (second + 1) % tool.history_interval == 0:
            tool.sample()
        if second + 1 in checkpoints:
            gc.collect()
            print(json.dumps({
                "hour": (second + 1) / 3600, "rss_mib": round(rss_mib(), 1),
                "requests": tool.stats.total.num_requests, "failures": tool.stats.total.num_failures,
                "history_rows": len(tool.stats.history), "wall_s": round(time.perf_counter() - started, 1),
                "buckets": sum(len(e.response_times) for e in tool.stats.entries.values()),
                "per_second_keys": sum(len(e.num_reqs_per_sec) for e in tool.stats.entries.values()),
            }), flush=True)
    print(json.dumps({"done": True, "impl": tool.impl, "version": tool.version}), flush=True)


# -- the real run ---------------------------------------------------------------------------------------------

def real_run(args: argparse.Namespace) -> None:
    from gevent import monkey

    monkey.patch_all()
    import itertools
    import tempfile

    import gevent

    from pytest_loadhooks import Environment, Events, FastHttpUser, constant, task
    from pytest_loadhooks.report import ReportWriter

    names = [f"/api/items/{i:03d}" for i in range(args.names)]
    turn = itertools.count()

    class SoakUser(FastHttpUser):
        host = args.host
        wait_time = constant(0)

        @task
        def item(self):
            self.client.get("/", name=names[next(turn) % len(names)])

    env = Environment(user_classes=[SoakUser], host=args.host, events=Events())
    runner = env.create_local_runner()
    out = Path(tempfile.mkdtemp(prefix="soak-real-"))
    writer = ReportWriter(csv_prefix=out / "soak")
    writer.attach(runner)
    gc.collect()
    print(json.dumps({"elapsed_s": 0, "rss_mib": round(rss_mib(), 1), "requests": 0}), flush=True)
    driver = gevent.spawn(runner.run, args.users, args.users, args.real)
    started = time.monotonic()
    while not driver.dead:
        driver.join(timeout=args.every)
        print(json.dumps({
            "elapsed_s": round(time.monotonic() - started), "rss_mib": round(rss_mib(), 1),
            "requests": env.stats.total.num_requests, "failures": env.stats.total.num_failures,
            "history_rows": len(env.stats.history),
            "per_second_keys": sum(len(e.num_reqs_per_sec) for e in env.stats.entries.values()),
            "buckets": sum(len(e.response_times) for e in env.stats.entries.values()),
            "histogram_kib": round(sum(e.response_times.memory_bytes() for e in env.stats.entries.values()) / 1024),
        }), flush=True)
    written = writer.finish(env, {})
    csv_rows = len((out / "soak_stats_history.csv").read_text().splitlines()) - 1
    shutil.rmtree(out, ignore_errors=True)
    print(json.dumps({"done": True, "history_samples": env.stats.history.sampled, "csv_rows": csv_rows,
                      "report_files": len(written), "requests": env.stats.total.num_requests}), flush=True)


# -- the real run, distributed -------------------------------------------------------------------------------

DISTRIBUTED_MODULE = '''
import itertools

from pytest_loadhooks import FastHttpUser, constant, task

NAMES = [f"/api/items/{{i:03d}}" for i in range({names})]
TURN = itertools.count()


class SoakUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def item(self):
        self.client.get("/", name=NAMES[next(TURN) % len(NAMES)])
'''


def children_of(pid: int) -> list[int]:
    try:
        return sorted(int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
    except OSError:
        return []


def real_distributed(args: argparse.Namespace, host: str) -> list[dict]:
    """``pytest --load-processes=N`` for ``args.real`` seconds; the master's and workers' RSS as it goes."""
    import tempfile

    directory = Path(tempfile.mkdtemp(prefix="soak-distributed-"))
    try:
        (directory / "test_soak_distributed.py").write_text(DISTRIBUTED_MODULE.format(names=args.names))
        (directory / "pytest.ini").write_text("[pytest]\n")
        result = directory / "result.json"
        command = [sys.executable, "-m", "pytest", "test_soak_distributed.py", "-q", "-p", "no:cacheprovider",
                   f"--load-processes={args.processes}", f"--load-users={args.users}",
                   f"--load-spawn-rate={args.users}", f"--load-run-time={args.real:g}s", f"--load-host={host}",
                   f"--load-json={result}"]
        env = dict(os.environ, NO_PROXY="127.0.0.1,localhost")
        master = subprocess.Popen(command, cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, env=env)
        started = time.monotonic()
        samples = []
        while master.poll() is None:
            workers = [pid for pid in children_of(master.pid) if pid != master.pid]
            sample = {"elapsed_s": round(time.monotonic() - started), "rss_mib": rss_of(master.pid),
                      "workers_rss_mib": [rss_of(pid) for pid in workers]}
            samples.append(sample)
            print(json.dumps(sample), flush=True)
            deadline = time.monotonic() + args.every
            while master.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
        output = master.stdout.read()
        document = json.loads(result.read_text()) if result.exists() else {}
        done = {"done": True, "exit_code": master.returncode, "requests": document.get("total", {}).get("num_requests"),
                "failures": document.get("total", {}).get("num_failures"), "output_tail": output[-600:]}
        print(json.dumps(done), flush=True)
        return [*samples, done]
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# -- the parent: starts the measuring processes, prints the table -------------------------------------------

def start_child(python: str, argv: list[str]) -> subprocess.Popen:
    """This file in a process of its own (its JSON lines on stdout)."""
    env = dict(os.environ, NO_PROXY="127.0.0.1,localhost")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return subprocess.Popen([python, str(Path(__file__).resolve()), *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=str(BENCH), env=env)


def child_lines(process: subprocess.Popen, timeout: float) -> list[dict]:
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise SystemExit(f"{process.args[2:4]} timed out after {timeout:.0f} s") from None
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    if process.returncode != 0 or not lines or not lines[-1].get("done"):
        tail = " | ".join((stderr or stdout).strip().splitlines()[-5:])
        raise SystemExit(f"{process.args[2:4]} failed (exit {process.returncode}): {tail}")
    return lines


def child(python: str, argv: list[str], timeout: float) -> list[dict]:
    return child_lines(start_child(python, argv), timeout)


def simulated_table(results: dict[str, list[dict]], hours: float) -> str:
    rows = ["| simulated hour | ours RSS (MiB) | Locust RSS (MiB) | ours history rows | Locust history rows |",
            "| --- | ---: | ---: | ---: | ---: |"]
    by_hour = {impl: {round(r["hour"], 3): r for r in lines if "hour" in r} for impl, lines in results.items()}
    for hour in (0, *(h for h in CHECKPOINT_HOURS if h <= hours)):
        cells = []
        for impl in ("ours", "locust"):
            row = by_hour.get(impl, {}).get(hour)
            cells.append(f"{row['rss_mib']:.1f}" if row else "–")
        history = [str(by_hour.get(impl, {}).get(hour, {}).get("history_rows", "–")) for impl in ("ours", "locust")]
        rows.append(f"| {hour} | {cells[0]} | {cells[1]} | {history[0]} | {history[1]} |")
    for impl in ("ours", "locust"):
        marks = by_hour.get(impl, {})
        if 1 in marks and hours in marks:
            growth = marks[hours]["rss_mib"] - marks[1]["rss_mib"]
            rows.append(f"\n{impl}: {growth:+.1f} MiB from hour 1 to hour {hours:g} "
                        f"({marks[hours]['requests']:,} requests, {marks[hours]['wall_s']:.0f} s of wall time)")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=8, help="simulated run length (default 8)")
    parser.add_argument("--rate", type=int, default=10_000, help="simulated requests per second (default 10,000)")
    parser.add_argument("--names", type=int, default=200, help="request names (default 200)")
    parser.add_argument("--sampled", type=int, default=2,
                        help="requests per name and second through the real recording path (default 2)")
    parser.add_argument("--warm", type=int, default=120, help="first seconds recorded at the full rate (default 120)")
    parser.add_argument("--only", choices=("ours", "locust"), help="simulate one tool only")
    parser.add_argument("--locust-version", default=None, help="Locust for bench/.venv-locust (bench/run.py's pin)")
    parser.add_argument("--real", type=float, metavar="SECONDS", help="a real run of that many seconds instead")
    parser.add_argument("--users", type=int, default=50, help="users of the real run (default 50)")
    parser.add_argument("--every", type=float, default=10, help="seconds between RSS samples of the real run")
    parser.add_argument("--processes", type=int, default=0,
                        help="with --real: that many local workers and a master (pytest --load-processes)")
    parser.add_argument("--host", help=argparse.SUPPRESS)
    parser.add_argument("--driver", choices=("ours", "locust"), help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    if args.driver and args.real:
        real_run(args)
        return 0
    if args.driver:
        simulate(args)
        return 0

    sys.path.insert(0, str(BENCH))
    import run as bench  # the nginx / target helpers and the Locust venv of bench/run.py

    stamp = dt.date.today().isoformat()
    if args.real:
        try:
            target = bench.Nginx(None)
        except SystemExit:
            target = bench.TargetApp()
        try:
            if args.processes:
                lines = real_distributed(args, target.url)
            else:
                lines = child(sys.executable, ["--driver", "ours", "--real", str(args.real), "--host", target.url,
                                               "--users", str(args.users), "--names", str(args.names),
                                               "--every", str(args.every)], timeout=args.real + 120)
        finally:
            target.stop()
        if args.processes:
            print("| elapsed (s) | master RSS (MiB) | workers' RSS (MiB) |\n| ---: | ---: | --- |")
            for row in lines[:-1]:
                workers = ", ".join(f"{rss:.1f}" for rss in row["workers_rss_mib"] if rss is not None)
                print(f"| {row['elapsed_s']} | {row['rss_mib'] or 0:.1f} | {workers} |")
        else:
            print("| elapsed (s) | RSS (MiB) | requests | history rows | histogram buckets | histograms (KiB) |\n"
                  "| ---: | ---: | ---: | ---: | ---: | ---: |")
            for row in lines[:-1]:
                print(f"| {row['elapsed_s']} | {row['rss_mib']:.1f} | {row['requests']:,} "
                      f"| {row.get('history_rows', 0)} | {row.get('buckets', 0):,} | {row.get('histogram_kib', 0):,} |")
        print(json.dumps(lines[-1]))
        results = {"mode": "real-distributed" if args.processes else "real", "target": target.version,
                   "seconds": args.real, "users": args.users, "names": args.names, "processes": args.processes,
                   "samples": lines, "machine": bench.machine()}
        suffix = f"-distributed{args.processes}" if args.processes else ""
        path = args.json or BENCH / "results" / f"{stamp}-soak-real{suffix}.json"
    else:
        common = ["--hours", str(args.hours), "--rate", str(args.rate), "--names", str(args.names),
                  "--sampled", str(args.sampled), "--warm", str(args.warm)]
        impls = [args.only] if args.only else ["ours", "locust"]
        # Both tools at once, each in its own process (memory is per process; only the wall time is shared).
        processes = {}
        for impl in impls:
            python = sys.executable
            if impl == "locust":
                python = bench.ensure_locust_venv(args.locust_version or bench.LOCUST_VERSION)
            processes[impl] = start_child(python, ["--driver", impl, *common])
        print(f"simulating {args.hours:g} h for {' and '.join(impls)} ...", flush=True)
        results_by_impl = {impl: child_lines(process, 3 * 3600) for impl, process in processes.items()}
        print(simulated_table(results_by_impl, args.hours))
        results = {"mode": "simulated", "hours": args.hours, "rate": args.rate, "names": args.names,
                   "sampled": args.sampled, "warm": args.warm, "results": results_by_impl,
                   "machine": bench.machine()}
        path = args.json or BENCH / "results" / f"{stamp}-soak.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
