"""A worker of the distributed mode: runs the users its master assigns it, reports back.

The worker runs users in its own process as a :class:`LocalRunner` does (both are
:class:`~.local.InProcessRunner` subclasses; a worker is not a LocalRunner, as in Locust),
steered from afar: the master decides how many users of each class it runs (``spawn``),
when they stop (``stop``) and when the worker ends (``quit``). Every
``stats_report_interval`` seconds, and once more when it stops, it sends what it counted
since its last report (``report_to_master`` listeners add to that report) and forgets it,
so the master's merge counts every request exactly once.
"""

from __future__ import annotations

import functools
import logging
import socket
import time
import traceback
import uuid
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event
from gevent.pool import Group

from .. import __version__, dispatch
from ..exception import ConfigurationError
from ..rpc import DEFAULT_MAX_MESSAGE_SIZE, MalformedMessage, Message, RPCError
from ..stats import RequestStats, columnar_report
from .base import STATE_CLEANUP, STATE_INIT, STATE_STOPPED, STATE_STOPPING
from .arrival import plan_from_data
from .local import InProcessRunner

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..env import Environment

logger = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 1.0
# Longer than the master's (10 s): a worker cut off for a while is marked missing by the
# master first, and can still come back (and be given users again) when the network does.
HEARTBEAT_TIMEOUT = 20.0
# How often a worker hands its counts over: a worker that dies (SIGKILL, a lost machine) loses
# at most this much of its counts. Each report costs the master a merge (bench/distributed.py).
STATS_REPORT_INTERVAL = 1.0
CONNECT_TIMEOUT = 60.0
# After the master's quit: it closed its port as it sent it, and its last counts came with the stop
# before. Waiting the transport's usual 2 s for a peer that is gone held every local worker (and so
# the master's session, which waits for them) 2 s at the end of each --load-processes run.
QUIT_LINGER_MS = 100
REFUSED_GIVE_UP = 3  # handshakes refused in a row (within a second or two): the master says no, stop asking
# After a protocol error (a secret on one side only) ZeroMQ stops retrying: fewer refusals than
# REFUSED_GIVE_UP ever come, and this long without a new one means the master said no for good.
REFUSED_QUIET = 3.0


class WorkerRunner(InProcessRunner):
    """Runs users for a master over ZeroMQ until the master says ``quit`` (or is gone).

    ``run()`` blocks until then and returns the worker's exit code: 0, or 2 when the
    worker itself failed (it lost its master, a listener raised, a user class could not
    start) — never because of the run's results, which are the master's to judge.
    """

    heartbeat_interval = HEARTBEAT_INTERVAL
    heartbeat_timeout = HEARTBEAT_TIMEOUT
    stats_report_interval = STATS_REPORT_INTERVAL
    connect_timeout = CONNECT_TIMEOUT
    # parsed_options names the master's values must not overwrite (e.g. where this worker
    # connects to); the pytest layer adds its own.
    local_options: frozenset[str] = frozenset()

    def __init__(self, environment: Environment, master_host: str, master_port: int,
                 secret: str | bytes | None = None, *, heartbeat_interval: float | None = None,
                 heartbeat_timeout: float | None = None, stats_report_interval: float | None = None,
                 connect_timeout: float | None = None,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        super().__init__(environment)
        for name, value in (("heartbeat_interval", heartbeat_interval), ("heartbeat_timeout", heartbeat_timeout),
                            ("stats_report_interval", stats_report_interval), ("connect_timeout", connect_timeout)):
            if value is not None:
                setattr(self, name, value)
        self.master_host = master_host
        self.master_port = master_port
        self.client_id = f"{socket.gethostname()}_{uuid.uuid4().hex}"
        self.worker_index = -1  # set when the master acknowledges this worker
        self.connected = gevent.event.Event()
        self.master_lost = False
        self.last_master_contact = time.monotonic()
        self._created = time.monotonic()
        self._last_spawn_sequence = -1
        # Everything this worker counted and handed over (environment.stats only holds what
        # is not reported yet): what the worker's own session can summarise.
        self.reported_stats = RequestStats(self.stats.rps_window)
        self._quit = gevent.event.Event()
        self._closing = False
        # The connection's greenlets live apart from the run's: ending a run (InProcessRunner
        # kills its background greenlets then) must not cut this worker off its master.
        self._links = Group()
        from ..rpc.transport import Client  # loads pyzmq: only when a worker is made

        self.client = Client(master_host, master_port, self.client_id, secret=secret,
                             max_message_size=max_message_size)
        for loop in (self._receive_loop, self._heartbeat_loop, self._report_loop, self._watchdog_loop):
            greenlet = self._links.spawn(loop)
            greenlet.link_exception(self._background_failed)
            greenlet.name = loop.__name__.strip("_")
        self._send_ready()

    # -- what the worker tells its master --
    def _send(self, message_type: str, data: Any = None) -> bool:
        if self._closing:
            return False
        try:
            self.client.send(Message(message_type, data, self.client_id))
        except RPCError as error:
            logger.error("could not send %r to the master: %s", message_type, error)
            return False
        return True

    def _send_ready(self) -> None:
        self._send("client_ready", {"version": __version__, "state": self._reported_state(),
                                    "user_classes_count": self.user_classes_count})

    def _reported_state(self) -> str:
        return STATE_INIT if self.state in (STATE_INIT, STATE_STOPPED) else self.state

    def send_message(self, msg_type: str, data: Any = None, client_id: str | None = None) -> None:
        """Send a custom message to the master (``client_id`` is not used: a worker has one master)."""
        logger.debug("sending %r message to the master", msg_type)
        self.client.send(Message(msg_type, data, self.client_id))

    def _send_stats(self) -> None:
        """Report what was counted since the last report, then forget it (it is the master's now).

        The counts move into a RequestStats of their own first (:meth:`RequestStats.take_counts`), so
        that requests counted while the report is sent go to the next one; the report is those counts
        as columns (:func:`~pytest_loadhooks.stats.columnar_report`: what the master adds cheapest)."""
        counted = self.stats.take_counts()
        for record in counted.exceptions.values():
            record["nodes"] = [self.client_id if node == "local" else node for node in record["nodes"]]
        data: dict[str, Any] = {"stats": columnar_report(counted), "user_classes_count": self.user_classes_count,
                                "user_count": self.user_count}
        self.environment.events.report_to_master.fire(client_id=self.client_id, data=data)
        if not self._send("stats", data):
            # Not sent (over the size limit, say): keep the counts for the next report.
            self.stats.extend(counted)
            self.runner_errors.append("a stats report could not be sent to the master")
            return
        self.reported_stats.extend(counted)

    def _on_user_error(self, user_instance: Any, exception: BaseException, tb: Any, **kwargs: Any) -> None:
        super()._on_user_error(user_instance, exception, tb, **kwargs)
        # Counted through the stats reports; sent now too, so the master can log it as it happens.
        self._send("exception", {"msg": str(exception), "traceback": "".join(traceback.format_tb(tb))})

    # -- the connection's loops --
    def _receive_loop(self) -> None:
        while True:
            try:
                message = self.client.recv()
            except MalformedMessage as error:
                logger.warning("dropped a malformed message from the master: %s", error)
                continue
            except RPCError:
                if self._closing:
                    return
                raise
            self.last_master_contact = time.monotonic()
            try:
                self._handle(message)
            except Exception:
                logger.exception("dropped a %r message from the master: it could not be handled", message.type)

    def _heartbeat_loop(self) -> None:
        while True:
            gevent.sleep(self.heartbeat_interval)
            if not self.connected.is_set():
                self._send_ready()  # until the master answers (it may start after its workers)
                continue
            self._send("heartbeat", {"state": self._reported_state(), "current_cpu_usage": self.current_cpu_usage,
                                     "current_memory_usage": self.current_memory_usage})

    def _report_loop(self) -> None:
        while True:
            gevent.sleep(self.stats_report_interval)
            if self.connected.is_set():
                self._send_stats()

    def _watchdog_loop(self) -> None:
        """Stop on our own when the master is gone; say hello again after a brief silence."""
        said_hello_again = False
        while True:
            gevent.sleep(min(self.heartbeat_interval, 1.0))
            now = time.monotonic()
            if not self.connected.is_set():
                refused = self.client.refused_handshakes
                quiet = refused and now - (self.client.last_refused_at or now) > REFUSED_QUIET
                if refused >= REFUSED_GIVE_UP or quiet or (refused and now - self._created > self.connect_timeout):
                    self._lose_master(f"the master at {self.master_host}:{self.master_port} refused this worker's "
                                      f"credentials ({refused} handshakes failed: {self.client.refusal()})")
                    return
                if now - self._created > self.connect_timeout:
                    self._lose_master(f"could not reach the master at {self.master_host}:{self.master_port} "
                                      f"within {self.connect_timeout:g} s")
                    return
                continue
            silence = now - self.last_master_contact
            if silence > self.heartbeat_timeout:
                self._lose_master(f"no word from the master for {silence:.1f} s (heartbeat timeout "
                                  f"{self.heartbeat_timeout:g} s)")
                return
            if silence > 2 * self.heartbeat_interval and not said_hello_again:
                # A brief network loss: the master may have marked us missing; being ready
                # again lets it take us back (it keeps everything we reported).
                said_hello_again = True
                self._send_ready()
            elif silence <= self.heartbeat_interval:
                said_hello_again = False

    def _lose_master(self, reason: str) -> None:
        logger.error("%s: stopping this worker", reason)
        self.master_lost = True
        self.runner_errors.append(reason)
        gevent.spawn(self._shut_down, False).name = "worker-shutdown"

    # -- what the master tells the worker --
    def _handle(self, message: Message) -> None:
        data = message.data
        kind = message.type
        if kind == "ack":
            self.worker_index = int(data["index"])
            first = not self.connected.is_set()
            self.connected.set()
            if first:
                logger.info("connected to the master at %s:%s as worker %d", self.master_host, self.master_port,
                            self.worker_index)
        elif kind == "heartbeat":
            self.environment.events.heartbeat_received.fire(client_id=message.node_id, timestamp=time.time())
        elif kind == "spawn":
            self._on_spawn(data)
        elif kind == "arrival":
            self._on_arrival(data)
        elif kind == "spawning_complete":
            self.environment.events.spawning_complete.fire(user_count=int(data["user_count"]))
        elif kind == "stop":
            self._links.spawn(self._stop_and_report).name = "worker-stop"
        elif kind == "quit":
            logger.info("the master says quit")
            gevent.spawn(self._shut_down, True, QUIT_LINGER_MS).name = "worker-shutdown"
        elif kind == "reconnect":
            self._send_ready()
        elif kind in self.custom_messages:
            self._deliver_message(message)
        else:
            logger.warning("dropped a message of unknown type %r from the master", kind)

    def _on_spawn(self, job: dict[str, Any]) -> None:
        sequence = int(job["sequence"])
        if sequence <= self._last_spawn_sequence:
            logger.info("dropped an outdated spawn message (%d, already at %d)", sequence, self._last_spawn_sequence)
            return
        target = self._classes_from(job["user_classes_count"])
        spawn_rate = float(job["spawn_rate"])
        self._last_spawn_sequence = sequence
        self._apply_settings(job)
        self._send("spawning")
        try:
            self.environment.validate_user_classes([cls for cls, n in target.items() if n] or None)
        except ConfigurationError as error:
            logger.error("cannot run the users the master assigned: %s", error)
            self.runner_errors.append(str(error))
            return
        self.target_user_count = sum(target.values())
        self.spawn_rate = spawn_rate
        self._ramp_to(target, spawn_rate, lambda current: dispatch.changes_to(current, target),
                      functools.partial(self._report_spawned, sequence))

    def _on_arrival(self, job: dict[str, Any]) -> None:
        """The master's order for an open-model run: this worker's share of the rate and of the pool."""
        sequence = int(job["sequence"])
        if sequence <= self._last_spawn_sequence:
            return
        self._last_spawn_sequence = sequence
        self._apply_settings(job)
        by_name = self.user_classes_by_name
        classes = [by_name[name] for name in job["user_classes"] if name in by_name]
        try:
            self.start_arrival(plan_from_data(job["plan"]), int(job["max_users"]), classes or None,
                               elapsed=float(job.get("elapsed") or 0.0), prewarm=int(job.get("prewarm") or 0))
        except (ConfigurationError, ValueError) as error:
            logger.error("cannot run the open-model load the master assigned: %s", error)
            self.runner_errors.append(str(error))

    def _report_spawned(self, sequence: int, counts: dict[str, int]) -> None:
        logger.debug("assigned users running: %s", counts)
        # spawning_complete (the event) fires when the master says the whole run is spawned.
        self._send("spawning_complete", {"user_classes_count": counts, "user_count": sum(counts.values()),
                                         "sequence": sequence})

    def _classes_from(self, counts: dict[str, int]) -> dict[type, int]:
        """The assigned users per class, the class names resolved to this worker's classes."""
        by_name = self.user_classes_by_name
        unknown = sorted(set(counts) - set(by_name))
        if unknown:
            raise ValueError(f"the master assigned users of classes this worker does not have: {', '.join(unknown)} "
                             f"(its classes: {', '.join(sorted(by_name)) or 'none'}); do both collect the same files?")
        return {by_name[name]: int(n) for name, n in counts.items()}

    def _apply_settings(self, job: dict[str, Any]) -> None:
        """The run's settings from the master, so ``environment`` agrees on every node."""
        if job.get("host"):
            self.environment.host = job["host"]
        self.environment.stop_timeout = float(job.get("stop_timeout") or 0.0)
        if "worker_count" in job:
            self.worker_count = int(job["worker_count"])
        options = job.get("parsed_options") or {}
        for name, value in options.items():
            if name not in self.local_options:
                setattr(self.environment.parsed_options, name, value)

    def _stop_and_report(self) -> None:
        """The master's ``stop``: stop the users, send the last counts, then say so (in that order:
        the master waits for ``stopped`` and so has every count before its verdict)."""
        self.stop()
        self._send_stats()
        self._send("stopped", {"user_classes_count": self.user_classes_count})

    def start(self, user_count: int, spawn_rate: float, wait: bool = False,
              user_classes: Sequence[type] | None = None) -> None:
        raise RuntimeError("a worker runs the users its master assigns it: start the run on the master")

    # -- the end --
    def _shut_down(self, master_alive: bool, linger: int | None = None) -> None:
        if self._closing:
            return
        if self.state not in (STATE_INIT, STATE_STOPPED, STATE_STOPPING, STATE_CLEANUP):
            self.stop()
        if master_alive:
            self._send_stats()  # anything counted after the last report (nothing, after a stop)
        self._closing = True
        gevent.killall([g for g in self._links if g is not gevent.getcurrent()], block=True, timeout=1.0)
        self.client.close(linger=linger if master_alive else 0)
        self._quit.set()
        self._finished.set()

    def quit(self) -> None:
        """Leave the run: stop the users, send the last counts, tell the master, disconnect."""
        if self._closing:
            return
        if self.state not in (STATE_INIT, STATE_STOPPED, STATE_STOPPING, STATE_CLEANUP):
            self.stop()
        self._send_stats()
        self._send("quit")
        self._shut_down(True)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker ends (the master said quit, or is gone)."""
        return self._quit.wait(timeout)

    def run(self, user_count: int | None = None, spawn_rate: float | None = None,
            run_time: float | None = None) -> int:
        """Serve the master until it says ``quit`` (or is gone); returns this worker's exit code.

        The arguments are ignored (the master decides); ``run_time`` bounds the wait.
        """
        if not self._quit.wait(run_time):
            self.quit()
        return self.exit_code
