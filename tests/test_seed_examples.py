"""The seed documents' examples, run against the real target with ``locust`` replaced
by ``pytest_loadhooks`` (the files are in examples/seeds/, each saying what seed it
comes from and what, if anything, had to differ).

Each example registers listeners on the global ``events`` when loaded, as a
locustfile does; the ``restore_global_events`` fixture removes them afterwards.
Examples that need the pytest layer, the web UI or workers (web routes, custom
command-line arguments, authentication) are tested with those layers.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import time
from pathlib import Path

import gevent
import pytest
from gevent.pywsgi import WSGIServer

from engine_support import restore_global_events, run_until  # noqa: F401
from pytest_loadhooks import Environment, HttpUser, constant, task

SEEDS = Path(__file__).resolve().parent.parent / "examples" / "seeds"


def load_seed(name: str):
    """Import examples/seeds/<name>.py as a fresh module (its listeners join the global events)."""
    spec = importlib.util.spec_from_file_location(f"seed_example_{name}", SEEDS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_seed(user_class: type, host: str, users: int, spawn_rate: float, run_time: float, until=None):
    """A run as the pytest layer makes one: Environment on the global events, runner, init, run.

    With ``until``, the run lasts at least ``run_time`` and until ``until(env)`` holds.
    """
    env = Environment(user_classes=[user_class], host=host)
    runner = env.create_local_runner()
    env.fire_init()
    started = time.monotonic()
    if until is None:
        exit_code = runner.run(users, spawn_rate, run_time)
    else:
        exit_code = run_until(env, users, spawn_rate, lambda: until(env), min_time=run_time)
    elapsed = time.monotonic() - started
    env.close()
    return env, runner, exit_code, elapsed


# -- seed 000 / 001: old-style request_success listeners --------------------------------------------------

def test_seed000_request_success_listener(target, capsys, restore_global_events):
    with pytest.warns(DeprecationWarning, match="request_success"):
        seed = load_seed("seed000_request_success")
    env, runner, exit_code, _ = run_seed(seed.WebsiteUser, target, 2, 20, 0.3, until=lambda env: env.stats.num_requests)
    out = capsys.readouterr().out
    assert exit_code == 0 and env.listener_errors == []
    lines = [line for line in out.splitlines() if line.startswith("Successfully made a request to: ")]
    assert lines and set(lines) == {"Successfully made a request to: /"}
    assert len(lines) == env.stats.total.num_requests


def test_seed001_request_success_plus_equals(target, capsys, restore_global_events):
    with pytest.warns(DeprecationWarning):
        seed = load_seed("seed001_request_success_plus_equals")
    assert seed.my_success_handler in restore_global_events.request_success.listeners
    env, runner, exit_code, _ = run_seed(seed.WebsiteUser, target, 2, 20, 0.3, until=lambda env: env.stats.num_requests)
    out = capsys.readouterr().out
    assert exit_code == 0 and env.listener_errors == []
    lines = [line for line in out.splitlines() if line.startswith("Successfully fetched: ")]
    assert lines and set(lines) == {"Successfully fetched: /page"}
    assert len(lines) == env.stats.total.num_requests


# -- seed 003: request listener with every argument, test_start / test_stop ---------------------------------------

def test_seed003_request_listener_with_all_arguments(target, capsys, restore_global_events):
    seed = load_seed("seed003_request_listener")
    env, runner, exit_code, _ = run_seed(seed.WebsiteUser, target, 1, 10, 0.3,
                                         until=lambda env: env.stats.num_failures >= 1)
    out = capsys.readouterr().out.splitlines()
    assert exit_code == 0 and env.listener_errors == []
    assert out[0] == "Beginning test setup" and out[-1] == "Cleaning up test data"
    successes = [line for line in out if line == "Successfully made a request to: /"]
    assert successes and out.count("The response was hello") == len(successes)
    failures = [line for line in out if line.startswith("Request to /status/500 failed with exception ")]
    assert failures and "500" in failures[0]
    assert len(successes) + len(failures) == env.stats.total.num_requests


# -- seed 003: request context, three ways ------------------------------------------------------------------------

def test_seed003_context_from_the_request_method(target, capsys, restore_global_events):
    seed = load_seed("seed003_context_from_request")
    env, runner, exit_code, _ = run_seed(seed.MyUser, target, 1, 10, 0.3,
                                         until=lambda env: env.stats.get("/other_request", "GET").num_requests)
    out = capsys.readouterr().out.splitlines()
    assert exit_code == 0 and env.listener_errors == []
    other = env.stats.get("/other_request", "GET").num_requests
    assert other > 0 and env.stats.get("/login", "POST").num_requests >= other
    assert out.count("foo") == other  # only the call with context= printed


def test_seed003_context_from_the_user(target, capsys, restore_global_events):
    seed = load_seed("seed003_context_from_user")
    env, runner, exit_code, _ = run_seed(seed.MyUser, target, 1, 10, 0.3, until=lambda env: env.stats.num_requests)
    out = capsys.readouterr().out.splitlines()
    assert exit_code == 0 and env.listener_errors == []
    assert env.stats.total.num_requests > 0
    assert out.count("foo") == env.stats.total.num_requests  # every request carried the user's context


def test_seed003_context_from_the_response(target, capsys, restore_global_events):
    seed = load_seed("seed003_context_from_response")
    env, runner, exit_code, _ = run_seed(seed.MyUser, target, 1, 10, 0.3,
                                         until=lambda env: env.stats.num_requests >= 2)
    out = capsys.readouterr().out.splitlines()
    assert exit_code == 0 and env.listener_errors == []
    ids = [int(m.group(1)) for line in out if (m := re.fullmatch(r"requestId (\d+)", line))]
    assert len(ids) == env.stats.total.num_requests > 0
    assert ids == sorted(ids) and len(set(ids)) == len(ids)  # the target's own counter, read from each response


# -- seeds 000 / 003: a background greenlet that quits when the fail ratio exceeds 0.2 -----------------------------

@pytest.mark.parametrize("seed_name", ["seed000_background_greenlet", "seed003_background_greenlet"])
def test_background_greenlet_quits_the_run_on_a_high_fail_ratio(seed_name, target, capsys, restore_global_events):
    seed = load_seed(seed_name)
    env, runner, exit_code, elapsed = run_seed(seed.FailingUser, target, 2, 20, 10)
    out = capsys.readouterr().out
    assert exit_code == 0 and env.listener_errors == []
    assert elapsed < 4, "the checker should have quit the run after about a second, long before run_time"
    assert runner.state == "stopped"
    assert env.stats.total.fail_ratio > 0.2
    assert re.search(r"^fail ratio was (0\.\d+|1\.0), quitting$", out, re.MULTILINE)


def test_background_greenlet_leaves_a_healthy_run_alone(target, capsys, restore_global_events):
    seed = load_seed("seed003_background_greenlet")

    class Healthy(HttpUser):
        wait_time = constant(0.05)

        @task
        def page(self):
            self.client.get("/page")

    env, runner, exit_code, elapsed = run_seed(Healthy, target, 2, 20, 1.5)
    assert elapsed >= 1.4 and env.stats.total.fail_ratio == 0
    assert "quitting" not in capsys.readouterr().out


# -- seed 002: custom metrics collectors ---------------------------------------------------------------------------

def test_seed002_custom_metrics_json(target, tmp_path, monkeypatch, capsys, restore_global_events):
    monkeypatch.chdir(tmp_path)
    seed = load_seed("seed002_custom_metrics")
    env, runner, exit_code, _ = run_seed(seed.APIUser, target, 3, 30, 0.5,
                                         until=lambda env: env.stats.num_requests >= 3)
    out = capsys.readouterr().out
    assert exit_code == 0 and env.listener_errors == []
    saved = json.loads((tmp_path / "custom_metrics.json").read_text())
    assert saved["api_calls"] == env.stats.total.num_requests >= 3
    assert len(saved["response_times"]) == saved["api_calls"]
    assert saved["error_count"] == 0
    assert f"Total API calls: {saved['api_calls']}" in out
    assert "Error rate: 0.00%" in out


def test_seed002_detailed_stats_csv(target, tmp_path, monkeypatch, capsys, restore_global_events):
    monkeypatch.chdir(tmp_path)
    seed = load_seed("seed002_detailed_stats")
    env, runner, exit_code, _ = run_seed(seed.AnalyticsUser, target, 3, 30, 0.5,
                                         until=lambda env: env.stats.num_requests >= 3)
    out = capsys.readouterr().out
    assert exit_code == 0 and env.listener_errors == []
    with open(tmp_path / "detailed_stats.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Minute", "Request_Type", "Name", "Response_Time", "Length", "Success"]
    body = rows[1:]
    assert len(body) == env.stats.total.num_requests >= 3
    assert {row[2] for row in body} <= {"/page", "/api/data"}
    assert all(row[0] == "0" and row[1] == "GET" and row[5] == "True" for row in body)
    assert "--- Response Time Distribution ---" in out
    buckets = re.findall(r"^(<100ms|100-500ms|500ms-1s|1-5s|>5s): (\d+) requests$", out, re.MULTILINE)
    assert buckets and sum(int(n) for _, n in buckets) == len(body)


class WebhookReceiver:
    """A real HTTP server (gevent's WSGI server, in this process) that keeps what is posted to it."""

    def __init__(self):
        self.payloads = []
        self.server = WSGIServer(("127.0.0.1", 0), self.app, log=None)
        self.server.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhook"

    def app(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.payloads.append(json.loads(environ["wsgi.input"].read(length)))
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]


def test_seed002_external_reporter_posts_to_its_webhook(target, monkeypatch, capsys, restore_global_events):
    receiver = WebhookReceiver()
    try:
        monkeypatch.setenv("SEED_WEBHOOK_URL", receiver.url)
        seed = load_seed("seed002_external_reporter")
        env, runner, exit_code, _ = run_seed(seed.WebUser, target, 2, 20, 0.8, until=lambda env: env.stats.num_requests)
        gevent.sleep(0.1)
    finally:
        receiver.server.stop()
    assert exit_code == 0 and env.listener_errors == []
    assert "Webhook failed" not in capsys.readouterr().out
    events_sent = [p["event"] for p in receiver.payloads]
    assert events_sent == ["test_start", "test_complete"]
    start, complete = receiver.payloads
    assert start["users"] == 2
    assert complete["total_requests"] == seed.reporter.request_count == env.stats.total.num_requests
    assert sum(entry["num_requests"] for entry in complete["stats"]) == env.stats.total.num_requests
    assert 0.5 < complete["duration"] < 5


def test_seed002_external_reporter_survives_an_unreachable_webhook(target, refused_url, monkeypatch, capsys,
                                                                    restore_global_events):
    monkeypatch.setenv("SEED_WEBHOOK_URL", refused_url + "/webhook")
    seed = load_seed("seed002_external_reporter")
    env, runner, exit_code, _ = run_seed(seed.WebUser, target, 1, 10, 0.5)
    assert exit_code == 0 and env.listener_errors == []
    assert capsys.readouterr().out.count("Webhook failed: ") == 2  # test_start and test_complete


@pytest.mark.parametrize("test_env", ["development", "staging", "production"])
def test_seed002_environment_specific_handlers(test_env, target, monkeypatch, capsys, restore_global_events):
    monkeypatch.setenv("TEST_ENV", test_env)
    seed = load_seed("seed002_environment_handlers")
    env, runner, exit_code, _ = run_seed(seed.EnvironmentUser, target, 1, 10, 0.3,
                                         until=lambda env: env.stats.num_requests)
    out = capsys.readouterr().out
    assert exit_code == 0 and env.listener_errors == []
    assert env.stats.get("/api/environment", "GET").num_requests >= 1
    names = {getattr(h, "__name__", "") for h in restore_global_events.user_error.listeners}
    if test_env == "development":
        lines = [line for line in out.splitlines() if line.startswith("DEV REQUEST: {")]
        assert len(lines) == env.stats.total.num_requests
        assert "'name': '/api/environment'" in lines[0] and "'exception': None" in lines[0]
    elif test_env == "staging":
        assert "STAGING ALERT" not in out and "DEV REQUEST" not in out  # nothing failed or was slow
    else:
        assert "prod_error_handler" in names and out == ""
