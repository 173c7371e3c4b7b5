"""The distributed mode driven by pytest: real pytest processes, real ports on 127.0.0.1.

``--load-processes=N`` (one command: a master and N local workers), and a master and its
workers started as separate ``pytest`` commands, as on many machines.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

# Each process (master or worker) counts the requests it saw through a `request` listener and
# writes its tally when the session quits; a worker also says what it ran and what it was told.
COUNTING_CONFTEST = '''
import json, os
from pytest_loadhooks import events
from pytest_loadhooks.runners import MasterRunner, WorkerRunner

SEEN = {"requests": 0, "flavour_at_start": None, "spawned": []}

@events.init_command_line_parser.add_listener
def _options(parser, **kw):
    parser.add_argument("--shop-flavour", default="plain", help="which flavour the shop serves")

@events.request.add_listener
def _count(**kw):
    SEEN["requests"] += 1

@events.test_start.add_listener
def _start(environment, **kw):
    if isinstance(environment.runner, WorkerRunner):
        SEEN["flavour_at_start"] = environment.parsed_options.shop_flavour

@events.spawning_complete.add_listener
def _spawned(user_count, **kw):
    runner = RUNNERS[-1] if RUNNERS else None
    if isinstance(runner, MasterRunner):
        SEEN["spawned"].append({node.id: dict(node.user_classes_count) for node in runner.clients.active})

RUNNERS = []

@events.init.add_listener
def _init(environment, runner, **kw):
    RUNNERS.append(runner)

@events.quitting.add_listener
def _write(environment, **kw):
    role = "worker" if isinstance(environment.runner, WorkerRunner) else "master"
    with open(f"seen-{role}-{os.getpid()}.json", "w") as handle:
        json.dump({**SEEN, "role": role}, handle)
'''

SHOP = '''
from pytest_loadhooks import HttpUser, task, constant

class Browse(HttpUser):
    weight = 3
    wait_time = constant(0.05)

    @task
    def page(self):
        self.client.get("/page")

class Buy(HttpUser):
    weight = 1
    wait_time = constant(0.05)

    @task
    def cart(self):
        self.client.get("/cart")

class Admin(HttpUser):
    fixed_count = 1
    wait_time = constant(0.05)

    @task
    def data(self):
        self.client.get("/api/data")

def test_reads_the_run(load_result):
    assert load_result.num_requests > 0
'''

# A second, isolated run in the same session: workers follow the master from one run to the next.
SECOND_RUN = '''
import pytest
from pytest_loadhooks import HttpUser, task, constant

pytestmark = pytest.mark.load(users=2, run_time="1s")

class Checkout(HttpUser):
    wait_time = constant(0.05)

    @task
    def cart(self):
        self.client.get("/cart")
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seen_files(directory: Path, role: str) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(directory.glob(f"seen-{role}-*.json"))]


def pytest_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]


def start(directory: Path, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOADHOOKS_")}
    return subprocess.Popen(pytest_command(*args), cwd=directory, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen, timeout: float = 120) -> str:
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"process did not end:\n{output}") from None
    return output


@pytest.fixture
def shop(pytester: pytest.Pytester) -> Path:
    pytester.makeconftest(COUNTING_CONFTEST)
    pytester.makepyfile(test_shop=SHOP)
    return pytester.path


def test_load_processes_merged_total_is_the_sum_of_what_each_worker_counted(shop, pytester, target):
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-v", "--load-processes=2", "--load-users=4", "--load-run-time=1s",
        f"--load-host={target}", "--load-json=result.json", "--load-html=report.html", "--shop-flavour=mint")
    output = result.stdout.str()
    assert result.ret == 0, output
    document = json.loads((shop / "result.json").read_text())
    page = (shop / "report.html").read_text()
    workers_table = page.split('id="workers-table"', 1)[1].split("</table>", 1)[0]
    assert workers_table.count("<tr>") == 1 + 2  # header and one row per worker
    workers = seen_files(shop, "worker")
    assert len(workers) == 2, output
    merged = document["total"]["num_requests"]
    assert merged > 0
    assert merged == sum(worker["requests"] for worker in workers)
    assert all(worker["requests"] > 0 for worker in workers)  # both took part
    # The master ran no users of its own; its total is only what the workers reported.
    assert seen_files(shop, "master")[0]["requests"] == 0
    assert sorted(w["users"] for w in document["workers"]) == [2, 2]
    assert {w["state"] for w in document["workers"]} != {"missing"}
    assert "workers: 2 connected" in output
    # Custom arguments reach the workers with the run (forwarded parsed_options).
    assert [worker["flavour_at_start"] for worker in workers] == ["mint", "mint"]
    # The local workers are gone: no pytest process of this directory is left behind.
    leftover = subprocess.run(["pgrep", "-f", f"--load-worker.*--load-master-port"], capture_output=True, text=True)
    for pid in leftover.stdout.split():
        cwd = os.readlink(f"/proc/{pid}/cwd") if os.path.exists(f"/proc/{pid}/cwd") else ""
        assert cwd != str(shop), f"local worker {pid} left behind"


def test_master_and_two_workers_as_separate_commands(shop, pytester, target):
    pytester.makepyfile(test_second=SECOND_RUN)
    port = str(free_port())
    master = start(shop, "-v", "test_shop.py", "test_second.py", "--load-master", "--load-expect-workers=2",
                   f"--load-master-bind-port={port}", "--load-users=6", "--load-run-time=1.5s",
                   f"--load-host={target}", "--load-threshold", "rps > 1000000", "--load-json=result.json",
                   "--shop-flavour=salty")
    workers = [start(shop, "-v", "-rs", "test_shop.py", "test_second.py", "--load-worker",
                     f"--load-master-port={port}")
               for _ in range(2)]
    worker_outputs = [finish(worker) for worker in workers]
    master_output = finish(master)
    # The master judges the merged numbers: its threshold fails, and so does its session ...
    assert master.returncode == 1, master_output
    assert "threshold 'rps > 1000000' failed" in master_output
    # ... while each worker did its part and passes: its results and thresholds are the master's.
    for worker, output in zip(workers, worker_outputs):
        assert worker.returncode == 0, output
        assert "test_shop.py::load_run PASSED" in output
        assert "test_second.py::load_run PASSED" in output
        assert "test_shop.py::test_reads_the_run SKIPPED" in output
        assert ": results and thresholds live on the master" in output
    # Weights and fixed_count across both workers: 1 Admin; Browse:Buy 3:1 of the other 5, rounded.
    spawned = seen_files(shop, "master")[0]["spawned"]
    first_run = spawned[0]
    assert len(first_run) == 2
    totals: dict[str, int] = {}
    for counts in first_run.values():
        assert sum(counts.values()) == 3  # evenly split
        for name, n in counts.items():
            totals[name] = totals.get(name, 0) + n
    assert totals == {"Browse": 4, "Buy": 1, "Admin": 1}
    # Both runs were served by both workers, and everything they counted reached the master.
    tallies = seen_files(shop, "worker")
    assert len(tallies) == 2
    document = json.loads((shop / "result.json").read_text())
    second = json.loads((shop / "result-test_second.py_load_run.json").read_text())
    assert document["total"]["num_requests"] + second["total"]["num_requests"] == sum(
        tally["requests"] for tally in tallies)
    assert [tally["flavour_at_start"] for tally in tallies] == ["salty", "salty"]
    assert len(document["workers"]) == 2


def test_a_run_whose_workers_do_not_come_is_errored_without_traffic(shop, pytester, target):
    port = str(free_port())
    master = start(shop, "-v", "--load-master", "--load-expect-workers=2", "--load-expect-workers-timeout=2s",
                   f"--load-master-bind-port={port}", "--load-users=2", "--load-run-time=1s",
                   f"--load-host={target}", "--load-json=result.json")
    worker = start(shop, "--load-worker", f"--load-master-port={port}")
    master_output = finish(master)
    worker_output = finish(worker)
    assert master.returncode == 1, master_output
    assert "1 of 2 workers connected within 2s: the run did not start" in master_output
    assert "test_shop.py::load_run: ERRORED - 0 requests" in master_output
    document = json.loads((shop / "result.json").read_text())
    assert document["run"]["status"] == "errored"
    assert document["total"]["num_requests"] == 0
    # The one worker that came was told the run is over, and did nothing wrong.
    assert worker.returncode == 0, worker_output
    assert seen_files(shop, "worker")[0]["requests"] == 0


def test_a_worker_without_a_master_fails_by_itself(shop, pytester):
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--load-worker",
                                           f"--load-master-port={free_port()}", "--load-expect-workers-timeout=1s")
    output = result.stdout.str()
    assert result.ret == 1, output
    assert "could not reach the master at 127.0.0.1" in output


@pytest.mark.parametrize(("args", "message"), [
    (["--load-worker", "--load-master"], "--load-worker cannot be combined with --load-master"),
    (["--load-worker", "--load-processes=2"], "--load-worker cannot be combined with --load-processes"),
    (["--load-processes=0"], "invalid process count '0'"),
    (["--load-master", "--load-expect-workers=0"], "invalid worker count '0'"),
    (["--load-worker", "--load-master-port=70000"], "invalid port '70000'"),
    (["--load-master", "--load-master-bind-host=http://x"], "invalid host 'http://x'"),
    (["--load-master", "--load-expect-workers-timeout=soon"], "invalid duration 'soon'"),
])
def test_contradictory_or_bad_distributed_options_are_one_line_usage_errors(shop, pytester, args, message):
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1 and message in errors[0], result.stderr.str()


def test_the_secret_is_never_shown(shop, pytester, target):
    secret = "s3cr3t-never-shown-4711"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-v", "--load-processes=1", f"--load-secret={secret}", "--load-users=1",
        "--load-run-time=1s", f"--load-host={target}", "--load-json=result.json")
    assert result.ret == 0, result.stdout.str()
    for text in (result.stdout.str(), result.stderr.str(), (shop / "result.json").read_text()):
        assert secret not in text
    bad = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--load-master", "--load-secret= ")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    assert "the secret is empty" in bad.stderr.str()


def test_a_master_listening_beyond_this_machine_without_a_secret_warns_before_traffic(shop, pytester, target):
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--load-master", "--load-master-bind-host=0.0.0.0",
        f"--load-master-bind-port={free_port()}", "--load-expect-workers-timeout=0.5s", f"--load-host={target}")
    output = result.stdout.str()
    assert "WARNING the master listens on 0.0.0.0" in output and "without a secret" in output
    assert "0 of 1 workers connected within 0.5s" in output


def test_a_local_worker_that_failed_fails_the_session_and_shows_its_output(pytester, target):
    pytester.makeconftest('''
from pytest_loadhooks import events
from pytest_loadhooks.runners import WorkerRunner

@events.test_start.add_listener
def _refuse(environment, **kw):
    if isinstance(environment.runner, WorkerRunner):
        raise RuntimeError("this worker's listener broke")
''')
    pytester.makepyfile(test_shop=SHOP)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--load-processes=1", "--load-users=2",
                                           "--load-run-time=1s", f"--load-host={target}")
    output = result.stdout.str()
    assert result.ret == 1, output
    assert "test_shop.py::load_run: PASSED" in output  # the master's run itself went well
    assert "local worker 0 exited 1; its output" in output
    assert "this worker's listener broke" in output


# -- worker loss (issue #18): a SIGKILLed worker ends nothing late and is never a silent PASS -------------

# Each worker says when its run started, under which id the master knows it, and (every 0.1 s) how many
# requests it has counted so far: what a SIGKILLed worker counted is on disk up to its last 0.1 s.
LOSS_CONFTEST = '''
import json, os, time
import gevent
from pytest_loadhooks import events
from pytest_loadhooks.runners import WorkerRunner

TALLY = {"requests": 0, "last_request_at": None}

@events.request.add_listener
def _count(**kw):
    TALLY["requests"] += 1
    TALLY["last_request_at"] = time.time()

def _write(runner):
    path = f"worker-{os.getpid()}.json"
    with open(path + ".tmp", "w") as handle:
        json.dump({**TALLY, "id": runner.client_id, "pid": os.getpid()}, handle)
    os.replace(path + ".tmp", path)

def _keep_writing(runner):
    while True:
        _write(runner)
        gevent.sleep(0.1)

@events.test_start.add_listener
def _start(environment, **kw):
    if isinstance(environment.runner, WorkerRunner):
        gevent.spawn(_keep_writing, environment.runner)

@events.quitting.add_listener
def _last(environment, **kw):
    if isinstance(environment.runner, WorkerRunner):
        _write(environment.runner)
'''

LOSS_SHOP = '''
from pytest_loadhooks import HttpUser, task, constant

class Shopper(HttpUser):
    wait_time = constant(0.05)

    @task
    def page(self):
        self.client.get("/page")
'''


def wait_for_files(directory: Path, pattern: str, count: int, timeout: float = 90) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(directory.glob(pattern))
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{count} files {pattern} did not appear within {timeout}s")


@pytest.mark.parametrize("allow_loss", [False, True], ids=["loss-fails-the-run", "loss-allowed"])
def test_a_worker_killed_mid_run(pytester, target, allow_loss):
    pytester.makeconftest(LOSS_CONFTEST)
    pytester.makepyfile(test_shop=LOSS_SHOP)
    directory = pytester.path
    port = str(free_port())
    run_time = 6.0
    master = start(directory, "-v", "--load-master", "--load-expect-workers=2", f"--load-master-bind-port={port}",
                   "--load-users=4", f"--load-run-time={run_time:g}s", f"--load-host={target}",
                   "--load-json=result.json", "--load-live-interval=0.5",
                   *(["--load-allow-worker-loss"] if allow_loss else []))
    workers = [start(directory, "--load-worker", f"--load-master-port={port}") for _ in range(2)]
    victim, survivor = workers
    wait_for_files(directory, "worker-*.json", 2)
    time.sleep(1.2)  # into the run: the victim counted (and most likely reported) some requests
    victim.send_signal(signal.SIGKILL)
    killed_at = time.time()
    master_output = finish(master)
    survivor_output = finish(survivor)
    victim.communicate()
    document = json.loads((directory / "result.json").read_text())
    run = document["run"]
    tallies = {json.loads(p.read_text())["pid"]: json.loads(p.read_text()) for p in directory.glob("worker-*.json")}
    lost, kept = tallies[victim.pid], tallies[survivor.pid]

    # The master kept the clock: the run ended about on time, not a heartbeat timeout (10 s) later,
    # and the survivor was told to stop then (its last request is not after the run's end).
    assert run["duration"] < run_time + 4, master_output
    assert kept["last_request_at"] <= min(run["ended_at"], run["started_at"] + run_time + 1.5)
    assert killed_at < run["ended_at"]
    # The report's workers and rates: the lost worker is shown as such, rps uses the real duration.
    states = {w["id"]: w["state"] for w in document["workers"]}
    assert states[lost["id"]] == "missing" and states[kept["id"]] != "missing", document["workers"]
    total = document["total"]["num_requests"]
    assert document["total"]["total_rps"] == pytest.approx(total / run["duration"], rel=0.02)
    # Every request of the survivor reached the master, and what the victim reported before it died.
    assert kept["requests"] <= total <= kept["requests"] + lost["requests"], (kept, lost, master_output)
    # The live line stopped counting the lost worker.
    assert "workers 1 (1 missing)" in master_output, master_output
    lines = [line for line in run["run_failures"] + run["warnings"] if lost["id"] in line]
    assert len(lines) == 1, run
    assert "lost at 00:0" in lines[0] and "requests counted from it" in lines[0], lines[0]
    assert survivor.returncode == 0, survivor_output
    if allow_loss:
        assert master.returncode == 0, master_output
        assert run["status"] == "passed" and lines[0] in run["warnings"]
    else:
        assert master.returncode == 1, master_output
        assert run["status"] == "failed" and lines[0] in run["run_failures"]
        assert lost["id"] in master_output.split("FAILED", 1)[1], master_output


def test_a_worker_with_the_wrong_secret_is_told_it_was_refused_and_the_master_names_it(shop, pytester, target):
    port = str(free_port())
    master = start(shop, "--load-master", f"--load-master-bind-port={port}", "--load-secret=the-right-one",
                   "--load-expect-workers-timeout=4s", "--load-users=1", "--load-run-time=1s",
                   f"--load-host={target}")
    worker = start(shop, "--load-worker", f"--load-master-port={port}", "--load-secret=a-wrong-one",
                   "--load-expect-workers-timeout=20s")
    worker_output = finish(worker)
    master_output = finish(master)
    # The worker: refused, not unreachable, and it says so in one line (it gives up long before 20 s).
    assert worker.returncode == 1, worker_output
    assert "could not reach the master" not in worker_output
    refused = f"the master at 127.0.0.1:{port} refused this worker's credentials ("
    assert any(refused in line and "handshakes failed" in line for line in worker_output.splitlines()), worker_output
    # The master: one line in its terminal per refused peer, however often it retried. The peer is
    # named by its address, read when its connection is accepted; a refused connection can close
    # before the master reads it (zmq's monitor gives only the fd), and is then said to have.
    unread = "an address that closed before it could be read"
    master_lines = [line for line in master_output.splitlines()
                    if line.startswith("pytest-loadhooks: refused a worker from ")]
    named = [line for line in master_lines if line.startswith("pytest-loadhooks: refused a worker from 127.0.0.1")]
    assert len(named) <= 1 and len(master_lines) - len(named) <= 1 and master_lines, master_output
    assert all(unread in line for line in master_lines if line not in named), master_output
    assert all("does not hold this master's secret" in line for line in master_lines), master_output
    assert "0 of 1 workers connected within 4s" in master_output
    assert "refused (handshake failed: a different --load-secret?): " in master_output


# A listener branching on the runner's type, as Locust's docs show (a worker is not a local runner there).
RUNNER_TYPES_CONFTEST = '''
import json, os
from pytest_loadhooks import events
from pytest_loadhooks.runners import LocalRunner, MasterRunner, WorkerRunner

@events.init.add_listener
def _types(environment, runner, **kw):
    kinds = {name: isinstance(runner, cls) for name, cls in
             (("local", LocalRunner), ("master", MasterRunner), ("worker", WorkerRunner))}
    with open(f"types-{type(runner).__name__}-{os.getpid()}.json", "w") as handle:
        json.dump(kinds, handle)
'''


def test_runner_types_on_each_node_match_locust(pytester, target):
    pytester.makeconftest(RUNNER_TYPES_CONFTEST)
    pytester.makepyfile(test_shop=LOSS_SHOP)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--load-processes=1", "--load-users=1",
                                           "--load-run-time=1s", f"--load-host={target}")
    assert result.ret == 0, result.stdout.str()
    seen = {path.name.split("-")[1]: json.loads(path.read_text()) for path in pytester.path.glob("types-*.json")}
    assert seen == {"MasterRunner": {"local": False, "master": True, "worker": False},
                    "WorkerRunner": {"local": False, "master": False, "worker": True}}
    local = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--load-users=1", "--load-run-time=1s",
                                          f"--load-host={target}")
    assert local.ret == 0
    assert json.loads(next(pytester.path.glob("types-LocalRunner-*.json")).read_text()) == {
        "local": True, "master": False, "worker": False}
