"""Event hooks: the extension points listeners attach to, with Locust 2.x semantics."""

from __future__ import annotations

import inspect
import logging
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from gevent import GreenletExit

from .exception import FLOW_CONTROL_EXCEPTIONS

logger = logging.getLogger(__name__)

Handler = Callable[..., Any]


@dataclass
class ListenerError:
    """Failures of one listener on one event with one error: kept so the run can end as errored.

    Grouped as request failures are: ``count`` is how often it happened, ``traceback`` is the
    first occurrence's (a listener on ``request`` may fail on every request; one traceback says
    all there is to say, and memory stays flat whatever the count).
    """

    event: str
    listener: str
    error: str
    traceback: str
    count: int = 1


MAX_MESSAGES_PER_LISTENER = 20
"""Distinct error messages kept apart for one listener on one event; further ones are counted together
(a message quoting the request, a timestamp or an id would otherwise make a group per request)."""


class ListenerErrors(list):
    """The listener failures of one :class:`Events`: a list of :class:`ListenerError`, one per
    (event, listener, error), each with its count.

    Readers keep using it as a list they slice from an index they noted earlier (an Environment
    reads the failures since it was created, the session those of its ``quitting`` listeners).
    So a record only grows while nobody has noted an index past it: taking the length closes
    the records before it, and a failure after that point starts a record of its own, inside
    the reader's slice. Noting an index is rare (once per Environment), so the records stay few.
    """

    def __init__(self) -> None:
        super().__init__()
        self._open: dict[tuple[str, str, str], tuple[int, ListenerError]] = {}
        self._messages: dict[tuple[str, str], int] = {}

    def __len__(self) -> int:
        self._open.clear()  # an index was noted: later failures must land after it
        self._messages.clear()
        return super().__len__()

    def add(self, event: str, listener: str, error: BaseException, formatted: Callable[[], str]) -> ListenerError | None:
        """Count one failure; returns the new record when it starts a group (``None`` when it joined one).

        ``formatted`` gives the traceback, asked for only when a group starts: formatting one per
        request would cost more than the failing listener does.
        """
        message = f"{type(error).__name__}: {error}"
        key = (event, listener, message)
        record = self._joined(key)
        if record is None:
            distinct = self._messages.get((event, listener), 0)
            if distinct >= MAX_MESSAGES_PER_LISTENER:
                message = (f"{type(error).__name__} (messages beyond the first {MAX_MESSAGES_PER_LISTENER} "
                           "distinct ones are counted together)")
                key = (event, listener, message)
                record = self._joined(key)
        if record is not None:
            record.count += 1
            return None
        self._messages[(event, listener)] = self._messages.get((event, listener), 0) + 1
        record = ListenerError(event, listener, message, formatted())
        self._open[key] = (super().__len__(), record)
        self.append(record)
        return record

    def _joined(self, key: tuple[str, str, str]) -> ListenerError | None:
        # A record whose place was deleted (a test trimming the list back) is no longer open.
        found = self._open.get(key)
        if found is None:
            return None
        index, record = found
        if index < super().__len__() and self[index] is record:
            return record
        del self._open[key]
        return None

    def total(self) -> int:
        """How many listener calls failed (the records' counts added up)."""
        return sum(record.count for record in self)


class EventHook:
    """Holds listeners of one event and calls them, in order, when the event fires.

    A listener that raises does not stop the others or the run: its traceback is
    logged and recorded on the owning :class:`Events`, which marks the run errored.
    """

    __slots__ = ("_errors", "_handlers", "name")

    def __init__(self, name: str = "", errors: list[ListenerError] | None = None) -> None:
        # A tuple, replaced (never changed in place) on add/remove: fire() iterates the
        # tuple it started with, so a listener that removes itself or another one while
        # the event fires cannot make the loop skip the next listener, and the hot
        # 'request' path pays nothing for that safety (no copy per fire).
        self._handlers: tuple[Handler, ...] = ()
        self.name = name
        self._errors = errors if errors is not None else ListenerErrors()

    def add_listener(self, handler: Handler) -> Handler:
        self._handlers = (*self._handlers, handler)
        return handler

    def remove_listener(self, handler: Handler) -> None:
        """Remove ``handler`` (its first occurrence); ``ValueError`` if it is not listening."""
        handlers = list(self._handlers)
        handlers.remove(handler)
        self._handlers = tuple(handlers)

    @property
    def listeners(self) -> tuple[Handler, ...]:
        return self._handlers

    def __len__(self) -> int:
        return len(self._handlers)

    # Locust 0.x style: ``events.request_success += handler``.
    def __iadd__(self, handler: Handler) -> EventHook:
        warnings.warn(
            f"'events.{self.name} += handler' is deprecated; use events.{self.name}.add_listener(handler)",
            DeprecationWarning,
            stacklevel=2,
        )
        with warnings.catch_warnings():  # one warning per use, pointing at the user's line
            warnings.simplefilter("ignore", DeprecationWarning)
            self.add_listener(handler)
        return self

    def __isub__(self, handler: Handler) -> EventHook:
        warnings.warn(
            f"'events.{self.name} -= handler' is deprecated; use events.{self.name}.remove_listener(handler)",
            DeprecationWarning,
            stacklevel=2,
        )
        self.remove_listener(handler)
        return self

    def fire(self, **kwargs: Any) -> None:
        """Call every listener with ``kwargs``; ``reverse=True`` calls them last-added first.

        ``reverse`` is read from ``kwargs`` rather than declared as a keyword-only
        parameter: matching nine keywords against a declared name costs a fifth
        of a ``request`` fire, which runs once per request.
        """
        handlers = self._handlers
        if not handlers:
            return
        if "reverse" in kwargs and kwargs.pop("reverse"):
            handlers = handlers[::-1]
        for handler in handlers:
            try:
                handler(**kwargs)
            except FLOW_CONTROL_EXCEPTIONS:
                raise
            except Exception as error:  # noqa: BLE001 - a listener must never take the run down
                self._listener_failed(handler, error)

    @contextmanager
    def measure(
        self, request_type: str, name: str, response_length: int = 0, context: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Time the ``with`` block and fire this event (meant for ``request``) when it ends.

        Yields the request's metadata as a dict: set ``response_length``, ``context``,
        ``exception`` (or anything else) in it before the block ends. An exception raised
        in the block is recorded as the request's ``exception`` and, as in Locust, does
        not propagate: the task goes on after the block. The flow-control exceptions
        (StopUser, RescheduleTask, InterruptTaskSet, ...) are recorded and re-raised, so a
        block can still stop its user.
        """
        request_meta: dict[str, Any] = {
            "request_type": request_type, "name": name, "response_length": response_length,
            "response": None, "context": context or {}, "exception": None,
            "start_time": time.time(), "url": None,
        }
        started = time.perf_counter()
        cut_off = False
        try:
            yield request_meta
        except FLOW_CONTROL_EXCEPTIONS as error:
            request_meta["exception"] = error
            raise
        except Exception as error:  # noqa: BLE001 - recorded as the request's failure (Locust's rule)
            request_meta["exception"] = error
        except GreenletExit:
            # The user was killed mid-request (the run ended): no answer came, so the request is recorded
            # nowhere, as the HTTP clients' cut-off requests are; never a success.
            cut_off = True
            raise
        finally:
            if not cut_off:
                request_meta["response_time"] = (time.perf_counter() - started) * 1000
                self.fire(**request_meta)

    def _listener_failed(self, handler: Handler, error: Exception) -> None:
        listener = getattr(handler, "__qualname__", None) or repr(handler)
        errors = self._errors
        if isinstance(errors, ListenerErrors):
            record = errors.add(self.name, listener, error, traceback.format_exc)
        else:  # a plain list handed in by a caller: one record per failure, as it asked
            record = ListenerError(self.name, listener, f"{type(error).__name__}: {error}", traceback.format_exc())
            errors.append(record)
        # A listener on 'request' can fail thousands of times: the first of each kind is logged in full.
        if record is not None:
            logger.error("Uncaught exception in listener %s of event '%s':\n%s", listener, self.name, record.traceback)
        elif logger.isEnabledFor(logging.DEBUG):
            logger.debug("Uncaught exception in listener %s of event '%s' (seen before):\n%s",
                         listener, self.name, traceback.format_exc())


class DeprecatedEventHook(EventHook):
    """An event kept for old listeners; adding one warns and says what replaces it."""

    __slots__ = ("_feeder", "_source", "message")

    def __init__(
        self,
        name: str,
        message: str,
        errors: list[ListenerError] | None = None,
        source: EventHook | None = None,
        feeder: Handler | None = None,
    ) -> None:
        super().__init__(name, errors)
        self.message = message
        self._source = source
        self._feeder = feeder

    def add_listener(self, handler: Handler) -> Handler:
        warnings.warn(self.message, DeprecationWarning, stacklevel=2)
        # The feeder joins the newer hook only once someone listens, so the hot
        # 'request' path pays nothing for compatibility nobody uses.
        if self._source is not None and self._feeder not in self._source._handlers:
            self._source.add_listener(self._feeder)
        return super().add_listener(handler)

    def fire(self, *, reverse: bool = False, **kwargs: Any) -> None:
        # Old listeners were written against older argument lists (0.x: method, path,
        # response; 1.x: request_type, name, response_time, response_length): each one
        # gets the arguments its signature names, or all of them if it takes **kwargs.
        handlers = self._handlers
        if not handlers:
            return
        if reverse:
            handlers = handlers[::-1]
        for handler in handlers:
            try:
                handler(**_arguments_for(handler, kwargs))
            except FLOW_CONTROL_EXCEPTIONS:
                raise
            except Exception as error:  # noqa: BLE001
                self._listener_failed(handler, error)


def _arguments_for(handler: Handler, kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        parameters = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return kwargs
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return kwargs
    names = {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return {key: value for key, value in kwargs.items() if key in names}


# Every event with the keyword arguments it fires with (Locust 2.x names).
EVENT_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "request": (
        "request_type", "name", "response_time", "response_length", "response",
        "context", "exception", "start_time", "url",
    ),
    "user_error": ("user_instance", "exception", "tb"),
    "report_to_master": ("client_id", "data"),
    "worker_report": ("client_id", "data"),
    "worker_connect": ("client_id",),
    "spawning_complete": ("user_count",),
    "quitting": ("environment",),
    "quit": ("exit_code",),
    "init": ("environment", "runner", "web_ui"),
    "init_command_line_parser": ("parser",),
    "test_start": ("environment",),
    "test_stopping": ("environment",),
    "test_stop": ("environment",),
    "reset_stats": (),
    "cpu_warning": ("environment", "cpu_usage", "message", "timestamp"),
    "heartbeat_sent": ("client_id", "timestamp"),
    "heartbeat_received": ("client_id", "timestamp"),
    "usage_monitor": ("environment", "cpu_usage", "memory_usage"),
}


@dataclass(eq=False)  # identity semantics: an Events is hashable (a dict key, a weakref target)
class Events:
    """The set of hooks of one Environment (the module-level ``events`` by default)."""

    listener_errors: list[ListenerError] = field(default_factory=ListenerErrors)

    request: EventHook = field(init=False)
    user_error: EventHook = field(init=False)
    report_to_master: EventHook = field(init=False)
    worker_report: EventHook = field(init=False)
    worker_connect: EventHook = field(init=False)
    spawning_complete: EventHook = field(init=False)
    quitting: EventHook = field(init=False)
    quit: EventHook = field(init=False)
    init: EventHook = field(init=False)
    init_command_line_parser: EventHook = field(init=False)
    test_start: EventHook = field(init=False)
    test_stopping: EventHook = field(init=False)
    test_stop: EventHook = field(init=False)
    reset_stats: EventHook = field(init=False)
    cpu_warning: EventHook = field(init=False)
    heartbeat_sent: EventHook = field(init=False)
    heartbeat_received: EventHook = field(init=False)
    usage_monitor: EventHook = field(init=False)
    request_success: DeprecatedEventHook = field(init=False)
    request_failure: DeprecatedEventHook = field(init=False)
    hatch_complete: DeprecatedEventHook = field(init=False)

    def __post_init__(self) -> None:
        for name in EVENT_ARGUMENTS:
            setattr(self, name, EventHook(name, self.listener_errors))
        # The old hooks are fed from the new ones, so a listener on either sees every request.
        self.request_success = DeprecatedEventHook(
            "request_success",
            "request_success is deprecated; listen to 'request' and check exception is None",
            self.listener_errors, self.request, self._feed_old_request_hooks,
        )
        self.request_failure = DeprecatedEventHook(
            "request_failure",
            "request_failure is deprecated; listen to 'request' and check exception is not None",
            self.listener_errors, self.request, self._feed_old_request_hooks,
        )
        self.hatch_complete = DeprecatedEventHook(
            "hatch_complete", "hatch_complete is deprecated; use spawning_complete",
            self.listener_errors, self.spawning_complete, self._feed_hatch_complete,
        )

    def _feed_old_request_hooks(self, request_type, name, response_time, response_length, exception=None, **kwargs):
        # ``method`` / ``path`` are the 0.x names of request_type / name.
        if exception is None:
            if self.request_success._handlers:
                self.request_success.fire(
                    request_type=request_type, name=name, response_time=response_time,
                    response_length=response_length, response=kwargs.get("response"),
                    method=request_type, path=name,
                )
        elif self.request_failure._handlers:
            self.request_failure.fire(
                request_type=request_type, name=name, response_time=response_time,
                response_length=response_length, exception=exception, response=kwargs.get("response"),
                method=request_type, path=name,
            )

    def _feed_hatch_complete(self, user_count, **_kwargs):
        if self.hatch_complete._handlers:
            self.hatch_complete.fire(user_count=user_count)

    def hooks(self) -> dict[str, EventHook]:
        return {name: getattr(self, name) for name in (*EVENT_ARGUMENTS, "request_success", "request_failure", "hatch_complete")}


events = Events()
"""The global Events instance: module-level listeners attach here before any Environment exists."""
