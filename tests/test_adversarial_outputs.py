"""What the outputs say under adversarial use: a listener failing on every request, rates that
must read the same everywhere, the live line mid-run, credentials in the host URL.

Engine cases run real users in this process against the target server; plugin cases run real
pytest sessions in subprocesses (``pytester``).
"""

from __future__ import annotations

import csv
import json
import re
import time
import types

import gevent

from engine_support import make_env, restore_global_events  # noqa: F401
from plugin_helpers import load_args
from pytest_loadhooks import Environment, Events, HttpUser, User, constant, events, task
from pytest_loadhooks.event import MAX_MESSAGES_PER_LISTENER
from pytest_loadhooks.plugin.terminal import status_line
from pytest_loadhooks.stats import per_second

# -- listener errors: counted per (event, listener, error), one traceback each ----------------------------


class PageUser(HttpUser):
    abstract = True  # run by the tests here, not collected as this module's load scenario
    wait_time = constant(0.01)

    @task
    def page(self):
        self.client.get("/page")


class ReportingUser(User):
    """Reports requests through the ``request`` event, as a custom client does: fast, no network."""

    abstract = True
    wait_time = constant(0.001)

    @task
    def report(self):
        self.environment.events.request.fire(
            request_type="GET", name="/fake", response_time=1.0, response_length=0, response=None,
            context={}, exception=None, start_time=time.time(), url=None)


def test_a_listener_failing_on_every_request_is_one_record_with_its_count(target):
    env = make_env(PageUser, host=target)

    @env.events.request.add_listener
    def always_fails(**kwargs):
        raise RuntimeError("listener is broken")

    runner = env.create_local_runner()
    runner.start(3, 50)
    gevent.sleep(1.0)
    runner.quit()

    (record,) = env.listener_errors
    assert record.count == env.stats.total.num_requests > 20
    assert (record.event, record.error) == ("request", "RuntimeError: listener is broken")
    assert "always_fails" in record.listener
    assert record.traceback.count("Traceback (most recent call last)") == 1
    assert env.events.listener_errors.total() == record.count
    assert runner.exit_code == 2  # still errors the run


def test_distinct_messages_of_one_listener_stop_making_records_past_a_bound():
    env = make_env(ReportingUser)
    seen = []

    @env.events.request.add_listener
    def quotes_each_request(**kwargs):
        seen.append(1)
        raise ValueError(f"request number {len(seen)}")  # a new message every time

    runner = env.create_local_runner()
    runner.start(2, 50)
    gevent.sleep(0.5)
    runner.quit()

    records = env.listener_errors
    assert len(seen) > 3 * MAX_MESSAGES_PER_LISTENER  # far more failures than records
    assert len(records) == MAX_MESSAGES_PER_LISTENER + 1
    assert sum(r.count for r in records) == len(seen)
    assert "counted together" in records[-1].error and records[-1].count == len(seen) - MAX_MESSAGES_PER_LISTENER


def test_a_later_environment_sees_its_own_failures_of_a_listener_that_failed_before(restore_global_events):
    def broken(**kwargs):
        raise ValueError("always")

    events.reset_stats.add_listener(broken)
    first = Environment(user_classes=[ReportingUser])
    first.events.reset_stats.fire()
    first.events.reset_stats.fire()
    second = Environment(user_classes=[ReportingUser])
    assert second.listener_errors == []
    second.events.reset_stats.fire()  # the same failure: it must not vanish into the first's record

    assert [r.count for r in first.listener_errors[:1]] == [2]
    (own,) = second.listener_errors
    assert (own.event, own.error, own.count) == ("reset_stats", "ValueError: always", 1)
    first.close()
    second.close()


def test_a_plain_list_handed_to_events_keeps_a_record_per_failure():
    errors: list = []
    own = Events(listener_errors=errors)
    own.reset_stats.add_listener(lambda **kwargs: 1 / 0)
    own.reset_stats.fire()
    own.reset_stats.fire()
    assert [e.count for e in errors] == [1, 1]


FAILING_LISTENER_CONFTEST = '''
from pytest_loadhooks import events

@events.request.add_listener
def always_fails(**kwargs):
    raise RuntimeError("listener is broken")
'''

FAST_MODULE = '''
from pytest_loadhooks import HttpUser, task, constant

class Quick(HttpUser):
    wait_time = constant(0.005)

    @task
    def page(self):
        self.client.get("/page")
'''


def test_the_json_holds_one_grouped_record_and_stays_small(pytester, target):
    pytester.makeconftest(FAILING_LISTENER_CONFTEST)
    pytester.makepyfile(test_quick=FAST_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target, "--load-json=out.json", run_time="2s"))

    data = json.loads((pytester.path / "out.json").read_text(encoding="utf-8"))
    requests = data["total"]["num_requests"]
    (record,) = data["listener_errors"]
    assert record["count"] == requests > 100
    assert record["error"] == "RuntimeError: listener is broken"
    assert record["traceback"].count("Traceback (most recent call last)") == 1
    # One traceback, not one per request: a 2 s run's whole document stays a few tens of kilobytes.
    assert (pytester.path / "out.json").stat().st_size < 60_000
    assert data["run"]["status"] == "errored"
    assert result.ret == 1
    result.stdout.fnmatch_lines([f"*ERROR listener always_fails of event 'request' raised "
                                 f"RuntimeError: listener is broken ({requests} times)*"])


# -- one definition of each rate ------------------------------------------------------------------------------

RAMP_MODULE = '''
from pytest_loadhooks import HttpUser, task, constant

class Shopper(HttpUser):
    wait_time = constant(0.02)

    def on_start(self):
        for _ in range(5):
            self.client.get("/page", name="/login")  # hit only while users start

    @task
    def cart(self):
        self.client.get("/cart")
'''


def terminal_rps(stdout: str, name: str) -> float:
    (line,) = [line for line in stdout.splitlines() if re.match(rf"^(GET)?\s+{re.escape(name)}\s", line)]
    return float(line.split()[-1])


def test_each_rate_reads_the_same_in_the_terminal_the_csv_and_the_json(pytester, target):
    pytester.makepyfile(test_ramp=RAMP_MODULE)
    result = pytester.runpytest_subprocess(
        *load_args(target, "--load-json=out.json", "--load-csv=out/run", "--load-spawn-rate=2", users=2,
                   run_time="2s"))
    assert result.ret == 0, result.stdout.str()
    data = json.loads((pytester.path / "out.json").read_text(encoding="utf-8"))
    duration = data["run"]["duration"]
    with open(pytester.path / "out" / "run_stats.csv", newline="", encoding="utf-8") as handle:
        csv_rows = {row["Name"]: row for row in csv.DictReader(handle)}
    stdout = result.stdout.str()

    entries = {e["name"]: e for e in data["stats"]}
    entries["Aggregated"] = data["total"]
    for name in ("/login", "/cart", "Aggregated"):
        entry = entries[name]
        # The run's duration is every rate's denominator, for an endpoint hit only during ramp-up too.
        assert entry["total_rps"] == per_second(entry["num_requests"], duration)
        assert float(csv_rows[name]["Requests/s"]) == entry["total_rps"]
        assert terminal_rps(stdout, name) == round(entry["total_rps"], 1)
    login = entries["/login"]
    assert login["num_requests"] == 10
    assert login["total_rps"] == 10 / duration < 10  # not 10 requests over the moment they took


# -- the live line mid-run ------------------------------------------------------------------------------------


class SteadyUser(HttpUser):
    abstract = True
    wait_time = constant(0.5)

    @task
    def page(self):
        self.client.get("/page")


def live_figures(line: str) -> dict[str, float]:
    return {name: float(value) for name, value in re.findall(r"(rps|p50|p95)\s+([\d.]+)", line)}


def test_the_live_line_shows_the_windows_percentiles_and_rate_mid_run(target):
    env = make_env(SteadyUser, host=target)
    runner = env.create_local_runner()
    run = types.SimpleNamespace(environment=env, settings=types.SimpleNamespace(effective_run_time=10.0),
                                live_judge=None)
    runner.start(3, 50)
    try:
        # Just after the first history sample: the moment the window used to be empty (p50 0.0 ms).
        deadline = time.monotonic() + 10
        while not env.stats.history and time.monotonic() < deadline:
            gevent.sleep(0.005)
        line = status_line(run, elapsed=1.0, with_bar=True)
        assert env.stats.total.num_requests > 0
        figures = live_figures(line)
        assert 0 < figures["p50"] <= figures["p95"], line
        assert figures["rps"] > 0, line  # the run's first, partial second is spread over its share
    finally:
        runner.quit()


# -- credentials in the host URL ------------------------------------------------------------------------------

QUOTING_MODULE = '''
from pytest_loadhooks import HttpUser, task, constant

class Quoting(HttpUser):
    wait_time = constant(0.05)

    @task
    def page(self):
        self.client.get("/page")

    @task
    def quotes_the_host(self):
        # A request named by its full URL, and an error that quotes the host: both reach the summary.
        self.client.get(self.host + "/status/500", name=self.host + "/status/500")
        raise ValueError(f"cannot use {self.host}")
'''


def test_credentials_in_the_host_url_appear_nowhere_in_the_terminal(pytester, target):
    pytester.makepyfile(test_quoting=QUOTING_MODULE)
    host = target.replace("http://", "http://user:SECRET@")
    result = pytester.runpytest_subprocess(*load_args(host, "--load-live-interval=0.3", run_time="1s"))

    output = result.stdout.str() + result.stderr.str()
    assert "SECRET" not in output
    # What was masked is still there to read: the table row, the failure and the user error.
    assert re.search(r"GET\s+http://user:\*\*\*@127\.0\.0\.1:\d+/status/500\s", output), output
    assert "cannot use http://user:***@127.0.0.1" in output
    assert re.search(r"load 00:0\d / 00:01", output)  # the live lines were printed (and checked above)
