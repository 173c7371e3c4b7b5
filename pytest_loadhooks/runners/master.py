"""The master of the distributed mode: assigns users to worker processes, merges what they count.

The master runs no users. It splits the run's users across the connected workers
(weights and ``fixed_count`` honoured over all of them, :func:`dispatch.split_across_workers`),
re-splits them when a worker joins, leaves or goes silent, drives a ``LoadTestShape``, and
merges the workers' stats reports (deltas) into ``environment.stats`` exactly. Its
``stop()`` returns once every worker has sent its last counts (or a timeout passed), so
whatever judges the run sees every request a worker counted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gevent
from gevent.pool import Group

from .. import __version__, dispatch
from ..net import is_loopback  # re-exported: plugin/distributed imports it from here
from ..rpc import DEFAULT_MAX_MESSAGE_SIZE, Message, ReceiveError, RPCError
from ..stats import RequestStats
from .base import (
    STATE_CLEANUP,
    STATE_INIT,
    STATE_MISSING,
    STATE_RUNNING,
    STATE_SPAWNING,
    STATE_STOPPED,
    STATE_STOPPING,
    Runner,
    validate_counts,
)

if TYPE_CHECKING:
    from ..env import Environment

logger = logging.getLogger(__name__)

DEFAULT_BIND_HOST = "127.0.0.1"
DEFAULT_BIND_PORT = 5557
HEARTBEAT_INTERVAL = 1.0
HEARTBEAT_TIMEOUT = 10.0
STOPPED_TIMEOUT = 10.0  # beyond the stop timeout, how long to wait for the workers' last stats
# While the run stops, how long a worker may stay silent (it heartbeats every second, also while
# its users stop) before it is lost: the run's end is not held a whole heartbeat timeout by a hung one.
SILENT_AT_STOP = 3.0
SPAWN_REPORT_TIMEOUT = 5.0  # beyond the ramp's own length, how long to wait for workers to confirm it
# After a worker's connection closed, how long it has to be heard from again (over a new connection:
# a network hiccup) before it is lost. Its heartbeats come every second; a killed process never.
DISCONNECT_GRACE = 2.0
EVERY_WORKER_LOST = "every worker was lost during the run"
MAX_REPORT_BATCH = 128  # stats reports added together at most
REPORT_BATCH_WINDOW = 0.1
"""How long (s) a stats report may wait for others to be added with (issue 24: ten reports added together
cost the master ~0.6x what they cost one by one). Against a report interval of 1-3 s, counts come 0.1 s
later; anything but a report or a heartbeat has the waiting reports added first."""
ACTIVE_STATES = (STATE_INIT, STATE_SPAWNING, STATE_RUNNING, STATE_STOPPING, STATE_CLEANUP)


class WorkerNode:
    """One worker as the master sees it (a row of Locust's ``runner.clients``)."""

    def __init__(self, client_id: str, index: int, heartbeat_timeout: float) -> None:
        self.id = client_id
        self.index = index
        self.state = STATE_INIT
        self.version: str | None = None
        self.cpu_usage = 0.0
        self.memory_usage = 0
        self.cpu_warning_emitted = False
        self.user_classes_count: dict[str, int] = {}  # the users it last reported running
        self.assigned: dict[str, int] = {}  # the users the master last asked it to run
        self.spawned_sequence = -1
        self.awaiting_stop = False
        self.last_seen = time.monotonic()
        self.disconnected_at: float | None = None  # (monotonic) its connection closed, not heard from since
        # What it did in the current run: when it was first given users, what it reported, and when.
        self.working_since: float | None = None
        self.requests_counted = 0
        self.last_report_at: float | None = None
        self.first_report: tuple[float, int] | None = None  # (when, requests in it): its rate leaves the ramp out
        self.loss: WorkerLoss | None = None  # set while it is lost during a run
        self._heartbeat_timeout = heartbeat_timeout

    @property
    def user_count(self) -> int:
        return sum(self.user_classes_count.values())

    @property
    def heartbeat(self) -> float:
        """Seconds left before this worker is marked missing, unless it is heard from (Locust
        counts heartbeats down; this counts seconds)."""
        return max(self._heartbeat_timeout - (time.monotonic() - self.last_seen), 0.0)

    def __repr__(self) -> str:
        return f"<WorkerNode {self.index} {self.id} {self.state} users={self.user_count}>"

    def forget_run(self) -> None:
        self.working_since = self.last_report_at = self.first_report = self.loss = None
        self.requests_counted = 0

    def reported(self, requests: int) -> None:
        self.requests_counted += requests
        self.last_report_at = time.time()
        if self.first_report is None:
            self.first_report = (self.last_report_at, requests)

    @property
    def rate(self) -> float | None:
        """Requests per second it reported, when that says something: between its first report and
        its last (its ramp and start-up left out), or else since it was given users."""
        if self.last_report_at is None or self.first_report is None:
            return None
        first_at, first_requests = self.first_report
        if self.last_report_at - first_at >= 0.5:
            return (self.requests_counted - first_requests) / (self.last_report_at - first_at)
        if self.working_since is not None and self.last_report_at - self.working_since >= 0.5:
            return self.requests_counted / (self.last_report_at - self.working_since)
        return None


def clock(seconds: float) -> str:
    """``mm:ss`` (``h:mm:ss`` past an hour) of a moment into the run."""
    seconds = max(round(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    return (f"{hours}:" if hours else "") + f"{rest // 60:02d}:{rest % 60:02d}"


@dataclass
class WorkerLoss:
    """A worker lost during a run: which, when, how, and how much of what it did the master lacks.

    Times are wall-clock (``time.time()``); ``run_started`` is the run's start.
    """

    index: int
    id: str
    how: str  # "its connection closed", "not heard from for 10.0 s", "it quit"
    lost_at: float  # its last sign of life: the connection's close, or its last message
    run_started: float
    requests_counted: int
    last_report_at: float | None
    rate: float | None
    counts_complete: bool = False  # it said goodbye with its last counts (a quit)
    others_took_over: bool = False  # its users were moved to the workers left
    came_back_at: float | None = None

    @property
    def missing_estimate(self) -> int | None:
        """Requests it probably made after its last report (its rate times the gap); None: unknown."""
        if self.counts_complete:
            return 0
        if self.rate is None or self.last_report_at is None:
            return None
        return round(self.rate * max(self.lost_at - self.last_report_at, 0.0))

    def describe(self) -> str:
        def at(moment: float) -> str:
            return clock(moment - self.run_started)

        if self.came_back_at is not None:
            return (f"worker {self.index} ({self.id}) was lost at {at(self.lost_at)} into the run ({self.how}) and "
                    f"came back at {at(self.came_back_at)}: what it counted meanwhile reached the master when it did")
        line = f"worker {self.index} ({self.id}) was lost at {at(self.lost_at)} into the run ({self.how}): "
        if self.last_report_at is None:
            line += "no requests counted from it (it died before its first report)"
        else:
            line += f"{self.requests_counted} requests counted from it, its last report at {at(self.last_report_at)}"
        missing = self.missing_estimate
        if self.counts_complete:
            line += "; nothing is missing (it sent its last counts as it left)"
        elif missing is not None:
            line += (f"; about {missing} requests it made after that are missing "
                     f"({self.lost_at - self.last_report_at:.1f} s at its {self.rate:.1f} req/s)")
        else:
            line += "; what it made since is missing (its rate is unknown)"
        if self.others_took_over:
            line += "; the other workers took over its users"
        return line


class WorkerNodes(dict):
    """The master's workers by id, with Locust's views by state."""

    def get_by_state(self, state: str) -> list[WorkerNode]:
        return [node for node in self.values() if node.state == state]

    @property
    def all(self) -> list[WorkerNode]:
        return list(self.values())

    @property
    def ready(self) -> list[WorkerNode]:
        return self.get_by_state(STATE_INIT)

    @property
    def spawning(self) -> list[WorkerNode]:
        return self.get_by_state(STATE_SPAWNING)

    @property
    def running(self) -> list[WorkerNode]:
        return self.get_by_state(STATE_RUNNING)

    @property
    def missing(self) -> list[WorkerNode]:
        return self.get_by_state(STATE_MISSING)

    @property
    def active(self) -> list[WorkerNode]:
        """The workers that take users: connected and not missing, in the order they joined."""
        return sorted((node for node in self.values() if node.state in ACTIVE_STATES), key=lambda n: n.index)


class MasterRunner(Runner):
    """Coordinates worker processes over ZeroMQ; runs no users itself.

    ``secret`` (the same on every node) makes the transport encrypted and admits only
    workers that hold it. Without one, bind a loopback address (the default): anyone who
    can reach the port could join the run and feed it numbers.
    """

    heartbeat_interval = HEARTBEAT_INTERVAL
    heartbeat_timeout = HEARTBEAT_TIMEOUT
    stopped_timeout = STOPPED_TIMEOUT
    spawn_report_timeout = SPAWN_REPORT_TIMEOUT
    silent_at_stop = SILENT_AT_STOP
    disconnect_grace = DISCONNECT_GRACE

    def __init__(self, environment: Environment, master_bind_host: str = DEFAULT_BIND_HOST,
                 master_bind_port: int = DEFAULT_BIND_PORT, secret: str | bytes | None = None, *,
                 heartbeat_interval: float | None = None, heartbeat_timeout: float | None = None,
                 stopped_timeout: float | None = None,
                 max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        super().__init__(environment)
        for name, value in (("heartbeat_interval", heartbeat_interval), ("heartbeat_timeout", heartbeat_timeout),
                            ("stopped_timeout", stopped_timeout)):
            if value is not None:
                setattr(self, name, value)
        if not secret and not is_loopback(master_bind_host):
            logger.warning("the master listens on %s without a secret: anyone who reaches port %s can join the "
                           "run and feed it numbers, and the traffic is not encrypted; give every node the same "
                           "secret", master_bind_host, master_bind_port)
        from ..rpc.transport import Server  # loads pyzmq: only when a master is made

        import numpy  # noqa: F401 - the reports' histograms are added with it: loaded now, not on the first report

        self.server = Server(master_bind_host, master_bind_port, secret=secret, max_message_size=max_message_size,
                             on_disconnect=self._on_disconnect)
        self.master_bind_host = master_bind_host
        self.master_bind_port = self.server.port  # the real one when 0 asked for any free port
        self.secure = bool(secret)
        self.clients = WorkerNodes()
        self.worker_indexes: dict[str, int] = {}
        self.dropped_messages = 0
        self._pending_reports: list[tuple[WorkerNode, Any]] = []  # stats reports received, not added yet
        self.lost_workers: list[WorkerLoss] = []
        """The workers lost during the current run (SIGKILLed, silent, quit), each once; see :class:`WorkerLoss`."""
        self.spawning_completed = False
        self.worker_cpu_warning_emitted = False
        self._run_classes: list[type] = []
        self._spawn_sequence = 0
        self._arrival_job: tuple[Any, int, float] | None = None  # an open-model run: (plan, max users, started)
        self._arrival_prewarm = 0  # users each worker starts ahead of its schedule (split like the pool)
        self._arrival_split: list[str] = []  # the ids of the workers the open-model run's last orders went to
        self._no_workers_since: float | None = None
        self._closed = False
        # The connection's greenlets live apart from the run's (ending a run kills those).
        self._links = Group()
        for loop in (self._receive_loop, self._liveness_loop):
            greenlet = self._links.spawn(loop)
            greenlet.link_exception(self._background_failed)
            greenlet.name = loop.__name__.strip("_")
        logger.info("master listening on %s:%d%s", master_bind_host, self.master_bind_port,
                    " (CURVE: encrypted, workers must hold the secret)" if secret else "")

    # -- the worker table --
    @property
    def worker_count(self) -> int:
        return len(self.clients.active)

    @property
    def user_count(self) -> int:
        return sum(node.user_count for node in self.clients.active)

    @property
    def user_classes_count(self) -> dict[str, int]:
        """Users per class the workers report running; every class of the run listed."""
        counts = {cls.__name__: 0 for cls in self.environment.user_classes}
        for node in self.clients.active:
            for name, n in node.user_classes_count.items():
                counts[name] = counts.get(name, 0) + n
        return counts

    reported_user_classes_count = user_classes_count  # Locust's name for the same figure

    def get_worker_index(self, client_id: str) -> int:
        """A worker's 0-based index: the order it first joined in, kept for the master's life."""
        if client_id not in self.worker_indexes:
            self.worker_indexes[client_id] = len(self.worker_indexes)
        return self.worker_indexes[client_id]

    def wait_for_workers(self, count: int, timeout: float | None = None) -> bool:
        """Block until ``count`` workers are connected; False if ``timeout`` seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.worker_count < count:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            gevent.sleep(0.05)
        return True

    # -- messages --
    def send_message(self, msg_type: str, data: Any = None, client_id: str | None = None) -> None:
        """Send a custom message to one worker (``client_id``) or to every connected one."""
        targets = [client_id] if client_id else [node.id for node in self.clients.active]
        for target in targets:
            logger.debug("sending %r message to worker %s", msg_type, target)
            self.server.send_to(target, Message(msg_type, data, target))

    def _send(self, client_id: str, message_type: str, data: Any = None) -> None:
        try:
            self.server.send_to(client_id, Message(message_type, data, client_id))
        except RPCError as error:
            logger.error("could not send %r to worker %s: %s", message_type, client_id, error)

    def _receive_loop(self) -> None:
        import zmq  # loaded with the server already

        socket = self.server.socket
        pending = self._pending_reports
        first_pending = 0.0
        while True:
            if pending:
                left = REPORT_BATCH_WINDOW - (time.monotonic() - first_pending)
                if len(pending) >= MAX_REPORT_BATCH or left <= 0 or not self._message_within(socket, zmq, left):
                    self._add_pending()  # the window is over (or the batch full): add what came, together
            try:
                client_id, message = self.server.recv()
            except ReceiveError as error:
                self.dropped_messages += 1
                logger.warning("dropped a message from %s: %s", error.sender or "an unknown peer", error)
                continue
            except RPCError:
                if self._closed:
                    return
                raise
            if pending and not self._keeps_batch(client_id, message):
                self._add_pending()  # added before what follows them: quits, losses, stops see them
            if not pending:
                first_pending = time.monotonic()
            try:
                self._handle(client_id, message, pending)
            except Exception as error:
                self._dropped(client_id, message.type, error)

    @staticmethod
    def _message_within(socket: Any, zmq: Any, seconds: float) -> bool:
        """Whether a message comes within ``seconds`` (waiting cooperatively); False once the socket closed."""
        try:
            return bool(socket.poll(max(1, int(seconds * 1000)), zmq.POLLIN))
        except zmq.ZMQError:
            return False

    def _add_pending(self) -> None:
        """Add the stats reports received and not added yet (a batch: :meth:`_add_stats`)."""
        reports = self._pending_reports[:]
        self._pending_reports.clear()
        if reports:
            self._add_stats(reports)

    def _keeps_batch(self, client_id: str, message: Message) -> bool:
        """Whether reports waiting to be added can wait past this message: another report, or a heartbeat
        of a worker not missing (it changes nothing a report's adding reads)."""
        if message.type == "stats":
            return True
        node = self.clients.get(client_id)
        return message.type == "heartbeat" and node is not None and node.state != STATE_MISSING

    def _dropped(self, client_id: str, kind: str, error: Exception) -> None:
        self.dropped_messages += 1
        logger.warning("dropped a %r message from %s: %s: %s", kind, client_id,
                       type(error).__name__, error, exc_info=logger.isEnabledFor(logging.DEBUG))

    def _handle(self, client_id: str, message: Message, pending: list | None = None) -> None:
        """Act on one message; a stats report goes to ``pending`` when given (added with the reports
        received with it, by :meth:`_add_stats`), else is added at once."""
        kind, data = message.type, message.data
        if kind == "client_ready":
            self._on_ready(client_id, data)
            return
        node = self.clients.get(client_id)
        if node is None:
            # A worker of a master that restarted, say: it must introduce itself first.
            logger.info("a %r message from unknown worker %s: asking it to reconnect", kind, client_id)
            self._send(client_id, "reconnect")
            return
        node.last_seen = time.monotonic()
        if node.disconnected_at is not None:  # heard from again: over a new connection, the old one closed
            node.disconnected_at = None
            self._resplit_arrival()  # an open-model run gives it its share again
        if kind == "heartbeat":
            self._on_heartbeat(node, data)
        elif kind == "stats":
            if pending is None:
                self._add_stats([(node, data)])
            else:
                pending.append((node, data))
        elif kind == "spawning":
            node.state = STATE_SPAWNING
        elif kind == "spawning_complete":
            node.user_classes_count = _user_counts(data["user_classes_count"])
            node.spawned_sequence = int(data["sequence"])
            node.state = STATE_RUNNING
        elif kind == "stopped":
            node.user_classes_count = _user_counts(data.get("user_classes_count") or {})
            node.awaiting_stop = False
            node.state = STATE_INIT
        elif kind == "quit":
            self._on_quit(node)
        elif kind == "exception":
            logger.error("worker %d (%s) reports an exception in a user: %s\n%s", node.index, client_id,
                         str(data["msg"])[:1000], str(data["traceback"])[:5000])
        elif kind in self.custom_messages:
            self._deliver_message(message)
        else:
            self.dropped_messages += 1
            logger.warning("dropped a message of unknown type %r from worker %s", kind, client_id)

    def _on_ready(self, client_id: str, data: Any) -> None:
        version = data.get("version") if isinstance(data, dict) else None
        if not isinstance(version, str):
            raise ValueError("client_ready without the worker's version: not a pytest-loadhooks worker")
        if version != __version__:
            logger.warning("worker %s runs pytest-loadhooks %s, the master %s", client_id, version, __version__)
        node = self.clients.get(client_id)
        index = self.get_worker_index(client_id)
        self._send(client_id, "ack", {"index": index})
        if node is not None and node.state != STATE_MISSING:
            node.last_seen = time.monotonic()
            return  # said hello again (after a silence): nothing changed for the master
        if node is None:
            node = self.clients[client_id] = WorkerNode(client_id, index, self.heartbeat_timeout)
            logger.info("worker %d (%s) joined: %d connected", index, client_id, self.worker_count)
            self.environment.events.worker_connect.fire(client_id=client_id)
        else:
            logger.info("worker %d (%s) is back", index, client_id)
            self._came_back(node)
        node.version = version
        node.last_seen = time.monotonic()
        node.state = str(data.get("state") or STATE_INIT)
        node.user_classes_count = _user_counts(data.get("user_classes_count") or {})
        self._rebalance()

    def _on_heartbeat(self, node: WorkerNode, data: dict[str, Any]) -> None:
        if node.state == STATE_MISSING:
            logger.info("worker %d (%s) is heard from again", node.index, node.id)
            self._came_back(node)
            node.state = str(data["state"])
            self._rebalance()
        elif node.state not in (STATE_SPAWNING,) and data["state"] in ACTIVE_STATES:
            node.state = str(data["state"])
        node.cpu_usage = float(data.get("current_cpu_usage") or 0.0)
        node.memory_usage = int(data.get("current_memory_usage") or 0)
        if node.cpu_usage > self.cpu_warning_threshold and not node.cpu_warning_emitted:
            node.cpu_warning_emitted = self.worker_cpu_warning_emitted = True
            logger.warning("worker %d (%s) uses %.0f%% CPU: its response times may be inflated by the load "
                           "generator itself", node.index, node.id, node.cpu_usage)
        self.environment.events.heartbeat_sent.fire(client_id=node.id, timestamp=time.time())
        self._send(node.id, "heartbeat")

    def _add_stats(self, reports: list[tuple[WorkerNode, Any]]) -> None:
        """Add workers' stats reports, in the order they came, with one :meth:`RequestStats.add_reports`
        (their endpoints summed with numpy, then one step an endpoint: issue 24). Each report is still
        its own: a malformed one is dropped alone (nothing of it added), and each fires ``worker_report``
        and updates its worker's bookkeeping, in order."""
        checked = []
        for node, data in reports:
            try:
                checked.append((node, data, _user_counts(data.get("user_classes_count") or {}), data["stats"]))
            except Exception as error:
                self._dropped(node.id, "stats", error)
        outcomes = self.stats.add_reports([stats for *_, stats in checked])
        for (node, data, user_counts, _), outcome in zip(checked, outcomes):
            if isinstance(outcome, ValueError):  # checked whole first: a bad report must not half-merge
                self._dropped(node.id, "stats", outcome)
                continue
            try:
                node.reported(outcome)
                if node.state != STATE_MISSING:
                    node.user_classes_count = user_counts
                self.environment.events.worker_report.fire(client_id=node.id, data=data)
            except Exception as error:
                self._dropped(node.id, "stats", error)

    def _on_quit(self, node: WorkerNode) -> None:
        logger.info("worker %d (%s) quit", node.index, node.id)
        if self._run_going_on():  # it sent its last counts first: the run lacks its users, not its numbers
            self._record_loss(node, "it quit", time.time(), counts_complete=True)
        del self.clients[node.id]
        self._after_worker_loss()

    # -- liveness --
    def _on_disconnect(self, client_id: str) -> None:
        """A worker's connection closed: it is lost unless heard from within ``disconnect_grace``."""
        node = self.clients.get(client_id)
        if node is not None and node.state != STATE_MISSING:
            logger.info("worker %d (%s): its connection closed", node.index, node.id)
            node.disconnected_at = time.monotonic()
            # An open-model run's rate must not sag for the grace: the connected workers take the closed
            # one's share now (a killed worker's kernel closes its socket within milliseconds), and give
            # it back if it is heard from again within the grace.
            self._resplit_arrival()
            if self.state == STATE_INIT and self.start_time is None:
                # While the run waits for its workers, a closed one must not be counted as one of them (it
                # would be handed users, then lost 'at 00:00'); if it comes back, it says hello again.
                self._lose([(node, "its connection closed before the run started", node.disconnected_at)],
                           node.disconnected_at)

    def _liveness_loop(self) -> None:
        while True:
            gevent.sleep(min(self.heartbeat_interval, 0.5))
            now = time.monotonic()
            lost = []
            for node in self.clients.active:
                if node.disconnected_at is not None and now - node.disconnected_at > self.disconnect_grace:
                    lost.append((node, "its connection closed", node.disconnected_at))
                elif now - node.last_seen > self.heartbeat_timeout:
                    lost.append((node, f"not heard from for {now - node.last_seen:.1f} s", node.last_seen))
            self._lose(lost, now)
            if lost:
                self._after_worker_loss()
            self._check_workers_left()

    def _lose(self, lost: list[tuple[WorkerNode, str, float]], now: float) -> None:
        """Mark workers missing (each with how it was lost and since when, in monotonic time)."""
        for node, _how, _since in lost:
            node.state = STATE_MISSING  # all first: workers lost together do not take over each other's users
        for node, how, since in lost:
            logger.warning("worker %d (%s) is missing: %s; its users move to the other workers, what it "
                           "reported is kept", node.index, node.id, how)
            if self._run_going_on():
                self._record_loss(node, how, time.time() - (now - since))
            node.user_classes_count = {}
            node.awaiting_stop = False
            node.disconnected_at = None

    def _run_going_on(self) -> bool:
        return self.state in (STATE_SPAWNING, STATE_RUNNING, STATE_STOPPING) and self.start_time is not None

    def _record_loss(self, node: WorkerNode, how: str, lost_at: float, counts_complete: bool = False) -> None:
        loss = WorkerLoss(index=node.index, id=node.id, how=how, lost_at=lost_at, run_started=self.start_time or 0.0,
                          requests_counted=node.requests_counted, last_report_at=node.last_report_at,
                          rate=node.rate, counts_complete=counts_complete,
                          others_took_over=self.state in (STATE_SPAWNING, STATE_RUNNING)
                          and any(other is not node for other in self.clients.active))
        node.loss = loss
        self.lost_workers.append(loss)

    def _came_back(self, node: WorkerNode) -> None:
        if node.loss is not None and self._run_going_on():
            node.loss.came_back_at = time.time()
        node.loss = None

    def _after_worker_loss(self) -> None:
        if self.state in (STATE_SPAWNING, STATE_RUNNING) and not self.clients.active:
            logger.warning("no worker left: the run waits %.0f s for one to come back or join",
                           self.heartbeat_timeout)
            self._no_workers_since = time.monotonic()
            return
        self._rebalance()

    def _check_workers_left(self) -> None:
        """End the run, errored, when it has had no worker for a heartbeat timeout."""
        if self.clients.active or self.state not in (STATE_SPAWNING, STATE_RUNNING):
            self._no_workers_since = None
            return
        if self._no_workers_since is None:
            self._no_workers_since = time.monotonic()
        elif time.monotonic() - self._no_workers_since > self.heartbeat_timeout:
            logger.error("no worker came back within %.0f s: stopping the run", self.heartbeat_timeout)
            self.runner_errors.append(EVERY_WORKER_LOST)
            self._no_workers_since = None
            gevent.spawn(self.stop)

    # -- the run --
    def start(self, user_count: int, spawn_rate: float, wait: bool = False,
              user_classes: Sequence[type] | None = None) -> None:
        """Ramp the workers, together, to ``user_count`` users at ``spawn_rate`` users/s."""
        validate_counts(user_count, spawn_rate)
        classes = list(user_classes) if user_classes else list(self.environment.user_classes)
        self.environment.validate_user_classes(classes)
        if not self.clients.active:
            logger.warning("no worker connected: the run cannot start (wait for workers first)")
            return
        self.target_user_count = user_count
        self.spawn_rate = spawn_rate
        self._run_classes = classes
        self._arrival_job = None
        if self.state in (STATE_INIT, STATE_STOPPED):
            self.lost_workers = []
            for node in self.clients.values():
                node.forget_run()
            self._begin_run()
        self._dispatch()
        if wait and self.spawning_greenlet is not None:
            self.spawning_greenlet.join()

    def _rebalance(self) -> None:
        """Re-split the run's users over the workers there are now (one joined, left or came back)."""
        if self._arrival_job is not None and self.state == STATE_RUNNING and self.clients.active:
            self._resplit_arrival()
            return
        if self.state in (STATE_SPAWNING, STATE_RUNNING) and self.clients.active:
            logger.info("re-splitting %d users over %d workers", self.target_user_count, self.worker_count)
            self._dispatch()

    # -- the open model (runners/arrival.py): the rate and the pool split across the workers --
    def start_arrival(self, plan: Any, max_users: int, user_classes: Sequence[type] | None = None,
                      prewarm: int = 0) -> None:
        """Start an open-model run on the workers: each runs ``plan`` at 1/N of its rate with a pool of
        ceil(max_users / N) users (re-split when a worker joins or is lost)."""
        classes = list(user_classes) if user_classes else list(self.environment.user_classes)
        self.environment.validate_user_classes(classes)
        if not self.clients.active:
            logger.warning("no worker connected: the run cannot start (wait for workers first)")
            return
        self._run_classes = classes
        self.target_user_count = max_users
        if self.state in (STATE_INIT, STATE_STOPPED):
            self.lost_workers = []
            for node in self.clients.values():
                node.forget_run()
            self._begin_run()
        started = self._arrival_job[2] if self._arrival_job is not None else time.monotonic()
        self._arrival_job = (plan, max_users, started)
        self._arrival_prewarm = prewarm
        self.stats.counted_open_model()  # the run's figures say "open model" even before a worker reports
        self._dispatch_arrival()

    def set_arrival_rate(self, rate: float, max_users: int | None = None) -> None:
        if self._arrival_job is None:
            return
        plan, ceiling, started = self._arrival_job
        plan.set_rate(rate)
        self._arrival_job = (plan, max_users or ceiling, started)
        self._dispatch_arrival()

    def _arrival_workers(self) -> list[WorkerNode]:
        """The workers an open-model run's rate is split over: active ones whose connection is open."""
        return [node for node in self.clients.active if node.disconnected_at is None]

    def _resplit_arrival(self) -> None:
        """Send an open-model run's orders again if the workers to split it over changed (and any are left)."""
        if self._arrival_job is None or self.state != STATE_RUNNING:
            return
        workers = self._arrival_workers()
        if workers and [node.id for node in workers] != self._arrival_split:
            logger.info("re-splitting the rate over %d workers", len(workers))
            self._dispatch_arrival()

    def _dispatch_arrival(self) -> None:
        from .arrival import worker_share

        plan, max_users, started = self._arrival_job  # type: ignore[misc]
        workers = self._arrival_workers() or self.clients.active
        self._arrival_split = [node.id for node in workers]
        share, ceiling = worker_share(plan, max_users, len(workers))
        self._spawn_sequence += 1
        job = {
            "sequence": self._spawn_sequence, "plan": share.to_data(), "max_users": ceiling,
            "prewarm": -(-self._arrival_prewarm // len(workers)),
            "elapsed": time.monotonic() - started, "user_classes": [cls.__name__ for cls in self._run_classes],
            "host": self.environment.host, "stop_timeout": self.environment.stop_timeout,
            "worker_count": len(workers), "parsed_options": forwarded_options(self.environment.parsed_options),
        }
        for node in workers:
            if node.working_since is None:
                node.working_since = time.time()
            self._send(node.id, "arrival", job)
        self.update_state(STATE_RUNNING)

    def _dispatch(self) -> None:
        workers = self.clients.active
        shares = dispatch.split_across_workers(self._run_classes, self.target_user_count, [n.id for n in workers])
        self._spawn_sequence += 1
        job = {
            "sequence": self._spawn_sequence,
            "spawn_rate": self.spawn_rate / len(workers),
            "host": self.environment.host,
            "stop_timeout": self.environment.stop_timeout,
            "worker_count": len(workers),
            "parsed_options": forwarded_options(self.environment.parsed_options),
        }
        for node in workers:
            node.assigned = {cls.__name__: n for cls, n in shares[node.id].items()}
            if node.working_since is None and sum(node.assigned.values()):
                node.working_since = time.time()
            self._send(node.id, "spawn", {**job, "user_classes_count": node.assigned})
        self.update_state(STATE_SPAWNING)
        self.spawning_completed = False
        if self.spawning_greenlet is not None and self.spawning_greenlet is not gevent.getcurrent():
            self.spawning_greenlet.kill(block=False)
        most = max(sum(node.assigned.values()) for node in workers)
        timeout = most / job["spawn_rate"] + self.spawn_report_timeout
        self.spawning_greenlet = self.spawn_background(self._await_spawned, self._spawn_sequence, timeout)
        self.spawning_greenlet.name = "spawn-waiter"

    def _await_spawned(self, sequence: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while any(node.spawned_sequence < sequence for node in self.clients.active):
            if time.monotonic() > deadline:
                late = [node.index for node in self.clients.active if node.spawned_sequence < sequence]
                logger.warning("workers %s did not confirm their users within %.1f s", late, timeout)
                break
            gevent.sleep(0.02)
        self.update_state(STATE_RUNNING)
        assigned = {cls.__name__: 0 for cls in self.environment.user_classes}
        for node in self.clients.active:
            for name, n in node.assigned.items():
                assigned[name] = assigned.get(name, 0) + n
        self.target_user_classes_count = assigned
        total = sum(assigned.values())
        logger.info("spawning complete: %d users on %d workers %s", total, self.worker_count, assigned)
        self.spawning_completed = True
        self.environment.events.spawning_complete.fire(user_count=total)
        for node in self.clients.active:
            self._send(node.id, "spawning_complete", {"user_count": total})

    def _end_users(self) -> None:
        """Stop the workers' users and wait for their last counts (or ``stop_timeout`` + ``stopped_timeout``)."""
        told = any(error.startswith(EVERY_WORKER_LOST) for error in self.runner_errors)
        if self.lost_workers and not self.clients.active and not told:
            # Ended with no worker left (before a heartbeat timeout ended it): no load since the last loss,
            # which --load-allow-worker-loss does not accept (it accepts losing some workers, not the run).
            last = max(loss.lost_at for loss in self.lost_workers)
            error = f"{EVERY_WORKER_LOST}: no load from {clock(last - (self.start_time or last))} to its end"
            logger.error(error)
            self.runner_errors.append(error)
        for node in self.clients.active:
            node.awaiting_stop = True
            self._send(node.id, "stop")
        self._await_stopped(self.environment.stop_timeout + self.stopped_timeout)

    def _await_stopped(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            waiting = [n for n in self.clients.values() if n.awaiting_stop and n.state != STATE_MISSING]
            if not waiting:
                return
            now = time.monotonic()
            # A worker that sends no heartbeat while the others stop is hung (SIGSTOP, a frozen VM)
            # or cut off: the run ends now, with it named as lost, not a heartbeat timeout late.
            silent = [(n, f"not heard from for {now - n.last_seen:.1f} s when the run ended", n.last_seen)
                      for n in waiting if now - n.last_seen > max(self.silent_at_stop, 3 * self.heartbeat_interval)]
            # One whose connection closed (a killed process) cannot confirm its stop: not waited for either
            # (a network hiccup's worker that reconnects was told to stop; its numbers came until then).
            silent += [(n, "its connection closed", n.disconnected_at or now) for n in waiting
                       if n.disconnected_at is not None and all(n is not other for other, _h, _s in silent)]
            if silent:
                self._lose(silent, now)
                continue
            if now > deadline:
                names = ", ".join(f"{n.index} ({n.id})" for n in waiting)
                logger.error("workers %s did not confirm their stop within %.1f s: their last counts may be "
                             "missing", names, timeout)
                self.runner_errors.append(f"workers {names} did not confirm their stop")
                return
            gevent.sleep(0.02)

    def quit(self) -> None:
        """Stop the run, tell every worker to quit, close the port."""
        self.stop()
        if not self._closed:
            for node in self.clients.active:
                self._send(node.id, "quit")
            self._close()
        self._finished.set()

    def _close(self) -> None:
        self._closed = True
        self._add_pending()  # reports waiting for their batch: counted before the receiving greenlet ends
        gevent.killall([g for g in self._links if g is not gevent.getcurrent()], block=False)
        self.server.close()


def forwarded_options(options: Any) -> dict[str, Any]:
    """The run's ``parsed_options`` that can travel (plain values), for the workers to adopt."""
    plain = (type(None), bool, int, float, str)

    def travels(value: Any) -> bool:
        if isinstance(value, (list, tuple)):
            return all(travels(v) for v in value)
        if isinstance(value, dict):
            return all(isinstance(k, str) and travels(v) for k, v in value.items())
        return isinstance(value, plain)

    return {name: value for name, value in vars(options).items() if travels(value)} if options is not None else {}


def _user_counts(data: Any) -> dict[str, int]:
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, int) and v >= 0
                                             for k, v in data.items()):
        raise ValueError(f"bad user counts {str(data)[:80]}")
    return dict(data)


def _checked_stats(data: Any) -> RequestStats:
    """A worker's stats report rebuilt as a :class:`RequestStats` (which rejects what is not one):
    for a tool or test that wants the report as objects. The master itself adds reports with
    :meth:`RequestStats.add_report`, which checks a whole report without rebuilding it (issue 24)."""
    if not isinstance(data, dict):
        raise ValueError("the stats report is not a mapping")
    for record in data.get("exceptions", []):
        if not (isinstance(record.get("count"), int) and isinstance(record.get("traceback"), str)
                and isinstance(record.get("nodes"), list)):
            raise ValueError("a malformed exception record")
    return RequestStats.from_serialized(data)
