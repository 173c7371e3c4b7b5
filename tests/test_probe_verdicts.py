"""A hostile user's probes of live verdicts combined with the open model (issue #21): aborts on the
open model's own figures, through real pytest sessions against the session's local target. Each test here
was a defect first."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

pytest_plugins = ["pytester"]

SESSION_TIMEOUT = 90

HANGING_MODULE = """
from pytest_loadhooks import HttpUser, task

class Hanging(HttpUser):
    @task
    def get(self):
        self.client.get("/hang?s=6", name="/hang")
"""


def run_json(pytester: pytest.Pytester, target: str, *args: str) -> tuple[str, dict]:
    result = pytester.runpytest_subprocess(f"--load-host={target}", "--load-json=result.json", *args,
                                           timeout=SESSION_TIMEOUT)
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output and "INTERNALERROR" not in output, output
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    return output, json.loads((pytester.path / "result.json").read_text())


def test_a_target_that_answers_nothing_aborts_on_its_dropped_iterations(pytester, target):
    # The target hangs: the pool of 2 is busy at once and every later iteration is dropped, exactly when a
    # user wants the run stopped. No request completes, and the live judge used to call every threshold
    # "waiting: no requests matched" then, so 'dropped_iterations == 0 for 1s' never aborted the run.
    pytester.makepyfile(test_hang=HANGING_MODULE)
    output, document = run_json(pytester, target, "--load-rate=20/s", "--load-max-users=2", "--load-run-time=8s",
                                "--load-threshold=dropped_iterations == 0 for 1s")
    aborts = [line for line in document["run"]["run_failures"] if line.startswith("aborted at")]
    assert aborts and "dropped_iterations of all requests" in aborts[0], output
    # Aborted before the first hanging request (6 s) could have been answered: judged with no request at all.
    assert document["total"]["num_requests"] == 0, document["total"]
    assert document["open_model"]["dropped_iterations"] > 0

SLOW_MODULE = """
from pytest_loadhooks import HttpUser, task

class Slow(HttpUser):
    @task
    def get(self):
        self.client.get("/slow?ms=200", name="/slow")
"""


def test_windowed_thresholds_on_open_model_figures_are_judged_on_their_windows(pytester, target):
    # One user answering in 200 ms starts at most 5 of the 20 iterations due each second: the rest are
    # dropped, every second. A window's entry used to carry no open-model figures, so 'over' on
    # dropped_iterations or pNN_intended stayed "waiting" the whole run: never an abort, and the end
    # verdict silently judged the whole run instead of the worst window.
    pytester.makepyfile(test_slow=SLOW_MODULE)
    output, document = run_json(pytester, target, "--load-rate=20/s", "--load-max-users=1", "--load-run-time=8s",
                                "--load-threshold=p95_intended < 1 over 1s",
                                "--load-threshold=dropped_iterations == 0 over 1s for 1s")
    aborts = [line for line in document["run"]["run_failures"] if line.startswith("aborted at")]
    assert aborts and "dropped_iterations of all requests over 1 s" in aborts[0], output
    verdicts = {verdict["expression"]: verdict for verdict in document["thresholds"]}
    assert "over the 1 s to" in verdicts["p95_intended < 1 over 1s"]["message"], verdicts


SLOW_START_MODULE = """
from pathlib import Path
from pytest_loadhooks import HttpUser, task

class SlowStart(HttpUser):
    def on_start(self):
        Path("warming").touch()  # tells the test the warm-up is under way
        self.client.get("/hang?s=20", name="/hang")  # the pre-started user's on_start holds the warm-up

    @task
    def get(self):
        self.client.get("/")
"""


def test_sigterm_while_the_pool_warms_up_ends_the_run_with_its_outputs(pytester, target):
    # The run waited for the pre-started users' on_start (the warm-up) without looking at anything else:
    # a SIGTERM (or an abort) that stopped the run meanwhile left it waiting for a warm-up that would never
    # end, till gevent's "LoopExit: This operation would block forever", with no outputs written.
    pytester.makepyfile(test_slow_start=SLOW_START_MODULE)
    process = pytester.popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--load-host={target}",
                              "--load-rate=5/s", "--load-run-time=2s", "--load-json=result.json"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + SESSION_TIMEOUT
        while not (pytester.path / "warming").exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=SESSION_TIMEOUT)
    finally:
        process.kill()
    assert "LoopExit" not in output, output
    document = json.loads((pytester.path / "result.json").read_text())
    assert document["run"]["status"] == "interrupted", output
    assert document["run"]["duration"] < 15, document["run"]  # not held until the 20 s on_start ended


FAST_MODULE = """
from pytest_loadhooks import HttpUser, task

class Fast(HttpUser):
    @task
    def get(self):
        self.client.get("/")
"""


def test_an_open_model_threshold_on_a_closed_model_run_says_why_it_failed(pytester, target):
    # 'dropped_iterations == 0' on a run of looping users (no --load-rate) failed with "no requests
    # matched all requests" beside a thousand requests: the reason (no open model) was never said.
    pytester.makepyfile(test_fast=FAST_MODULE)
    output, _document = run_json(pytester, target, "--load-run-time=1s", "--load-threshold=dropped_iterations == 0",
                                 "--load-threshold=p95_intended < 500")
    assert "no requests matched" not in output, output
    assert output.count("is measured only in an open-model run") >= 2, output


WARMING_MODULE = """
import gevent
from pytest_loadhooks import HttpUser, task

class Warming(HttpUser):
    def on_start(self):
        gevent.sleep(3)  # a slow login: the pre-started user's warm-up, before the schedule's clock starts

    @task
    def get(self):
        self.client.get("/")
"""


def test_a_slow_warm_up_is_not_judged_nor_counted_in_the_achieved_rate(pytester, target):
    # The run time counts from the end of the warm-up (docs/open-model.md), but the run's clock did not: the
    # live judge aborted 'iteration_rate >= 15 for 2s' during the 3 s warm-up (0/s), and the end verdict
    # spread the 2 s of iterations at 20/s over the 5 s with the warm-up (8/s) and failed the run.
    pytester.makepyfile(test_warming=WARMING_MODULE)
    result = pytester.runpytest_subprocess(f"--load-host={target}", "--load-json=result.json", "--load-rate=20/s",
                                           "--load-run-time=2s", "--load-threshold=iteration_rate >= 15 for 2s",
                                           timeout=SESSION_TIMEOUT)
    document = json.loads((pytester.path / "result.json").read_text())
    assert result.ret == 0, result.stdout.str()
    assert document["open_model"]["iteration_rate"] >= 15, document["open_model"]
    assert document["run"]["duration"] < 2.9, document["run"]  # the run's 2 s (and its stop), not the warm-up
