"""What the web UI's buttons do to a run: start (or change) the load, stop it, reset its stats, end it.

Two ways to run:

* following (the default): the run starts at once with its own settings and ends at its run
  time; the UI shows it and may change the load, stop the users, start them again or reset
  the stats meanwhile;
* waiting (``wait_for_start=True``): nothing starts until the start form is sent; the person at
  the UI may stop, change and start again, and the run ends when they end it (``finish``),
  when a started run reaches its run time, or on Ctrl-C.

Either way :meth:`RunControl.drive` is what the caller blocks in, and its return is the run's end.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event

from ..exception import ConfigurationError
from ..runners import STATE_INIT, STATE_STOPPED
from .forms import SwarmRequest

if TYPE_CHECKING:
    from ..env import Environment

logger = logging.getLogger(__name__)


@dataclass
class StartSettings:
    """What a start uses for the fields the form leaves empty (first the run's own settings)."""

    user_count: int
    spawn_rate: float
    run_time: float | None
    shape_decides: bool = False


class RunControl:
    """Starts, changes, stops and ends one Environment's run on behalf of the web UI."""

    def __init__(self, environment: Environment, settings: StartSettings, wait_for_start: bool = False) -> None:
        self.environment = environment
        self.settings = settings
        self.wait_for_start = wait_for_start
        self.started_at: float | None = None  # when the latest start began (what the run is judged over)
        self.deadline: float | None = None  # epoch seconds the run ends at, when it has a run time
        self._deadline_greenlet: gevent.Greenlet | None = None
        self.driving = False
        self._paused = False  # stopped from the UI: waiting for another start
        self._ended = gevent.event.Event()  # the run is over: ended from the UI or by its run time
        self._wake = gevent.event.Event()

    @property
    def runner(self) -> Any:
        return self.environment.runner

    # -- what the caller blocks in --
    def drive(self) -> int:
        """Run to the end (see the module's docstring); returns the runner's exit code.

        A runner counts a stopped run as finished; here a stop from the UI only pauses: the run
        waits for another start until it is ended (the form, its run time, Ctrl-C, an abort).
        """
        self.driving = True
        runner = self.runner
        try:
            if not self.wait_for_start:
                self._begin(self.settings.user_count, self.settings.spawn_rate, self.settings.run_time)
            else:
                logger.info("web UI: waiting for a start from the form")
            while True:
                runner.wait()
                if not self._paused or self._over():
                    break
                while self._paused and not self._over():
                    self._wake.wait(0.5)  # a bounded wait: Ctrl-C reaches the runner, not this event
                    self._wake.clear()
                if self._over():
                    break
            runner.stop()
            return runner.exit_code
        finally:
            self.driving = False
            self._cancel_deadline()

    def _over(self) -> bool:
        runner = self.runner
        return self._ended.is_set() or runner.interrupted is not None or any(
            error.startswith("run aborted") for error in runner.runner_errors)

    # -- the buttons --
    def swarm(self, request: SwarmRequest) -> str:
        """Start the load, or change the running one; returns what happened. Raises ConfigurationError
        when the run cannot take it (nothing started then)."""
        if not self.driving:
            raise ConfigurationError("the run is not under way: nothing can be started now")
        if self._over():
            raise ConfigurationError("the run has ended")
        options = self.environment.parsed_options
        for name, value in request.custom.items():
            setattr(options, name, value)
        if request.host is not None:
            self.environment.host = request.host
            options.host = request.host
        users = request.user_count if request.user_count is not None else self.settings.user_count
        rate = request.spawn_rate if request.spawn_rate is not None else self.settings.spawn_rate
        self.settings.user_count, self.settings.spawn_rate = users, rate
        options.num_users = options.users = users
        options.spawn_rate = rate
        if request.run_time is not None:
            self.settings.run_time = request.run_time
            options.run_time = request.run_time
        fresh = self.runner.state in (STATE_INIT, STATE_STOPPED)
        self._begin(users, rate, self.settings.run_time if (fresh or request.run_time is not None) else None)
        if self.settings.shape_decides:
            return f"Started the shape {type(self.environment.shape_class).__name__}"
        return f"{'Started' if fresh else 'Changed the load to'} {users} users at {rate:g}/s"

    def stop(self) -> None:
        """Stop the users (the stats stay; a later start begins a fresh run)."""
        self._cancel_deadline()
        if self.runner.state not in (STATE_INIT, STATE_STOPPED):
            self._paused = True
            self.runner.stop()

    def reset_stats(self) -> None:
        self.runner.reset_stats()

    def finish(self) -> None:
        """End the run: what the caller of :meth:`drive` waits for."""
        self._cancel_deadline()
        self._end()

    # -- helpers --
    def _begin(self, users: int, rate: float, run_time: float | None) -> None:
        runner = self.runner
        fresh = runner.state in (STATE_INIT, STATE_STOPPED)
        if self.settings.shape_decides:
            if fresh:
                runner.start_shape()
        else:
            runner.start(users, rate)  # validates first: a ConfigurationError starts nothing
        if fresh:
            self.started_at = runner.start_time or time.time()
        self._paused = False
        self._wake.set()
        if run_time:
            self._set_deadline(run_time)

    def _set_deadline(self, run_time: float) -> None:
        self._cancel_deadline()
        self.deadline = time.time() + run_time
        self._deadline_greenlet = gevent.spawn_later(run_time, self._at_deadline)
        self._deadline_greenlet.name = "web-run-time"

    def _at_deadline(self) -> None:
        self._deadline_greenlet = None
        logger.info("run time reached: the run ends")
        self._end()

    def _end(self) -> None:
        self._ended.set()
        self._wake.set()
        self.runner.quit()

    def _cancel_deadline(self) -> None:
        self.deadline = None
        greenlet, self._deadline_greenlet = self._deadline_greenlet, None
        if greenlet is not None and greenlet is not gevent.getcurrent():
            greenlet.kill(block=False)
