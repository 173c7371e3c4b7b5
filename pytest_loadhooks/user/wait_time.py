"""Wait times: how long a user pauses between tasks (assign one to ``User.wait_time``).

The helpers check their arguments when the class is defined, so a bad wait time is a
clear error at import (pytest shows it as the module's collection error), never a user
that crashes or sleeps forever mid-run.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from typing import Any

WaitTime = Callable[..., float]


def _seconds(helper: str, what: str, value: Any) -> float:
    """``value`` as a finite, non-negative number of seconds, or a ValueError naming the helper."""
    __tracebackhide__ = True  # pytest: show the user's line, not this one
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{helper}() needs a number of seconds for {what}, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{helper}() needs a finite {what} >= 0 seconds, got {value!r}")
    return float(value)


def between(min_wait: float, max_wait: float) -> WaitTime:
    """Wait a random time, uniformly between ``min_wait`` and ``max_wait`` seconds."""
    __tracebackhide__ = True
    low = _seconds("between", "min_wait", min_wait)
    high = _seconds("between", "max_wait", max_wait)
    if high < low:
        raise ValueError(f"between() needs min_wait <= max_wait, got {min_wait}, {max_wait}")
    return lambda instance: low + random.random() * (high - low)


def constant(wait: float) -> WaitTime:
    """Always wait ``wait`` seconds."""
    __tracebackhide__ = True
    seconds = _seconds("constant", "wait", wait)
    return lambda instance: seconds


def constant_pacing(wait: float) -> WaitTime:
    """Start a task every ``wait`` seconds: wait what is left of the interval after the task ran."""
    __tracebackhide__ = True
    interval = _seconds("constant_pacing", "interval", wait)

    def wait_time_func(instance) -> float:
        # The task loop stamps when the task that just ended began (User.task_started_at,
        # TaskSet.task_started_at); an instance without the stamp gets whole intervals.
        started = getattr(instance, "task_started_at", None)
        if started is None:
            return interval
        return max(0.0, interval - (time.monotonic() - started))

    return wait_time_func


def constant_throughput(task_runs_per_second: float) -> WaitTime:
    """Run at most ``task_runs_per_second`` tasks a second per user (the inverse of constant_pacing)."""
    __tracebackhide__ = True
    rate = task_runs_per_second
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < math.inf:
        raise ValueError(f"constant_throughput() needs a finite rate > 0 task runs per second, got {rate!r}")
    return constant_pacing(1.0 / rate)
