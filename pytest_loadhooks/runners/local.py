"""The runner that runs users as greenlets in this process."""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

import gevent

from .. import dispatch
from .arrival import ArrivalExecutor, RatePlan, ShapeRatePlan, stats_of
from .base import (
    STATE_INIT,
    STATE_RUNNING,
    STATE_SPAWNING,
    STATE_STOPPED,
    Message,
    Runner,
    kill_timeout,
    validate_counts,
)

if TYPE_CHECKING:
    from ..env import Environment
    from ..user.users import User

logger = logging.getLogger(__name__)

KILL_STRAGGLERS_WAIT = 1.0
"""How long users killed a second time (in their ``on_stop``) get to end."""


class InProcessRunner(Runner):
    """Runs users as greenlets in this process: what :class:`LocalRunner` and the distributed
    mode's ``WorkerRunner`` share. Not a LocalRunner itself, so that ``isinstance(runner,
    LocalRunner)`` is False on a worker, as in Locust (listeners branch on it)."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.users: dict[type, list[User]] = {}
        # What Locust's LocalRunner has so that listeners work unchanged in both modes:
        # this process is the one "worker" of its own run.
        self.worker_count = 1
        self.worker_index = 0
        self.client_id = f"{socket.gethostname()}_{uuid.uuid4().hex}"
        self.arrival: ArrivalExecutor | None = None

    @property
    def user_count(self) -> int:
        return sum(len(users) for users in self.users.values())

    @property
    def user_classes_count(self) -> dict[str, int]:
        """Running users per class name; every class of the run is listed, 0 if none runs (Locust's)."""
        counts = {cls.__name__: 0 for cls in self.environment.user_classes}
        for cls, users in self.users.items():
            counts[cls.__name__] = counts.get(cls.__name__, 0) + len(users)
        return counts

    def send_message(self, msg_type: str, data: Any = None, client_id: str | None = None) -> None:
        """Locally there is no other node: the message goes straight to this runner's own
        listener, with ``msg.node_id == "local"``; ``client_id`` is ignored.

        The listener runs before this returns, ``concurrent`` or not, as in Locust's local runner:
        a locustfile that sends from ``test_start`` can rely on it having run before users spawn.
        """
        logger.debug("local run: message %r delivered to this runner", msg_type)
        self._deliver_message(Message(msg_type, data, "local"), inline=True)

    def _current_counts(self) -> dict[type, int]:
        return {cls: len(users) for cls, users in self.users.items()}

    def start(self, user_count: int, spawn_rate: float, wait: bool = False,
              user_classes: Sequence[type] | None = None) -> None:
        """Ramp to ``user_count`` users at ``spawn_rate`` users/s (up or down)."""
        validate_counts(user_count, spawn_rate)
        classes = list(user_classes) if user_classes else list(self.environment.user_classes)
        self.environment.validate_user_classes(classes)
        # Set before test_start fires: its listeners read runner.target_user_count (as in Locust).
        self.target_user_count = user_count
        self.spawn_rate = spawn_rate
        self._ramp_to(dispatch.distribution(classes, user_count), spawn_rate,
                      lambda current: dispatch.changes(classes, current, user_count), self._spawning_complete)
        if wait:
            self.spawning_greenlet.join()

    def start_arrival(self, plan: RatePlan | ShapeRatePlan, max_users: int,
                      user_classes: Sequence[type] | None = None, elapsed: float = 0.0, prewarm: int = 0) -> None:
        """Start iterations on ``plan`` (the open model) with a pool of at most ``max_users`` users.

        The scheduler runs as the runner's spawner greenlet: a stop ends it before the users
        (see :mod:`.arrival`). Iterations, dropped iterations and the start lag are counted in
        ``stats.open_model``.
        """
        classes = list(user_classes) if user_classes else list(self.environment.user_classes)
        self.environment.validate_user_classes(classes)
        if self.state in (STATE_INIT, STATE_STOPPED):
            self._begin_run()
        if self.spawning_greenlet is not None:
            self.spawning_greenlet.kill(block=True)
        self.target_user_count = max_users
        executor = self.arrival
        if executor is not None and executor.running_users():
            # A new plan for a run under way (a master re-splitting its rate): the pool's users stay.
            executor.follow(plan, max_users, classes)
        else:
            executor = ArrivalExecutor(plan, max_users, classes, self._spawn_one_user, stats_of(self.environment))
            self.arrival = executor
        executor.elapsed = elapsed
        executor.prewarm = prewarm
        self.update_state(STATE_RUNNING)
        self.spawning_greenlet = self.spawn_background(executor.run)
        self.spawning_greenlet.name = "arrival-scheduler"

    def _spawning_complete(self, counts: dict[str, int]) -> None:
        logger.info("spawning complete: %d users %s", self.user_count, self.user_classes_count)
        self.environment.events.spawning_complete.fire(user_count=sum(counts.values()))

    # -- the ramp (LocalRunner's and, on the master's orders, WorkerRunner's) --
    def _ramp_to(self, target: dict[type, int], spawn_rate: float,
                 plan: Callable[[dict[type, int]], tuple[list[type], list[type]]],
                 on_complete: Callable[[dict[str, int]], None]) -> None:
        """Start ramping to ``target`` users per class at ``spawn_rate`` users/s, in the runner's "spawner"
        greenlet: a run begins if none is going on, a ramp under way is ended first. ``plan(current
        users per class)`` gives the users to start and to stop, in order; ``on_complete(users per class
        name)`` runs when the ramp is done."""
        if self.state in (STATE_INIT, STATE_STOPPED):
            self._begin_run()
        if self.spawning_greenlet is not None:
            self.spawning_greenlet.kill(block=True)
        self.update_state(STATE_SPAWNING)
        to_add, to_remove = plan(self._current_counts())
        self.spawning_greenlet = self.spawn_background(self._ramp, to_add, to_remove, spawn_rate, target,
                                                       on_complete)
        self.spawning_greenlet.name = "spawner"

    def _ramp(self, to_add: list[type], to_remove: list[type], spawn_rate: float, target: dict[type, int],
              on_complete: Callable[[dict[str, int]], None]) -> None:
        started = time.monotonic()
        for index, cls in enumerate(to_remove):
            self._stop_one_user(cls)
            self._pace(started, index + 1, spawn_rate)
        started = time.monotonic()
        for index, cls in enumerate(to_add):
            self._spawn_one_user(cls)
            if index + 1 < len(to_add):  # no pause after the last user: spawning is complete
                self._pace(started, index + 1, spawn_rate)
        self.update_state(STATE_RUNNING)
        # Locust reports the users the ramp dispatched, not those still alive: its ramp
        # starts again any user that ended early (a fixed_count user that stopped itself),
        # so at the end its running count is the target. Ours starts each user once, so
        # the target is what is reported.
        counts = {cls.__name__: 0 for cls in self.environment.user_classes}
        for cls, n in target.items():
            counts[cls.__name__] = counts.get(cls.__name__, 0) + n
        self.target_user_classes_count = counts
        on_complete(counts)

    @staticmethod
    def _pace(started: float, done: int, rate: float) -> None:
        delay = started + done / rate - time.monotonic()
        if delay > 0:
            gevent.sleep(delay)
        elif done % 50 == 0:
            gevent.sleep(0)  # let the new users run even when spawning faster than we can

    def _spawn_one_user(self, cls: type, prepare: Callable[[User], None] | None = None) -> User:
        scope = self.run_scope
        with scope.spawning() if scope is not None else nullcontext():  # what __init__ starts is the run's
            user = cls(self.environment)
            if prepare is not None:  # e.g. an arrival-rate pool user gets its task loop
                prepare(user)
            greenlet = user.start(self.user_greenlets)
        if scope is not None:  # before the user first runs: whatever it starts is the run's too
            scope.adopt(greenlet)
        self.users.setdefault(cls, []).append(user)
        greenlet.link(lambda g, user=user, cls=cls: self._forget_user(cls, user))
        return user

    def _forget_user(self, cls: type, user: User) -> None:
        users = self.users.get(cls)
        if users and user in users:
            users.remove(user)

    def _stop_one_user(self, cls: type) -> None:
        users = self.users.get(cls)
        if not users:
            return
        user = users.pop()
        self._stop_users([user], self.environment.stop_timeout, block=False)

    def _stop_users(self, users: list[User], stop_timeout: float, block: bool = True) -> None:
        """Stop users gracefully within ``stop_timeout`` seconds, then kill what is left."""
        if not users:
            return
        if stop_timeout <= 0:
            for user in users:
                user.stop(force=True)
        else:
            pending = [user for user in users if not user.stop(force=False)]
            if pending:
                waiter = gevent.spawn(self._kill_after, pending, stop_timeout)
                if block:
                    waiter.join()
                return
        if block:
            gevent.joinall([u.greenlet for u in users if u.greenlet is not None], timeout=kill_timeout(stop_timeout))

    @staticmethod
    def _kill_after(users: list[User], stop_timeout: float) -> None:
        greenlets = [u.greenlet for u in users if u.greenlet is not None]
        gevent.joinall(greenlets, timeout=stop_timeout)
        late = [g for g in greenlets if not g.dead]
        if late:
            logger.info("stop timeout (%.1fs) reached: killing %d users mid-task", stop_timeout, len(late))
            for user in users:
                user.stop(force=True)
            gevent.joinall(late, timeout=kill_timeout(stop_timeout))

    def _kill_stragglers(self) -> None:
        """Users still alive after the kill wait (an ``on_stop`` that went on) are killed again,
        in their ``on_stop`` this time: no user of an ended run may go on sending requests."""
        late = [greenlet for greenlet in self.user_greenlets if not greenlet.dead]
        if late:
            logger.warning("%d users were still in on_stop %.1fs after being killed: killing them there",
                           len(late), kill_timeout(self.environment.stop_timeout))
            self.user_greenlets.kill(block=True, timeout=KILL_STRAGGLERS_WAIT)

    _wait_for_ramp_at_stop = True  # the ramp starts users: none may be added once the stop collects them

    def _end_users(self) -> None:
        everyone = [user for users in self.users.values() for user in users]
        self._stop_users(everyone, self.environment.stop_timeout)
        self.user_greenlets.kill(block=True, timeout=kill_timeout(self.environment.stop_timeout))
        self._kill_stragglers()
        self._end_owned_greenlets(kill_timeout(self.environment.stop_timeout))
        self.users.clear()


class LocalRunner(InProcessRunner):
    """Runs users as greenlets in this process: a whole run, on its own."""

    def start_single_user(self, user_class: type[User]) -> User:
        """Begin a run of one ``user_class`` user, started at once (no ramp, no ``spawning_complete``).

        What :func:`pytest_loadhooks.debug.run_single_user` needs: ``test_start`` fires (with
        ``target_user_count`` 1), then the user runs until it stops itself or the run is stopped
        (``quit()`` stops it and fires the stop events). Returns the user.
        """
        self.target_user_count = 1
        self._begin_run()
        self.update_state(STATE_RUNNING)
        return self._spawn_one_user(user_class)
