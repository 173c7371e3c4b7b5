"""The arrival-rate executor: the open model (``--load-rate``, ``--load-rate-stages``, a rate shape).

Iterations start at a rate, whatever the target's response times (see ``docs/open-model.md``).
An *iteration* is one task of a user: what runs between two of its waits. Each iteration has an
intended start, fixed by the rate plan alone and computed as an absolute time from the run's
start (so no error accumulates: the 10,000th iteration of a 500/s run is due at 20.0 s sharp).
The scheduler, one greenlet, sleeps on gevent's timer until the next iteration is due and hands
it to an idle user of the pool; when none is idle it starts a new user, up to the pool's ceiling
(``max_users``); at the ceiling, the iteration is *dropped* and counted.

A pool user runs its tasks as any user does (``on_start``, its tasks, ``on_stop``), but between
two tasks it does not wait its ``wait_time``: it waits for the scheduler to hand it its next
iteration (:class:`ArrivalTaskLoop`, its task loop). When it starts the iteration it records how
late that is (the *start lag*, in ``stats.open_model``) and stamps the lag on its greenlet, where
the stats read it to count each request's response time from the intended start as well.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event
from gevent import getcurrent

from ..open_model import LAG_ATTRIBUTE, OpenModelStats
from ..user.task import STATE_RUNNING, STATE_WAITING, TaskLoop

if TYPE_CHECKING:
    from ..user.users import User

logger = logging.getLogger(__name__)

DEFAULT_MAX_USERS = 100
"""The pool's ceiling when none is given (``--load-max-users``)."""
SHAPE_POLL = 0.1
"""A shape's rate may change at any tick: the scheduler looks again at least this often (s)."""
WARM_UP_TIMEOUT = 60.0
"""The longest the pre-started users' on_start may hold the schedule's start (s)."""
MISSED_COUNTED_ONE_BY_ONE = 100_000
"""At a stop, the due iterations a scheduler far behind never launched are counted one by one up to this many;
the rest are reckoned from the rate (a stop must not take as long as the run fell behind)."""
CATCH_UP_BURST = 64
"""Iterations launched (or dropped) in a row without sleeping before the scheduler yields to the hub: a
scheduler that is always behind (a rate beyond the machine) must still let timers, users and signals run."""


# -- when iterations are due -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Stage:
    """Ramp linearly from the previous stage's rate to ``rate`` (iterations/s) over ``duration`` seconds."""

    rate: float
    duration: float


class RatePlan:
    """When each iteration is due, as offsets in seconds from the run's start.

    ``RatePlan.constant(200)``: 200 iterations/s, iteration *k* due at *k*/200 s. ``RatePlan.staged``:
    each stage ramps linearly from the rate before it (``start_rate``, 0 by default, before the first),
    and iteration *k* is due when the integral of the rate reaches *k*.
    """

    def __init__(self, stages: Sequence[Stage], start_rate: float = 0.0) -> None:
        self.stages = list(stages)
        self.start_rate = start_rate

    @classmethod
    def constant(cls, rate: float, duration: float = math.inf) -> RatePlan:
        return cls([Stage(rate, duration)], start_rate=rate)

    @classmethod
    def staged(cls, stages: Sequence[tuple[float, float]]) -> RatePlan:
        return cls([Stage(float(rate), float(duration)) for rate, duration in stages])

    @property
    def duration(self) -> float:
        return sum(stage.duration for stage in self.stages)

    def rate_at(self, offset: float) -> float:
        """The planned rate ``offset`` seconds into the run (0 after its end)."""
        before = self.start_rate
        for stage in self.stages:
            if offset < stage.duration:
                return before + (stage.rate - before) * offset / stage.duration if stage.duration else stage.rate
            offset -= stage.duration
            before = stage.rate
        return 0.0

    def split(self, share: float) -> RatePlan:
        """The same plan at ``share`` of the rate (a worker's part of a distributed run)."""
        return RatePlan([Stage(stage.rate * share, stage.duration) for stage in self.stages], self.start_rate * share)

    def to_data(self) -> dict[str, Any]:
        return {"stages": [[stage.rate, stage.duration if math.isfinite(stage.duration) else None]
                           for stage in self.stages], "start_rate": self.start_rate}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> RatePlan:
        return cls([Stage(float(rate), math.inf if duration is None else float(duration))
                    for rate, duration in data["stages"]], float(data["start_rate"]))

    def offsets(self, _clock: Callable[[], float] | None = None) -> Iterator[tuple[float, bool]]:
        """``(offset, True)`` for each iteration, in order, until the plan ends."""
        count_before = 0.0  # iterations due (the rate's integral) before the current stage
        stage_start = 0.0
        rate_before = self.start_rate
        k = 0  # the next iteration's number: due when the integral reaches k
        for stage in self.stages:
            while True:
                tau = _time_to_reach(k - count_before, rate_before, stage.rate, stage.duration)
                if tau is None:
                    break
                yield stage_start + tau, True
                k += 1
            count_before += (rate_before + stage.rate) / 2 * stage.duration if math.isfinite(stage.duration) else 0
            stage_start += stage.duration
            rate_before = stage.rate


def _time_to_reach(n: float, r0: float, r1: float, duration: float) -> float | None:
    """Seconds into a stage ramping from ``r0`` to ``r1`` over ``duration`` at which ``n`` more
    iterations are due (``r0*t + (r1-r0)*t²/(2*duration) = n``); None when not within the stage."""
    slope = (r1 - r0) / duration if math.isfinite(duration) and duration > 0 else 0.0
    if n <= 0:  # due at the stage's start, when anything is due in it at all
        return 0.0 if duration > 0 and (r0 > 0 or slope > 0) else None
    if slope == 0.0:
        if r0 <= 0:
            return None
        tau = n / r0
    else:
        disc = r0 * r0 + 2 * slope * n
        if disc < 0:
            return None
        root = math.sqrt(disc)
        if r0 + root <= 0:
            return None
        tau = 2 * n / (r0 + root)  # the smaller root, without cancellation
    return tau if tau < duration else None


class ShapeRatePlan:
    """A rate that a LoadTestShape sets at each tick (``set_rate``); runs until the shape ends the run."""

    duration = math.inf

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def set_rate(self, rate: float) -> None:
        self.rate = rate

    def split(self, share: float) -> ShapeRatePlan:
        return ShapeRatePlan(self.rate * share)

    def to_data(self) -> dict[str, Any]:
        return {"shape_rate": self.rate}

    def offsets(self, clock: Callable[[], float] | None = None) -> Iterator[tuple[float, bool]]:
        """Iterations at the current rate; ``(offset, False)``: nothing due, look again then."""
        assert clock is not None
        last: float | None = None
        while True:
            now = clock()
            rate = self.rate
            if rate <= 0:
                last = None
                yield now + SHAPE_POLL, False
                continue
            due = now if last is None else last + 1.0 / rate
            if due - now > SHAPE_POLL:  # a long gap: the rate may rise meanwhile
                yield now + SHAPE_POLL, False
                continue
            last = due
            yield due, True


# -- the pool's users ------------------------------------------------------------------------------------

class ArrivalTaskLoop(TaskLoop):
    """A pool user's task loop: between two tasks the user waits for its next iteration, not its wait_time."""

    __slots__ = ("executor", "intended", "user", "wake", "warming")

    def __init__(self, executor: ArrivalExecutor, user: User, intended: float | None) -> None:
        super().__init__()
        self.executor = executor
        self.user = user
        self.intended: float | None = intended  # monotonic intended start of the iteration handed over
        self.warming = intended is None  # started ahead of the schedule: waits for its first iteration
        self.wake = gevent.event.Event()

    def check_stop(self) -> None:
        """Before each task (and around each pause): a handed-over iteration starts now."""
        super().check_stop()
        if self.warming:  # a pre-started user, its on_start done: it waits for its first iteration
            self.warming = False
            self._wait_for_iteration()
        intended = self.intended
        if intended is not None:
            self.intended = None
            lag_ms = (time.monotonic() - intended) * 1000.0
            setattr(getcurrent(), LAG_ATTRIBUTE, lag_ms)  # read by the stats for each request it sends
            self.executor.stats.record_start(lag_ms, time.time())

    def pause(self, seconds: float) -> None:
        """Wait until the scheduler hands this user an iteration (``seconds``, its wait_time, is ignored)."""
        self.check_stop()
        self._wait_for_iteration()
        self.check_stop()

    def _wait_for_iteration(self) -> None:
        self.state = STATE_WAITING  # a stop kills a waiting user at once
        self.wake.clear()
        self.executor.idle(self)
        self.wake.wait()
        TaskLoop.check_stop(self)
        self.state = STATE_RUNNING

    def hand(self, intended: float) -> None:
        self.intended = intended
        self.wake.set()


# -- the scheduler ---------------------------------------------------------------------------------------

SpawnUser = Callable[[type, Callable[["User"], None]], "User"]
"""The runner's way of starting a user of a class, ``prepare(user)`` called before it first runs."""


class ArrivalExecutor:
    """Starts iterations on a rate plan with a pool of at most ``max_users`` users."""

    def __init__(self, plan: RatePlan | ShapeRatePlan, max_users: int, classes: Sequence[type],
                 spawn_user: SpawnUser, stats: OpenModelStats) -> None:
        if max_users < 1:
            raise ValueError(f"an arrival-rate run needs at least 1 user in its pool (max users), got {max_users}")
        self.plan = plan
        self.max_users = max_users
        self.classes = list(classes)
        self.spawn_user = spawn_user
        self.stats = stats
        self.pool_size = 0
        self._idle: dict[type, list[ArrivalTaskLoop]] = {cls: [] for cls in self.classes}
        self._weights = {cls: max(int(getattr(cls, "weight", 1) or 0), 0) for cls in self.classes}
        if not any(self._weights.values()):
            self._weights = dict.fromkeys(self.classes, 1)
        self._credit = dict.fromkeys(self.classes, 0)
        self.started_at: float | None = None
        self.elapsed = 0.0
        """Seconds of the plan already gone when this executor starts (a worker joining a run under way)."""
        self.prewarm = 0
        """Users started (their ``on_start`` run) before the schedule's clock starts (``--load-users``)."""
        self.warmed = gevent.event.Event()
        """Set when the pre-started users are idle (or could not be): the schedule's clock starts then."""

    def follow(self, plan: RatePlan | ShapeRatePlan, max_users: int, classes: Sequence[type]) -> None:
        """Go on with another plan, ceiling and classes, keeping the pool's users (call :meth:`run` again)."""
        self.plan = plan
        self.max_users = max_users
        for cls in classes:
            if cls not in self.classes:
                self.classes.append(cls)
                self._idle.setdefault(cls, [])
                self._weights[cls] = max(int(getattr(cls, "weight", 1) or 0), 1)
                self._credit[cls] = 0

    def running_users(self) -> int:
        return self.pool_size

    def warm_up(self, timeout: float = WARM_UP_TIMEOUT) -> None:
        """Start ``prewarm`` users and wait (up to ``timeout`` s) until each has run its on_start and is idle:
        a cold start (imports, connections, logins) then costs no iteration its start lag, nor a drop."""
        for _ in range(min(self.prewarm, self.max_users) - self.pool_size):
            self._start_user(self._next_class(), None)
        deadline = time.monotonic() + timeout
        while sum(len(idle) for idle in self._idle.values()) < self.pool_size and time.monotonic() < deadline:
            gevent.sleep(0.01)
        self.warmed.set()

    def run(self) -> None:
        """The scheduler's greenlet: each iteration launched at its intended start (absolute times)."""
        if not self.warmed.is_set():
            self.warm_up()
        start = self.started_at = time.monotonic() - self.elapsed
        behind = 0
        offsets = self.plan.offsets(lambda: time.monotonic() - start)
        pending: tuple[float, bool] | None = None  # the iteration being waited for, not launched yet
        try:
            for offset, launch in offsets:
                if offset < self.elapsed:
                    continue  # due before this executor joined the plan
                pending = (offset, launch)
                due = start + offset
                delay = due - time.monotonic()
                if delay > 0:
                    behind = 0
                    gevent.sleep(delay)
                else:
                    behind += 1
                    if behind >= CATCH_UP_BURST:
                        behind = 0
                        gevent.sleep(0)
                pending = None
                if launch:
                    self._launch(due)
        except gevent.GreenletExit:
            self._drop_missed(offsets, pending, time.monotonic() - start)
            raise
        logger.info("arrival plan done: %d iterations started, %d dropped",
                    self.stats.iterations, self.stats.dropped_iterations)

    def _drop_missed(self, offsets: Iterator[tuple[float, bool]], pending: tuple[float, bool] | None,
                     now: float) -> None:
        """The scheduler is stopped (the run's end, a new plan): the iterations already due that it had not
        launched yet (a scheduler behind its plan: a starved event loop) never start: counted as dropped,
        so that started + dropped is every iteration due, and a rate not held never reads "0 dropped"."""
        missed = 1 if pending is not None and pending[1] and pending[0] <= now else 0
        for offset, launch in offsets:
            if offset > now:
                break
            if launch and offset >= self.elapsed:
                missed += 1
            if missed >= MISSED_COUNTED_ONE_BY_ONE:  # far behind a huge rate: the rest by the rate, not one by one
                rate = self.plan.rate_at(offset) if isinstance(self.plan, RatePlan) else self.plan.rate
                missed += int((now - offset) * rate)
                break
        if missed:
            self.stats.record_drop(time.time(), missed)

    def _launch(self, intended: float) -> None:
        cls = self._next_class()
        idle = self._idle[cls]
        while idle:
            loop = idle.pop()
            greenlet = loop.user.greenlet
            if greenlet is not None and not greenlet.dead:
                loop.hand(intended)
                return
        if self.pool_size < self.max_users:
            self._start_user(cls, intended)
            return
        self.stats.record_drop(time.time())

    def _start_user(self, cls: type, intended: float | None) -> None:
        """A new pool user; its first iteration is ``intended`` (None: it waits for one after on_start)."""
        self.pool_size += 1
        user = self.spawn_user(cls, lambda new: self._prepare(new, intended))
        if user.greenlet is not None:
            user.greenlet.link(self._user_ended)

    def _prepare(self, user: User, intended: float | None) -> None:
        user.task_loop = ArrivalTaskLoop(self, user, intended)  # its first task is this iteration

    def _user_ended(self, _greenlet: Any) -> None:
        self.pool_size -= 1

    def idle(self, loop: ArrivalTaskLoop) -> None:
        """A pool user is waiting for an iteration."""
        self._idle.setdefault(type(loop.user), []).append(loop)

    def _next_class(self) -> type:
        """The class of the next iteration: smooth weighted round robin, so iterations follow the weights."""
        if len(self.classes) == 1:
            return self.classes[0]
        total = sum(self._weights.values())
        best = None
        for cls in self.classes:
            self._credit[cls] += self._weights[cls]
            if best is None or self._credit[cls] > self._credit[best]:
                best = cls
        assert best is not None
        self._credit[best] -= total
        return best


def plan_from_data(data: dict[str, Any]) -> RatePlan | ShapeRatePlan:
    """A plan sent over the wire (``to_data()``: a master's order to its workers)."""
    if "shape_rate" in data:
        return ShapeRatePlan(float(data["shape_rate"]))
    return RatePlan.from_data(data)


def worker_share(plan: RatePlan | ShapeRatePlan, max_users: int, workers: int) -> tuple[Any, int]:
    """One of ``workers`` workers' part of an open-model run: the rate split evenly, the pool's ceiling
    split rounding up (each worker needs at least one user); the pre-started users split the same way."""
    return plan.split(1.0 / workers), max(math.ceil(max_users / workers), 1)


def stats_of(environment: Any) -> OpenModelStats:
    """The run's open-model counts, made for it when its stats have none yet."""
    return environment.stats.counted_open_model()


def rate_of_tick(tick: Any) -> tuple[float, int | None] | None:
    """A shape tick that asks for a rate: ``RateTick(rate, max_users)``, a dict with ``rate``, or any object
    with a ``rate`` attribute -> (rate, max users or None); None for a users tick ``(users, spawn_rate)``."""
    if isinstance(tick, dict):
        if "rate" not in tick:
            return None
        rate, max_users = tick["rate"], tick.get("max_users")
    elif hasattr(tick, "rate"):  # RateTick, or any object with a rate
        rate, max_users = tick.rate, getattr(tick, "max_users", None)
    else:
        return None
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not math.isfinite(rate) or rate < 0:
        raise ValueError(f"a shape's rate must be a number of iterations per second >= 0, got {rate!r}")
    if max_users is None:
        return float(rate), None
    if isinstance(max_users, float) and max_users.is_integer():
        max_users = int(max_users)  # 20.0, from JSON say
    if not isinstance(max_users, int) or isinstance(max_users, bool) or max_users < 1:
        raise ValueError(f"a shape's max_users must be a whole number >= 1 (or None), got {max_users!r}")
    return float(rate), max_users
