"""The Environment: everything one load run shares (events, users, stats, runner, web UI)."""

from __future__ import annotations

import inspect
import math
import sys
from argparse import Namespace
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit


from .event import Events, ListenerError
from .event import events as global_events
from .exception import ConfigurationError
from .stats import RequestStats
from .user.ownership import RUN_KEY, RunScope
from .user.task import filter_tasks_by_tags, with_tasks

if TYPE_CHECKING:
    from .runners import LocalRunner, MasterRunner, Runner, WorkerRunner
    from .shape import LoadTestShape


HOST_NAME_CHARACTERS = frozenset("-._~")
"""Besides letters and digits (any script's: international names), what a host name may hold."""


def validate_host(host: str | None) -> None:
    """A host must be an http(s) URL with a valid host name and, if given, a port from 1 to 65535.

    Checked before any traffic: a host the client cannot even connect to would otherwise fail
    inside the client on every request, and a run could pass with nothing sent.
    """
    if host is None:
        return
    if not isinstance(host, str):
        raise ConfigurationError(f"host {host!r} is not a URL: use a string like http://127.0.0.1:8080")
    try:
        parts = urlsplit(host)
        port = parts.port
    except ValueError as error:  # an out-of-range or non-numeric port, a malformed [IPv6] literal
        problem = "the port must be a number from 1 to 65535" if "port" in str(error).lower() else str(error)
        raise ConfigurationError(f"host {_shown(host)}: {problem}") from None
    if not parts.netloc:
        raise ConfigurationError(f"host {_shown(host)} is not a URL: use a form like http://127.0.0.1:8080")
    if parts.scheme not in ("http", "https"):
        raise ConfigurationError(f"host {_shown(host)}: the scheme {parts.scheme!r} is not http or https")
    name = parts.hostname
    if not name:
        raise ConfigurationError(f"host {_shown(host)} has no host name: use a form like http://127.0.0.1:8080")
    if "[" not in parts.netloc and not all(ch.isalnum() or ch in HOST_NAME_CHARACTERS for ch in name):
        raise ConfigurationError(f"host {_shown(host)}: {name!r} is not a valid host name "
                                 "(letters, digits, '-' and '.')")
    if port is not None and not 1 <= port <= 65535:
        raise ConfigurationError(f"host {_shown(host)}: the port must be a number from 1 to 65535")


def _shown(host: str) -> str:
    """The host for a message, a password in it masked (messages end up in CI logs)."""
    head, at, tail = host.rpartition("@")
    if not at or "://" not in head:
        return repr(host)
    scheme, _, credentials = head.partition("://")
    user, colon, _password = credentials.partition(":")
    return repr(f"{scheme}://{user}{':***' if colon else ''}@{tail}")


def is_concrete_user_class(value: Any) -> bool:
    from .user.users import User

    return isinstance(value, type) and issubclass(value, User) and not value.__dict__.get("abstract", False)


class Environment:
    """One load run's shared state. Listeners reach everything through it."""

    def __init__(
        self,
        *,
        user_classes: Sequence[type] | None = None,
        shape_class: LoadTestShape | None = None,
        tags: Sequence[str] | None = None,
        exclude_tags: Sequence[str] | None = None,
        events: Events | None = None,
        host: str | None = None,
        stop_timeout: float = 0.0,
        parsed_options: Namespace | None = None,
        available_user_classes: dict[str, type] | None = None,
        rps_window: int = 10,
    ) -> None:
        self.events = events if events is not None else global_events
        self.tags = list(tags) if tags else None
        self.exclude_tags = list(exclude_tags) if exclude_tags else None
        self.user_classes = self._filtered(list(user_classes or []))
        self.available_user_classes = available_user_classes or {c.__name__: c for c in self.user_classes}
        self.shape_class = shape_class
        validate_host(host)
        self.host = host
        if not isinstance(stop_timeout, (int, float)) or not 0 <= stop_timeout < math.inf:  # NaN fails it too
            raise ConfigurationError(f"stop timeout must be a finite number of seconds >= 0, got {stop_timeout!r}")
        self.stop_timeout = stop_timeout
        self.parsed_options = parsed_options if parsed_options is not None else Namespace()
        self.stats = RequestStats(rps_window)
        self.runner: Runner | None = None
        self.web_ui: Any = None  # set by the web UI when it is enabled, before ``init`` fires
        self.process_exit_code: int | None = None
        self._listener_errors_from = len(self.events.listener_errors)
        self._init_fired = False
        self._closed = False
        self._run_scope: RunScope | None = None  # this Environment's current or last run
        self.late_requests_refused = 0
        """Requests that greenlets of an earlier run fired, after it ended, since this Environment's run
        began: not counted (those of its own run, late, are counted on its RunScope)."""
        self.stats.refuses = self._refuses
        self.events.request.add_listener(self.stats.on_request)

    def _refuses(self, tree: dict[str, Any]) -> bool:
        """Whether the stats leave uncounted a request fired from a greenlet tree not of the current run.

        A request fired by a greenlet that a user of another run started (or of this Environment's
        own run, after it ended) is not counted: such greenlets carry their run's scope in their
        ``spawn_tree_locals`` (see :mod:`pytest_loadhooks.user.ownership`). A request fired by no
        run's greenlet (the main one, a listener's, a test's) is counted, as it always was. The stats
        ask only about trees other than the run's (``RequestStats.counted_tree``), so a run's own
        requests pay one comparison.
        """
        if RUN_KEY not in tree:
            return False
        self._refuse_request(tree[RUN_KEY])
        return True

    def _refuse_request(self, scope: RunScope) -> None:
        if scope.ended:  # a late request; one from a run going on beside this one is that run's to count
            scope.count_late_request()
            if scope is not self._run_scope:
                self.late_requests_refused += 1

    def own_run(self, scope: RunScope | None) -> None:
        """The run whose users' requests this Environment counts from now on (None: its run ended).

        Called by the runner when a run begins (before its users spawn) and when its users have stopped.
        """
        self.stats.counted_tree = scope.tree if scope is not None else None
        if scope is not None:
            self._run_scope = scope
            self.late_requests_refused = 0

    def _filtered(self, user_classes: list[type]) -> list[type]:
        """User classes reduced to the tasks the run's tags select (as subclasses: originals stay intact)."""
        if not self.tags and not self.exclude_tags:
            return user_classes
        tags = set(self.tags or ())
        exclude = set(self.exclude_tags or ())
        filtered = []
        for cls in user_classes:
            tasks = filter_tasks_by_tags(cls.tasks, tags or None, exclude or None,
                                         frozenset(getattr(cls, "locust_tag_set", set())))
            filtered.append(with_tasks(cls, tasks))
        return filtered

    @property
    def listener_errors(self) -> list[ListenerError]:
        """Listener exceptions raised since this Environment was created."""
        return self.events.listener_errors[self._listener_errors_from:]

    def validate_user_classes(self, user_classes: Sequence[type] | None = None) -> None:
        """Reject what cannot run, before any traffic: no classes, no tasks, no host."""
        classes = list(user_classes if user_classes is not None else self.user_classes)
        if not classes:
            raise ConfigurationError("no User classes to run: define a concrete User subclass (abstract = False)")
        for cls in classes:
            _validate_user_class_attributes(cls)
        if not any(cls.weight or cls.fixed_count for cls in classes):
            names = ", ".join(cls.__name__ for cls in classes)
            raise ConfigurationError(f"no User class with weight > 0 or fixed_count > 0 ({names}): "
                                     "a class of weight 0 is never started")
        for cls in classes:
            if not cls.tasks:
                tagged = " after tag filtering" if (self.tags or self.exclude_tags) else ""
                raise ConfigurationError(f"{cls.__name__} has no tasks{tagged}: add @task methods or set tasks = [...]")
            empty = _empty_task_set(cls.tasks)
            if empty is not None:
                raise ConfigurationError(f"{empty.__name__} (a TaskSet of {cls.__name__}) has no tasks: "
                                         "add @task methods or set tasks = [...]")
            if _needs_host(cls):
                host = self.host_for(cls)
                if not host:
                    raise ConfigurationError(
                        f"{cls.__name__} has no host: set {cls.__name__}.host or pass a host (--load-host)"
                    )
                try:
                    validate_host(host)
                except ConfigurationError as error:
                    where = "the run's host" if self.host else f"{cls.__name__}.host"
                    raise ConfigurationError(f"{where}: {error}") from None

    def host_for(self, user_class: type) -> str | None:
        """The host a user of ``user_class`` sends to: the run's host if given (it overrides
        every class ``host``, as Locust's ``-H`` does), else the class's own."""
        return self.host or getattr(user_class, "host", None)

    def create_local_runner(self) -> LocalRunner:
        from .runners import LocalRunner

        return self._create_runner(LocalRunner)

    def create_master_runner(self, master_bind_host: str = "127.0.0.1", master_bind_port: int = 5557,
                             secret: str | bytes | None = None, **options: Any) -> MasterRunner:
        """A master for worker processes, listening on ``master_bind_host:master_bind_port`` (port 0:
        any free one, see ``runner.master_bind_port``). Loopback by default; with ``secret`` only
        workers that hold it join, and the traffic is encrypted. ``options``: heartbeat_interval,
        heartbeat_timeout, stopped_timeout, max_message_size."""
        from .runners import MasterRunner

        return self._create_runner(
            lambda env: MasterRunner(env, master_bind_host, master_bind_port, secret, **options))

    def create_worker_runner(self, master_host: str = "127.0.0.1", master_port: int = 5557,
                             secret: str | bytes | None = None, **options: Any) -> WorkerRunner:
        """A worker that connects to the master at ``master_host:master_port`` and runs what it assigns
        (``runner.run()`` serves it until it says quit). ``options``: heartbeat_interval,
        heartbeat_timeout, stats_report_interval, connect_timeout, max_message_size."""
        from .runners import WorkerRunner

        return self._create_runner(lambda env: WorkerRunner(env, master_host, master_port, secret, **options))

    def _create_runner(self, runner_class: type) -> Any:
        if self.runner is not None:
            raise RuntimeError(f"this Environment already has a runner ({type(self.runner).__name__})")
        self.runner = runner_class(self)
        return self.runner

    def fire_init(self) -> None:
        """Fire ``init`` once, when runner (and web UI) exist."""
        if self._init_fired:
            return
        self._init_fired = True
        self.events.init.fire(environment=self, runner=self.runner, web_ui=self.web_ui)

    def close(self) -> None:
        """Detach this Environment's own listeners from (possibly global) events."""
        if self._closed:
            return
        self._closed = True
        _remove_quietly(self.events.request, self.stats.on_request)
        if self.runner is not None:
            self.runner.remove_listeners()


def _validate_user_class_attributes(cls: type) -> None:
    """A class's weight, fixed_count and wait_time, checked before any user starts (named by class)."""
    for attribute in ("weight", "fixed_count"):
        value = getattr(cls, attribute, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigurationError(f"{cls.__name__}.{attribute} = {value!r}: must be a whole number >= 0")
    wait_time = getattr(cls, "wait_time", None)
    if wait_time is None:
        return  # no pause between tasks (Locust's constant(0))
    if not callable(wait_time):
        raise ConfigurationError(f"{cls.__name__}.wait_time = {wait_time!r} is not a function: "
                                 "use e.g. wait_time = between(1, 3) or constant(0.5)")
    from .user import wait_time as helpers

    factories = {helpers.between, helpers.constant, helpers.constant_pacing, helpers.constant_throughput}
    if wait_time in factories:
        raise ConfigurationError(f"{cls.__name__}.wait_time = {wait_time.__name__} is the helper itself: "
                                 f"call it, e.g. wait_time = {wait_time.__name__}(...)")
    if not _accepts_one_argument(wait_time):
        raise ConfigurationError(f"{cls.__name__}.wait_time must take the user as its one argument "
                                 "(def wait_time(self): ...) or be a helper like between(1, 3)")


def _accepts_one_argument(function: Any) -> bool:
    """Whether ``function(user)`` binds (how a User calls its wait_time); unknown signatures are given the benefit."""
    try:
        inspect.signature(function).bind(object())
    except TypeError:
        return False
    except ValueError:
        return True  # a builtin without a readable signature
    return True


def _empty_task_set(tasks: Sequence[Any], seen: set | None = None) -> type | None:
    """The first TaskSet class, at any depth under ``tasks``, that has no tasks of its own."""
    from .user.markov_taskset import runs_a_chain
    from .user.task import TaskSet

    seen = set() if seen is None else seen
    for spec in tasks:
        if isinstance(spec, type) and issubclass(spec, TaskSet) and spec not in seen:
            seen.add(spec)
            if runs_a_chain(spec):
                continue  # a MarkovTaskSet runs its chain (checked when its class was created), not tasks
            if not spec.tasks:
                return spec
            found = _empty_task_set(spec.tasks, seen)
            if found is not None:
                return found
    return None


def _needs_host(cls: type) -> bool:
    from .user.users import HttpUser

    if issubclass(cls, HttpUser):
        return True
    # No FastHttpUser subclass can exist unless its module was imported; importing it
    # here would cost every run geventhttpclient's import time (~0.3 s) for nothing.
    fasthttp = sys.modules.get(f"{__package__}.contrib.fasthttp")
    return fasthttp is not None and issubclass(cls, fasthttp.FastHttpUser)


def _remove_quietly(hook: Any, handler: Any) -> None:
    try:
        hook.remove_listener(handler)
    except ValueError:
        pass
