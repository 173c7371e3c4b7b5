"""A master and a worker on two hosts of their own, as separate ``pytest`` commands.

The two hosts are network namespaces this test creates, joined by a veth pair with
10.200.0.1/30 (the master's side) and 10.200.0.2/30 (the worker's); nothing routes
anywhere else, and both namespaces are deleted at the end. The target app runs on the
worker namespace's own loopback, so the load never leaves that namespace: the master's
namespace has no target at all, and a request sent from there would fail. Each side is
``ip netns exec NS python -m pytest ...``, joined by ``--load-secret``.

Where the machine cannot create namespaces (not root, no CAP_NET_ADMIN) the namespace tests
are skipped, saying so; the last test runs the same two commands on 127.0.0.1, everywhere.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

TARGET_APP = Path(__file__).resolve().parent.parent / "examples" / "target_app.py"
SECRET = "netns shared secret, never printed"
MASTER_ADDRESS = "10.200.0.1"  # only inside the namespaces below: the two ends of one veth pair
WORKER_ADDRESS = "10.200.0.2"
PREFIX_LENGTH = 30  # room for exactly these two hosts
MASTER_PORT = 5557  # each namespace has ports of its own: nothing else listens there
TARGET_PORT = 8089
RUN_TIMEOUT = 120.0  # seconds any one pytest command may take (start-up + 2 s run + stopping)
WAIT_FOR_WORKERS = "8s"  # how long the wrong-secret master waits for a worker that cannot join

LOAD_TEST = '''
from pytest_loadhooks import HttpUser, constant, task


class Reader(HttpUser):
    wait_time = constant(0.05)

    @task
    def page(self):
        self.client.get("/page")
'''


# -- processes --
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_environment() -> dict[str, str]:
    """This process's environment without what would change the sessions under test."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("LOADHOOKS_") and name.lower() not in ("http_proxy", "https_proxy")
           and name != "PYTEST_ADDOPTS"}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


class Processes:
    """Every process a test starts; whatever still runs at the end is killed, with its children."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str]) -> subprocess.Popen:
        with open(self.log_path(name), "w") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       cwd=self.directory, env=clean_environment(), start_new_session=True)
        self.started[name] = process
        return process

    def log_path(self, name: str) -> Path:
        return self.directory / f"{name}.log"

    def output(self, name: str) -> str:
        return self.log_path(name).read_text()

    def wait(self, name: str, timeout: float = RUN_TIMEOUT) -> int:
        try:
            return self.started[name].wait(timeout)
        except subprocess.TimeoutExpired:
            logs = "\n".join(f"--- {other}\n{self.output(other)}" for other in self.started)
            raise AssertionError(f"{name} did not end within {timeout:g} s\n{logs}") from None

    def kill_all(self) -> None:
        for process in self.started.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)  # its own session: the process and its children
                process.wait()


def pytest_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "test_netns_load.py", "-p", "no:cacheprovider", *args]


def master_args(bind_host: str, port: int, target: str, expect_workers_timeout: str = "60s") -> list[str]:
    return ["--load-master", "--load-expect-workers=1", f"--load-expect-workers-timeout={expect_workers_timeout}",
            f"--load-master-bind-host={bind_host}", f"--load-master-bind-port={port}", f"--load-secret={SECRET}",
            f"--load-host={target}", "--load-users=3", "--load-spawn-rate=100", "--load-run-time=2s",
            "--load-json=master.json"]


def worker_args(master_host: str, port: int, secret: str, connect_timeout: str = "60s") -> list[str]:
    # No host, no users, no run time: the master hands them over when the run starts.
    return ["--load-worker", f"--load-master-host={master_host}", f"--load-master-port={port}",
            f"--load-secret={secret}", f"--load-expect-workers-timeout={connect_timeout}"]


# -- the namespaces --
@dataclass
class NamespacePair:
    master: str
    worker: str

    def exec(self, namespace: str, command: list[str]) -> list[str]:
        return ["ip", "netns", "exec", namespace, *command]


def ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], check=False, capture_output=True, text=True, timeout=30)


def create_namespace(name: str) -> None:
    """Create one namespace, or skip the test when this machine does not allow it."""
    if shutil.which("ip") is None:
        pytest.skip("cannot create network namespaces: iproute2's `ip` is not installed")
    created = ip("netns", "add", name)
    if created.returncode != 0:
        pytest.skip(f"cannot create network namespaces here (needs root or CAP_NET_ADMIN): "
                    f"`ip netns add` said {created.stderr.strip()!r}")


def checked_ip(*args: str) -> None:
    done = ip(*args)
    assert done.returncode == 0, f"ip {' '.join(args)}: {done.stderr.strip()}"


def join_with_veth(pair: NamespacePair) -> None:
    # The veth pair is created inside the master's namespace with its peer placed straight into
    # the worker's: no interface ever appears in the machine's own namespace.
    checked_ip("-n", pair.master, "link", "add", "lh0", "type", "veth", "peer", "name", "lh1", "netns", pair.worker)
    checked_ip("-n", pair.master, "addr", "add", f"{MASTER_ADDRESS}/{PREFIX_LENGTH}", "dev", "lh0")
    checked_ip("-n", pair.worker, "addr", "add", f"{WORKER_ADDRESS}/{PREFIX_LENGTH}", "dev", "lh1")
    for namespace, link in ((pair.master, "lh0"), (pair.worker, "lh1")):
        checked_ip("-n", namespace, "link", "set", "lo", "up")
        checked_ip("-n", namespace, "link", "set", link, "up")


def port_answers(pair: NamespacePair, namespace: str, port: int, wait: float) -> bool:
    """Whether 127.0.0.1:port answers inside that namespace (tried for up to ``wait`` seconds)."""
    probe = ("import socket, sys, time\n"
             f"deadline = time.monotonic() + {wait}\n"
             "while True:\n"
             "    try:\n"
             f"        socket.create_connection(('127.0.0.1', {port}), timeout=0.5).close(); sys.exit(0)\n"
             "    except OSError:\n"
             "        if time.monotonic() > deadline: sys.exit(1)\n"
             "        time.sleep(0.05)\n")
    done = subprocess.run(pair.exec(namespace, [sys.executable, "-c", probe]), check=False, timeout=wait + 30)
    return done.returncode == 0


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    """Two namespaces joined by a veth pair, the target app on the worker namespace's loopback."""
    token = f"{os.getpid()}-{secrets.token_hex(3)}"
    pair = NamespacePair(master=f"loadhooks-master-{token}", worker=f"loadhooks-worker-{token}")
    directory = tmp_path_factory.mktemp("netns")
    (directory / "test_netns_load.py").write_text(LOAD_TEST)
    target = Processes(directory)
    created: list[str] = []
    try:
        create_namespace(pair.master)
        created.append(pair.master)
        checked_ip("netns", "add", pair.worker)
        created.append(pair.worker)
        join_with_veth(pair)
        target.start("target", pair.exec(pair.worker, [sys.executable, str(TARGET_APP), "--port", str(TARGET_PORT),
                                                       "--max-seconds", "600"]))
        assert port_answers(pair, pair.worker, TARGET_PORT, wait=15), target.output("target")
        yield pair, directory
    finally:
        target.kill_all()  # first: a namespace with a process still in it outlives `ip netns del`
        for namespace in created:
            ip("netns", "del", namespace)


@pytest.fixture
def processes(hosts):
    _pair, directory = hosts
    for stale in ("master.json", "master.log", "worker.log"):
        (directory / stale).unlink(missing_ok=True)
    started = Processes(directory)
    yield started
    started.kill_all()


# -- the tests --
def test_master_and_worker_in_two_namespaces_share_a_secret_and_merge_the_load(hosts, processes):
    pair, directory = hosts
    # The target exists only in the worker's namespace: a request from the master's side would fail.
    assert not port_answers(pair, pair.master, TARGET_PORT, wait=0)

    processes.start("master", pair.exec(pair.master, pytest_command(
        *master_args(MASTER_ADDRESS, MASTER_PORT, f"http://127.0.0.1:{TARGET_PORT}"))))
    processes.start("worker", pair.exec(pair.worker, pytest_command(
        *worker_args(MASTER_ADDRESS, MASTER_PORT, SECRET))))
    master_code, worker_code = processes.wait("master"), processes.wait("worker")
    master_output, worker_output = processes.output("master"), processes.output("worker")

    assert worker_code == 0, worker_output
    assert master_code == 0, master_output
    result = json.loads((directory / "master.json").read_text())
    assert result["run"]["status"] == "passed"
    assert result["total"]["num_requests"] > 0, master_output
    assert result["total"]["num_failures"] == 0, master_output  # all sent on the worker's loopback
    assert [worker["users"] for worker in result["workers"]] == [3]
    for output in (master_output, worker_output):
        assert SECRET not in output


def test_a_worker_with_the_wrong_secret_cannot_join_across_namespaces(hosts, processes):
    pair, directory = hosts
    processes.start("master", pair.exec(pair.master, pytest_command(
        *master_args(MASTER_ADDRESS, MASTER_PORT, f"http://127.0.0.1:{TARGET_PORT}",
                     expect_workers_timeout=WAIT_FOR_WORKERS))))
    processes.start("worker", pair.exec(pair.worker, pytest_command(
        *worker_args(MASTER_ADDRESS, MASTER_PORT, "not the secret", connect_timeout=WAIT_FOR_WORKERS))))
    master_code, worker_code = processes.wait("master"), processes.wait("worker")
    master_output, worker_output = processes.output("master"), processes.output("worker")

    # The master refused the handshake and, for want of workers, never started the run.
    assert master_code != 0, master_output
    # Named by its address when the master read it before the connection closed (zmq's monitor gives
    # only the fd; tests/test_distributed_plugin.py says more), else said to have closed first.
    lead = "pytest-loadhooks: refused a worker from "
    refused = [line for line in master_output.splitlines() if line.startswith(lead)]
    unread = "an address that closed before it could be read"
    assert refused, master_output
    assert all(line.startswith(lead + WORKER_ADDRESS) or unread in line for line in refused), master_output
    result = json.loads((directory / "master.json").read_text())
    assert result["run"]["status"] == "errored"
    assert result["total"]["num_requests"] == 0
    assert result["workers"] == []
    # The worker says the master refused it (not that it could not reach it), and fails.
    assert worker_code != 0, worker_output
    assert f"the master at {MASTER_ADDRESS}:{MASTER_PORT} refused this worker's credentials" in worker_output
    for output in (master_output, worker_output):
        assert SECRET not in output


def test_a_worker_command_needs_no_host_of_its_own(target, tmp_path):
    """The same two commands on 127.0.0.1 (runs on every machine): the worker names no host, the master gives it."""
    (tmp_path / "test_netns_load.py").write_text(LOAD_TEST)
    nodes = Processes(tmp_path)
    port = free_port()
    try:
        nodes.start("master", pytest_command(*master_args("127.0.0.1", port, target)))
        nodes.start("worker", pytest_command(*worker_args("127.0.0.1", port, SECRET)))
        master_code, worker_code = nodes.wait("master"), nodes.wait("worker")
    finally:
        nodes.kill_all()
    assert worker_code == 0, nodes.output("worker")
    assert master_code == 0, nodes.output("master")
    result = json.loads((tmp_path / "master.json").read_text())
    assert result["total"]["num_requests"] > 0
    assert result["total"]["num_failures"] == 0
