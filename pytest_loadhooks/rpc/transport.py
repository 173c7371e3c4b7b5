"""The sockets: the master's :class:`Server` (ROUTER) and a worker's :class:`Client` (DEALER).

Each owns its zmq context (a context has one ZAP handler, so two masters in one
process must not share one) and uses ``zmq.green``: the runners live in gevent's hub.
Both watch their connections through a zmq socket monitor: the master learns at once that
a worker's connection closed (a worker process killed: its kernel closes the socket) and
which peers it refused; a worker learns that the master refused its credentials, rather
than that it "could not reach" it.
"""

from __future__ import annotations

import logging
import socket as _socket
import time
from collections.abc import Callable
from typing import Any

import gevent
import zmq.green as zmq
from zmq.utils.monitor import recv_monitor_message

from .protocol import DEFAULT_MAX_MESSAGE_SIZE, MalformedMessage, Message, ReceiveError, RPCError, decode, encode
from .security import CurveKeys, ZapAuthenticator, make_curve_client, make_curve_server

logger = logging.getLogger(__name__)

# A frame a little over the limit still arrives, so it is logged before it is dropped;
# one far over it makes libzmq drop the connection before buffering it.
TRANSPORT_SLACK = 64 * 1024
LINGER_MS = 2000  # how long close() may take to flush what was queued (a worker's last stats)
RECONNECT_MS = 100
RECONNECT_MAX_MS = 1000
REFUSED_LOG_INTERVAL = 10.0  # a refused peer retries every second: one line per peer this often
HANDSHAKE_FAILED = (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                    | zmq.EVENT_HANDSHAKE_FAILED_AUTH)
SERVER_EVENTS = zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED | HANDSHAKE_FAILED
CLIENT_EVENTS = zmq.EVENT_CONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED | HANDSHAKE_FAILED


def _tune(socket: Any, host: str) -> None:
    socket.setsockopt(zmq.TCP_KEEPALIVE, 1)
    socket.setsockopt(zmq.TCP_KEEPALIVE_IDLE, 30)
    if ":" in host or host == "*":
        socket.setsockopt(zmq.IPV6, 1)  # an IPv6 literal, or every interface (dual stack)


def _endpoint_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _peer_host(fd: int) -> str | None:
    """The remote host of the connection on ``fd`` (zmq's monitor gives only the fd), or None
    when it is closed already (a refused peer is dropped within a millisecond or so)."""
    try:
        sock = _socket.socket(fileno=fd)
    except OSError:
        return None
    try:
        return str(sock.getpeername()[0])
    except (OSError, IndexError):
        return None
    finally:
        sock.detach()  # the fd is libzmq's: never close it here


def _watch(monitor: Any, name: str, handle: Callable[[dict[str, Any]], None]) -> gevent.Greenlet:
    def watch() -> None:
        while True:
            try:
                event = recv_monitor_message(monitor)
            except zmq.ZMQError:
                return  # closed
            handle(event)

    greenlet = gevent.spawn(watch)
    greenlet.name = name
    greenlet.monitor_socket = monitor
    return greenlet


def _close_monitored(sock: Any, monitor: gevent.Greenlet, linger: int | None) -> None:
    """Close a socket and its monitor (watcher first: it would read a closed monitor socket)."""
    monitor.kill(block=False)
    try:
        sock.disable_monitor()
    except zmq.ZMQError:
        pass
    monitor.monitor_socket.close(linger=0)
    sock.close(linger=LINGER_MS if linger is None else linger)


class RefusedPeers:
    """The peers a master refused, by host: one log line (and listener call) per host per
    ``REFUSED_LOG_INTERVAL``, however often it retries, with the count of refusals since."""

    def __init__(self, port_hint: Callable[[], Any], secure: bool) -> None:
        self.total = 0
        self.by_host: dict[str, int] = {}
        self.listeners: list[Callable[[str, str], None]] = []
        self._port_hint = port_hint
        self._secure = secure
        self._logged_at: dict[str, float] = {}
        self._unlogged: dict[str, int] = {}

    def add(self, host: str | None, why: str | None = None) -> None:
        host = host or "an address that closed before it could be read"
        self.total += 1
        self.by_host[host] = self.by_host.get(host, 0) + 1
        self._unlogged[host] = self._unlogged.get(host, 0) + 1
        now = time.monotonic()
        if now - self._logged_at.get(host, -REFUSED_LOG_INTERVAL) < REFUSED_LOG_INTERVAL:
            return
        count, self._unlogged[host], self._logged_at[host] = self._unlogged[host], 0, now
        line = (f"refused a worker from {host} on port {self._port_hint()}: the handshake failed, "
                f"{why or self._reason()}" + (f" ({count} refusals since the last line)" if count > 1 else ""))
        logger.warning("%s", line)
        for listener in list(self.listeners):
            try:
                listener(host, line)
            except Exception:  # a display must not break the master
                logger.exception("refused-peer listener %r failed", listener)

    def _reason(self) -> str:
        if self._secure:
            return "it does not hold this master's secret (a different --load-secret, or none)"
        return "it uses a secret and this master has none (or it is not a pytest-loadhooks worker)"


class Server:
    """The master's socket: receives from any worker, sends to one by its id.

    ``on_disconnect(worker_id)`` is called when the connection a worker's messages came over
    closes (its process died, or the network dropped it); the worker may reconnect.
    """

    def __init__(self, host: str, port: int, *, secret: str | bytes | None = None,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
                 on_disconnect: Callable[[str], None] | None = None) -> None:
        self.host = host
        self.max_message_size = max_message_size
        self.on_disconnect = on_disconnect
        self.context = zmq.Context()
        self.keys = CurveKeys.from_secret(secret) if secret else None
        self.refused = RefusedPeers(lambda: getattr(self, "port", "?"), secure=bool(self.keys))
        # The ZAP handler must be in place before the socket binds, or the first
        # handshakes would go unauthenticated.
        # (Its refusals reach self.refused through the socket monitor, like every failed handshake.)
        self.authenticator = ZapAuthenticator(self.context, self.keys) if self.keys else None
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.linger = LINGER_MS
        # A worker that reconnects (same id) after a network loss takes over its old route.
        self.socket.setsockopt(zmq.ROUTER_HANDOVER, 1)
        self.socket.setsockopt(zmq.MAXMSGSIZE, max_message_size + TRANSPORT_SLACK)
        _tune(self.socket, host)
        if self.keys:
            make_curve_server(self.socket, self.keys)
        self._senders_by_fd: dict[int, str] = {}  # the worker whose messages came over each connection
        self._hosts_by_fd: dict[int, str | None] = {}  # connections accepted, not yet known as a worker's
        self._failed_handshakes = 0  # failures not yet tied to a connection (the event carries no fd)
        self._monitor = _watch(self.socket.get_monitor_socket(SERVER_EVENTS), "rpc-monitor", self._on_event)
        try:
            if port == 0:
                self.port = self.socket.bind_to_random_port(f"tcp://{_endpoint_host(host)}")
            else:
                self.socket.bind(f"tcp://{_endpoint_host(host)}:{port}")
                self.port = port
        except zmq.ZMQError as error:
            self.close(linger=0)
            raise RPCError(f"cannot listen on {host}:{port}: {error}") from None

    @property
    def refused_handshakes(self) -> int:
        return self.refused.total

    def _on_event(self, event: dict[str, Any]) -> None:
        kind, value = event["event"], int(event["value"])
        if kind == zmq.EVENT_ACCEPTED:
            self._hosts_by_fd[value] = _peer_host(value)
        elif kind & HANDSHAKE_FAILED:
            self._failed_handshakes += 1
        elif kind == zmq.EVENT_DISCONNECTED:
            host = self._hosts_by_fd.pop(value, None)
            sender = self._senders_by_fd.pop(value, None)
            if sender is not None:
                if self.on_disconnect is not None:
                    self.on_disconnect(sender)
            elif self._failed_handshakes:
                # Events come in order: a connection that closes before any message, after a
                # failed handshake, is the refused one.
                self._failed_handshakes -= 1
                self.refused.add(host)

    def send_to(self, client_id: str, message: Message) -> None:
        try:
            self.socket.send_multipart([client_id.encode("utf-8"), encode(message, self.max_message_size)])
        except zmq.ZMQError as error:
            raise RPCError(f"sending {message.type!r} to {client_id}: {error}") from None

    def recv(self) -> tuple[str, Message]:
        """The next (worker id, message); :class:`ReceiveError` for a frame that is not one."""
        try:
            frames = self.socket.recv_multipart(copy=False)
        except zmq.ZMQError as error:
            raise RPCError(f"receiving: {error}") from None
        try:
            sender = frames[0].bytes.decode("utf-8")
        except UnicodeDecodeError:
            raise ReceiveError("a sender id that is not UTF-8") from None
        if len(frames) != 2:
            raise ReceiveError(f"{len(frames) - 1} frames instead of one", sender)
        self._note_connection(frames[1], sender)
        try:
            message = decode(frames[1].bytes, self.max_message_size)
        except MalformedMessage as error:
            raise ReceiveError(str(error), sender) from None
        if message.node_id != sender:
            raise ReceiveError(f"a {message.type!r} message naming another node ({message.node_id!r})", sender)
        return sender, message

    def _note_connection(self, frame: Any, sender: str) -> None:
        """Which connection (fd) this worker's messages come over, so that its closing names it."""
        try:
            fd = frame.get(zmq.SRCFD)
        except zmq.ZMQError:  # a libzmq without the (deprecated) property: loss is found by silence alone
            return
        if self._senders_by_fd.get(fd) != sender:
            self._senders_by_fd[fd] = sender
            self._hosts_by_fd.pop(fd, None)

    def close(self, linger: int | None = None) -> None:
        _close_monitored(self.socket, self._monitor, linger)
        if self.authenticator is not None:
            self.authenticator.close()
        self.context.term()


class Client:
    """A worker's socket: talks to the master, reconnecting by itself after a network loss.

    ``refused_handshakes`` counts the handshakes that failed in a row since the last one that
    succeeded: the master is there (the TCP connection was made) but refused this worker's
    credentials (or it is not a pytest-loadhooks master of the same security).
    """

    def __init__(self, host: str, port: int, identity: str, *, secret: str | bytes | None = None,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        self.identity = identity
        self.max_message_size = max_message_size
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.linger = LINGER_MS
        self.socket.routing_id = identity.encode("utf-8")
        self.socket.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
        self.socket.setsockopt(zmq.RECONNECT_IVL_MAX, RECONNECT_MAX_MS)
        self.socket.setsockopt(zmq.MAXMSGSIZE, max_message_size + TRANSPORT_SLACK)
        _tune(self.socket, host)
        if secret:
            make_curve_client(self.socket, CurveKeys.from_secret(secret))
        self.secure = bool(secret)
        self.refused_handshakes = 0
        self.handshakes_succeeded = 0
        self.last_refused_at: float | None = None  # monotonic
        self._monitor = _watch(self.socket.get_monitor_socket(CLIENT_EVENTS), "rpc-client-monitor", self._on_event)
        try:
            self.socket.connect(f"tcp://{_endpoint_host(host)}:{port}")
        except zmq.ZMQError as error:
            self.close(linger=0)
            raise RPCError(f"cannot connect to {host}:{port}: {error}") from None

    def send(self, message: Message) -> None:
        """Queue ``message`` for the master (kept while the connection is down, up to zmq's limit)."""
        try:
            self.socket.send(encode(message, self.max_message_size), zmq.NOBLOCK)
        except zmq.ZMQError as error:
            raise RPCError(f"sending {message.type!r}: {error}") from None

    def recv(self) -> Message:
        """The next message from the master; :class:`MalformedMessage` for a frame that is not one."""
        try:
            frame = self.socket.recv(copy=True)
        except zmq.ZMQError as error:
            raise RPCError(f"receiving: {error}") from None
        return decode(frame, self.max_message_size)

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            self.handshakes_succeeded += 1
            self.refused_handshakes = 0
        elif kind & HANDSHAKE_FAILED:
            self.refused_handshakes += 1
            self.last_refused_at = time.monotonic()

    def refusal(self) -> str:
        """Why the master refuses this worker, in words (when ``refused_handshakes`` says it does)."""
        if self.secure:
            return "its --load-secret differs from this worker's, or it has none"
        return "it holds a --load-secret and this worker none"

    def close(self, linger: int | None = None) -> None:
        _close_monitored(self.socket, self._monitor, linger)
        self.context.term()
