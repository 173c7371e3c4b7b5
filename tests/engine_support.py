"""Helpers shared by the engine tests (tests/test_engine_*.py, tests/test_seed_examples.py).

The engine runs users as greenlets in the test process (the root conftest patched
gevent), against the real target server of tests/conftest.py.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Callable

import gevent
import pytest

from pytest_loadhooks import Environment, Events
from pytest_loadhooks import events as global_events

REQUEST_KWARGS = {
    "request_type", "name", "response_time", "response_length", "response",
    "context", "exception", "start_time", "url",
}


@pytest.fixture
def restore_global_events():
    """The global ``events``, with every listener list (and its error list) put back after the test."""
    saved = {name: list(hook.listeners) for name, hook in global_events.hooks().items()}
    errors = len(global_events.listener_errors)
    yield global_events
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for name, hook in global_events.hooks().items():
            before = saved.get(name, [])
            for handler in hook.listeners:
                if handler not in before:
                    hook.remove_listener(handler)
            for handler in before:
                if handler not in hook.listeners:
                    hook.add_listener(handler)
    del global_events.listener_errors[errors:]


def make_env(*user_classes: type, events: Events | None = None, **kwargs: Any) -> Environment:
    """An Environment on its own Events (unless given), so tests never share listeners."""
    return Environment(user_classes=list(user_classes), events=events if events is not None else Events(), **kwargs)


def sample_while(runner, seconds: float, every: float, probe: Callable[[], Any],
                 into: list | None = None) -> list[tuple[float, Any]]:
    """Call ``probe`` every ``every`` seconds for ``seconds``; returns (elapsed, value) pairs
    (appended to ``into`` as they come, when given)."""
    samples = into if into is not None else []
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        samples.append((time.monotonic() - started, probe()))
        gevent.sleep(every)
    return samples


def run_until(env, users: int, spawn_rate: float, condition: Callable[[], bool], timeout: float = 15.0,
              min_time: float = 0.0) -> int:
    """Run ``users`` users until ``condition()`` holds (and at least ``min_time`` passed), then quit.

    Tests that need "enough" traffic wait for it instead of guessing a run time, so a
    loaded machine makes them slower, not flaky. Fails the test after ``timeout`` seconds.
    Returns the runner's exit code.
    """
    runner = env.runner or env.create_local_runner()
    runner.start(users, spawn_rate)
    started = time.monotonic()
    while not (condition() and time.monotonic() - started >= min_time):
        if time.monotonic() - started > timeout:
            runner.quit()
            raise AssertionError(f"the run did not reach the expected state within {timeout} s")
        gevent.sleep(0.02)
    runner.quit()
    return runner.exit_code


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Let greenlets run until ``condition()`` holds; fails the test after ``timeout`` seconds."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        gevent.sleep(0.02)
