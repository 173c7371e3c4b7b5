"""Wait times: how long a user pauses between tasks (assign one to ``User.wait_time``)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

WaitTime = Callable[..., float]


def between(min_wait: float, max_wait: float) -> WaitTime:
    """Wait a random time, uniformly between ``min_wait`` and ``max_wait`` seconds."""
    if min_wait < 0 or max_wait < min_wait:
        raise ValueError(f"between() needs 0 <= min_wait <= max_wait, got {min_wait}, {max_wait}")
    return lambda instance: min_wait + random.random() * (max_wait - min_wait)


def constant(wait: float) -> WaitTime:
    """Always wait ``wait`` seconds."""
    if wait < 0:
        raise ValueError(f"constant() needs a non-negative wait, got {wait}")
    return lambda instance: wait


def constant_pacing(wait: float) -> WaitTime:
    """Start a task every ``wait`` seconds: wait what is left of the interval after the task ran."""
    if wait < 0:
        raise ValueError(f"constant_pacing() needs a non-negative interval, got {wait}")

    def wait_time_func(instance) -> float:
        # The task loop stamps when the task that just ended began.
        started = getattr(instance, "_task_started_at", None)
        if started is None:
            return wait
        return max(0.0, wait - (time.monotonic() - started))

    return wait_time_func


def constant_throughput(task_runs_per_second: float) -> WaitTime:
    """Run at most ``task_runs_per_second`` tasks a second per user (the inverse of constant_pacing)."""
    if task_runs_per_second <= 0:
        raise ValueError(f"constant_throughput() needs a positive rate, got {task_runs_per_second}")
    return constant_pacing(1.0 / task_runs_per_second)
