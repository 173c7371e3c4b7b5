"""Fixtures: ``load_env``, ``load_events`` (listeners removed at test end), ``load_result``; and for tests that
are also load tasks, ``load_client``, ``fast_load_client`` and ``load_base_url``."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .load_session import get_session

if TYPE_CHECKING:
    from .run import LoadResult, LoadRun

SKIP_REASON = ("load test: run it with --load-users=N, any other --load-* option (e.g. --load-only) "
               "or a LOADHOOKS_* variable; load_* ini keys only configure the run")


def _execute(run: LoadRun) -> LoadResult:
    from ..exception import ConfigurationError

    try:
        return run.execute()
    except ConfigurationError as error:
        pytest.fail(f"load run not started: {error}", pytrace=False)


def _run_for_request(request: pytest.FixtureRequest) -> LoadRun:
    load = get_session(request.config)
    if not load.active:
        pytest.skip(SKIP_REASON)
    run = load.run_for_item(request.node)
    if run is None:
        pytest.fail("no load run for this test: define a concrete User class in its module or mark it "
                    "@pytest.mark.load(user_classes=[...])", pytrace=False)
    return run


@pytest.fixture
def load_env(request: pytest.FixtureRequest) -> Any:
    """The Environment of this test's load run, before the run starts (runner created, ``init`` fired)."""
    return _run_for_request(request).create_environment()


@pytest.fixture
def load_events(load_env: Any) -> Iterator[Any]:
    """The run's events; listeners added through this object are removed when the test ends."""
    scoped = ScopedEvents(load_env.events)
    yield scoped
    scoped.remove_all()


@pytest.fixture
def load_result(request: pytest.FixtureRequest) -> LoadResult:
    """Runs this test's load run (once; later users share it) and returns its results."""
    run = _run_for_request(request)
    result = _execute(run)
    if get_session(request.config).is_worker:
        # This session served its part of the run; the merged numbers are on the master.
        if not result.passed:
            pytest.fail("\n".join(result.failure_lines()), pytrace=False)
        from .distributed import WORKER_SKIP_REASON

        pytest.skip(WORKER_SKIP_REASON)
    return result


class ScopedHook:
    """An EventHook view that remembers what it added so it can take it away again."""

    def __init__(self, hook: Any, added: list) -> None:
        self._hook = hook
        self._added = added

    def add_listener(self, handler: Any) -> Any:
        self._hook.add_listener(handler)
        self._added.append((self._hook, handler))
        return handler

    def remove_listener(self, handler: Any) -> None:
        self._hook.remove_listener(handler)
        if (self._hook, handler) in self._added:
            self._added.remove((self._hook, handler))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._hook, name)


class ScopedEvents:
    """Events whose listeners, added through this object, are removed by :meth:`remove_all`."""

    def __init__(self, events: Any) -> None:
        self._events = events
        self._added: list = []

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._events, name)
        if hasattr(value, "add_listener"):
            return ScopedHook(value, self._added)
        return value

    def remove_all(self) -> None:
        for hook, handler in reversed(self._added):
            try:
                hook.remove_listener(handler)
            except ValueError:
                pass
        self._added.clear()



# --------------------------------------------------------------------------- tests that are also load tasks
def iteration_user() -> Any:
    """The load user running the current test as a load task; None in a functional run.

    Read from the running greenlet (a user's greenlet carries its user), not from ``request``: asking for
    ``request`` makes pytest build a definition object per iteration, a cost each iteration would pay.
    """
    gevent = sys.modules.get("gevent")
    if gevent is None:
        return None
    user = getattr(gevent.getcurrent(), "user", None)
    return user if hasattr(user, "http_session") else None  # plugin.iterations.TestTasksUser


def base_url_plugin(config: pytest.Config) -> types.ModuleType:
    """The plugin that defines ``load_base_url`` (registered at configure, one per session).

    A fixture closed over the config, rather than one asking for ``pytestconfig``: pytest walks the
    requests of every fixture an iteration reaches, cached or not, and building the ``request`` that
    ``pytestconfig`` asks for costs each iteration an introspection of a signature (52 -> 72-78 µs in
    an iteration, measured). A plain function in a module-like holder, not a method: pytest 9.2 warns
    that session-scoped fixtures defined as instance methods go away in pytest 10.
    """
    holder = types.ModuleType("pytest_loadhooks.plugin.base_url")

    @pytest.fixture(scope="session", name="load_base_url")
    def load_base_url() -> str:
        """The base URL of ``load_client``'s relative paths: the session's host (``--load-host``,
        ``LOADHOOKS_HOST`` or the ini's ``load_host``), else "" (full URLs).

        Override it (in a conftest) to point a functional run at a server; under load the run's host, when
        there is one, wins over it.
        """
        from . import options as opts

        return str(opts.value_of(config, "host") or "")

    holder.load_base_url = load_base_url  # type: ignore[attr-defined]
    return holder


def _client(base_url: str, kind: str) -> Iterator[Any]:
    user = iteration_user()
    if user is not None:  # one session per user, kept across its iterations (connections reused)
        yield user.http_session(kind, user.host or base_url)
        return
    from ..event import EventHook

    unheard = EventHook()  # a functional run counts nothing: the requests fire an event nobody listens to
    if kind == "fast":
        from ..contrib.fasthttp import FastHttpSession

        session: Any = FastHttpSession(base_url=base_url, request_event=unheard)
    else:
        from ..clients import HttpSession

        session = HttpSession(base_url=base_url, request_event=unheard)
    yield session
    session.close()


@pytest.fixture
def load_client(load_base_url: str) -> Iterator[Any]:
    """A requests-compatible session (HttpUser's client): under load its requests are counted, beside the test's
    own entry; in a functional run it is a plain session, made for the test and closed after it."""
    yield from _client(load_base_url, "http")


@pytest.fixture
def fast_load_client(load_base_url: str) -> Iterator[Any]:
    """``load_client`` on FastHttpUser's client (geventhttpclient): cheaper per request, FastHttpSession's API."""
    yield from _client(load_base_url, "fast")
