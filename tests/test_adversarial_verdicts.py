"""A verdict is PASSED only when the run really ran to its end, and nothing is lost when it does not.

Each case is a real pytest session in a subprocess against the real target app: a task that
never yields stopped by pytest-timeout, BaseExceptions raised in tasks, client-side failures,
SIGINT and SIGTERM sent to the process mid-run, a deselected run item, ``process_exit_code``.
"""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from plugin_helpers import FAILING_MODULE, RECORDING_CONFTEST, SHOP_MODULE, lifecycle, load_args

from pytest_loadhooks.report.data import load_schema

# Counts every request in requests.log, so a later test can see whether any user still sends.
COUNTING_CONFTEST = '''
import os
from pytest_loadhooks import events

LOG = os.path.join(os.path.dirname(__file__), "requests.log")

@events.request.add_listener
def _count(name, **kw):
    with open(LOG, "a") as handle:
        handle.write(name + "\\n")
'''

# A test that runs after the load run and fails if any request is made while it runs.
QUIET_AFTERWARDS = '''

def test_no_user_left_running():
    import os, time
    log = os.path.join(os.path.dirname(__file__), "requests.log")
    before = open(log).read().count("\\n")
    time.sleep(0.5)
    assert open(log).read().count("\\n") == before, "users of the ended run are still sending requests"
'''


def requests_logged(directory: Path) -> int:
    return (directory / "requests.log").read_text().count("\n")


# --------------------------------------------------------------------------- 1. pytest-timeout
def test_a_task_that_never_yields_stopped_by_pytest_timeout_errors_the_run_and_stops_its_users(pytester, target):
    pytester.makeconftest(COUNTING_CONFTEST)
    pytester.makepyfile(test_spin='''
from pytest_loadhooks import HttpUser, task, constant

class Spinner(HttpUser):
    wait_time = constant(0.02)
    sent = 0

    @task
    def spin(self):
        self.client.get("/page")
        self.sent += 1
        if self.sent >= 3:
            while True:  # never yields: only a signal gets the run out of here
                pass
''' + QUIET_AFTERWARDS)
    result = pytester.runpytest_subprocess(
        *load_args(target, "--timeout=3", "--load-json=out.json", "-v", users=2, run_time="60s"))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines([
        "*test_spin.py::load_run FAILED*",
        "*test_spin.py::test_no_user_left_running PASSED*",
        "*test_spin.py::load_run: ERRORED - *",
        "*run aborted: user Spinner raised Failed: Timeout (>3.0s) from pytest-timeout.*",
        "FAILED test_spin.py::load_run - Failed: Timeout (>3.0s) from pytest-timeout.",
    ])
    document = json.loads((pytester.path / "out.json").read_text())
    assert document["run"]["status"] == "errored"
    assert document["total"]["num_requests"] == requests_logged(pytester.path) > 0


# --------------------------------------------------------------------------- 2. BaseException in a task
@pytest.mark.parametrize(("raised", "shown"), [
    ("SystemExit(3)", "SystemExit: 3"),
    ("KeyboardInterrupt('raised by the task')", "KeyboardInterrupt: raised by the task"),
    ("Custom('not an Exception')", "Custom: not an Exception"),
])
def test_a_base_exception_in_a_task_ends_the_run_errored_and_says_why(pytester, target, raised, shown):
    pytester.makeconftest(COUNTING_CONFTEST)
    pytester.makepyfile(test_quit=f'''
from pytest_loadhooks import HttpUser, task, constant

class Custom(BaseException):
    pass

class Quitter(HttpUser):
    wait_time = constant(0.02)
    sent = 0

    @task
    def page(self):
        self.client.get("/page")
        self.sent += 1
        if self.sent == 3:
            raise {raised}

def test_reads(load_result):
    assert load_result.exceptions and "{shown.split(":")[0]}" in load_result.exceptions[0]["msg"]
''' + QUIET_AFTERWARDS)
    result = pytester.runpytest_subprocess(*load_args(target, "--load-json=out.json", "-v", users=2, run_time="30s"))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1, passed=2)
    result.stdout.fnmatch_lines([
        "*test_quit.py::test_reads PASSED*",
        "*test_quit.py::load_run FAILED*",
        f"*run aborted: user Quitter raised {shown}*",
        "*test_quit.py::load_run: ERRORED - *",
    ])
    result.stdout.no_fnmatch_line("*interrupted*")
    document = json.loads((pytester.path / "out.json").read_text())
    assert document["run"]["status"] == "errored" and document["run"]["exit_code"] == 2
    assert document["run"]["duration"] < 30  # ended by the exception, not by the run time


def test_gevent_timeout_escaping_a_task_is_that_task_failure_and_the_user_goes_on(pytester, target):
    pytester.makepyfile(test_timeout='''
import gevent
from pytest_loadhooks import HttpUser, task, constant

class Hurried(HttpUser):
    wait_time = constant(0.05)

    @task
    def page(self):
        self.client.get("/page")
        with gevent.Timeout(0.001):
            gevent.sleep(0.01)

def test_reads(load_result):
    assert load_result.exceptions[0]["count"] >= 2  # the same user raised again: it went on
    assert "Timeout" in load_result.exceptions[0]["msg"]
''')
    result = pytester.runpytest_subprocess(*load_args(target, "-v", users=1))
    result.assert_outcomes(passed=2)


# --------------------------------------------------------------------------- 3. client-side failures
@pytest.mark.parametrize("user_class", ["HttpUser", "FastHttpUser"])
@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/page", "http://[::1/page"])
def test_a_request_the_client_itself_refuses_is_recorded_as_a_failure(pytester, target, user_class, url):
    pytester.makepyfile(test_client=f'''
from pytest_loadhooks import HttpUser, task, constant
from pytest_loadhooks.contrib.fasthttp import FastHttpUser

class Broken({user_class}):
    wait_time = constant(0.05)

    @task
    def page(self):
        self.client.get("{url}")
''')
    result = pytester.runpytest_subprocess(
        *load_args(target, "--load-threshold", "failures == 0", "--load-json=out.json", "-v", users=1))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*test_client.py::load_run FAILED*", "*threshold 'failures == 0' failed*"])
    result.stdout.no_fnmatch_line("*user errors*")  # recorded as failures, not raised out of the task
    document = json.loads((pytester.path / "out.json").read_text())
    assert document["total"]["num_requests"] == document["total"]["num_failures"] > 0
    assert document["run"]["status"] == "failed"


def test_a_user_that_fires_no_request_events_still_passes(pytester):
    pytester.makepyfile(test_quiet='''
from pytest_loadhooks import User, task, constant

class Thinker(User):
    wait_time = constant(0.05)

    @task
    def think(self):
        pass
''')
    result = pytester.runpytest_subprocess("--load-users=1", "--load-run-time=1s", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1)


# --------------------------------------------------------------------------- 4. SIGINT and SIGTERM
INTERRUPTIBLE_CONFTEST = RECORDING_CONFTEST + '''

@events.request.add_listener
def _started(**kw):
    open(os.path.join(os.path.dirname(__file__), "started"), "w").close()

@events.test_stopping.add_listener
def _stopping_file(**kw):
    open(os.path.join(os.path.dirname(__file__), "stopping"), "w").close()
'''


def start_session(directory: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=directory,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_file(path: Path, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_run_stops_it_fires_the_stop_events_writes_every_output_and_exits_interrupted(
        pytester, target, signum):
    pytester.makeconftest(INTERRUPTIBLE_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE + "\n\ndef test_later():\n    pass\n")
    process = start_session(pytester.path, *load_args(
        target, "--load-json=out/run.json", "--load-html=out/run.html", "--load-csv=out/run", "--load-stop-timeout=5",
        run_time="60s"))
    wait_for_file(pytester.path / "started", process)
    time.sleep(0.5)  # some traffic to keep
    process.send_signal(signum)
    output = process.communicate(timeout=60)[0]

    assert process.returncode == pytest.ExitCode.INTERRUPTED, output
    name = signum.name
    assert f"KeyboardInterrupt: load run test_shop.py::load_run interrupted by {name}" in output
    assert "load test results" in output and "test_shop.py::load_run: INTERRUPTED - " in output
    assert "Aggregated" in output  # the partial table
    assert "Traceback" not in output
    events = lifecycle(pytester.path)
    assert events[-4:] == ["test_stopping", "test_stop", "quitting", "quit"], events
    assert [e["exit_code"] for e in map(json.loads, (pytester.path / "events.jsonl").read_text().splitlines())
            if e["event"] == "quit"] == [2]

    document = json.loads((pytester.path / "out" / "run.json").read_text())
    jsonschema.Draft202012Validator(load_schema()).validate(document)
    assert document["run"]["status"] == "interrupted"
    measured = document["total"]["num_requests"]
    assert measured > 0 and document["run"]["duration"] < 60
    with open(pytester.path / "out" / "run_stats.csv", newline="") as handle:
        aggregated = [row for row in csv.DictReader(handle) if row["Name"] == "Aggregated"]
    assert int(aggregated[0]["Request Count"]) == measured
    assert (pytester.path / "out" / "run_stats_history.csv").read_text().count("\n") >= 2
    html = (pytester.path / "out" / "run.html").read_text()
    assert 'data-status="interrupted"' in html


def test_a_second_ctrl_c_exits_at_once(pytester, target):
    pytester.makeconftest(INTERRUPTIBLE_CONFTEST)
    pytester.makepyfile(test_hang='''
from pytest_loadhooks import HttpUser, task, constant

class Patient(HttpUser):
    wait_time = constant(0)

    @task
    def hang(self):
        self.client.get("/page")
        self.client.get("/hang?s=600")  # the users are mid-request when the run stops
''')
    # A stop timeout of ten minutes: only the second Ctrl-C can end this within the wait below.
    process = start_session(pytester.path, *load_args(target, "--load-stop-timeout=600", run_time="600s"))
    wait_for_file(pytester.path / "started", process)
    process.send_signal(signal.SIGINT)
    wait_for_file(pytester.path / "stopping", process)
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=120)[0]
    assert process.returncode == pytest.ExitCode.INTERRUPTED, output
    assert "SIGINT again while the load run was stopping: exiting at once" in output
    assert "test_hang.py::load_run: INTERRUPTED - " in output
    assert "test_stop" not in lifecycle(pytester.path)  # nobody waited for the users to finish


# --------------------------------------------------------------------------- 5. the session's exit status
def test_a_failed_run_fails_the_session_even_when_its_item_is_deselected(pytester, target):
    pytester.makepyfile(test_unlucky=FAILING_MODULE + '''

def test_reads(load_result):
    assert load_result.num_requests > 0
''')
    result = pytester.runpytest_subprocess(*load_args(target, "--load-threshold", "fail_ratio < 1%", "-k", "test_reads"))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines([
        "pytest-loadhooks: test_unlucky.py::load_run FAILED, and its item did not run (deselected?): "
        "the session fails",
    ])


def test_a_passing_run_with_its_item_deselected_leaves_the_session_green(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE + "\n\ndef test_reads(load_result):\n    pass\n")
    result = pytester.runpytest_subprocess(*load_args(target, "-k", "test_reads"))
    assert result.ret == pytest.ExitCode.OK
    result.stdout.no_fnmatch_line("*the session fails*")


def test_process_exit_code_set_by_a_quitting_listener_is_the_session_exit_status(pytester, target):
    pytester.makeconftest('''
from pytest_loadhooks import events

@events.quitting.add_listener
def _judge(environment, **kw):
    if environment.stats.total.num_requests > 0:
        environment.process_exit_code = 3
''')
    pytester.makepyfile(test_shop=SHOP_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target))
    assert result.ret == 3
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        "pytest-loadhooks: environment.process_exit_code = 3 (set by a listener): the session exits 3",
    ])


# --------------------------------------------------------------------------- 6. smaller
def test_junit_time_of_a_run_started_by_a_test_is_the_run_duration(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE + "\n\ndef test_reads(load_result):\n    pass\n")
    result = pytester.runpytest_subprocess(*load_args(target, "--junitxml=junit.xml"))
    result.assert_outcomes(passed=2)
    case = ET.parse(pytester.path / "junit.xml").getroot().find(".//testcase[@name='load_run']")
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert float(case.get("time")) >= float(properties["duration_s"]) > 0


ON_STOP_MODULE = '''
import os
import gevent
from pytest_loadhooks import HttpUser, task, constant

HERE = os.path.dirname(__file__)

class Tidy(HttpUser):
    wait_time = constant(0.05)

    @task
    def page(self):
        self.client.get("/page")

    def on_stop(self):
        gevent.sleep(2)
        open(os.path.join(HERE, "on_stop_done"), "w").close()
'''


@pytest.mark.parametrize(("stop_timeout", "finished"), [("0", False), ("6", True)])
def test_on_stop_gets_the_stop_timeout_after_the_kill_not_a_fixed_wait(pytester, target, stop_timeout, finished):
    pytester.makepyfile(test_tidy=ON_STOP_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target, f"--load-stop-timeout={stop_timeout}", users=1))
    result.assert_outcomes(passed=1)
    assert (pytester.path / "on_stop_done").exists() is finished


def test_the_gc_freeze_of_a_load_session_is_undone_when_it_ends(pytester, target):
    pytester.makeconftest('''
import atexit, gc, os

@atexit.register
def _frozen():
    with open(os.path.join(os.path.dirname(__file__), "frozen"), "w") as handle:
        handle.write(str(gc.get_freeze_count()))
''')
    pytester.makepyfile(test_shop=SHOP_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target))
    result.assert_outcomes(passed=1)
    assert (pytester.path / "frozen").read_text() == "0"


def test_users_that_only_raise_and_send_nothing_do_not_pass(pytester, target):
    # Every user dies in on_start: nothing reached the target, so nothing was tested.
    pytester.makepyfile(test_dying='''
        from pytest_loadhooks import HttpUser, task, constant

        class Dying(HttpUser):
            wait_time = constant(0.05)

            def on_start(self):
                raise RuntimeError("login service down")

            @task
            def page(self):
                self.client.get("/page")
        ''')
    result = pytester.runpytest_subprocess(f"--load-host={target}", "--load-users=2", "--load-run-time=1s",
                                           "--load-fail-ratio=0", "-p", "no:cacheprovider", "--load-json=out.json")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*no request was made, and users raised RuntimeError('login service down')*"])
    assert json.loads((pytester.path / "out.json").read_text())["run"]["status"] == "errored"


def test_a_user_class_that_sends_no_requests_and_raises_nothing_still_passes(pytester):
    pytester.makepyfile(test_quiet='''
        from pytest_loadhooks import User, task, constant

        class Quiet(User):
            wait_time = constant(0.05)

            @task
            def think(self):
                pass
        ''')
    result = pytester.runpytest_subprocess("--load-users=2", "--load-run-time=1s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


# -- a run whose every request failed -----------------------------------------------------------------------------

def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_run_whose_every_request_failed_fails_without_any_threshold(pytester):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    dead = f"http://127.0.0.1:{_closed_port()}"
    report = pytester.path / "r.json"
    result = pytester.runpytest_subprocess(*load_args(dead, f"--load-json={report}", f"--junitxml={pytester.path / 'j.xml'}"))
    result.assert_outcomes(failed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*load_run*every request failed: * of *"])
    document = json.loads(report.read_text())
    jsonschema.validate(document, load_schema())
    failed, made = document["total"]["num_failures"], document["total"]["num_requests"]
    assert made > 0 and failed == made
    assert document["run"]["status"] == "failed"
    assert document["run"]["run_failures"] == [f"every request failed: {failed} of {made}"]
    junit = ET.parse(pytester.path / "j.xml").getroot()
    assert "every request failed" in junit.find(".//testcase[@name='load_run']/failure").get("message")


def test_a_run_with_some_failures_and_no_threshold_still_passes(pytester, target):
    pytester.makepyfile(test_unlucky=FAILING_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target))
    result.assert_outcomes(passed=1)
    assert "every request failed" not in result.stdout.str()
