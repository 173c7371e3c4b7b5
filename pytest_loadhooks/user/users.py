"""User classes: one simulated user is one greenlet running its tasks until stopped."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gevent
from gevent import GreenletExit
from gevent.pool import Group

from ..exception import StopUser
from .task import (  # the user states are the task loop's (TaskLoop), importable from here as they were
    STATE_RUNNING,
    STATE_STOPPING,
    STATE_WAITING,
    DefaultTaskSet,
    TaskLoop,
    TaskSetMeta,
    TaskSpec,
    report_user_error,
)

if TYPE_CHECKING:
    from ..env import Environment

logger = logging.getLogger(__name__)

def _ctrl_c_raises_keyboard_interrupt() -> bool:
    """Whether SIGINT has Python's default handler, so that a KeyboardInterrupt may be Ctrl-C.

    Where something handles Ctrl-C itself (the pytest plugin, during a run), a KeyboardInterrupt
    raised in a task can only come from the task's own code.
    """
    return signal.getsignal(signal.SIGINT) is signal.default_int_handler


class UserMeta(TaskSetMeta):
    def __new__(mcs, name: str, bases: tuple, namespace: dict) -> type:
        # ``abstract`` is not inherited: a subclass is concrete unless it says otherwise.
        namespace.setdefault("abstract", False)
        return super().__new__(mcs, name, bases, namespace)


class User(metaclass=UserMeta):
    """A simulated user. Subclass it, add ``@task`` methods, and set ``wait_time``."""

    abstract = True
    host: str | None = None
    wait_time: Callable[..., float] | None = None
    tasks: list[TaskSpec] = []
    weight: int = 1
    fixed_count: int = 0

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        run_host = getattr(environment, "host", None)
        if run_host:
            # The run's host overrides the class's (Locust's -H). Set on the instance, not
            # the class as Locust does, so runs with different hosts in one process (isolated
            # pytest runs) never leak into each other; clients read self.host after this.
            self.host = run_host
        self.task_loop = TaskLoop()
        """Engine-internal: where this user is in its task loop (see :class:`~.task.TaskLoop`)."""
        self._greenlet: gevent.Greenlet | None = None
        self.task_started_at: float | None = None
        """Engine-internal: when the user's current (or last) task began, ``time.monotonic()``, whichever
        TaskSet ran it; read by ``constant_pacing``."""
        self._taskset_instance = DefaultTaskSet(self)

    # -- hooks for subclasses --
    def on_start(self) -> None:
        """Called once when the user starts, before its first task."""

    def on_stop(self) -> None:
        """Called once when the user stops."""

    def context(self) -> dict[str, Any]:
        """Context merged into every request this user makes (the ``request`` event's ``context``)."""
        return {}

    # -- the loop --
    def run(self) -> None:
        self.task_loop.state = STATE_RUNNING
        try:
            self.on_start()
            self._taskset_instance.run()
        except (StopUser, GreenletExit):
            self._call_on_stop()
        except Exception as error:  # noqa: BLE001 - on_start raising still must not crash the runner
            report_user_error(self, error)
            self._call_on_stop()
        except BaseException as error:  # reported below: the runner ends the run, errored
            if isinstance(error, KeyboardInterrupt) and _ctrl_c_raises_keyboard_interrupt():
                raise  # most likely Ctrl-C itself: gevent hands it on to the main greenlet, as Python would
            # SystemExit, KeyboardInterrupt or a custom BaseException from user code, or a signal
            # handler's exception (a timeout) that landed in this user's task: the user cannot
            # go on. Reported like any user error, never left to end the greenlet silently; the
            # runner then ends the run, errored, saying why.
            report_user_error(self, error)
            self._call_on_stop()

    def _call_on_stop(self) -> None:
        try:
            self.on_stop()
        except GreenletExit:
            raise  # killed again while in on_stop: the runner wants this user gone now
        except BaseException as error:  # noqa: BLE001 - reported, and the runner decides (see run)
            report_user_error(self, error)

    def wait_time_seconds(self) -> float:
        wait_time = type(self).wait_time
        if wait_time is None:
            return 0.0
        return wait_time(self)

    def wait(self) -> None:
        """Pause between tasks for this user's ``wait_time`` (stops at once if the user is stopped meanwhile)."""
        self.task_loop.pause(self.wait_time_seconds())

    # -- control from the runner --
    def start(self, group: Group) -> gevent.Greenlet:
        self._greenlet = group.spawn(self.run)
        self._greenlet.user = self  # lets the runner find the user of a greenlet
        return self._greenlet

    def stop(self, force: bool = False) -> bool:
        """Stop the user: at once when forced or waiting, else after its current task."""
        if self._greenlet is None or self._greenlet.dead:
            return True
        if force or self.task_loop.state == STATE_WAITING:
            # The kill lands at the user's next switch; marked stopping too, so that a user
            # resumed before it lands (woken from a zero wait) stops at its next check
            # instead of starting another task.
            self.task_loop.state = STATE_STOPPING
            self._greenlet.kill(block=False)
            return True
        self.task_loop.state = STATE_STOPPING
        return False

    @property
    def greenlet(self) -> gevent.Greenlet | None:
        return self._greenlet

    def __repr__(self) -> str:
        return f"<{type(self).__name__} user>"


class HttpUser(User):
    """A user with ``self.client``, a requests-based HTTP session that reports every request."""

    abstract = True
    timeout: float | tuple[float, float] | None = 60.0
    """Default timeout (seconds) of every request; a hanging target becomes a recorded failure."""
    pool_maxsize: int = 10

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        from ..clients import HttpSession  # requests is imported only when HTTP users exist

        host = self.host
        if not host:
            raise ValueError(
                f"{type(self).__name__} has no host: set {type(self).__name__}.host, "
                "Environment(host=...) or --load-host"
            )
        self.client = HttpSession(base_url=host, user=self, timeout=self.timeout, pool_maxsize=self.pool_maxsize)

    def _call_on_stop(self) -> None:
        super()._call_on_stop()
        self.client.close()

