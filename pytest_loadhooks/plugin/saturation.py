"""A saturated load generator, said out loud: how long each process of a run sat at Locust's ``cpu_warning`` level.

A load generator whose CPU is full measures its own queueing: a response time then includes
the time the response waited for the generator to read it. Locust fires ``cpu_warning`` (once,
above 90 %) and logs a line; a CI verdict needs more than a log line. This module measures,
for the run's own process (the local runner, or the master) and for each worker a master
drives, how many seconds of the run its CPU was at or above the runner's
``cpu_warning_threshold``, and turns each into a ``LoadResult.warnings`` line::

    generator CPU at or above 90% for 12 s of 30 s (local process): response times may be the
    generator's, not the target's

It reads what the runners publish and nothing else: the ``usage_monitor`` event the run's own
runner fires every ``usage_monitor_interval`` (its CPU over that span, from psutil), and on a
master each worker's latest ``cpu_usage`` (its heartbeat) from ``runner.clients``. Each tick
adds the time since the previous one to every process at or above the threshold then: the
local figure is exact to a tick, a worker's is its latest heartbeat held over the master's
tick. ``--load-usage-interval`` shortens the ticks (2 s by default).

:class:`SaturationWatch` joins each run (``plugin.lifecycle``): it sets the runner's ticks, and
outside a worker (the master judges) watches the run with a :class:`GeneratorLoad`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..runners.base import STATE_CLEANUP, STATE_RUNNING, STATE_SPAWNING, STATE_STOPPING
from .lifecycle import Participant

if TYPE_CHECKING:
    from ..env import Environment
    from .run import LoadResult, LoadRun

_ACTIVE_WORKER_STATES = (STATE_SPAWNING, STATE_RUNNING, STATE_STOPPING, STATE_CLEANUP)
"""The states of a worker whose CPU belongs to the run (not one waiting, stopped or missing)."""


class GeneratorLoad:
    """Seconds at or above the cpu_warning level, per process of one run, since its latest start."""

    def __init__(self, environment: Any) -> None:
        self.environment = environment
        self.runner = environment.runner
        self.threshold = float(getattr(self.runner, "cpu_warning_threshold", 90.0))
        self.saturated: dict[str, float] = {}
        """Seconds at or above the threshold, by process ("local process", "master", "worker 0 (id)")."""
        self._last_tick: float | None = None

    @property
    def own_process(self) -> str:
        return "master" if hasattr(self.runner, "clients") else "local process"

    def attach(self) -> Callable[[], None]:
        """Listen to the run's events; returns what removes the listeners (the events may be the global ones)."""
        events = self.environment.events
        events.test_start.add_listener(self._on_test_start)
        events.usage_monitor.add_listener(self._on_usage)

        def detach() -> None:
            events.test_start.remove_listener(self._on_test_start)
            events.usage_monitor.remove_listener(self._on_usage)

        return detach

    def _on_test_start(self, environment: Any = None, **_kwargs: Any) -> None:
        if environment is not None and environment is not self.environment:
            return
        self.saturated.clear()  # a run restarted from the web UI is judged from its latest start
        self._last_tick = time.monotonic()

    def _on_usage(self, environment: Any = None, cpu_usage: float = 0.0, **_kwargs: Any) -> None:
        if environment is not None and environment is not self.environment:
            return
        now = time.monotonic()
        span = now - self._last_tick if self._last_tick is not None else 0.0
        self._last_tick = now
        if self.runner.state not in (STATE_SPAWNING, STATE_RUNNING):  # users stopping: not the run's load any more
            return
        if cpu_usage >= self.threshold:
            self._add(self.own_process, span)
        for node in list(getattr(self.runner, "clients", {}).values()):
            if getattr(node, "state", None) in _ACTIVE_WORKER_STATES and node.cpu_usage >= self.threshold:
                self._add(f"worker {node.index} ({node.id})", span)

    def _add(self, process: str, seconds: float) -> None:
        self.saturated[process] = self.saturated.get(process, 0.0) + seconds

    def warnings(self, duration: float) -> list[str]:
        """One line per process that sat at or above the threshold, the longest first."""
        ordered = sorted(self.saturated.items(), key=lambda item: (-item[1], item[0]))
        return [f"generator CPU at or above {self.threshold:g}% for {_seconds(seconds)} of {_seconds(duration)} "
                f"({process}): response times may be the generator's, not the target's"
                for process, seconds in ordered if seconds > 0]


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


class SaturationWatch(Participant):
    """A run's CPU ticks (``--load-usage-interval``) and, when ``judges`` (not on a worker: the master
    judges), its saturated generator said in its warnings."""

    def __init__(self, usage_interval: float | None, judges: bool = True) -> None:
        self.usage_interval = usage_interval
        """Seconds between the runner's CPU samples; None keeps the runner's own."""
        self.judges = judges
        self.load: GeneratorLoad | None = None
        self._detach: Callable[[], None] | None = None

    def environment_created(self, run: LoadRun, environment: Environment) -> None:
        if self.usage_interval is not None:
            environment.runner.usage_monitor_interval = self.usage_interval

    def before_start(self, run: LoadRun, runner: Any) -> str | None:
        if self.judges:
            self.load = GeneratorLoad(runner.environment)
            self._detach = self.load.attach()
        return None

    def run_ended(self, run: LoadRun, runner: Any, ended_early: bool) -> None:
        if self._detach is not None:  # the events may be the global ones: nothing of this run stays on them
            self._detach()
            self._detach = None

    def judge(self, run: LoadRun, result: LoadResult) -> None:
        if self.load is not None:
            result.warnings += self.load.warnings(result.duration)
