"""What every runner shares: state, stats, lifecycle events, history, monitoring, exit status.

:class:`Runner` is the base of :class:`~pytest_loadhooks.runners.local.LocalRunner` (users
in this process) and of the distributed mode's master and worker runners.
"""

from __future__ import annotations

import functools
import logging
import time
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event
from gevent.pool import Group

from ..exception import ConfigurationError
from ..rpc.protocol import Message  # one Message for custom messages, local or over the wire
from ..user.ownership import RunScope, detach, tracking_available
from .arrival import rate_of_tick

if TYPE_CHECKING:
    from ..env import Environment

logger = logging.getLogger(__name__)

STATE_INIT = "ready"
STATE_SPAWNING = "spawning"
STATE_RUNNING = "running"
STATE_CLEANUP = "cleanup"
STATE_STOPPING = "stopping"
STATE_STOPPED = "stopped"
STATE_MISSING = "missing"

CPU_WARNING_THRESHOLD = 90.0
HISTORY_INTERVAL = 1.0
USAGE_MONITOR_INTERVAL = 2.0
SHAPE_TICK_INTERVAL = 1.0
KILL_TIMEOUT = 5.0
"""Deprecated: the wait for killed users is :func:`kill_timeout` of the run's stop timeout now."""
KILL_TIMEOUT_FLOOR = 1.0
"""The least time a killed user gets to run its ``on_stop`` (the stop timeout, when longer)."""

EXIT_OK = 0
EXIT_ERRORED = 2


MessageListener = Callable[..., Any]


class Runner:
    """What every runner shares: state, stats, lifecycle events, monitoring, exit status."""

    history_interval = HISTORY_INTERVAL
    usage_monitor_interval = USAGE_MONITOR_INTERVAL
    shape_tick_interval = SHAPE_TICK_INTERVAL
    cpu_warning_threshold = CPU_WARNING_THRESHOLD

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.stats = environment.stats
        self.state = STATE_INIT
        self.greenlet = Group()  # the runner's own background greenlets
        self.user_greenlets = Group()
        self.target_user_count = 0
        # Per class, the users the last finished ramp aimed at (Locust updates it when a ramp ends).
        self.target_user_classes_count: dict[str, int] = {}
        self.custom_messages: dict[str, tuple[MessageListener, bool]] = {}
        self.spawn_rate = 0.0
        self.current_cpu_usage = 0.0
        self.current_memory_usage = 0
        self.cpu_warning_emitted = False
        self.runner_errors: list[str] = []
        self.run_warnings: list[str] = []
        """What a reader of this run's numbers must know without the run failing (since its start)."""
        self.survivors_waited = 0.0
        """Seconds the latest stop waited in vain for greenlets its users started (they caught the kill)."""
        self.run_scope: RunScope | None = None
        """The greenlets the users of the current (or last) run started: ended with the run."""
        # Why the run was ended early from outside ("SIGINT", "SIGTERM"): set by interrupt().
        self.interrupted: str | None = None
        self.verdict_abort: str | None = None
        """Why a threshold ended the run early (its ``for`` time breached): set by :meth:`end_on_verdict`."""
        self.start_time: float | None = None
        self.stop_time: float | None = None
        self.history_listeners: list[Callable[[dict[str, Any]], None]] = []
        self.shape_greenlet: gevent.Greenlet | None = None  # the LoadTestShape's ticks, while a shape drives the run
        self.spawning_greenlet: gevent.Greenlet | None = None  # the ramp under way (the master's: its confirmations)
        self.arrival: Any = None  # an open-model run's scheduler (runners.arrival.ArrivalExecutor), while one goes
        self._finished = gevent.event.Event()
        self._stopped = gevent.event.Event()  # set when a stop() has fully completed
        self._stopping_in: Any = None  # the greenlet running stop(), while it runs
        self._quitting: gevent.Greenlet | None = None  # the quit that abort()/interrupt() started
        self._logged_user_tracebacks: set[str] = set()
        self._process = None
        environment.events.user_error.add_listener(self._on_user_error)

    # -- state --
    def update_state(self, new_state: str) -> None:
        logger.debug("runner state %s -> %s", self.state, new_state)
        self.state = new_state

    @property
    def user_count(self) -> int:
        return 0

    @property
    def user_classes_count(self) -> dict[str, int]:
        return {}

    @property
    def user_classes(self) -> list[type]:
        return self.environment.user_classes

    @property
    def user_classes_by_name(self) -> dict[str, type]:
        return {cls.__name__: cls for cls in self.environment.user_classes}

    @property
    def errors(self) -> dict[Any, Any]:
        """Request failures grouped as ``environment.stats.errors`` groups them (Locust's ``runner.errors``)."""
        return self.stats.errors

    @property
    def exceptions(self) -> dict[str, dict[str, Any]]:
        """Uncaught exceptions in users, as Locust's ``runner.exceptions``: one record
        (``count``, ``msg``, ``traceback``, ``nodes``) per distinct traceback. The same
        store as ``environment.stats.exceptions``, so outputs and listeners agree."""
        return self.stats.exceptions

    # -- custom messages --
    def register_message(self, msg_type: str, listener: MessageListener, concurrent: bool = False) -> None:
        """Call ``listener(environment=..., msg=Message)`` when a ``msg_type`` message arrives.

        One listener per type, as in Locust. ``concurrent=True`` runs it in a greenlet of
        its own, so a slow listener does not hold up the messages behind it.
        """
        if msg_type in self.custom_messages:
            raise ValueError(f"a listener for message type {msg_type!r} is already registered")
        self.custom_messages[msg_type] = (listener, concurrent)

    def send_message(self, msg_type: str, data: Any = None, client_id: str | None = None) -> None:
        """Send a custom message to the other side of the run (each runner says where)."""
        raise NotImplementedError

    def _deliver_message(self, message: Message, inline: bool = False) -> None:
        """Hand an arrived message to the listener registered for its type (``inline``: in this greenlet,
        even when it was registered ``concurrent``)."""
        registered = self.custom_messages.get(message.type)
        if registered is None:
            logger.warning("message of unknown type %r received (no register_message listener): ignored",
                           message.type)
            return
        listener, concurrent = registered
        if concurrent and not inline:
            deliver = functools.partial(listener, environment=self.environment, msg=message)
            self.spawn_background(deliver).name = f"message-{message.type}"
        else:
            listener(environment=self.environment, msg=message)

    @property
    def exit_code(self) -> int:
        if self.environment.listener_errors or self.runner_errors:
            return EXIT_ERRORED
        return EXIT_OK

    @property
    def errored(self) -> bool:
        return self.exit_code == EXIT_ERRORED

    # -- background work --
    def spawn_background(self, func: Callable, *args: Any) -> gevent.Greenlet:
        """A runner greenlet whose crash is logged and marks the run errored."""
        greenlet = detach(self.greenlet.spawn(func, *args))  # the runner's, even when a user's greenlet asks
        greenlet.link_exception(self._background_failed)
        return greenlet

    def _background_failed(self, greenlet: gevent.Greenlet) -> None:
        error = greenlet.exception
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        logger.error("runner greenlet %s crashed:\n%s", getattr(greenlet, "name", greenlet), text)
        if not isinstance(error, Exception):
            # SystemExit, a signal handler's exception (a timeout): the run was meant to end.
            self.abort(f"runner greenlet {getattr(greenlet, 'name', greenlet)} raised {describe(error)}")
            return
        self.runner_errors.append(f"{type(error).__name__}: {error}")
        if greenlet is self.shape_greenlet or greenlet is self.spawning_greenlet:
            # The run can no longer follow its plan (a shape's tick or a user's __init__
            # raised): end it, errored, rather than run on (forever, without a run time).
            logger.error("ending the run: its %s greenlet crashed", getattr(greenlet, "name", "runner"))
            gevent.spawn(self.quit)

    def _history_loop(self) -> None:
        # On a fixed schedule, not a sleep after each sample: a saturated generator (a sample
        # of 200 busy endpoints takes tens of ms) would otherwise drift to fewer rows than seconds.
        due = time.monotonic()
        while True:
            due += self.history_interval
            gevent.sleep(max(due - time.monotonic(), 0.0))
            self.sample_history()
            due = max(due, time.monotonic() - self.history_interval)  # after a long stall, no burst to catch up

    def sample_history(self) -> dict[str, Any]:
        row = self.stats.sample_history(self.user_count)
        for listener in self.history_listeners:
            try:
                listener(row)
            except Exception:
                logger.exception("history listener %r failed", listener)
        return row

    def _usage_monitor_loop(self) -> None:
        import psutil  # imported here: only load runs pay for it

        self._process = psutil.Process()
        self._process.cpu_percent()
        while True:
            gevent.sleep(self.usage_monitor_interval)
            self.current_cpu_usage = self._process.cpu_percent()
            self.current_memory_usage = self._process.memory_info().rss
            if self.current_cpu_usage > self.cpu_warning_threshold and not self.cpu_warning_emitted:
                self.cpu_warning_emitted = True
                message = (
                    f"CPU usage above {self.cpu_warning_threshold:.0f}% ({self.current_cpu_usage:.0f}%): "
                    "response times may be inflated by the load generator itself"
                )
                logger.warning(message)
                self.environment.events.cpu_warning.fire(
                    environment=self.environment, cpu_usage=self.current_cpu_usage,
                    message=message, timestamp=time.time(),
                )
            self.environment.events.usage_monitor.fire(
                environment=self.environment,
                cpu_usage=self.current_cpu_usage,
                memory_usage=self.current_memory_usage,
            )

    def remove_listeners(self) -> None:
        """Detach the listeners this runner added to its Environment's events (``user_error``).

        Those events may be the global ``events``, which outlive the run: ``Environment.close()``
        calls this so that a closed run's runner hears no other run's errors. Safe to call twice.
        """
        try:
            self.environment.events.user_error.remove_listener(self._on_user_error)
        except ValueError:
            pass  # removed already

    def _on_user_error(self, user_instance: Any, exception: BaseException, tb: Any, **_kwargs: Any) -> None:
        formatted = "".join(traceback.format_exception(type(exception), exception, tb))
        self.stats.log_exception(exception, formatted)
        if formatted not in self._logged_user_tracebacks:
            self._logged_user_tracebacks.add(formatted)
            logger.error("Unhandled exception in %r (later repeats are counted, not logged):\n%s",
                         user_instance, formatted)
        if not isinstance(exception, (Exception, gevent.Timeout)):  # a Timeout fails its task only
            # SystemExit, KeyboardInterrupt or another BaseException ended this user (see
            # User.run): the run no longer has the users it was asked for, so it ends, errored.
            self.abort(f"user {type(user_instance).__name__} raised {describe(exception)}")

    # -- ending a run early --
    def abort(self, reason: str) -> None:
        """End the run early and mark it errored, saying why (kept in ``runner_errors``).

        Users stop as at any stop (within the stop timeout) and the stop events fire. Safe to
        call from a signal handler and from a user's own greenlet: the stop runs in a greenlet
        of its own, started from the hub.
        """
        message = f"run aborted: {reason}"
        if message not in self.runner_errors:
            self.runner_errors.append(message)
        self._quit_from_hub()

    def end_on_verdict(self, line: str) -> None:
        """End the run early because a threshold stayed breached for its ``for`` time (``verdicts.live``).

        Not an error of the run, nor an interruption: a verdict on the target that came early (the
        run is failed, ``line`` saying why). Users stop as at any stop, through the same quit.
        """
        if self.verdict_abort is None:
            self.verdict_abort = line
        self._quit_from_hub()

    def interrupt(self, reason: str) -> None:
        """End the run early because it was asked to from outside (``reason``: "SIGINT", "SIGTERM").

        Not an error of the run: it is marked interrupted (``self.interrupted``). Users stop within
        the stop timeout and the stop events fire. Safe to call from a signal handler.
        """
        if self.interrupted is None:
            self.interrupted = reason
        self._quit_from_hub()

    def _quit_from_hub(self) -> None:
        # A signal handler may run in any greenlet, the hub's included, between any two bytecodes:
        # the thread-safe callback is the one gevent call safe there.
        gevent.get_hub().loop.run_callback_threadsafe(self._spawn_quit)

    def _spawn_quit(self) -> None:
        # Many users may abort at once: one quit at a time (a stop already under way is waited for).
        if self._quitting is None or self._quitting.dead:
            self._quitting = gevent.spawn(self.quit)
            self._quitting.name = "quit"

    def _begin_run(self) -> None:
        """Start-of-run bookkeeping: fresh stats, background loops, ``test_start``."""
        self.stats.reset_all()
        self.start_time = time.time()
        self.stop_time = None
        self.cpu_warning_emitted = False
        self._finished.clear()
        self._stopped.clear()
        self._claim_greenlets()
        self.spawn_background(self._history_loop).name = "history"
        self.spawn_background(self._usage_monitor_loop).name = "usage-monitor"
        self.environment.events.test_start.fire(environment=self.environment)

    def _claim_greenlets(self) -> None:
        """A new run: the greenlets its users will start are its own, and its Environment counts their requests."""
        self.run_warnings = []
        self.survivors_waited = 0.0
        self.run_scope = RunScope()
        self.environment.own_run(self.run_scope)
        if not tracking_available():
            self.run_warnings.append("GEVENT_TRACK_GREENLET_TREE is off: greenlets the users start are not "
                                     "ended with the run, and their requests may count in a later run")

    def _end_owned_greenlets(self, timeout: float) -> None:
        """The run's users have stopped: kill the greenlets they started (waiting up to ``timeout`` s),
        and from now on count none of their requests. Says what it could not end, and what came late."""
        scope = self.run_scope
        if scope is None or scope.ended:
            return
        self.environment.own_run(None)
        waiting_since = time.monotonic()
        survivors = scope.end(timeout)
        if survivors:
            # The kill wait ran out on them: seconds in which no request of the run is counted any more,
            # so not part of its duration (its rates would be too low by as much).
            self.survivors_waited = time.monotonic() - waiting_since
            some = "1 greenlet" if len(survivors) == 1 else f"{len(survivors)} greenlets"
            line = (f"{some} started by users did not end when killed at the run's end (GreenletExit caught?): "
                    f"requests sent after the run are counted in no run ({scope.late_requests} so far)")
            logger.warning(line)
            self.run_warnings.append(line)
        late = self.environment.late_requests_refused
        if late:
            were = "requests were" if late != 1 else "request was"
            line = f"{late} {were} sent by greenlets that users of an earlier run started, after it ended: not counted"
            logger.warning(line)
            self.run_warnings.append(line)

    def reset_stats(self) -> None:
        """Zero the stats mid-run (Locust's "reset stats") and fire ``reset_stats``."""
        self.stats.reset_all()
        self.environment.events.reset_stats.fire()

    # -- the lifecycle API shared by all runners --
    def start(self, user_count: int, spawn_rate: float, wait: bool = False,
              user_classes: Sequence[type] | None = None) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the run once, however many greenlets ask; each runner says how in :meth:`_stop_run`."""
        if self.state in (STATE_INIT, STATE_STOPPED):
            return
        current = gevent.getcurrent()
        if self.state in (STATE_STOPPING, STATE_CLEANUP):
            # Another greenlet is stopping the run: wait until it is done, unless waiting
            # would deadlock (a test_stopping/test_stop listener, or a user being stopped).
            if current is not self._stopping_in and current not in self.user_greenlets:
                self._stopped.wait()
            return
        if current in self.user_greenlets:
            # A task called stop()/quit(). Stopping waits for and kills every user, this
            # one included, so it must run in a greenlet of its own: the runner's, not the run's.
            detach(gevent.spawn(self.stop))
            return
        self._stopping_in = current
        try:
            self._stop_run()
        finally:
            self._stopping_in = None
            self._stopped.set()

    _wait_for_ramp_at_stop = False
    """Whether a stop waits until the ramp's greenlet is dead before it ends the users (a runner whose
    ramp starts users itself must, so that none is added after the users to stop were collected)."""

    def _stop_run(self) -> None:
        """The stop every runner makes, once (see :meth:`stop`): ``test_stopping``, the shape and the
        ramp ended, the users ended (:meth:`_end_users`, each runner's own way), the last history row,
        ``test_stop``. A listener may stop the run from inside: the calling greenlet is never killed."""
        self.update_state(STATE_STOPPING)
        self.environment.events.test_stopping.fire(environment=self.environment)
        current = gevent.getcurrent()
        if self.shape_greenlet is not None and self.shape_greenlet is not current:
            self.shape_greenlet.kill(block=False)
        if self.spawning_greenlet is not None and self.spawning_greenlet is not current:
            self.spawning_greenlet.kill(block=self._wait_for_ramp_at_stop)
        self._end_users()
        self.update_state(STATE_CLEANUP)
        self.stop_time = time.time()
        self.sample_history()
        kill_others(self.greenlet)
        self.environment.events.test_stop.fire(environment=self.environment)
        self.update_state(STATE_STOPPED)
        self._finished.set()

    def _end_users(self) -> None:
        """End the run's users and return once they have ended (or their time is up): the middle of a stop."""
        raise NotImplementedError

    def quit(self) -> None:
        """Stop the run (if running) and end it: wakes whoever waits in :meth:`run`."""
        self.stop()
        self._finished.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends (stopped, quit, or the shape said so)."""
        return self._finished.wait(timeout)

    def run(self, user_count: int | None = None, spawn_rate: float | None = None,
            run_time: float | None = None) -> int:
        """Run a whole test: start, wait ``run_time`` (or the shape, or quit), stop. Returns the exit code."""
        if self.environment.shape_class is not None:
            self.start_shape()
        else:
            if user_count is None or spawn_rate is None:
                raise ConfigurationError("run() needs user_count and spawn_rate when there is no shape")
            self.start(user_count, spawn_rate)
        self.wait(run_time)
        self.stop()
        self._finished.set()
        return self.exit_code

    def start_arrival(self, plan: Any, max_users: int, user_classes: Sequence[type] | None = None,
                      prewarm: int = 0) -> None:
        """Start iterations on a rate plan (the open model; :mod:`.arrival`): each runner says how."""
        raise NotImplementedError(f"{type(self).__name__} runs no arrival-rate load")

    def run_arrival(self, plan: Any, max_users: int, run_time: float | None = None, prewarm: int = 1) -> int:
        """Run a whole open-model test: iterations on ``plan`` (a :class:`.arrival.RatePlan`) from a pool of at
        most ``max_users`` users, for ``run_time`` (None: the plan's duration, or until quit). ``prewarm`` users
        are started first (their on_start run) and the run time counts from when they are idle. Returns the
        exit code."""
        import math

        if self.environment.shape_class is not None:
            self.start_shape()
        else:
            self.start_arrival(plan, max_users, prewarm=prewarm)
            if self.arrival is not None:  # a master's workers warm up their own pools
                # Or until the run ends meanwhile (an abort, Ctrl-C): its stop ends the warm-up's users too.
                gevent.wait([self.arrival.warmed, self._finished], count=1)
                if not self._finished.is_set():
                    self.start_time = time.time()  # the run's clock starts with the schedule's, after the warm-up
            if run_time is None and math.isfinite(plan.duration):
                run_time = plan.duration
        self.wait(run_time)
        self.stop()
        self._finished.set()
        return self.exit_code

    def _follow_rate_tick(self, rate: float, max_users: int | None) -> None:
        """A shape's tick asked for a rate: start the open model, or change its rate and ceiling."""
        from .arrival import DEFAULT_MAX_USERS, ShapeRatePlan

        plan = getattr(self.arrival, "plan", None)
        if isinstance(plan, ShapeRatePlan) and self.state not in (STATE_INIT, STATE_STOPPED):
            self.set_arrival_rate(rate, max_users)
            return
        ceiling = max_users or getattr(self.environment.parsed_options, "max_users", None) or DEFAULT_MAX_USERS
        self.start_arrival(ShapeRatePlan(rate), int(ceiling))

    def set_arrival_rate(self, rate: float, max_users: int | None = None) -> None:
        """Change a shape-driven open-model run's rate (and pool ceiling) from now on."""
        self.arrival.plan.set_rate(rate)
        if max_users:
            self.arrival.max_users = max_users

    def start_shape(self) -> None:
        shape = self.environment.shape_class
        shape.runner = self
        shape.reset_time()
        self.shape_greenlet = self.spawn_background(self._shape_loop, shape)
        self.shape_greenlet.name = "shape"

    def _shape_loop(self, shape: Any) -> None:
        last = None
        by_rate: bool | None = None  # whether the shape's ticks give rates (None: no tick yet)
        while True:
            tick = shape.tick()
            if tick is None:
                logger.info("shape %s ended the run", type(shape).__name__)
                gevent.spawn(self.quit)
                return
            if tick != last:
                last = tick
                rate_tick = rate_of_tick(tick)
                if by_rate is not None and by_rate != (rate_tick is not None):
                    # The pool's users wait for iterations, closed-model users loop: one run is one model.
                    raise ConfigurationError(
                        f"the shape {type(shape).__name__} switched from "
                        + ("a rate (RateTick) to users" if by_rate else "users to a rate (RateTick)")
                        + " within the run: a run is either open model (rates) or closed model (users)")
                by_rate = rate_tick is not None
                if rate_tick is not None:
                    self._follow_rate_tick(*rate_tick)
                else:
                    user_count, spawn_rate, *rest = tick
                    self.start(int(user_count), float(spawn_rate), user_classes=rest[0] if rest else None)
            gevent.sleep(self.shape_tick_interval)


def describe(error: BaseException) -> str:
    """``SystemExit: 3``: an exception's type and, when it has one, its message."""
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def kill_timeout(stop_timeout: float) -> float:
    """How long killed users get to finish (their ``on_stop``): the stop timeout, at least a second."""
    return max(float(stop_timeout or 0.0), KILL_TIMEOUT_FLOOR)


def kill_others(group: Group) -> None:
    """Kill a group's greenlets except the calling one (a listener may stop the run from inside)."""
    current = gevent.getcurrent()
    for greenlet in list(group):
        if greenlet is not current:
            greenlet.kill(block=False)


def validate_counts(user_count: Any, spawn_rate: Any) -> None:
    if not isinstance(user_count, int) or isinstance(user_count, bool) or user_count < 0:
        raise ConfigurationError(f"user count must be a whole number >= 0, got {user_count!r}")
    if not isinstance(spawn_rate, (int, float)) or spawn_rate <= 0:
        raise ConfigurationError(f"spawn rate must be a number > 0 (users per second), got {spawn_rate!r}")
