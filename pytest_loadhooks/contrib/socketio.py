"""SocketIOUser: a python-socketio client whose calls are ``request`` events.

As Locust's ``locust.contrib.socketio``: ``self.sio`` is a :class:`SocketIOClient` (a
``socketio.Client`` built with the class's ``options``) and each call fires ``request``:

=================  ============  ==========================  =============================
call               request_type  name                        response_time
=================  ============  ==========================  =============================
``connect``        ``WS``        ``connect``                 until connected
``send``           ``WSS``       ``name=`` (``Unnamed``)     0 (nothing is answered)
``emit``           ``WSE``       the event                   0 (nothing is answered)
``call``           ``WSC``       the event                   until the server's answer
an event received  ``WSR``       the event                   0 (by ``on_message``)
=================  ============  ==========================  =============================

One request per call: ``socketio.Client`` sends a ``send`` or ``call`` through ``emit``,
which Locust's client then records a second time (as ``WSE``); here it is not.

A call that raises (a refused connection, a ``call`` that times out, emitting while
disconnected) is recorded as that request's failure. ``connect`` and ``call`` record the
error and return (``call`` returns None), as a ``measure`` block does; ``send`` and ``emit``
record it and return too. Every event the server sends lands in ``on_message``; register
your own handlers with ``self.sio.on(event, handler)`` (and call ``on_message`` from them to
keep them counted).

gevent: under gevent's monkey-patching the client's background tasks are greenlets and its
WebSocket (websocket-client) and polling (requests) transports use gevent's sockets, so a
slow answer keeps only its own user waiting.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gevent

from ..event import EventHook
from ..user.users import User
from ._extras import require

socketio = require("socketio", "socketio", __name__)


def _length(data: Any) -> int:
    try:
        return len(data or [])
    except TypeError:  # a number or another object without a length
        return 0


class SocketIOClient(socketio.Client):
    """``socketio.Client`` whose connect, send, emit and call fire the ``request`` event."""

    def __init__(self, request_event: EventHook, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_event = request_event
        # Greenlets inside a send or call: socketio.Client implements both with emit, which
        # must not count a second request for them.
        self._inside_request: set[Any] = set()

    def connect(self, *args: Any, **kwargs: Any) -> None:
        with self.request_event.measure("WS", "connect"):
            super().connect(*args, **kwargs)

    def send(self, data: Any, namespace: str | None = None, callback: Any = None, name: str = "Unnamed") -> None:
        with self._one_request():
            self._unanswered("WSS", name, data, lambda: super(SocketIOClient, self).send(data, namespace, callback))

    def emit(self, event: str, data: Any = None, namespace: str | None = None, callback: Any = None) -> None:
        if gevent.getcurrent() in self._inside_request:
            super().emit(event, data, namespace, callback)
            return
        self._unanswered("WSE", str(event), data,
                         lambda: super(SocketIOClient, self).emit(event, data, namespace, callback))

    def call(self, event: str, data: Any = None, *args: Any, **kwargs: Any) -> Any:
        with self.request_event.measure("WSC", event) as request_meta, self._one_request():
            answer = super().call(event, data, *args, **kwargs)
            request_meta["response_length"] = _length(answer)
            return answer
        return None  # the call failed: the measure block recorded its error

    @contextmanager
    def _one_request(self) -> Iterator[None]:
        current = gevent.getcurrent()
        self._inside_request.add(current)
        try:
            yield
        finally:
            self._inside_request.discard(current)

    def on_message(self, event: str, data: Any) -> None:
        """The handler of every event received: one ``WSR`` request named after the event."""
        self.request_event.fire(request_type="WSR", name=event, response_time=0, response_length=_length(data),
                                exception=None, context={})

    def _unanswered(self, request_type: str, name: str, data: Any, deliver: Any) -> None:
        exception = None
        try:
            deliver()
        except Exception as error:  # noqa: BLE001 - recorded as the request's failure, as in Locust
            exception = error
        self.request_event.fire(request_type=request_type, name=name, response_time=0, response_length=_length(data),
                                exception=exception, context={})


class SocketIOUser(User):
    """A user with ``self.sio``, a :class:`SocketIOClient`; connect it in ``on_start``."""

    abstract = True
    options: dict[str, Any] = {}
    sio: SocketIOClient

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sio = SocketIOClient(self.environment.events.request, **self.options)
        self.sio_greenlet = gevent.spawn(self.sio.wait)
        self.sio.on("*", self.sio.on_message)
