"""The distributed mode's engine: a master and workers as real processes on real ports of 127.0.0.1.

Each node is tests/distributed_node.py in a process of its own (as in production: its own
gevent hub), against the session's target server; each writes what it saw as JSON, and
the tests compare what the master merged with what every worker counted itself.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from argparse import Namespace
from pathlib import Path

import msgpack
import pytest

from pytest_loadhooks import Environment, Events, HttpUser, User, constant, task
from pytest_loadhooks.dispatch import changes_to, distribution, interleave, split_across_workers
from pytest_loadhooks.rpc import CurveKeys, MalformedMessage, Message, MessageTooLarge, decode, encode
from pytest_loadhooks.runners import MasterRunner, WorkerRunner

NODE = Path(__file__).with_name("distributed_node.py")
ROOT = NODE.parent.parent
SECRET = "correct horse battery staple"
MAX_MESSAGE_SIZE = 256 * 1024
CLASS_TOTALS = {"Browse": 6, "Buy": 2, "Admin": 1}  # 9 users: Admin fixed at 1, then weights 3:1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """The node processes of one test; whatever is still running at the end is killed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, role: str, **config) -> Path:
        out = self.directory / f"{name}.json"
        config["out"] = str(out)
        log = open(self.directory / f"{name}.log", "w")  # noqa: SIM115  (the process writes it)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.processes[name] = subprocess.Popen([sys.executable, str(NODE), role, json.dumps(config)],
                                                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        log.close()
        return out

    def wait(self, name: str, timeout: float = 60) -> int:
        try:
            return self.processes[name].wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{name} did not end within {timeout} s:\n{self.log(name)}") from None

    def result(self, name: str) -> dict:
        path = self.directory / f"{name}.json"
        assert path.exists(), f"{name} wrote no result:\n{self.log(name)}"
        return json.loads(path.read_text())

    def log(self, name: str) -> str:
        return (self.directory / f"{name}.log").read_text()

    def wait_for_file(self, path: Path, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not path.exists():
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {name}\n{self.log(name)}" for name in self.processes)
                raise AssertionError(f"{path.name} did not appear within {timeout} s\n{logs}")
            time.sleep(0.05)

    def kill_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def cluster(tmp_path):
    nodes = Cluster(tmp_path)
    yield nodes
    nodes.kill_all()


@pytest.fixture(scope="module")
def secure_run(target, tmp_path_factory):
    """Master and two workers with a shared secret, custom messages and options, and an
    intruder sending the master what it must refuse while the run goes on."""
    nodes = Cluster(tmp_path_factory.mktemp("secure"))
    port = free_port()
    started = nodes.directory / "started.json"
    try:
        nodes.start("master", "master", target=target, port=port, secret=SECRET, workers=2, users=9,
                    spawn_rate=100, run_time=2.0, custom_message=True, options={"custom_opt": "from master"},
                    max_message_size=MAX_MESSAGE_SIZE, started_file=str(started),
                    hold_until=str(nodes.directory / "intruder.json"))
        for name in ("worker1", "worker2"):
            nodes.start(name, "worker", port=port, secret=SECRET)
        nodes.start("intruder", "intruder", port=port, secret=SECRET, max_message_size=MAX_MESSAGE_SIZE,
                    wait_for=str(started))
        codes = {name: nodes.wait(name) for name in ("master", "worker1", "worker2", "intruder")}
        yield Namespace(
            codes=codes, master=nodes.result("master"), master_log=nodes.log("master"),
            workers={result["client_id"]: result for result in (nodes.result("worker1"), nodes.result("worker2"))},
            intruder=nodes.result("intruder"),
        )
    finally:
        nodes.kill_all()


def check_reports_complete(reports: list[dict]) -> int:
    """A worker's reports as the master merged them: none missing, none counted twice. Returns
    the requests they carried."""
    assert [report["seq"] for report in reports] == list(range(1, len(reports) + 1))
    merged = 0
    for report in reports:
        merged += report["merged"]
        assert merged == report["cumulative"]  # each delta is exactly what was counted since the last one
    return merged


# -- a whole run --------------------------------------------------------------------------------------------

def test_every_node_ends_cleanly(secure_run):
    assert secure_run.codes == {"master": 0, "worker1": 0, "worker2": 0, "intruder": 0}
    assert secure_run.master["exit_code"] == 0
    assert all(worker["exit_code"] == 0 and not worker["master_lost"] for worker in secure_run.workers.values())


def test_merged_total_is_exactly_what_the_workers_counted(secure_run):
    master = secure_run.master
    counted = {client_id: worker["requests"] for client_id, worker in secure_run.workers.items()}
    assert all(n > 0 for n in counted.values())
    # What each worker's own session can summarise: everything it handed over.
    assert all(worker["reported_total"] == worker["requests"] for worker in secure_run.workers.values())
    assert master["total"] == sum(counted.values())
    assert master["failures"] == 0
    assert sum(master["entries"].values()) == master["total"]
    for client_id, reports in master["seen"]["reports"].items():
        # The last stats report (sent before 'stopped') has the worker's last requests.
        assert check_reports_complete(reports) == counted[client_id]


def test_weights_and_fixed_count_hold_across_workers(secure_run):
    (spawned,) = secure_run.master["seen"]["spawning_complete"]
    assert spawned["user_count"] == 9
    by_worker = spawned["by_worker"]
    assert set(by_worker) == set(secure_run.workers)
    totals = {name: sum(counts.get(name, 0) for counts in by_worker.values()) for name in CLASS_TOTALS}
    assert totals == CLASS_TOTALS
    loads = sorted(sum(counts.values()) for counts in by_worker.values())
    assert loads == [4, 5]
    assert all(counts["Browse"] == 3 and counts["Buy"] == 1 for counts in by_worker.values())
    assert set(secure_run.master["entries"]) == {"GET /page", "GET /cart", "GET /api/data"}


def test_lifecycle_events_fire_on_the_master(secure_run):
    seen = secure_run.master["seen"]
    assert sorted(seen["connected"]) == sorted(secure_run.workers)
    assert seen["test_start"] == 1
    assert seen["test_stop"] == 1
    assert seen["heartbeats_sent"] > 0
    assert secure_run.master["state"] == "stopped"
    assert {node["index"] for node in secure_run.master["clients"].values()} == {0, 1}
    assert sorted(worker["worker_index"] for worker in secure_run.workers.values()) == [0, 1]


def test_report_to_master_data_arrives_in_worker_report(secure_run):
    arrived = set(secure_run.master["seen"]["custom_in_report"])
    assert arrived == {f"hello from {client_id}" for client_id in secure_run.workers}


def test_custom_messages_go_both_ways(secure_run):
    first, second = sorted(secure_run.workers.values(), key=lambda worker: worker["worker_index"])
    assert first["pings"] == [{"hello": "everyone"}, {"hello": "just you"}]  # to all, then client_id=first
    assert second["pings"] == [{"hello": "everyone"}]
    pongs = secure_run.master["seen"]["pongs"]
    assert sorted((pong["from"], pong["data"]["got"]["hello"]) for pong in pongs) == sorted(
        [(first["client_id"], "everyone"), (first["client_id"], "just you"), (second["client_id"], "everyone")])


def test_custom_options_reach_the_workers(secure_run):
    pongs = secure_run.master["seen"]["pongs"]
    assert {pong["data"]["option"] for pong in pongs} == {"from master"}
    assert {worker["option_at_start"] for worker in secure_run.workers.values()} == {"from master"}


def test_intruders_are_refused_and_the_run_is_unaffected(secure_run):
    assert secure_run.intruder == {"done": True}
    master = secure_run.master
    # Only the two real workers ever joined; the wrong secret never got through the handshake.
    assert set(master["clients"]) == set(secure_run.workers)
    assert all(node["state"] == "ready" for node in master["clients"].values())
    log = secure_run.master_log
    assert "refused" in log and "handshake failed" in log  # raw bytes and the wrong secret
    assert "not msgpack" in log
    assert "expected [type, data, node_id]" in log
    assert "naming another node ('someone-else')" in log
    assert "over the limit of 262144" in log
    assert "unknown worker intruder-garbage" in log
    assert master["dropped_messages"] >= 6
    assert "Traceback" not in log


def test_a_shape_drives_the_workers_from_the_master_and_a_joining_worker_gets_users(target, cluster):
    port = free_port()
    started = cluster.directory / "started.json"
    cluster.start("master", "master", target=target, port=port, workers=1, shape=True, started_file=str(started))
    cluster.start("first", "worker", port=port)
    cluster.wait_for_file(started)
    cluster.start("late", "worker", port=port)  # joins mid-run: the users are re-split
    codes = {name: cluster.wait(name) for name in ("master", "first", "late")}
    assert codes == {"master": 0, "first": 0, "late": 0}, cluster.log("master")
    master, first, late = (cluster.result(name) for name in ("master", "first", "late"))

    spawned = master["seen"]["spawning_complete"]
    assert spawned[0] == {"user_count": 2, "by_worker": {first["client_id"]: {"Browse": 2, "Buy": 0, "Admin": 0}}}
    assert spawned[-1]["user_count"] == 4
    assert spawned[-1]["by_worker"] == {worker["client_id"]: {"Browse": 2, "Buy": 0, "Admin": 0}
                                        for worker in (first, late)}
    assert master["seen"]["test_start"] == master["seen"]["test_stop"] == 1
    assert set(master["entries"]) == {"GET /page"}
    assert master["total"] == first["requests"] + late["requests"]
    assert late["requests"] > 0


# -- losing a node ------------------------------------------------------------------------------------------

def test_a_killed_worker_is_missing_its_users_move_and_nothing_it_sent_is_lost(target, cluster):
    port = free_port()
    started = cluster.directory / "started.json"
    timing = {"heartbeat_interval": 0.2, "heartbeat_timeout": 2.0}
    cluster.start("master", "master", target=target, port=port, workers=2, users=4, spawn_rate=100,
                  until_missing=True, started_file=str(started), **timing)
    victim_file = cluster.start("victim", "worker", port=port, **timing)
    cluster.start("survivor", "worker", port=port, **timing)
    cluster.wait_for_file(started)
    time.sleep(0.8)
    victim_id = json.loads(victim_file.read_text())["client_id"]
    cluster.processes["victim"].send_signal(signal.SIGKILL)
    assert cluster.wait("master") == 0, cluster.log("master")
    assert cluster.wait("survivor") == 0, cluster.log("survivor")
    master, survivor = cluster.result("master"), cluster.result("survivor")

    assert master["clients"][victim_id]["state"] == "missing"
    assert master["clients"][survivor["client_id"]]["state"] == "ready"
    assert "is missing" in cluster.log("master")
    first, *_, last = master["seen"]["spawning_complete"]
    assert set(first["by_worker"]) == {victim_id, survivor["client_id"]}
    assert last["by_worker"] == {survivor["client_id"]: {"Browse": 2, "Buy": 1, "Admin": 1}}

    reports = master["seen"]["reports"]
    from_victim = check_reports_complete(reports[victim_id])
    assert from_victim > 0
    assert check_reports_complete(reports[survivor["client_id"]]) == survivor["requests"]
    assert master["total"] == survivor["requests"] + from_victim


def test_workers_stop_by_themselves_when_the_master_is_killed(target, cluster):
    port = free_port()
    started = cluster.directory / "started.json"
    timing = {"heartbeat_interval": 0.2, "heartbeat_timeout": 1.0}
    cluster.start("master", "master", target=target, port=port, workers=2, users=2, spawn_rate=100,
                  run_time=60, started_file=str(started), **timing)
    for name in ("worker1", "worker2"):
        cluster.start(name, "worker", port=port, **timing)
    cluster.wait_for_file(started)
    time.sleep(0.3)
    cluster.processes["master"].send_signal(signal.SIGKILL)
    for name in ("worker1", "worker2"):
        assert cluster.wait(name, timeout=20) == 2, cluster.log(name)  # errored: it lost its master
        result = cluster.result(name)
        assert result["master_lost"] is True
        assert result["requests"] > 0
        assert "no word from the master" in cluster.log(name)


# -- the master's port ----------------------------------------------------------------------------------------

def quiet_user() -> type:
    """A user class made here, not at module level (the plugin would collect it as a load scenario)."""

    class Quiet(User):
        wait_time = constant(1)

        @task
        def nothing(self):
            pass

    return Quiet


def test_master_binds_loopback_by_default(caplog):
    env = Environment(user_classes=[quiet_user()], events=Events())
    with caplog.at_level(logging.WARNING):
        master = env.create_master_runner(master_bind_port=0)
    try:
        assert isinstance(master, MasterRunner)
        assert master.server.socket.last_endpoint.decode() == f"tcp://127.0.0.1:{master.master_bind_port}"
        assert "without a secret" not in caplog.text
    finally:
        master.quit()


def test_master_bound_elsewhere_without_a_secret_warns(caplog):
    env = Environment(user_classes=[quiet_user()], events=Events())
    with caplog.at_level(logging.WARNING):
        master = env.create_master_runner("0.0.0.0", 0)
    master.quit()
    assert "without a secret" in caplog.text
    env = Environment(user_classes=[quiet_user()], events=Events())
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        master = env.create_master_runner("0.0.0.0", 0, secret=SECRET)
    master.quit()
    assert "without a secret" not in caplog.text


def test_a_worker_with_nowhere_to_connect_gives_up_errored():
    env = Environment(user_classes=[quiet_user()], events=Events())
    worker = env.create_worker_runner("127.0.0.1", free_port(), connect_timeout=0.5, heartbeat_interval=0.1)
    assert isinstance(worker, WorkerRunner)
    assert worker.run(run_time=10) == 2
    assert worker.master_lost
    assert any("could not reach the master" in error for error in worker.runner_errors)


# -- the wire and the split, without a network ----------------------------------------------------------------

def test_messages_round_trip_with_number_keyed_maps():
    message = Message("stats", {"response_times": {12.0: 3, 150.0: 1}, "num_reqs_per_sec": {1700000000: 4}}, "w1")
    assert decode(encode(message)) == message


def test_a_compact_stats_report_rebuilds_exactly_and_a_malformed_one_is_refused_whole():
    """Workers report histograms keyed by bucket index (a third of the bytes, no Python step a bucket
    on the master); the master rebuilds the report whole before adding any of it."""
    from pytest_loadhooks.runners.master import _checked_stats
    from pytest_loadhooks.stats import RequestStats

    counted = RequestStats()
    for i in range(3000):
        counted.log_request("GET", f"/e{i % 7}", 0.3 + (i * 7.919) % 900, 10)
        if i % 50 == 0:
            counted.log_error("GET", f"/e{i % 7}", "boom")
    compact = counted.serialize(compact=True)
    assert "response_times" not in compact["entries"][0]
    wire = decode(encode(Message("stats", compact, "w1"))).data
    assert len(encode(Message("stats", compact, "w1"))) < len(encode(Message("stats", counted.serialize(), "w1"))) / 2
    rebuilt = _checked_stats(wire)
    assert rebuilt.total.response_times == counted.total.response_times
    master = RequestStats()
    master.extend(rebuilt)
    master.extend(_checked_stats(decode(encode(Message("stats", compact, "w1"))).data))
    assert master.total.num_requests == 6000 and master.total.num_failures == 120
    assert master.total.exact_percentile(0.99) == counted.total.exact_percentile(0.99)

    for bad in ({"x": 1}, {1200: -1}, {1200: "3"}, {2**70: 1}, [1, 2]):
        broken = counted.serialize(compact=True)
        broken["entries"][-1]["response_time_buckets"] = bad
        with pytest.raises(ValueError, match=r"^a histogram's buckets must be \{index: count\} integers") as caught:
            _checked_stats(broken)
        assert "\n" not in str(caught.value)


@pytest.mark.parametrize("frame", [
    b"", b"\xc1", b"garbage", msgpack.packb({"type": "stats"}), msgpack.packb(["stats", None]),
    msgpack.packb([7, None, "w1"]), msgpack.packb(["", None, "w1"]), msgpack.packb(["stats", None, 5]),
    msgpack.packb(["stats", None, "w1"]) + b"trailing",
])
def test_a_frame_that_is_not_a_message_is_refused(frame):
    with pytest.raises(MalformedMessage):
        decode(frame)


def test_size_limit_applies_to_sending_and_receiving():
    message = Message("stats", "x" * 2000, "w1")
    with pytest.raises(MessageTooLarge):
        encode(message, max_size=1000)
    with pytest.raises(MessageTooLarge):
        decode(encode(message), max_size=1000)


def test_curve_keys_come_from_the_secret_alone():
    keys = CurveKeys.from_secret(SECRET)
    assert keys == CurveKeys.from_secret(SECRET.encode())
    assert keys.master != keys.worker
    other = CurveKeys.from_secret("another secret")
    assert other.master.public != keys.master.public and other.worker.public != keys.worker.public
    assert len(keys.master.public) == len(keys.master.secret) == 40
    with pytest.raises(ValueError):
        CurveKeys.from_secret("")


def test_only_a_secret_the_session_generated_skips_the_key_stretching():
    """256 random bits need no stretching; anything a person chose keeps all its rounds."""
    from pytest_loadhooks.rpc import security

    generated = security.generated_secret()
    assert generated.startswith(security.GENERATED_PREFIX) and len(generated) == security.GENERATED_LENGTH
    assert generated != security.generated_secret()
    assert security.kdf_iterations(generated.encode()) == 1
    for chosen in ("hunter2", security.GENERATED_PREFIX + "short", SECRET):
        assert security.kdf_iterations(chosen.encode()) == security.KDF_ITERATIONS
    keys = CurveKeys.from_secret(generated)
    assert keys == CurveKeys.from_secret(generated) and keys.master != keys.worker


def weighted_classes() -> tuple[type, type, type]:
    """Two weighted classes (3:1) and one with a fixed count of 2."""
    body = {"tasks": [lambda user: None]}
    return (type("A", (HttpUser,), {"weight": 3, **body}), type("B", (HttpUser,), {"weight": 1, **body}),
            type("Fixed", (HttpUser,), {"fixed_count": 2, **body}))


@pytest.mark.parametrize("users", [0, 1, 2, 3, 7, 10, 33])
@pytest.mark.parametrize("workers", [1, 2, 3, 5])
def test_split_across_workers_keeps_the_run_totals(users, workers):
    classes = list(weighted_classes())
    shares = split_across_workers(classes, users, [f"w{i}" for i in range(workers)])
    totals = {cls: sum(share[cls] for share in shares.values()) for cls in classes}
    assert totals == distribution(classes, users)
    loads = [sum(share.values()) for share in shares.values()]
    assert max(loads) - min(loads) <= 1


def test_a_worker_reaches_its_share_exactly():
    A, B, Fixed = weighted_classes()
    current = {A: 5, B: 1}
    target = {A: 2, B: 3, Fixed: 1}
    to_add, to_remove = changes_to(current, target)
    assert sorted(to_add, key=lambda c: c.__name__) == [B, B, Fixed]
    assert to_remove == [A, A, A]
    assert interleave({A: 2, B: 2}) in ([A, B, A, B], [B, A, B, A])


def wait_until(condition, timeout: float = 20.0) -> None:
    import gevent

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not reached within {timeout} s"
        gevent.sleep(0.02)


def test_a_worker_back_after_a_network_loss_is_taken_back_and_loses_nothing(target):
    """Master and worker in this process: the worker's outgoing messages are held for a while,
    as zmq queues them while the network is down, then delivered in order. The master marks
    it missing meanwhile (its timeout is shorter than the worker's), then takes it back."""
    browse = type("Browse", (HttpUser,), {"wait_time": constant(0.05),
                                          "tasks": [lambda user: user.client.get("/page")]})
    master_env = Environment(user_classes=[browse], events=Events(), host=target)
    master = master_env.create_master_runner(master_bind_port=0, heartbeat_interval=0.1, heartbeat_timeout=0.6)
    worker_env = Environment(user_classes=[browse], events=Events())
    counted = []
    worker_env.events.request.add_listener(lambda **_: counted.append(1))
    worker = worker_env.create_worker_runner("127.0.0.1", master.master_bind_port, stats_report_interval=0.2,
                                             heartbeat_interval=0.1, heartbeat_timeout=10)
    held: list[tuple] = []
    network = {"down": False}
    send = worker._send

    def through_the_network(*message):
        if network["down"]:
            held.append(message)
            return True
        return send(*message)

    worker._send = through_the_network
    try:
        assert master.wait_for_workers(1, timeout=10)
        master.start(2, 100)
        wait_until(lambda: master.spawning_completed)
        wait_until(lambda: master.stats.total.num_requests > 0)
        network["down"] = True
        wait_until(lambda: master.clients[worker.client_id].state == "missing")
        assert master.worker_count == 0
        assert master.state == "running"  # waiting for a worker to come back
        network["down"] = False
        for message in held:
            send(*message)
        wait_until(lambda: master.worker_count == 1 and master.spawning_completed and master.user_count == 2)
        master.stop()
        assert master.stats.total.num_requests == len(counted)
        assert master.exit_code == 0
        assert worker.user_count == 0
    finally:
        master.quit()
        worker.wait(5)


# -- a lost worker, in words (issue #18) -------------------------------------------------------------------

def test_a_worker_loss_says_which_when_and_what_is_missing():
    from pytest_loadhooks.runners.master import WorkerLoss

    start = 1_000_000.0
    killed = WorkerLoss(index=1, id="host_ab12", how="its connection closed", lost_at=start + 7.4, run_started=start,
                        requests_counted=130, last_report_at=start + 6.9, rate=20.0, others_took_over=True)
    assert killed.missing_estimate == 10
    assert killed.describe() == (
        "worker 1 (host_ab12) was lost at 00:07 into the run (its connection closed): 130 requests counted from "
        "it, its last report at 00:07; about 10 requests it made after that are missing (0.5 s at its 20.0 req/s); "
        "the other workers took over its users")
    early = WorkerLoss(index=0, id="w0", how="not heard from for 10.2 s", lost_at=start + 0.8, run_started=start,
                       requests_counted=0, last_report_at=None, rate=None)
    assert early.missing_estimate is None
    assert "no requests counted from it (it died before its first report)" in early.describe()
    assert "what it made since is missing (its rate is unknown)" in early.describe()
    quit_ = WorkerLoss(index=2, id="w2", how="it quit", lost_at=start + 65, run_started=start, requests_counted=9,
                       last_report_at=start + 65, rate=3.0, counts_complete=True)
    assert quit_.missing_estimate == 0
    assert "lost at 01:05" in quit_.describe() and "nothing is missing" in quit_.describe()
    quit_.came_back_at = start + 70
    assert "came back at 01:10" in quit_.describe()


def test_a_worker_is_no_local_runner_and_a_master_neither():
    from pytest_loadhooks.runners import LocalRunner
    from pytest_loadhooks.runners.local import InProcessRunner

    assert not issubclass(WorkerRunner, LocalRunner) and issubclass(WorkerRunner, InProcessRunner)
    assert not issubclass(MasterRunner, (LocalRunner, InProcessRunner))
