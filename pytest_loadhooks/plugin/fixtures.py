"""Fixtures: ``load_env``, ``load_events`` (listeners removed at test end) and ``load_result``."""

from __future__ import annotations

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

