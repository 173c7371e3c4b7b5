"""MarkovTaskSet: tasks chained by weighted transitions (Locust's ``locust.user.markov_taskset``).

Each task names the tasks that may follow it (``@transition`` / ``@transitions``); the
set starts at its first task and, after each one, moves to a next task drawn by weight.
The chain is checked when the class is created, so a typo in a task name fails at
import time, not in the middle of a run.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from ..exception import ConfigurationError
from .task import TaskSet, TaskSetMeta, TaskSpec

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

# Method names a chain may not use: the set's own machinery.
_RESERVED_NAMES = frozenset({"run", "get_next_task", "execute_task", "wait", "interrupt", "schedule_task"})


class MarkovTaskSetError(ConfigurationError):
    """A MarkovTaskSet whose chain cannot run (raised when the class is created)."""


class NoMarkovTasksError(MarkovTaskSetError):
    """The class has no method decorated with ``@transition`` / ``@transitions``."""


class InvalidTransitionError(MarkovTaskSetError):
    """A transition names a task that does not exist, or has an unusable weight."""


class NonMarkovTaskTransitionError(MarkovTaskSetError):
    """A transition leads to a method with no transitions of its own: the chain would dead-end there."""


class MarkovTaskTagError(MarkovTaskSetError):
    """A Markov task carries ``@tag``: filtering tasks out could break the chain."""


def transition(func_name: str, weight: int = 1) -> Callable[[F], F]:
    """Let the decorated task be followed by ``func_name`` (``weight`` times as likely as a
    weight-1 transition). Stack several to give a task several successors."""

    def add(func: F) -> F:
        _transitions_of(func)[func_name] = weight
        return func

    return add


def transitions(weights: dict[str, int] | list[tuple[str, int] | str]) -> Callable[[F], F]:
    """Add several transitions at once: ``{"name": weight, ...}`` or a list whose items are
    names (weight 1) or ``(name, weight)`` pairs."""
    if isinstance(weights, dict):
        pairs = list(weights.items())
    else:
        pairs = [item if isinstance(item, tuple) else (item, 1) for item in weights]

    def add(func: F) -> F:
        _transitions_of(func).update(pairs)
        return func

    return add


def _transitions_of(func: Callable[..., Any]) -> dict[str, int]:
    if not hasattr(func, "transitions"):
        func.transitions = {}  # type: ignore[attr-defined]
    return func.transitions  # type: ignore[attr-defined]


def is_markov_task(value: Any) -> bool:
    return callable(value) and isinstance(getattr(value, "transitions", None), dict)


def _markov_tasks(name: str, bases: tuple, namespace: dict) -> dict[str, Callable[..., Any]]:
    """The Markov tasks of a new class, by method name, in declaration order. A subclass
    that declares none keeps its base's chain (a filtered or renamed copy of a set)."""
    own = {key: value for key, value in namespace.items() if is_markov_task(value)}
    if own:
        return own
    for base in bases:
        inherited = getattr(base, "_markov_tasks", None)
        if inherited:
            return dict(inherited)
    raise NoMarkovTasksError(
        f"{name} has no Markov tasks: decorate its methods with @transition(...) or @transitions(...)"
    )


def _build_chain(name: str, tasks: dict[str, Callable[..., Any]]) -> dict[str, tuple[str, ...]]:
    """Validate the chain and turn each task's transitions into a weighted pick list."""
    chain: dict[str, tuple[str, ...]] = {}
    for task_name, func in tasks.items():
        if task_name in _RESERVED_NAMES:
            raise MarkovTaskSetError(f"{name}.{task_name} is part of TaskSet itself and cannot be a Markov task")
        if task_name in ("on_start", "on_stop"):
            logger.warning("%s.%s has transitions: it will run both as a step of the chain and as %s",
                           name, task_name, task_name)
        tags = getattr(func, "locust_tag_set", None)
        if tags:
            raise MarkovTaskTagError(
                f"{name}.{task_name} is tagged {sorted(tags)}: tags are not supported on Markov tasks, "
                "because filtering tasks out could break the chain (tag the MarkovTaskSet class instead)"
            )
        picks: list[str] = []
        for target, weight in func.transitions.items():
            if target not in tasks:
                raise InvalidTransitionError(
                    f"{name}.{task_name} has a transition to {target!r}, which is not a Markov task of {name} "
                    f"(its Markov tasks: {', '.join(tasks)})"
                )
            if not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
                raise InvalidTransitionError(
                    f"{name}.{task_name}: the weight of the transition to {target!r} must be a whole number >= 0, "
                    f"got {weight!r}"
                )
            picks.extend([target] * weight)
        if not picks:
            raise InvalidTransitionError(
                f"{name}.{task_name} is a dead end: it has no transition with a weight above 0"
            )
        chain[task_name] = tuple(picks)
    return chain


def _warn_unreachable(name: str, chain: dict[str, tuple[str, ...]], start: str) -> None:
    reached = {start}
    frontier = [start]
    while frontier:
        for target in set(chain[frontier.pop()]):
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    unreachable = [task for task in chain if task not in reached]
    if unreachable:
        logger.warning("%s: these Markov tasks can never run (no path leads to them from %s): %s",
                       name, start, ", ".join(unreachable))


class MarkovTaskSetMeta(TaskSetMeta):
    """Builds and checks the chain of a concrete MarkovTaskSet when its class is created."""

    def __new__(mcs, name: str, bases: tuple, namespace: dict) -> type:
        abstract = bool(namespace.get("abstract", False))
        namespace["abstract"] = abstract
        if not abstract:
            tasks = _markov_tasks(name, bases, namespace)
            _reject_dead_end_targets(name, tasks, namespace, bases)
            chain = _build_chain(name, tasks)
            start = next(iter(tasks))
            _warn_unreachable(name, chain, start)
            namespace["_markov_tasks"] = tasks
            namespace["_markov_chain"] = chain
            namespace["_markov_start"] = start
        cls = super().__new__(mcs, name, bases, namespace)
        if cls.tasks:
            # As in Locust, a Markov set runs its chain only; @task methods are not picked.
            logger.warning("%s: @task methods and 'tasks' are ignored in a MarkovTaskSet; use @transition", name)
            cls.tasks = []
        return cls


def _reject_dead_end_targets(name: str, tasks: dict, namespace: dict, bases: tuple) -> None:
    """A transition to an existing method that has no transitions of its own is a dead end."""
    for task_name, func in tasks.items():
        for target in func.transitions:
            if target in tasks:
                continue
            existing = namespace.get(target)
            if existing is None:
                existing = next((getattr(b, target) for b in bases if hasattr(b, target)), None)
            if callable(existing):
                raise NonMarkovTaskTransitionError(
                    f"{name}.{task_name} has a transition to {target!r}, which has no transitions of its own: "
                    f"the chain would end there. Decorate {target} with @transition(...) too"
                )


class MarkovTaskSet(TaskSet, metaclass=MarkovTaskSetMeta):
    """A TaskSet whose next task is drawn from the transitions of the task that just ran.

    It starts at its first Markov task; ``abstract = True`` skips the chain checks for a
    base class meant to be subclassed.
    """

    abstract = True
    # Set per concrete class by the metaclass; read-only afterwards.
    _markov_tasks: ClassVar[dict[str, Callable[..., Any]]] = {}
    _markov_chain: ClassVar[dict[str, tuple[str, ...]]] = {}
    _markov_start: ClassVar[str] = ""

    def __init__(self, parent: Any) -> None:
        super().__init__(parent)
        self._current_name = self._markov_start

    @property
    def current(self) -> Callable[..., Any]:
        """The task that runs next (Locust's attribute)."""
        return getattr(self, self._current_name)

    def get_next_task(self) -> TaskSpec:
        name = self._current_name
        self._current_name = random.choice(self._markov_chain[name])
        return getattr(self, name)


def runs_a_chain(cls: type) -> bool:
    """Whether ``cls`` is a concrete MarkovTaskSet (or a copy of one): it runs its chain of
    transitions, checked when the class was created, and its ``tasks`` are empty on purpose."""
    return isinstance(cls, type) and issubclass(cls, MarkovTaskSet) and bool(cls._markov_chain)


__all__ = [
    "InvalidTransitionError",
    "MarkovTaskSet",
    "MarkovTaskSetError",
    "MarkovTaskTagError",
    "NoMarkovTasksError",
    "NonMarkovTaskTransitionError",
    "transition",
    "transitions",
]
