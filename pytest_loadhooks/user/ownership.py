"""What a run owns: the greenlets its users start, however they start them.

gevent gives every :class:`gevent.Greenlet` a ``spawn_tree_locals`` dict, and a new greenlet
takes its spawner's dict by reference (``Greenlet.__init__`` does it for every greenlet,
whether it comes from ``gevent.spawn``, ``spawn_later``, ``Greenlet(...).start()``, a pool,
or a thread under monkey-patching). A run gives each of its user greenlets, before it first
runs, a dict of the run's own that holds the run's :class:`RunScope`: every greenlet a user
starts, and every greenlet those start, then carries it. Nothing is added per spawn and
nothing per request: gevent copies that reference anyway.

When the run ends, its runner kills what still carries the scope (:meth:`RunScope.end`), and
an Environment counts a request only when no other run's scope is on the greenlet that fired
it (see ``Environment._refuses``). Greenlets that nobody's user started (the runner's
own loops, the web UI's, the distributed mode's sockets, a test's) carry no scope and are
left alone. Raw greenlets (``gevent.spawn_raw``, ``greenlet.greenlet``) have no
``spawn_tree_locals`` and are not tracked.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gevent
from gevent import Greenlet

logger = logging.getLogger(__name__)

RUN_KEY = "pytest_loadhooks.run"
"""The key of a run's :class:`RunScope` in the ``spawn_tree_locals`` of the greenlets it owns."""


class RunScope:
    """One run's claim on the greenlets its users start, and what they did after it ended."""

    __slots__ = ("ended", "late_requests", "name", "tree")  # the collector then names the scope, not a dict

    def __init__(self, name: str | None = None) -> None:
        self.name = name or f"the run started at {time.strftime('%H:%M:%S')}"
        self.tree: dict[str, Any] = {RUN_KEY: self}
        """The ``spawn_tree_locals`` every greenlet of the run's users shares (by reference)."""
        self.ended = False
        self.late_requests = 0
        """Requests fired by the run's greenlets after it ended: not counted in any run's stats."""

    def adopt(self, greenlet: Greenlet) -> None:
        """Make ``greenlet`` (a user's, not yet run) and every greenlet it will start this run's."""
        greenlet.spawn_tree_locals = self.tree

    @contextmanager
    def spawning(self) -> Iterator[None]:
        """While a user is built and started: what the calling greenlet spawns (the user's greenlet,
        anything the user's ``__init__`` starts) is this run's."""
        current = gevent.getcurrent()
        previous = getattr(current, "spawn_tree_locals", None)
        current.spawn_tree_locals = self.tree
        try:
            yield
        finally:
            current.spawn_tree_locals = previous if previous is not None else {}

    def greenlets(self) -> list[Greenlet]:
        """The greenlets of this run still alive (the calling one left out).

        Found by asking the garbage collector what refers to the run's dict, as gevent's own
        ``GreenletTree`` finds greenlets through the collector: nothing keeps a list as they
        are spawned, so the spawns cost nothing. This runs once per run, at its end: measured,
        ~2 ms per 100,000 objects the process holds (a full ``gc.get_objects()`` scan, the
        fallback, ~12 ms).
        """
        referrers = gc.get_referrers(self.tree)
        if any(type(referrer) is dict for referrer in referrers):
            # A greenlet whose attributes live in a plain __dict__ (gevent in pure-Python mode)
            # is not itself the referrer: look at every greenlet instead.
            referrers = gc.get_objects()
        current = gevent.getcurrent()
        hub = gevent.get_hub()
        return [obj for obj in referrers
                if isinstance(obj, Greenlet) and obj.spawn_tree_locals is self.tree
                and obj is not current and obj.parent is hub and not obj.dead]

    def end(self, timeout: float) -> list[Greenlet]:
        """End the run's claim: kill its greenlets (waiting up to ``timeout`` s); returns those still alive."""
        self.ended = True
        leftovers = self.greenlets()
        if not leftovers:
            return []
        logger.info("the run ended: killing %d greenlets its users started (%s)", len(leftovers),
                    ", ".join(sorted({describe_greenlet(g) for g in leftovers})[:5]))
        for greenlet in leftovers:
            _quiet_thread_end(greenlet)
            greenlet.kill(block=False)
        gevent.joinall(leftovers, timeout=timeout)  # (killall's own wait raises a Timeout on a survivor)
        return [greenlet for greenlet in leftovers if not greenlet.dead]

    def count_late_request(self) -> None:
        """A greenlet of this run fired a request after the run ended: it is counted here only."""
        self.late_requests += 1
        if self.late_requests == 1:
            logger.warning("a greenlet started by a user of %s sent a request after that run ended: "
                           "not counted in any run's stats (later ones are not logged)", self.name)


def scope_of(greenlet: Any) -> RunScope | None:
    """The run that owns ``greenlet``, or None when no user of a run started it."""
    tree = getattr(greenlet, "spawn_tree_locals", None)
    return tree.get(RUN_KEY) if tree else None


def detach(greenlet: Greenlet) -> Greenlet:
    """Make ``greenlet`` (not yet run) belong to no run, even when a user's greenlet spawned it
    (the runner's own work, such as a stop that a task asked for)."""
    greenlet.spawn_tree_locals = {}
    return greenlet


def _quiet_thread_end(greenlet: Greenlet) -> None:
    """When ``greenlet`` is a ``threading.Thread`` started under monkey-patching, the kill ends it on
    purpose: threading is told not to report the GreenletExit as "Exception in thread" (its
    ``_invoke_excepthook``, which every Thread has had since Python 3.8, is what reports it)."""
    import threading

    thread = getattr(_function_of(greenlet), "__self__", None)
    if isinstance(thread, threading.Thread) and hasattr(thread, "_invoke_excepthook"):
        thread._invoke_excepthook = lambda _thread: None


def describe_greenlet(greenlet: Greenlet) -> str:
    """A greenlet's function, for a log line: ``Shop._loop``."""
    function = _function_of(greenlet)
    return getattr(function, "__qualname__", None) or getattr(greenlet, "name", None) or repr(greenlet)


def _function_of(greenlet: Greenlet) -> Any:
    """The function a greenlet runs (None once it ended, or for a raw greenlet). gevent keeps it in
    ``_run``, its documented override point, with no public accessor (tests/house_rules.py's
    LIBRARY_INTERNALS)."""
    try:
        return greenlet._run
    except AttributeError:
        return None


def tracking_available() -> bool:
    """Whether gevent passes ``spawn_tree_locals`` on (``GEVENT_TRACK_GREENLET_TREE`` not turned off)."""
    return bool(gevent.config.track_greenlet_tree)
