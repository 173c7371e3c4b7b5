"""What the web UI's buttons do to a run: start (or change) the load, stop it, reset its stats, end it.

Two ways to run:

* following (the default): the run starts at once with its own settings;
* waiting (``wait_for_start=True``): nothing starts until the start form is sent (or the run is
  ended: End run, Ctrl-C, SIGTERM; nothing else bounds the wait).

Either way the person at the UI may change the load, stop the users (Stop), start them again
(a fresh start: the stats begin again and the run is judged from this latest start) or end the
run (End run). What ends a run:

* its run time, counted from its latest start; a Stop does not stop that clock, so a run
  paused by Stop and never started again still ends on time;
* End run (:meth:`RunControl.finish`);
* its shape, when the shape decides (no run time);
* Ctrl-C, SIGTERM or an abort, as any run.

A run ended from the UI before what should have ended it is *stopped* (see
:meth:`RunControl.stopped_reason`): its numbers are partial. :meth:`RunControl.drive` is what
the caller blocks in, and its return is the run's end.
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

ENDED_BY_RUN_TIME = "run time"
ENDED_BY_END_RUN = "End run"


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
        self.deadline: float | None = None  # epoch seconds the latest start's run time runs out, when it has one
        self.paused_at: float | None = None  # when Stop paused the users, while they are paused
        self.ended_by: str | None = None  # ENDED_BY_RUN_TIME or ENDED_BY_END_RUN; None: the runner ended itself
        self.ended_at: float | None = None
        self._deadline_greenlet: gevent.Greenlet | None = None
        self.driving = False
        self._ended = gevent.event.Event()  # the run is over: ended from the UI or by its run time
        self._wake = gevent.event.Event()

    @property
    def runner(self) -> Any:
        return self.environment.runner

    @property
    def paused(self) -> bool:
        """Stopped from the UI: the users are stopped, the run waits for another start or its end."""
        return self.paused_at is not None

    @property
    def over(self) -> bool:
        """The run has ended (its end may still be under way: users stopping, the session judging)."""
        return self.ended_at is not None or self._over()

    @property
    def time_left(self) -> float | None:
        """Seconds until the run time ends the run; None without a run time or once the run is over."""
        if self.deadline is None or self.over:
            return None
        return max(self.deadline - time.time(), 0.0)

    # -- what the caller blocks in --
    def drive(self) -> int:
        """Run to the end (see the module's docstring); returns the runner's exit code.

        A runner counts a stopped run as finished; here a stop from the UI only pauses: the run
        waits for another start until it is ended (End run, its run time, Ctrl-C, an abort).
        """
        self.driving = True
        runner = self.runner
        try:
            if not self.wait_for_start:
                self._begin(self.settings.user_count, self.settings.spawn_rate, self.settings.run_time)
            else:
                logger.info("web UI: waiting for a start from the form")
            while not self._over():
                runner.wait()
                if not self.paused:
                    break  # the runner ended the run itself: its shape, an abort, Ctrl-C
                while self.paused and not self._over():
                    self._wake.wait(0.5)  # a bounded wait: Ctrl-C reaches the runner, not this event
                    self._wake.clear()
            runner.stop()
            return runner.exit_code
        finally:
            self.driving = False
            self.ended_at = self.ended_at or time.time()
            self._cancel_deadline()

    def _over(self) -> bool:
        runner = self.runner
        return self._ended.is_set() or runner.interrupted is not None or runner.verdict_abort is not None or any(
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
        """Stop the users (the stats stay; a later start begins afresh). The run's clock goes on:
        a run paused here ends at its run time all the same, *stopped*."""
        if self.runner.state not in (STATE_INIT, STATE_STOPPED) and not self._over():
            self.paused_at = self.paused_at or time.time()
            self.runner.stop()

    def reset_stats(self) -> None:
        self.runner.reset_stats()

    def finish(self) -> None:
        """End the run (End run): what the caller of :meth:`drive` waits for."""
        self._end(ENDED_BY_END_RUN)

    # -- the verdict's part the UI knows --
    def stopped_reason(self) -> str | None:
        """How the run was ended early from the UI, as a sentence; None when nothing the UI did cut it short.

        * run time given: stopped when End run came before it ran out, or when the users were
          paused by Stop at the end (the latest start did not run its whole run time);
        * a shape decides: stopped when End run came before the shape ended the run;
        * neither: End run is how such a run ends; stopped only when its users were paused by Stop;
        * ended before any start: stopped, it measured nothing.
        Ctrl-C, SIGTERM and aborts are not the UI's: the run is interrupted or errored then.
        """
        if self.ended_by is None:
            return None
        if self.started_at is None:
            return "ended from the web UI before the run was started"
        if self.paused_at is not None:
            return f"stopped from the web UI at {clock(self.paused_at - self.started_at)}{self._planned()}"
        if self.ended_by == ENDED_BY_RUN_TIME:
            return None  # the latest start ran its whole run time
        if self.deadline is None and not self.settings.shape_decides:
            return None  # no run time, no shape: End run is its end
        ended_at = self.ended_at or time.time()
        return f"ended from the web UI at {clock(ended_at - self.started_at)}{self._planned()}"

    def _planned(self) -> str:
        if self.deadline is not None and self.started_at is not None:
            return f" of a {clock(self.deadline - self.started_at, whole_seconds_passed=False)} run"
        if self.settings.shape_decides:
            return f", before its shape {type(self.environment.shape_class).__name__} ended it"
        return " of a run without a run time"

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
            self.paused_at = None
            if run_time is None:
                self._cancel_deadline(forget=True)  # a fresh start without a run time is bounded by nothing
        self._wake.set()
        if run_time is not None:  # 0 too: the run ends as soon as it starts, as without the UI
            self._set_deadline(run_time)

    def _set_deadline(self, run_time: float) -> None:
        self._cancel_deadline()
        self.deadline = time.time() + run_time
        self._deadline_greenlet = gevent.spawn_later(run_time, self._at_deadline)
        self._deadline_greenlet.name = "web-run-time"

    def _at_deadline(self) -> None:
        self._deadline_greenlet = None
        logger.info("run time reached: the run ends")
        self._end(ENDED_BY_RUN_TIME)

    def _end(self, by: str) -> None:
        if self.ended_by is None and not self._over():  # Ctrl-C or an abort came first: not the UI's end
            self.ended_by, self.ended_at = by, time.time()
        self._cancel_deadline()
        self._ended.set()
        self._wake.set()
        self.runner.quit()

    def _cancel_deadline(self, forget: bool = False) -> None:
        """The run-time timer stopped; ``deadline`` stays (what the run was planned to last) unless ``forget``."""
        if forget:
            self.deadline = None
        greenlet, self._deadline_greenlet = self._deadline_greenlet, None
        if greenlet is not None and greenlet is not gevent.getcurrent():
            greenlet.kill(block=False)


def clock(seconds: float, whole_seconds_passed: bool = True) -> str:
    """``00:03``, ``12:40``, ``1:02:03``: a time into the run as a clock shows it (the whole seconds
    passed: 2.7 s in is 00:02), or, for a planned length, to the nearest second."""
    whole = max(int(seconds) if whole_seconds_passed else int(round(seconds)), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
