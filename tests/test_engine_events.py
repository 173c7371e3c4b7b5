"""Event hooks: each event's firing moment and arguments, listener errors, old-style hooks.

Runs are real: users are greenlets in this process, requests go to the target
server on 127.0.0.1. ``quitting`` / ``quit`` are fired by the pytest layer and are
tested there.
"""

from __future__ import annotations

import logging
import time
import types
import warnings

import pytest

from engine_support import REQUEST_KWARGS, make_env, restore_global_events, run_until, wait_for  # noqa: F401
from pytest_loadhooks import (
    DeprecatedEventHook,
    Environment,
    EventHook,
    Events,
    HttpUser,
    User,
    constant,
    events,
    task,
)
from pytest_loadhooks.runners import (
    STATE_CLEANUP,
    STATE_RUNNING,
    STATE_STOPPED,
    STATE_STOPPING,
    LocalRunner,
)

DESIGN_EVENTS = (
    "request", "user_error", "report_to_master", "worker_report", "worker_connect", "spawning_complete",
    "quitting", "quit", "init", "init_command_line_parser", "test_start", "test_stopping", "test_stop",
    "reset_stats", "cpu_warning", "heartbeat_sent", "heartbeat_received", "usage_monitor",
)


# -- EventHook itself -------------------------------------------------------------------------

def test_add_listener_returns_handler_and_works_as_decorator():
    hook = EventHook("demo")
    calls = []

    @hook.add_listener
    def first(**kwargs):
        calls.append(("first", kwargs))

    assert first is not None and callable(first)  # the decorator handed the function back
    second = hook.add_listener(lambda **kwargs: calls.append(("second", kwargs)))
    hook.fire(value=1)
    assert calls == [("first", {"value": 1}), ("second", {"value": 1})]

    calls.clear()
    hook.fire(reverse=True, value=2)
    assert [name for name, _ in calls] == ["second", "first"]

    hook.remove_listener(first)
    calls.clear()
    hook.fire(value=3)
    assert calls == [("second", {"value": 3})]
    assert hook.listeners == (second,)


def test_fire_takes_keyword_arguments_only():
    hook = EventHook("demo")
    with pytest.raises(TypeError):
        hook.fire(1)  # type: ignore[misc]


def test_remove_listener_that_is_not_there_raises_value_error():
    with pytest.raises(ValueError):
        EventHook("demo").remove_listener(lambda **kw: None)


def test_events_has_every_design_event():
    ev = Events()
    for name in DESIGN_EVENTS:
        hook = getattr(ev, name)
        assert isinstance(hook, EventHook), name
        assert not isinstance(hook, DeprecatedEventHook), name
    for name in ("request_success", "request_failure", "hatch_complete"):
        assert isinstance(getattr(ev, name), DeprecatedEventHook)
    # Two Events never share listeners, and each is its own (hashable) object.
    other = Events()
    ev.request.add_listener(lambda **kw: None)
    assert len(other.request.listeners) == 0
    assert ev != other and len({ev, other, events}) == 3


def test_environment_defaults_to_the_global_events(restore_global_events):
    env = Environment()
    assert env.events is events
    own = Events()
    assert Environment(events=own).events is own
    env.close()


# -- request ----------------------------------------------------------------------------------

class PageUser(HttpUser):
    abstract = True
    wait_time = constant(0.05)

    @task
    def pages(self):
        self.client.get("/page")
        self.client.get("/status/500")


def test_request_fires_with_all_nine_keyword_arguments(target):
    env = make_env(PageUser, host=target)
    seen = []
    env.events.request.add_listener(lambda **kwargs: seen.append(kwargs))
    before = time.time()
    run_until(env, 2, 20, lambda: sum(k["name"] == "/status/500" for k in seen) >= 2)
    after = time.time()

    assert len(seen) >= 4
    for kwargs in seen:
        assert set(kwargs) == REQUEST_KWARGS
    ok = [k for k in seen if k["name"] == "/page"]
    failed = [k for k in seen if k["name"] == "/status/500"]
    assert ok and failed

    first = ok[0]
    assert first["request_type"] == "GET"
    assert isinstance(first["response_time"], float) and first["response_time"] > 0
    assert first["response_length"] == len(first["response"].content) > 0
    assert first["response"].status_code == 200
    assert first["context"] == {}
    assert first["exception"] is None
    assert before <= first["start_time"] <= after
    assert first["url"] == f"{target}/page"

    bad = failed[0]
    assert bad["exception"] is not None
    assert bad["response"].status_code == 500
    assert bad["url"] == f"{target}/status/500"
    # The built-in stats listener saw the same requests.
    assert env.stats.total.num_requests == len(seen)
    assert env.stats.total.num_failures == len(failed)


# -- user_error --------------------------------------------------------------------------------

def test_user_error_fires_with_user_exception_and_traceback_and_the_user_goes_on():
    runs = []

    class Broken(User):
        wait_time = constant(0.02)

        @task
        def explode(self):
            runs.append(self)
            raise ValueError("task blew up")

    env = make_env(Broken)
    errors = []
    env.events.user_error.add_listener(lambda **kwargs: errors.append(kwargs))
    runner = env.create_local_runner()
    run_until(env, 1, 10, lambda: len(errors) >= 3)

    assert len(runs) >= 3  # the same user ran the failing task again and again
    assert len({id(user) for user in runs}) == 1
    assert len(errors) == len(runs)
    first = errors[0]
    assert set(first) == {"user_instance", "exception", "tb"}
    assert first["user_instance"] is runs[0]
    assert isinstance(first["exception"], ValueError)
    assert isinstance(first["tb"], types.TracebackType)
    # Recorded once per distinct traceback, with a count; a user error does not error the run.
    [record_] = env.stats.exceptions.values()
    assert record_["count"] == len(runs)
    assert "task blew up" in record_["traceback"]
    assert runner.exit_code == 0


# -- lifecycle: spawning_complete, test_start / test_stopping / test_stop ---------------------------

class IdleUser(User):
    abstract = True
    wait_time = constant(0.05)

    @task
    def idle(self):
        pass


def test_lifecycle_events_fire_in_order_with_their_arguments():
    env = make_env(IdleUser)
    runner = env.create_local_runner()
    order, targets = [], []

    def on_test_start(**kwargs):
        order.append(("test_start", kwargs, runner.user_count, runner.state))
        targets.append(runner.target_user_count)  # listeners can read the run's target already

    def on_spawning_complete(**kwargs):
        order.append(("spawning_complete", kwargs, runner.user_count, runner.state))

    def on_test_stopping(**kwargs):
        order.append(("test_stopping", kwargs, runner.user_count, runner.state))

    def on_test_stop(**kwargs):
        order.append(("test_stop", kwargs, runner.user_count, runner.state))

    env.events.test_start.add_listener(on_test_start)
    env.events.spawning_complete.add_listener(on_spawning_complete)
    env.events.test_stopping.add_listener(on_test_stopping)
    env.events.test_stop.add_listener(on_test_stop)

    runner.run(3, 30, 0.5)

    assert [name for name, *_ in order] == ["test_start", "spawning_complete", "test_stopping", "test_stop"]
    start, spawned, stopping, stop = order
    assert start[1] == {"environment": env} and start[2] == 0  # before any user exists
    assert targets == [3]
    assert spawned[1] == {"user_count": 3} and spawned[2] == 3 and spawned[3] == STATE_RUNNING
    assert stopping[1] == {"environment": env} and stopping[2] == 3 and stopping[3] == STATE_STOPPING
    assert stop[1] == {"environment": env} and stop[2] == 0 and stop[3] == STATE_CLEANUP
    assert runner.state == STATE_STOPPED


def test_spawning_complete_fires_after_each_ramp_with_the_new_count():
    env = make_env(IdleUser)
    counts = []
    env.events.spawning_complete.add_listener(lambda user_count, **kw: counts.append(user_count))
    runner = env.create_local_runner()
    runner.start(4, 100, wait=True)
    runner.start(1, 100, wait=True)
    runner.start(2, 100, wait=True)
    runner.quit()
    assert counts == [4, 1, 2]


# -- init --------------------------------------------------------------------------------------

def test_init_fires_once_with_environment_runner_and_web_ui():
    env = make_env(IdleUser)
    seen = []
    env.events.init.add_listener(lambda **kwargs: seen.append(kwargs))
    runner = env.create_local_runner()
    env.fire_init()
    env.fire_init()
    assert seen == [{"environment": env, "runner": runner, "web_ui": None}]
    assert isinstance(seen[0]["environment"].runner, LocalRunner)


# -- reset_stats ---------------------------------------------------------------------------------

def test_reset_stats_fires_and_zeroes_the_stats_mid_run(target):
    env = make_env(PageUser, host=target)
    fired = []
    env.events.reset_stats.add_listener(
        lambda **kwargs: fired.append((kwargs, env.stats.total.num_requests, dict(env.stats.errors)))
    )
    runner = env.create_local_runner()
    runner.start(2, 50)
    wait_for(lambda: env.stats.total.num_requests > 0)
    runner.reset_stats()
    after_reset = env.stats.total.num_requests
    wait_for(lambda: env.stats.total.num_requests > 0)
    runner.quit()

    assert fired == [({}, 0, {})]  # listeners see the stats (and failures) already zeroed
    assert after_reset == 0
    assert env.stats.total.num_requests > 0  # and recording goes on afterwards


# -- usage_monitor / cpu_warning --------------------------------------------------------------------

def test_usage_monitor_fires_at_the_runner_interval():
    env = make_env(IdleUser)
    seen = []
    env.events.usage_monitor.add_listener(lambda **kwargs: seen.append(kwargs))
    runner = env.create_local_runner()
    runner.usage_monitor_interval = 0.15
    runner.run(1, 10, 1.0)
    assert 2 <= len(seen) <= 10
    for kwargs in seen:
        assert set(kwargs) == {"environment", "cpu_usage", "memory_usage"}
        assert kwargs["environment"] is env
        assert isinstance(kwargs["cpu_usage"], float) and kwargs["cpu_usage"] >= 0
        assert isinstance(kwargs["memory_usage"], int) and kwargs["memory_usage"] > 1_000_000
    assert runner.current_memory_usage > 0


def test_cpu_warning_fires_once_above_the_threshold():
    env = make_env(IdleUser)
    seen = []
    env.events.cpu_warning.add_listener(lambda **kwargs: seen.append(kwargs))
    runner = env.create_local_runner()
    runner.usage_monitor_interval = 0.1
    runner.cpu_warning_threshold = -1.0  # any usage is "too high": the path is what is tested
    before = time.time()
    runner.run(1, 10, 0.6)
    assert len(seen) == 1
    [kwargs] = seen
    assert set(kwargs) == {"environment", "cpu_usage", "message", "timestamp"}
    assert kwargs["environment"] is env
    assert "CPU usage" in kwargs["message"]
    assert before <= kwargs["timestamp"] <= time.time()
    assert runner.cpu_warning_emitted


def test_no_cpu_warning_at_the_default_threshold_for_an_idle_run():
    env = make_env(IdleUser)
    seen = []
    env.events.cpu_warning.add_listener(lambda **kwargs: seen.append(kwargs))
    runner = env.create_local_runner()
    runner.usage_monitor_interval = 0.1
    runner.run(1, 10, 0.5)
    assert seen == []


# -- listener exceptions -------------------------------------------------------------------------------

def test_a_raising_request_listener_is_logged_the_run_goes_on_and_ends_errored(target, caplog):
    env = make_env(PageUser, host=target)
    after_it = []

    def faulty_listener(**kwargs):
        raise RuntimeError("listener is broken")

    env.events.request.add_listener(faulty_listener)
    env.events.request.add_listener(lambda **kwargs: after_it.append(kwargs["name"]))
    with caplog.at_level(logging.ERROR):
        exit_code = run_until(env, 1, 10, lambda: len(after_it) >= 4)
    runner = env.runner

    assert exit_code == 2 and runner.exit_code == 2 and runner.errored
    assert len(after_it) >= 4  # later listeners and later requests still ran
    assert env.stats.total.num_requests == len(after_it)
    assert len(env.listener_errors) == 1  # one record for the same failure, counted
    error = env.listener_errors[0]
    assert error.count == len(after_it)
    assert error.event == "request"
    assert "faulty_listener" in error.listener
    assert error.error == "RuntimeError: listener is broken"
    assert "Traceback" in error.traceback and "listener is broken" in error.traceback
    logged = [r for r in caplog.records if "faulty_listener" in r.getMessage()]
    assert logged and "Traceback" in logged[0].getMessage()


def test_a_raising_lifecycle_listener_errors_the_run_but_the_lifecycle_completes():
    env = make_env(IdleUser)
    stopped = []

    @env.events.test_start.add_listener
    def bad_start(**kwargs):
        raise KeyError("missing")

    env.events.test_stop.add_listener(lambda **kwargs: stopped.append(True))
    runner = env.create_local_runner()
    assert runner.run(2, 20, 0.3) == 2
    assert stopped == [True]
    assert runner.state == STATE_STOPPED
    assert [e.event for e in env.listener_errors] == ["test_start"]


def test_a_clean_run_exits_0_even_with_failed_requests(target):
    env = make_env(PageUser, host=target)
    assert run_until(env, 1, 10, lambda: env.stats.total.num_failures > 0) == 0
    assert env.stats.total.num_failures > 0  # failures are judged by thresholds, not the exit code
    assert env.listener_errors == []


def test_listener_errors_of_an_earlier_environment_do_not_leak_into_a_new_one(restore_global_events):
    def broken(**kwargs):
        raise ValueError("x")

    events.reset_stats.add_listener(broken)
    first = Environment(user_classes=[IdleUser])
    first.events.reset_stats.fire()
    assert len(first.listener_errors) == 1
    events.reset_stats.remove_listener(broken)
    second = Environment(user_classes=[IdleUser])
    assert second.listener_errors == []
    first.close()
    second.close()


# -- old-style hooks --------------------------------------------------------------------------------

class MixedUser(HttpUser):
    abstract = True
    wait_time = constant(0.05)

    @task
    def both(self):
        self.client.get("/api/data")
        self.client.get("/status/404")


def test_request_success_and_request_failure_listeners_are_fed_from_request(target):
    env = make_env(MixedUser, host=target)
    successes, failures = [], []
    with pytest.warns(DeprecationWarning, match="request_success"):
        env.events.request_success.add_listener(lambda **kwargs: successes.append(kwargs))
    with pytest.warns(DeprecationWarning, match="request_failure"):
        env.events.request_failure.add_listener(lambda **kwargs: failures.append(kwargs))
    run_until(env, 1, 10, lambda: len(failures) >= 2)
    runner = env.runner

    assert successes and failures
    assert len(successes) + len(failures) == env.stats.total.num_requests
    assert len(failures) == env.stats.total.num_failures
    ok = successes[0]
    assert ok["request_type"] == "GET" and ok["name"] == "/api/data"
    assert ok["response_time"] > 0 and ok["response_length"] > 0
    assert "exception" not in ok
    bad = failures[0]
    assert bad["name"] == "/status/404" and bad["exception"] is not None
    assert runner.exit_code == 0


def test_old_style_handlers_with_strict_signatures_get_only_their_arguments():
    ev = Events()
    got = []

    def one_x(request_type, name, response_time, response_length):  # Locust 1.x signature
        got.append(("1.x", request_type, name, response_time, response_length))

    def zero_x(method, path, response_time, response, **kw):  # Locust 0.x signature
        got.append(("0.x", method, path, response.status_code))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ev.request_success.add_listener(one_x)
        ev.request_success.add_listener(zero_x)
    response = types.SimpleNamespace(status_code=200)
    ev.request.fire(request_type="POST", name="/cart", response_time=1.5, response_length=7, response=response,
                    context={}, exception=None, start_time=0.0, url="http://h/cart")
    assert got == [("1.x", "POST", "/cart", 1.5, 7), ("0.x", "POST", "/cart", 200)]
    assert ev.listener_errors == []


def test_plus_equals_and_minus_equals_on_the_global_events_warn_and_work(restore_global_events):
    got = []

    def on_success(request_type, name, **kw):
        got.append(name)

    with pytest.warns(DeprecationWarning):
        events.request_success += on_success
    assert on_success in events.request_success.listeners
    env = Environment(user_classes=[IdleUser])
    env.events.request.fire(request_type="GET", name="/x", response_time=1.0, response_length=0, response=None,
                            context={}, exception=None, start_time=0.0, url="http://h/x")
    assert got == ["/x"]
    with pytest.warns(DeprecationWarning):
        events.request_success -= on_success
    assert on_success not in events.request_success.listeners
    env.events.request.fire(request_type="GET", name="/y", response_time=1.0, response_length=0, response=None,
                            context={}, exception=None, start_time=0.0, url="http://h/y")
    assert got == ["/x"]
    env.close()


def test_plus_equals_on_a_current_event_warns_and_adds():
    ev = Events()
    got = []
    with pytest.warns(DeprecationWarning, match="add_listener"):
        ev.test_start += lambda **kw: got.append(kw)
    ev.test_start.fire(environment="env")
    assert got == [{"environment": "env"}]


def test_hatch_complete_is_fed_from_spawning_complete():
    env = make_env(IdleUser)
    hatched = []
    with pytest.warns(DeprecationWarning, match="spawning_complete"):
        env.events.hatch_complete.add_listener(lambda **kwargs: hatched.append(kwargs))
    runner = env.create_local_runner()
    runner.run(3, 50, 0.3)
    assert hatched == [{"user_count": 3}]


def test_an_old_style_listener_that_raises_errors_the_run(target):
    env = make_env(MixedUser, host=target)

    def bad(**kwargs):
        raise ZeroDivisionError("old")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        env.events.request_failure.add_listener(bad)
    assert run_until(env, 1, 10, lambda: len(env.listener_errors) >= 1) == 2
    assert {e.event for e in env.listener_errors} == {"request_failure"}
    assert env.stats.total.num_requests >= 2
