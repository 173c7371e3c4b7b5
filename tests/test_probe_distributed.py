"""Distributed mode probed as a hostile user would (issue #18): real master and worker processes,
a real target on 127.0.0.1, a worker hung (SIGSTOP) rather than killed."""

from __future__ import annotations

import json
import signal
import time

import pytest

from test_distributed_plugin import LOSS_CONFTEST, LOSS_SHOP, finish, free_port, start, wait_for_files

pytest_plugins = ["pytester"]


def test_a_hung_worker_does_not_hold_the_run_past_its_time(pytester, target):
    """A SIGSTOPped worker keeps its connection open and says nothing: the master must not wait
    a whole heartbeat timeout for its stop confirmation, and the rates must not be diluted."""
    pytester.makeconftest(LOSS_CONFTEST)
    pytester.makepyfile(test_shop=LOSS_SHOP)
    directory = pytester.path
    port = str(free_port())
    run_time = 4.0
    master = start(directory, "-v", "--load-master", "--load-expect-workers=2", f"--load-master-bind-port={port}",
                   "--load-users=4", f"--load-run-time={run_time:g}s", f"--load-host={target}",
                   "--load-json=result.json", "--load-live-interval=0.5")
    workers = [start(directory, "--load-worker", f"--load-master-port={port}") for _ in range(2)]
    victim, survivor = workers
    try:
        wait_for_files(directory, "worker-*.json", 2)
        time.sleep(1.0)
        victim.send_signal(signal.SIGSTOP)
        master_output = finish(master)
        survivor_output = finish(survivor)
    finally:
        victim.send_signal(signal.SIGCONT)
        victim.kill()
        victim.communicate()
    run = json.loads((directory / "result.json").read_text())["run"]
    document = json.loads((directory / "result.json").read_text())
    # Not ~10 s late (the heartbeat timeout): a worker silent at the stop is given up after a few
    # heartbeat intervals, and named.
    assert run["duration"] < run_time + 4.5, master_output
    total = document["total"]["num_requests"]
    assert abs(document["total"]["total_rps"] - total / run["duration"]) < 0.5
    assert master.returncode == 1, master_output
    assert run["status"] == "failed"
    states = sorted(w["state"] for w in document["workers"])
    assert "missing" in states, document["workers"]
    assert len(run["run_failures"]) == 1 and "not heard from" in run["run_failures"][0], run
    assert survivor.returncode == 0, survivor_output


@pytest.mark.parametrize("master_secret, worker_secret", [("the-secret", None), (None, "the-secret")],
                         ids=["worker-without-secret", "master-without-secret"])
def test_a_worker_refused_for_a_missing_secret_stops_soon(pytester, target, master_secret, worker_secret):
    """One side with a secret and the other none: ZeroMQ stops retrying after a protocol error, so
    the worker never sees three refusals; it must still stop soon, not after its 60 s connect timeout."""
    pytester.makepyfile(test_shop=LOSS_SHOP)
    directory = pytester.path
    port = str(free_port())
    master = start(directory, "--load-master", f"--load-master-bind-port={port}", "--load-users=1",
                   "--load-run-time=1s", f"--load-host={target}", "--load-expect-workers-timeout=50s",
                   *([f"--load-secret={master_secret}"] if master_secret else []))
    worker = start(directory, "--load-worker", f"--load-master-port={port}",
                   *([f"--load-secret={worker_secret}"] if worker_secret else []))
    try:
        worker_output = finish(worker, timeout=30)
    finally:
        master.kill()
        master.communicate()
    assert worker.returncode == 1, worker_output
    assert f"the master at 127.0.0.1:{port} refused this worker's credentials" in worker_output


def _kill_both_workers(directory, target, after: float, *extra: str) -> tuple[object, str, dict]:
    """A master with two workers on a 4 s run, both workers SIGKILLed ``after`` seconds into it:
    (the master's process, its output, the JSON report's ``run``)."""
    port = str(free_port())
    master = start(directory, "-v", "--load-master", "--load-expect-workers=2", f"--load-master-bind-port={port}",
                   "--load-users=4", "--load-run-time=4s", f"--load-host={target}", "--load-json=result.json",
                   *extra)
    workers = [start(directory, "--load-worker", f"--load-master-port={port}") for _ in range(2)]
    wait_for_files(directory, "worker-*.json", 2)
    time.sleep(after)
    for worker in workers:
        worker.send_signal(signal.SIGKILL)
    master_output = finish(master)
    for worker in workers:
        worker.communicate()
    return master, master_output, json.loads((directory / "result.json").read_text())["run"]


def test_two_workers_killed_together_are_not_said_to_take_over_each_others_users(pytester, target):
    pytester.makeconftest(LOSS_CONFTEST)
    pytester.makepyfile(test_shop=LOSS_SHOP)
    master, master_output, run = _kill_both_workers(pytester.path, target, 1.0)
    assert master.returncode == 1, master_output
    assert len(run["run_failures"]) == 2, run
    # Neither had another worker left to hand its users to.
    assert not [line for line in run["run_failures"] if "took over" in line], run["run_failures"]


def test_a_run_that_lost_every_worker_does_not_pass_even_when_worker_loss_is_accepted(pytester, target):
    """--load-allow-worker-loss accepts losing some workers; a run left with none sent no load for the
    rest of its time. It was errored only when a heartbeat timeout (10 s) passed before the run's end."""
    pytester.makeconftest(LOSS_CONFTEST)
    pytester.makepyfile(test_shop=LOSS_SHOP)
    master, master_output, run = _kill_both_workers(pytester.path, target, 0.5, "--load-allow-worker-loss")
    assert master.returncode == 1, master_output
    assert run["status"] == "errored", run
    assert "every worker was lost during the run" in master_output.split("load test results", 1)[1], master_output


def test_a_worker_killed_before_the_run_starts_is_not_counted_as_one_of_its_workers(pytester, target):
    """Killed while the master waits for its workers, it was counted for 2 s more (its grace for a
    network hiccup): the run started with it, handed it users, and failed on a 'loss at 00:00'."""
    pytester.makeconftest(LOSS_CONFTEST)
    pytester.makepyfile(test_shop=LOSS_SHOP)
    directory = pytester.path
    port = str(free_port())
    master = start(directory, "-v", "--load-master", "--load-expect-workers=2", f"--load-master-bind-port={port}",
                   "--load-users=4", "--load-run-time=2s", f"--load-host={target}", "--load-json=result.json",
                   "--load-expect-workers-timeout=60s")
    early = start(directory, "--load-worker", f"--load-master-port={port}")
    time.sleep(4)  # it has joined (a worker's start takes about a second here)
    early.send_signal(signal.SIGKILL)
    early.communicate()
    time.sleep(0.2)
    others = [start(directory, "--load-worker", f"--load-master-port={port}") for _ in range(2)]
    master_output = finish(master)
    for other in others:
        finish(other)
    document = json.loads((directory / "result.json").read_text())
    assert master.returncode == 0, master_output
    assert document["run"]["run_failures"] == [], document["run"]
    # It is listed as missing (it was), with none of the run's users: the two others took them all.
    assert [(w["state"], w["users"]) for w in document["workers"]] == [("missing", 0), ("ready", 2), ("ready", 2)]
