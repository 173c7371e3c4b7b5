"""Defects found by probing the landed fixes of issue #18 as a hostile user would (local and web UI modes).

Each test is a real pytest session in a subprocess against the real target on 127.0.0.1.
"""

from __future__ import annotations

import requests

from plugin_helpers import SHOP_MODULE
from test_web_ui import END_TIMEOUT, URL_CONFTEST, judged, sessions  # noqa: F401 - sessions is a fixture


def test_the_report_names_the_load_the_form_started_not_the_options(pytester, target, sessions):
    """--load-web-wait with --load-users=2, the form starts 3 users for 2 s: the report's run says 3 users
    and 2 s (the run judged), not the command line's 2 users and 20 s."""
    pytester.makeconftest(URL_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    session = sessions(pytester.path, ["--load-web-wait", "--load-web-port=0", f"--load-host={target}",
                                       "--load-users=2", "--load-spawn-rate=20", "--load-run-time=20s",
                                       "--load-json=report.json"])
    url = session.url()
    started = requests.post(f"{url}/swarm", data={"user_count": "3", "spawn_rate": "30", "run_time": "2s"},
                            timeout=5).json()
    assert started["success"] is True, started
    out = session.finish(timeout=END_TIMEOUT)
    assert session.process.returncode == 0, out
    run = judged(pytester.path)
    assert run["status"] == "passed", run
    assert (run["users"], run["spawn_rate"], run["run_time"]) == (3, 30, 2), run


def test_a_report_path_with_a_tilde_in_the_ini_goes_to_the_home_directory(pytester, target, monkeypatch):
    """``load_json = ~/reports/run.json`` in pytest.ini (no shell to expand it): written under $HOME, as
    pytest's own --junitxml does, not into a directory literally named '~' beside the tests."""
    home = pytester.path / "home"
    (home / "reports").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    pytester.makeini("[pytest]\nload_json = ~/reports/run.json\nload_csv = ~/reports/run\n")
    pytester.makepyfile(test_shop=SHOP_MODULE)
    result = pytester.runpytest_subprocess(f"--load-host={target}", "--load-users=1", "--load-run-time=1s")
    assert result.ret == 0, result.stdout.str()
    assert (home / "reports" / "run.json").is_file() and (home / "reports" / "run_stats.csv").is_file()
    assert not (pytester.path / "~").exists()


HANGING_MODULE = '''
from pytest_loadhooks import FastHttpUser, HttpUser, task, constant

class Waiter(HttpUser):
    wait_time = constant(0.1)

    @task
    def hangs(self):
        self.client.get("/slow?ms=10000")

class FastWaiter(FastHttpUser):
    wait_time = constant(0.1)

    @task
    def hangs(self):
        self.client.get("/slow?ms=10000")
'''


def test_a_target_that_never_answers_fails_the_run(pytester, target):
    """Every request the users sent was still waiting for its answer when the run ended: nothing was
    recorded (as in Locust), but a CI gate green on a target that hangs tests nothing."""
    pytester.makepyfile(test_hang=HANGING_MODULE)
    result = pytester.runpytest_subprocess(f"--load-host={target}", "--load-users=2", "--load-spawn-rate=20",
                                           "--load-run-time=1s", "--load-json=report.json")
    out = result.stdout.str()
    assert result.ret == 1, out
    run = __import__("json").loads((pytester.path / "report.json").read_text())["run"]
    assert run["status"] == "failed", run
    assert run["run_failures"] == ["no request was answered: 2 were still waiting when the run ended"], run
    assert "FAILED - 0 requests" in out and "no request was answered: 2 were still waiting" in out


def test_a_run_of_users_that_send_nothing_still_passes(pytester):
    """The other side of the rule: a plain User that makes no request is legitimate (no host needed)."""
    pytester.makepyfile(test_plain='''
from pytest_loadhooks import User, task, constant

class Quiet(User):
    wait_time = constant(0.1)

    @task
    def think(self):
        pass
''')
    result = pytester.runpytest_subprocess("--load-users=2", "--load-run-time=1s")
    assert result.ret == 0, result.stdout.str()


def test_a_run_time_of_zero_is_not_failed_for_the_request_it_cut_off(pytester, target):
    """A run time of 0 ends the run as it starts: the request it cut off is no sign of a hanging target."""
    pytester.makepyfile(test_hang=HANGING_MODULE)
    result = pytester.runpytest_subprocess(f"--load-host={target}", "--load-users=2", "--load-spawn-rate=20",
                                           "--load-run-time=0")
    assert result.ret == 0, result.stdout.str()
    assert "no request was answered" not in result.stdout.str()


STUBBORN_MODULE = '''
import gevent
from gevent import GreenletExit
from pytest_loadhooks import HttpUser, constant, task

class Keeper(HttpUser):
    wait_time = constant(0.1)

    def on_start(self):
        def stubborn():  # swallows the kill at the run's end: it outlives the run, sending nothing
            while True:
                try:
                    gevent.sleep(0.05)
                except GreenletExit:
                    pass
        gevent.spawn(stubborn)

    @task
    def page(self):
        self.client.get("/page")
'''


def test_the_wait_for_a_greenlet_that_will_not_die_is_not_part_of_the_run(pytester, target):
    """A greenlet a user started that swallows GreenletExit holds the stop for the whole kill wait (the stop
    timeout, 6 s here): the run's duration (and every rate over it) is its traffic's ~2 s, not ~8 s.
    (The bound leaves seconds of slack on a loaded machine: it tells 2 from 8, it times nothing.)"""
    pytester.makepyfile(test_keep=STUBBORN_MODULE)
    result = pytester.runpytest_subprocess(f"--load-host={target}", "--load-users=1", "--load-run-time=2s",
                                           "--load-stop-timeout=6", "--load-json=report.json")
    out = result.stdout.str()
    assert result.ret == 0, out
    assert "did not end when killed" in out
    run = __import__("json").loads((pytester.path / "report.json").read_text())["run"]
    assert 2.0 <= run["duration"] < 5.0, run


def test_a_baseline_that_is_a_fifo_is_named_for_what_it_is(pytester, target):
    """--load-compare names a FIFO (a device, a socket...): it exists, so 'no such file' would send the user
    looking for a typo; the line says it is not a regular file (and the session never blocks reading it)."""
    import os

    os.mkfifo(pytester.path / "old.json")
    pytester.makepyfile(test_shop=SHOP_MODULE)
    result = pytester.runpytest_subprocess(f"--load-host={target}", "--load-users=1", "--load-run-time=1s",
                                           "--load-compare=old.json", timeout=60)
    assert result.ret == 4, result.stdout.str()
    lines = [line for line in result.stderr.lines + result.stdout.lines if "old.json" in line]
    assert any("is not a regular file" in line for line in lines), lines
    assert not any("no such file" in line for line in lines), lines
