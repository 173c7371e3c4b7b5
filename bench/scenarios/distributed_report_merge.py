"""Issue #10's master benchmark, one side of it: a master, or the simulated workers that feed it.

Run by bench/distributed.py, never imported by the project. The same code serves both tools:
``--impl ours`` imports pytest_loadhooks (the project's Python), ``--impl locust`` imports
locust (bench/.venv-locust's Python).

    python distributed_report_merge.py --impl ours master --expect-reports 300
    python distributed_report_merge.py --impl ours workers --port 40000 --workers 100

``master`` starts the tool's real ``MasterRunner`` on 127.0.0.1 (any free port, printed as
``PORT n``) and samples its own CPU time (``getrusage``: every thread, zmq's I/O thread
included) when a simulated worker sends a ``bench_mark`` custom message and when it has
merged the expected number of stats reports; then it prints ``BENCH-RESULT {json}``.

``workers`` is one process with one zmq DEALER socket per simulated worker, speaking the
tool's own wire protocol (its ``Message`` type and encoder): ``client_ready``, the master's
``ack``, heartbeats once a second each, and every ``--report-interval`` seconds one stats
report each, built with the tool's own ``RequestStats`` filled with ``--endpoints``
endpoints of log-normal response times and serialized as the tool's workers do.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import sys
import time
import uuid

MARK = "bench_mark"
USER_CLASS = "WebsiteUser"
USERS_PER_WORKER = 50


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # the whole process: every thread
    return usage.ru_utime + usage.ru_stime


# -- the master ----------------------------------------------------------------------------------

def run_master(impl: str, expect_reports: int, timeout: float) -> int:
    from gevent import monkey

    monkey.patch_all()  # as a load session (ours) or the locust command (Locust) has it
    import gevent

    if impl == "locust":
        import locust
        from locust.env import Environment

        version = locust.__version__
        environment = Environment()
        runner = environment.create_master_runner("127.0.0.1", 0)
        port = runner.server.port
    else:
        import pytest_loadhooks
        from pytest_loadhooks import Environment

        version = pytest_loadhooks.__version__
        environment = Environment()
        runner = environment.create_master_runner("127.0.0.1", 0)
        port = runner.master_bind_port

    samples: list[dict] = []
    merged = {"reports": 0}
    finished = gevent.event.Event()

    def sample(label: str) -> None:
        samples.append({"label": label, "cpu_s": cpu_seconds(), "wall": time.time(), "reports": merged["reports"]})

    def on_mark(environment, msg, **_kwargs) -> None:
        sample(str(msg.data))

    def on_worker_report(client_id, data, **_kwargs) -> None:
        # Added after the master's own listeners: it runs once the report is merged.
        merged["reports"] += 1
        if merged["reports"] == expect_reports:
            sample("done")
            finished.set()

    runner.register_message(MARK, on_mark)
    environment.events.worker_report.add_listener(on_worker_report)
    print(f"PORT {port}", flush=True)
    done = finished.wait(timeout)
    result = {
        "impl": impl, "version": version, "samples": samples, "reports": merged["reports"],
        "workers_known": len(runner.clients), "requests_merged": environment.stats.total.num_requests,
        "endpoints_merged": len(environment.stats.entries), "completed": bool(done),
    }
    print("BENCH-RESULT " + json.dumps(result), flush=True)
    sys.stdout.flush()
    os._exit(0)  # no quit(): the simulated workers ignore it, and zmq's linger would only add waiting


# -- the simulated workers -----------------------------------------------------------------------

class Protocol:
    """What one tool's worker says on the wire, built with that tool's own types."""

    def __init__(self, impl: str) -> None:
        self.impl = impl
        if impl == "locust":
            import locust
            from locust.rpc.protocol import Message
            from locust.stats import RequestStats

            self.version = locust.__version__
            self._message = lambda kind, data, node: Message(kind, data, node).serialize()
        else:
            import pytest_loadhooks
            from pytest_loadhooks.rpc.protocol import Message, encode
            from pytest_loadhooks import stats

            RequestStats = stats.RequestStats
            # The report our workers send; a commit before issue 24's columnar form sent the per-entry one
            # (so that this benchmark can measure such a commit too: PYTHONPATH=<its tree>).
            self.columnar_report = getattr(stats, "columnar_report", lambda s: s.serialize(compact=True))
            self.version = pytest_loadhooks.__version__
            self._message = lambda kind, data, node: encode(Message(kind, data, node))
        self.RequestStats = RequestStats

    def frame(self, kind: str, data, node: str) -> bytes:
        return self._message(kind, data, node)

    def ready(self, node: str) -> bytes:
        if self.impl == "locust":
            return self.frame("client_ready", self.version, node)
        return self.frame("client_ready", {"version": self.version, "state": "ready", "user_classes_count": {}}, node)

    def heartbeat(self, node: str) -> bytes:
        return self.frame("heartbeat", {"state": "running", "current_cpu_usage": 35.0,
                                        "current_memory_usage": 120_000_000}, node)

    def report_data(self, stats) -> dict:
        """A worker's ``stats`` message data, as that tool's WorkerRunner builds it."""
        if self.impl == "locust":
            # locust.stats.setup_distributed_stats_event_listeners' on_report_to_master, and the runner's.
            data = {"stats": stats.serialize_stats(), "stats_total": stats.total.get_stripped_report(),
                    "errors": stats.serialize_errors()}
        else:
            # pytest_loadhooks.runners.worker.WorkerRunner._send_stats (the columnar report, issue 24)
            data = {"stats": self.columnar_report(stats)}
        data["user_classes_count"] = {USER_CLASS: USERS_PER_WORKER}
        data["user_count"] = USERS_PER_WORKER
        return data

    def source(self, stats):
        """What :meth:`at_second` makes each round's report from: Locust's report data, built once (its
        report empties the stats), or our stats themselves (a columnar report is built from them)."""
        return self.report_data(stats) if self.impl == "locust" else stats

    def at_second(self, source, first_second: int, seconds: int) -> dict:
        """A report's data whose entries cover ``seconds`` seconds from ``first_second``."""
        if self.impl == "locust":
            copy = dict(source)
            copy["stats"] = [spread_over_seconds(e, first_second, seconds) for e in source["stats"]]
            copy["stats_total"] = spread_over_seconds(source["stats_total"], first_second, seconds)
            return copy
        stats = source
        for entry in stats.entries.values():  # ours: the entries themselves, then the report built from them
            spread = spread_over_seconds({"num_requests": entry.num_requests, "num_failures": entry.num_failures},
                                         first_second, seconds)
            entry.num_reqs_per_sec, entry.num_fail_per_sec = spread["num_reqs_per_sec"], spread["num_fail_per_sec"]
            entry.start_time, entry.last_request_timestamp = spread["start_time"], spread["last_request_timestamp"]
        stats.total.start_time = float(first_second)
        return self.report_data(stats)


def filled_stats(protocol: Protocol, seed: int, endpoints: int, requests: int):
    """A RequestStats of the tool, as a busy worker's ``report_interval`` leaves it: ``endpoints``
    endpoints of ``requests`` requests each, log-normal response times around a per-endpoint median,
    a failing endpoint in ten. The same seed gives both tools the same requests."""
    rng = random.Random(seed)
    stats = protocol.RequestStats()
    for index in range(endpoints):
        method = "GET" if index % 4 else "POST"
        name = f"/api/v1/resource-{index}/items"
        median = rng.uniform(8.0, 250.0)
        for _ in range(requests):
            stats.log_request(method, name, rng.lognormvariate(math.log(median), 0.45), rng.randint(200, 6000))
        if index % 10 == 0:
            for _ in range(max(requests // 50, 1)):
                stats.log_error(method, name, "HTTPError('500 Server Error: Internal Server Error')")
    return stats


def spread_over_seconds(entry: dict, first_second: int, seconds: int) -> dict:
    """The entry with the per-second counts of a report covering ``seconds`` seconds from
    ``first_second`` (the requests were logged within a fraction of one second, when built)."""
    entry = dict(entry)
    for counts_key, total_key in (("num_reqs_per_sec", "num_requests"), ("num_fail_per_sec", "num_failures")):
        share, extra = divmod(entry[total_key], seconds)
        entry[counts_key] = {first_second + s: share + (1 if s < extra else 0)
                             for s in range(seconds) if share or s < extra}
    entry["start_time"] = float(first_second)
    entry["last_request_timestamp"] = first_second + seconds - 0.01
    return entry


class Reports:
    """Every stats frame the run will send: one encoded template a (round, variant), the sending
    worker's id put at its end when sent (every id is as long, and msgpack ends a frame with it), so a
    thousand workers' reports take a few templates of memory, not a thousand frames a round."""

    def __init__(self, protocol: Protocol, rounds: int, variants: int, endpoints: int, requests: int,
                 report_interval: float, node_ids: list[str]) -> None:
        import msgpack

        base = int(time.time())
        seconds = max(round(report_interval), 1)
        sources = [protocol.source(filled_stats(protocol, 1000 + v, endpoints, requests)) for v in range(variants)]
        self.variants = variants
        self._tail = len(msgpack.packb(node_ids[0]))
        self._pack = msgpack.packb
        self.templates: list[list[bytes]] = []
        for round_index in range(rounds):
            # Each round its own seconds (a later round covers later seconds, as a real worker's would).
            data = [protocol.at_second(source, base + round_index * seconds, seconds) for source in sources]
            self.templates.append([protocol.frame("stats", d, node_ids[0])[:-self._tail] for d in data])
        self.mean_size = sum(len(t) for row in self.templates for t in row) // (rounds * variants) + self._tail

    def frame(self, round_index: int, worker: int, node_id: str) -> bytes:
        return self.templates[round_index][worker % self.variants] + self._pack(node_id)


def run_workers(impl: str, port: int, workers: int, rounds: int, report_interval: float, baseline: float,
                endpoints: int, requests: int, variants: int, linger_after: float, first_worker: int = 0,
                start_at: float | None = None, marks: bool = True, wait_go: bool = False) -> int:
    protocol = Protocol(impl)
    import zmq  # plain pyzmq: this process only sends on a schedule, it needs no gevent

    run_id = uuid.uuid4().hex
    node_ids = [f"bench-worker-{first_worker + i:06d}_{run_id}" for i in range(workers)]
    built = time.perf_counter()
    reports = Reports(protocol, rounds, variants, endpoints, requests, report_interval, node_ids)
    build_s = time.perf_counter() - built

    context = zmq.Context()
    sockets = []
    poller = zmq.Poller()
    for node in node_ids:
        socket = context.socket(zmq.DEALER)
        socket.setsockopt(zmq.IDENTITY, node.encode())
        socket.setsockopt(zmq.LINGER, 0)
        socket.connect(f"tcp://127.0.0.1:{port}")
        poller.register(socket, zmq.POLLIN)
        sockets.append(socket)

    def drain(wait_ms: int = 0) -> list[int]:
        """Read what the master sent (acks, heartbeats); the indexes of the sockets that got an ack."""
        acked = []
        for socket, _event in poller.poll(wait_ms):
            while True:
                try:
                    frame = socket.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                if b"ack" in frame[:8]:
                    acked.append(sockets.index(socket))
        return acked

    for index, socket in enumerate(sockets):
        socket.send(protocol.ready(node_ids[index]))
    waiting = set(range(workers))
    deadline = time.monotonic() + 60
    while waiting and time.monotonic() < deadline:
        waiting -= set(drain(100))
    if waiting:
        print(f"BENCH-ERROR {len(waiting)} simulated workers got no ack from the master", flush=True)
        return 1

    heartbeats = [protocol.heartbeat(node) for node in node_ids]

    def mark(label: str) -> None:
        if marks:
            sockets[0].send(protocol.frame(MARK, label, node_ids[0]))

    def schedule(duration: float, with_reports: bool) -> list[tuple[float, str, int, int]]:
        """(offset, what, worker, round): heartbeats once a second per worker, reports once per
        interval per worker, each worker at its own phase (as independent processes would be)."""
        events = []
        for worker in range(workers):
            phase = worker / workers
            beats = int(duration)
            events += [(b + phase, "heartbeat", worker, 0) for b in range(beats)]
            if with_reports:
                events += [(r * report_interval + phase * report_interval, "stats", worker, r) for r in range(rounds)]
        return sorted(events)

    late = {"max": 0.0}

    def play(events: list[tuple[float, str, int, int]], start: float) -> None:
        """Send each event at ``start`` (wall clock: the feeding processes share it) plus its offset."""
        for offset, what, worker, round_index in events:
            pause = start + offset - time.time()
            if pause > 0:
                drain()
                time.sleep(pause)
            else:
                late["max"] = max(late["max"], -pause)
            sockets[worker].send(heartbeats[worker] if what == "heartbeat"
                                 else reports.frame(round_index, worker, node_ids[worker]))

    print("BENCH-BUILT " + json.dumps({"mean_report_bytes": reports.mean_size, "build_s": build_s,
                                      "reports": rounds * workers}), flush=True)
    if wait_go:
        start_at = float(sys.stdin.readline().split()[1])
    if start_at is None:
        start_at = time.time()
    else:
        while time.time() < start_at:
            drain(max(int((start_at - time.time()) * 1000), 1))
    mark("baseline_start")
    play(schedule(baseline, with_reports=False), start_at)
    mark("baseline_end")
    mark("reports_start")
    report_phase = rounds * report_interval
    play(schedule(report_phase, with_reports=True), start_at + baseline)
    print("BENCH-FED " + json.dumps({"max_late_s": late["max"], "reports": rounds * workers}), flush=True)
    # Keep the workers alive (heartbeats) while the master catches up; bench/distributed.py ends us.
    play(schedule(linger_after, with_reports=False), start_at + baseline + report_phase)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=("ours", "locust"), required=True)
    roles = parser.add_subparsers(dest="role", required=True)
    master = roles.add_parser("master")
    master.add_argument("--expect-reports", type=int, required=True)
    master.add_argument("--timeout", type=float, default=120.0)
    workers = roles.add_parser("workers")
    workers.add_argument("--port", type=int, required=True)
    workers.add_argument("--workers", type=int, default=100)
    workers.add_argument("--endpoints", type=int, default=100)
    workers.add_argument("--requests", type=int, default=200, help="requests per endpoint per report")
    workers.add_argument("--rounds", type=int, default=3, help="stats reports per worker")
    workers.add_argument("--report-interval", type=float, default=3.0, help="seconds between a worker's reports")
    workers.add_argument("--baseline", type=float, default=3.0, help="seconds of heartbeats only, first")
    workers.add_argument("--variants", type=int, default=4, help="distinct reports (seeds) shared by the workers")
    workers.add_argument("--linger-after", type=float, default=60.0)
    workers.add_argument("--first-worker", type=int, default=0, help="this feeding process's first worker number")
    workers.add_argument("--start-at", type=float, help="wall-clock time the schedule starts (shared by feeders)")
    workers.add_argument("--no-marks", action="store_true", help="another feeding process sends the marks")
    workers.add_argument("--wait-go", action="store_true",
                         help="once connected, read 'GO <wall-clock time>' on stdin: when the schedule starts")
    args = parser.parse_args()
    if args.role == "master":
        return run_master(args.impl, args.expect_reports, args.timeout)
    return run_workers(args.impl, args.port, args.workers, args.rounds, args.report_interval, args.baseline,
                       args.endpoints, args.requests, args.variants, args.linger_after, args.first_worker,
                       args.start_at, not args.no_marks, args.wait_go)


if __name__ == "__main__":
    sys.exit(main())
