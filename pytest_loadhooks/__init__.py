"""pytest-loadhooks: Locust-style load tests inside pytest.

Names are imported lazily: the pytest plugin imports this package in every
session, and a session that runs no load must not pay for gevent, requests or
anything else the engine needs.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "events": "event", "Events": "event", "EventHook": "event", "DeprecatedEventHook": "event",
    "Environment": "env",
    "User": "user.users", "HttpUser": "user.users", "FastHttpUser": "contrib.fasthttp",
    "task": "user.task", "tag": "user.task", "TaskSet": "user.task", "SequentialTaskSet": "user.sequential_taskset",
    "between": "user.wait_time", "constant": "user.wait_time", "constant_pacing": "user.wait_time",
    "constant_throughput": "user.wait_time",
    "LoadTestShape": "shape", "RateTick": "shape",
    "StopUser": "exception", "RescheduleTask": "exception", "RescheduleTaskImmediately": "exception",
    "InterruptTaskSet": "exception", "ConfigurationError": "exception",
    "MarkovTaskSet": "user.markov_taskset", "transition": "user.markov_taskset",
    "transitions": "user.markov_taskset",
    "run_single_user": "debug",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_loadhooks' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
