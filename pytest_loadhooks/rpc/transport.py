"""The sockets: the master's :class:`Server` (ROUTER) and a worker's :class:`Client` (DEALER).

Each owns its zmq context (a context has one ZAP handler, so two masters in one
process must not share one) and uses ``zmq.green``: the runners live in gevent's hub.
"""

from __future__ import annotations

import logging
import time
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
REFUSED_LOG_INTERVAL = 10.0
REFUSED_EVENTS = zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL


def _tune(socket: Any, host: str) -> None:
    socket.setsockopt(zmq.TCP_KEEPALIVE, 1)
    socket.setsockopt(zmq.TCP_KEEPALIVE_IDLE, 30)
    if ":" in host or host == "*":
        socket.setsockopt(zmq.IPV6, 1)  # an IPv6 literal, or every interface (dual stack)


def _endpoint_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class Server:
    """The master's socket: receives from any worker, sends to one by its id."""

    def __init__(self, host: str, port: int, *, secret: str | bytes | None = None,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        self.host = host
        self.max_message_size = max_message_size
        self.context = zmq.Context()
        self.keys = CurveKeys.from_secret(secret) if secret else None
        # The ZAP handler must be in place before the socket binds, or the first
        # handshakes would go unauthenticated.
        self.authenticator = ZapAuthenticator(self.context, self.keys) if self.keys else None
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.linger = LINGER_MS
        # A worker that reconnects (same id) after a network loss takes over its old route.
        self.socket.setsockopt(zmq.ROUTER_HANDOVER, 1)
        self.socket.setsockopt(zmq.MAXMSGSIZE, max_message_size + TRANSPORT_SLACK)
        _tune(self.socket, host)
        if self.keys:
            make_curve_server(self.socket, self.keys)
        self.refused_handshakes = 0
        self._monitor = self._watch_handshakes()
        try:
            if port == 0:
                self.port = self.socket.bind_to_random_port(f"tcp://{_endpoint_host(host)}")
            else:
                self.socket.bind(f"tcp://{_endpoint_host(host)}:{port}")
                self.port = port
        except zmq.ZMQError as error:
            self.close(linger=0)
            raise RPCError(f"cannot listen on {host}:{port}: {error}") from None

    def _watch_handshakes(self) -> gevent.Greenlet:
        monitor = self.socket.get_monitor_socket(REFUSED_EVENTS)

        def watch() -> None:
            last_logged = -REFUSED_LOG_INTERVAL
            unlogged = 0
            while True:
                try:
                    recv_monitor_message(monitor)
                except zmq.ZMQError:
                    return
                self.refused_handshakes += 1
                unlogged += 1
                # A refused peer reconnects every few hundred ms: say so now and then, with a count.
                if time.monotonic() - last_logged >= REFUSED_LOG_INTERVAL:
                    logger.warning("refused %d connection(s) on port %s: the handshake failed (not a "
                                   "pytest-loadhooks worker, or one with a %s)", unlogged, getattr(self, "port", "?"),
                                   "different secret" if self.keys else "secret while the master has none")
                    last_logged, unlogged = time.monotonic(), 0

        greenlet = gevent.spawn(watch)
        greenlet.name = "rpc-monitor"
        greenlet.monitor_socket = monitor
        return greenlet

    def send_to(self, client_id: str, message: Message) -> None:
        try:
            self.socket.send_multipart([client_id.encode("utf-8"), encode(message, self.max_message_size)])
        except zmq.ZMQError as error:
            raise RPCError(f"sending {message.type!r} to {client_id}: {error}") from None

    def recv(self) -> tuple[str, Message]:
        """The next (worker id, message); :class:`ReceiveError` for a frame that is not one."""
        try:
            frames = self.socket.recv_multipart(copy=True)
        except zmq.ZMQError as error:
            raise RPCError(f"receiving: {error}") from None
        try:
            sender = frames[0].decode("utf-8")
        except UnicodeDecodeError:
            raise ReceiveError("a sender id that is not UTF-8") from None
        if len(frames) != 2:
            raise ReceiveError(f"{len(frames) - 1} frames instead of one", sender)
        try:
            message = decode(frames[1], self.max_message_size)
        except MalformedMessage as error:
            raise ReceiveError(str(error), sender) from None
        if message.node_id != sender:
            raise ReceiveError(f"a {message.type!r} message naming another node ({message.node_id!r})", sender)
        return sender, message

    def close(self, linger: int | None = None) -> None:
        self._monitor.kill(block=False)
        try:
            self.socket.disable_monitor()
        except zmq.ZMQError:
            pass
        self._monitor.monitor_socket.close(linger=0)
        self.socket.close(linger=LINGER_MS if linger is None else linger)
        if self.authenticator is not None:
            self.authenticator.close()
        self.context.term()


class Client:
    """A worker's socket: talks to the master, reconnecting by itself after a network loss."""

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

    def close(self, linger: int | None = None) -> None:
        self.socket.close(linger=LINGER_MS if linger is None else linger)
        self.context.term()
