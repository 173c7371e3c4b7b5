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


def record(hook, into: list, name: str | None = None) -> Callable:
    """Add a listener to ``hook`` that appends (name, kwargs) to ``into``; returns the listener."""
    label = name or hook.name

    def listener(**kwargs):
        into.append((label, kwargs))

    return hook.add_listener(listener)


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
