"""Tasks and task sets: what a user does, how it is picked, and how control moves between sets."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import gevent
from gevent import GreenletExit, Timeout

from ..exception import (
    InterruptTaskSet,
    RescheduleTask,
    RescheduleTaskImmediately,
    StopUser,
)

if TYPE_CHECKING:
    from .users import User

logger = logging.getLogger(__name__)

TaskSpec = Any  # a callable taking the user/taskset, or a TaskSet class

STATE_RUNNING, STATE_WAITING, STATE_STOPPING = "running", "waiting", "stopping"


class TaskLoop:
    """Where a user is in its task loop: what its TaskSets and ``User.stop`` share.

    Engine-internal, not Locust API: a User holds one as ``task_loop``. Every TaskSet the user
    runs checks it before each task (:meth:`check_stop`) and pauses through it between tasks
    (:meth:`pause`); ``User.stop`` reads :attr:`state` to decide whether the user can be killed
    at once (it is waiting) or is to stop at its next check (it is in a task).
    """

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = STATE_RUNNING

    def check_stop(self) -> None:
        """Raise ``StopUser`` when the user was asked to stop."""
        if self.state == STATE_STOPPING:
            raise StopUser()

    def pause(self, seconds: float) -> None:
        """Wait between tasks; the user is "waiting" meanwhile, so a stop kills it at once."""
        self.check_stop()
        self.state = STATE_WAITING
        gevent.sleep(seconds)
        self.check_stop()
        self.state = STATE_RUNNING


def report_user_error(instance: Any, error: BaseException) -> None:
    """Fire ``user_error`` for an exception that escaped a task, ``on_start`` or ``on_stop`` of
    ``instance`` (the User, or the TaskSet whose task raised, as Locust hands it to listeners)."""
    instance.environment.events.user_error.fire(user_instance=instance, exception=error, tb=error.__traceback__)


def task(weight: Callable | int = 1) -> Callable:
    """Mark a method as a task; ``@task`` or ``@task(3)`` (picked three times as often)."""

    def mark(func: Callable) -> Callable:
        if not isinstance(weight_value, int) or weight_value < 0:
            raise ValueError(f"task weight must be a non-negative int, got {weight_value!r}")
        func.locust_task_weight = weight_value
        return func

    if callable(weight):
        weight_value = 1
        return mark(weight)
    weight_value = weight
    return mark


def tag(*tags: str) -> Callable:
    """Tag a task or TaskSet so runs can include (``tags``) or exclude (``exclude_tags``) it."""
    for name in tags:
        if not isinstance(name, str) or not name:
            raise ValueError(f"tags must be non-empty strings, got {name!r}")

    def mark(target: Any) -> Any:
        target.locust_tag_set = getattr(target, "locust_tag_set", set()) | set(tags)
        return target

    return mark


def expand_tasks(tasks: Any, owner: str) -> list[TaskSpec]:
    """Turn ``tasks`` (list, list of (task, weight), or {task: weight}) into a weighted pick list."""
    if isinstance(tasks, dict):
        pairs: Iterable = tasks.items()
    elif isinstance(tasks, (list, tuple)):
        pairs = [(t[0], t[1]) if isinstance(t, tuple) else (t, 1) for t in tasks]
    else:
        raise ValueError(f"{owner}.tasks must be a list or a dict, got {type(tasks).__name__}")
    expanded: list[TaskSpec] = []
    for spec, weight in pairs:
        if not callable(spec):
            raise ValueError(f"{owner}.tasks holds {spec!r}, which is neither a function nor a TaskSet class")
        if not isinstance(weight, int) or weight < 0:
            raise ValueError(f"{owner}.tasks weight for {spec!r} must be a non-negative int, got {weight!r}")
        expanded.extend([spec] * weight)
    return expanded


def collect_tasks(name: str, bases: tuple, namespace: dict) -> list[TaskSpec]:
    """Tasks of a new User/TaskSet class, built as Locust builds them: every base's tasks,
    then an explicit ``tasks`` (list or dict), then the ``@task`` methods."""
    collected: list[TaskSpec] = []
    for base in bases:
        collected.extend(getattr(base, "tasks", None) or [])
    if namespace.get("tasks") is not None:
        collected.extend(expand_tasks(namespace["tasks"], name))
    for value in namespace.values():
        weight = getattr(value, "locust_task_weight", None)
        if weight is not None:
            collected.extend([value] * weight)
    return collected


def collect_tasks_in_order(name: str, bases: tuple, namespace: dict) -> list[TaskSpec]:
    """Like :func:`collect_tasks`, in declaration order: an explicit ``tasks`` goes where it
    is declared among the ``@task`` methods (SequentialTaskSet)."""
    collected: list[TaskSpec] = []
    for base in bases:
        collected.extend(getattr(base, "tasks", None) or [])
    for key, value in namespace.items():
        if key == "tasks":
            if value is not None:
                collected.extend(expand_tasks(value, name))
            continue
        weight = getattr(value, "locust_task_weight", None)
        if weight is not None:
            collected.extend([value] * weight)
    return collected


def with_tasks(cls: type, tasks: list[TaskSpec]) -> type:
    """A subclass of ``cls`` whose tasks are exactly ``tasks``; ``cls`` itself stays intact."""
    subclass = type(cls.__name__, (cls,), {"__module__": cls.__module__, "__qualname__": cls.__qualname__})
    subclass.tasks = list(tasks)
    return subclass


def filter_tasks_by_tags(
    tasks: list[TaskSpec], tags: set[str] | None, exclude_tags: set[str] | None, inherited: frozenset = frozenset()
) -> list[TaskSpec]:
    """The tasks that a run with these tags keeps; nested TaskSets become filtered subclasses."""
    kept: list[TaskSpec] = []
    for spec in tasks:
        own_tags = inherited | getattr(spec, "locust_tag_set", set())
        if exclude_tags and own_tags & exclude_tags:
            continue
        if isinstance(spec, type) and issubclass(spec, TaskSet):
            children = filter_tasks_by_tags(spec.tasks, tags, exclude_tags, frozenset(own_tags))
            if tags and not (own_tags & tags) and not children:
                continue
            if children or not spec.tasks:
                if children != list(spec.tasks):
                    spec = with_tasks(spec, children)
                kept.append(spec)
            continue
        if tags and not (own_tags & tags):
            continue
        kept.append(spec)
    return kept


class TaskSetMeta(type):
    _collect_tasks = staticmethod(collect_tasks)

    def __new__(mcs, name: str, bases: tuple, namespace: dict) -> type:
        namespace["tasks"] = mcs._collect_tasks(name, bases, namespace)
        return super().__new__(mcs, name, bases, namespace)


class TaskSet(metaclass=TaskSetMeta):
    """A group of tasks a user runs until one of them calls :meth:`interrupt`."""

    tasks: list[TaskSpec] = []
    wait_time: Callable | None = None

    def __init__(self, parent: Any) -> None:
        self.parent = parent
        self.user: User = parent if not isinstance(parent, TaskSet) else parent.user
        self._task_queue: list[TaskSpec] = []
        self._current_task: TaskSpec | None = None
        self.task_started_at: float | None = None
        """Engine-internal: when this set's current (or last) task began, ``time.monotonic()``. The task
        loop stamps it here and on the user; ``constant_pacing`` subtracts the task's own time from its
        interval with it."""

    @property
    def client(self):
        return self.user.client

    @property
    def environment(self):
        return self.user.environment

    def on_start(self) -> None:
        """Called when the set starts running."""

    def on_stop(self) -> None:
        """Called when the set stops: interrupted, or its user stopping."""

    def run(self) -> None:
        try:
            self.on_start()
        except InterruptTaskSet as interrupt:
            raise RescheduleTaskImmediately() if interrupt.reschedule else RescheduleTask() from interrupt
        while True:
            try:
                self._run_one_task()
            except InterruptTaskSet as interrupt:
                self.on_stop()
                if interrupt.reschedule:
                    raise RescheduleTaskImmediately() from interrupt
                raise RescheduleTask() from interrupt
            except (StopUser, GreenletExit):
                self.on_stop()
                raise

    def _run_one_task(self) -> None:
        if not self._task_queue:
            self._task_queue.append(self.get_next_task())
        self.user.task_loop.check_stop()
        spec = self._task_queue.pop(0)
        self._current_task = spec
        self.task_started_at = self.user.task_started_at = time.monotonic()
        try:
            self.execute_task(spec)
        except RescheduleTaskImmediately:
            return
        except RescheduleTask:
            pass
        except (InterruptTaskSet, StopUser, GreenletExit):
            raise
        except (Exception, Timeout) as error:  # noqa: BLE001 - a failing task never kills its user
            # gevent's Timeout is a BaseException only so that bare excepts let it through; one
            # that escapes a task is that task's failure, like any exception.
            report_user_error(self._error_owner(), error)
        self.wait()

    def _error_owner(self) -> Any:
        """The ``user_instance`` of ``user_error`` for a task of this set: the set itself,
        as in Locust (its TaskSet.run fires the event with the TaskSet)."""
        return self

    def execute_task(self, spec: TaskSpec) -> None:
        if isinstance(spec, type) and issubclass(spec, TaskSet):
            spec(self).run()
        elif hasattr(spec, "__self__") and spec.__self__ is self:
            spec()
        else:
            spec(self)

    def get_next_task(self) -> TaskSpec:
        if not self.tasks:
            raise MissingTasksError(type(self).__name__)
        return random.choice(self.tasks)

    def schedule_task(self, spec: TaskSpec, first: bool = False) -> None:
        if first:
            self._task_queue.insert(0, spec)
        else:
            self._task_queue.append(spec)

    def wait_time_seconds(self) -> float:
        wait_time = type(self).wait_time
        if wait_time is not None:
            return wait_time(self)
        return self.user.wait_time_seconds()

    def wait(self) -> None:
        self.user.task_loop.pause(self.wait_time_seconds())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.user!r}>"

    def interrupt(self, reschedule: bool = True) -> None:
        """Leave this set and return to the parent; ``reschedule=False`` waits first."""
        raise InterruptTaskSet(reschedule)


class MissingTasksError(Exception):
    def __init__(self, owner: str) -> None:
        super().__init__(f"{owner} has no tasks: add @task methods or set tasks = [...]")


class DefaultTaskSet(TaskSet):
    """Runs a User's own tasks: the root of every user's task tree."""

    def get_next_task(self) -> TaskSpec:
        if not self.user.tasks:
            raise MissingTasksError(type(self.user).__name__)
        return random.choice(self.user.tasks)

    def execute_task(self, spec: TaskSpec) -> None:
        if isinstance(spec, type) and issubclass(spec, TaskSet):
            spec(self.user).run()
        elif hasattr(spec, "__self__"):
            spec()
        else:
            spec(self.user)

    def wait_time_seconds(self) -> float:
        return self.user.wait_time_seconds()

    def _error_owner(self) -> Any:
        # Locust hands listeners its internal root TaskSet here; the User is what its docs
        # promise ("User class instance where the exception occurred") and what is useful.
        return self.user


__all__ = [
    "DefaultTaskSet",
    "MissingTasksError",
    "TaskSet",
    "filter_tasks_by_tags",
    "tag",
    "task",
    "with_tasks",
]
