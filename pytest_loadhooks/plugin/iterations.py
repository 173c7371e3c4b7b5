"""One iteration of a functional test under load, and the User class whose tasks are such tests.

Each iteration calls the test as pytest would, through pytest's own fixture machinery: the
user's copy of the test (``pytest_compat.iteration_item``) sets up its fixtures, the test runs,
and its function-scoped fixtures are torn down (yield fixtures resumed, finalizers run) before
the next one. Fixtures of wider scope (class, module, package, session) are the process's: set
up once, shared by every user, torn down when the run ends (or by pytest, when the test that
holds them is still running). The iteration is reported as a ``request`` event of type ``TEST``
named after the test's node id, so every output counts it like a request: statistics, failures,
thresholds, baselines, the web UI and the distributed mode's merging.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from gevent import GreenletExit
from gevent.lock import Semaphore

from ..user.users import User
from .lifecycle import Participant
from .pytest_compat import (FinalizerBook, forget_shared_finalizers, fresh_request, iteration_item,
                            keep_shared_fixtures)

_COLD_SETUP = Semaphore()
"""Held by the first setup of each test in this process (see :func:`run_iteration`)."""

REQUEST_TYPE = "TEST"
"""The ``request_type`` of an iteration's entry in the statistics."""

USER_CLASS_NAME = "FunctionalTests"
"""The name of the User class of the chosen tests: the same in every process, so a master's orders name it."""

INTERRUPTED_COUNTS_AFTER = 1.0
"""Seconds: an iteration cut by the end of the run counts as a failure when it had run this long (a test that
does not return); a shorter one is cut like a request in flight, and not counted."""


class IterationInterrupted(Exception):
    """An iteration that had not returned when the run ended."""


class TestTask:
    """One chosen test (one parameter set) as a task: each call is one iteration of it."""

    __test__ = False  # not a test class, whatever pytest meets it as

    def __init__(self, item: pytest.Function, weight: int) -> None:
        self.item = item
        self.weight = weight
        self.__name__ = item.nodeid
        self.warm = False
        """Whether one iteration set its fixtures up here: its shared (wider-scoped) ones are cached from then on."""

    def __call__(self, user: TestTasksUser) -> None:
        run_iteration(user, self)

    def __repr__(self) -> str:
        return f"<load task {self.item.nodeid} weight={self.weight}>"


class TestTasksUser(User):
    """A user whose tasks are functional tests: its own copy of each test, its own HTTP sessions."""

    abstract = True
    __test__ = False
    book: FinalizerBook | None = None
    """The teardowns kept off pytest's stack while the run lasts (opened by :class:`TestTeardowns`)."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.copies: dict[TestTask, pytest.Function] = {}
        self.sessions: dict[str, Any] = {}

    def http_session(self, kind: str, base_url: str) -> Any:
        """This user's client of the ``load_client`` (``"http"``) or ``fast_load_client`` (``"fast"``) fixture,
        made on first use and kept across iterations, as an HttpUser keeps its ``client``."""
        session = self.sessions.get(kind)
        if session is None:
            events = self.environment.events.request
            if kind == "fast":
                from ..contrib.fasthttp import FastHttpSession

                session = FastHttpSession(base_url=base_url, user=self, request_event=events)
            else:
                from ..clients import HttpSession

                session = HttpSession(base_url=base_url, user=self, request_event=events)
            self.sessions[kind] = session
        return session

    def copy_of(self, task: TestTask) -> pytest.Function:
        copy = self.copies.get(task)
        if copy is None:
            copy = iteration_item(task.item)
            self.copies[task] = copy
        return copy

    def on_stop(self) -> None:
        for session in self.sessions.values():
            close = getattr(session, "close", None)
            if close is not None:
                close()


def make_user_class(tests: list[tuple[pytest.Function, int]]) -> type:
    """The User class whose tasks are ``tests`` (item, weight): the engine picks a task by weight."""
    tasks = {TestTask(item, weight): weight for item, weight in tests}
    return type(USER_CLASS_NAME, (TestTasksUser,), {"tasks": tasks, "__module__": __name__, "abstract": False})


def run_iteration(user: TestTasksUser, task: TestTask) -> None:
    """Set up the test's fixtures, call it, tear its function-scoped fixtures down; report the iteration."""
    copy = user.copy_of(task)
    fresh_request(copy)
    start_time = time.time()
    started = time.perf_counter()
    failure: BaseException | None = None
    try:
        if task.warm:
            copy.setup()
        else:
            # Until a first setup succeeds, the shared fixtures may not exist yet: one user at a time sets them
            # up, so that two users starting together do not both run a module fixture's setup.
            with _COLD_SETUP:
                copy.setup()
            task.warm = True
        if "shared_fixture_defs" not in copy.__dict__:  # the copy's first setup that succeeded
            keep_shared_fixtures(copy)
        copy.runtest()
    except pytest.skip.Exception:  # pytest.skip() in an iteration: not a failure, and not an iteration that counts
        _tear_down(user, copy)
        return
    except GreenletExit:
        _tear_down(user, copy)
        elapsed = time.perf_counter() - started
        if elapsed >= INTERRUPTED_COUNTS_AFTER:
            _report(user, task, start_time, elapsed, IterationInterrupted(
                f"did not return before the run ended (stopped after {elapsed:.1f} s)"))
        raise
    except (Exception, pytest.fail.Exception) as error:  # noqa: BLE001 - a failing test is a failed iteration
        failure = error
    errors = _tear_down(user, copy)
    if failure is None and errors:
        failure = errors[0]
    _report(user, task, start_time, time.perf_counter() - started, failure)


def _tear_down(user: TestTasksUser, copy: pytest.Function) -> list[BaseException]:
    book = type(user).book
    errors = book.run_for(copy) if book is not None else []
    forget_shared_finalizers(copy)
    return errors


def _report(user: TestTasksUser, task: TestTask, start_time: float, elapsed: float,
            failure: BaseException | None) -> None:
    if failure is not None:
        failure = failure.with_traceback(None)  # the message is what is shown; the frames would be kept alive
    user.environment.events.request.fire(
        request_type=REQUEST_TYPE, name=task.item.nodeid, response_time=elapsed * 1000, response_length=0,
        response=None, context=user.context(), exception=failure, start_time=start_time, url=task.item.nodeid)


class TestTeardowns(Participant):
    """Keeps the teardowns of the run's test tasks while it lasts, and runs the shared ones when its users stop."""

    __test__ = False

    def __init__(self) -> None:
        self.book: FinalizerBook | None = None
        self.errors: list[str] = []

    def environment_created(self, run: Any, environment: Any) -> None:
        classes = [cls for cls in run.user_classes if isinstance(cls, type) and issubclass(cls, TestTasksUser)]
        if not classes:
            return
        first_task = next(iter(classes[0].tasks))
        self.book = FinalizerBook(first_task.item.session).__enter__()
        for cls in classes:
            cls.book = self.book

    def run_ended(self, run: Any, runner: Any, ended_early: bool) -> None:
        book, self.book = self.book, None
        if book is None:
            return
        book.__exit__(None, None, None)
        self.errors = [f"{type(error).__name__}: {error}" for error in book.run_all()]
        for cls in run.user_classes:
            if isinstance(cls, type) and issubclass(cls, TestTasksUser):
                cls.book = None

    def judge(self, run: Any, result: Any) -> None:
        for error in self.errors:
            result.run_failures.append(f"a fixture shared by the load tasks failed its teardown: {error}")
