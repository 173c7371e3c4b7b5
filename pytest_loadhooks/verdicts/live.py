"""Thresholds judged while the run goes: each second, on the run so far or on a window, and the abort.

:class:`LiveJudge` is the engine side of live verdicts, with no pytest and no greenlet of its own:
whoever runs it (the pytest layer's ``plugin/live_verdicts.py``, once a second from the start of the
traffic to its end) calls :meth:`LiveJudge.tick` with the run's stats (a master's are its workers'
merged) and the seconds since the traffic started, and reads what changed, the states
(:meth:`LiveJudge.rows`, for the terminal and the web UI) and whether the run must be aborted
(:attr:`LiveJudge.aborted`).

What a tick judges, per threshold (grammar in :mod:`.thresholds`):

- ``p95 < 500``: the run so far (rates over the seconds so far);
- ``p95 < 500 over 10s``: the last 10 s (the run so far while it is younger); the verdict at the
  end is the worst window's (:attr:`LiveJudge.worst_windows`);
- ``p95 < 500 for 10s`` (or ``--load-abort-after=10s`` for every threshold without a ``for``):
  breached at every tick for 10 s, the run is aborted with a line saying what and when
  (``aborted at 00:23: p95 of GET /x 812.0 ms > 500.0 ms for 10 s (threshold '...')``).

States: ``waiting`` (no request matched yet: nothing to judge, never a breach), ``passing``,
``failing``. A threshold on a count that only grows as the run goes (``requests > 1000``) is
judged live but never aborts the run: the run so far cannot have met it yet.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .grammar import format_seconds
from .metrics import ITERATION_METRICS
from .thresholds import Threshold, Verdict, measure_entry, select_entry

if TYPE_CHECKING:
    from ..open_model import OpenModelStats

WAITING, PASSING, FAILING = "waiting", "passing", "failing"


def clock(seconds: float) -> str:
    """``00:23``: seconds into the run as a clock shows them (whole seconds passed)."""
    whole = max(int(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


@dataclass(frozen=True)
class _Snapshot:
    """An entry's counters at one tick: what a window's figures are differences of."""

    taken: float
    num_requests: int
    num_none_requests: int
    num_failures: int
    total_response_time: float
    response_times: Any  # a ResponseTimeHistogram copy, or None for an empty entry
    name: str = ""
    method: str = ""
    open_model: OpenModelStats | None = None
    """An open-model run's iteration counts and this entry's times from the intended start, then."""

    @classmethod
    def of(cls, entry: Any, taken: float) -> _Snapshot:
        if entry is None:
            return cls(taken, 0, 0, 0, 0.0, None)
        return cls(taken, entry.num_requests, entry.num_none_requests, entry.num_failures,
                   entry.total_response_time, entry.response_times.copy(), entry.name, entry.method,
                   _open_model_snapshot(entry))


def _open_model_snapshot(entry: Any) -> OpenModelStats | None:
    """The run's iteration counts and the entry's histogram of times from the intended start, copied."""
    # Imported here, as verdicts.metrics does: a session without a load test must not import the engine.
    from ..open_model import OpenModelStats, open_model_of
    from ..stats import AGGREGATED_NAME

    counts = open_model_of(entry)
    if counts is None:
        return None
    copy = OpenModelStats()
    copy.iterations, copy.dropped_iterations = counts.iterations, counts.dropped_iterations
    whole_run = not entry.method and entry.name == AGGREGATED_NAME
    copy.intended[(entry.name, entry.method)] = counts.intended_histogram(
        None if whole_run else entry.name, None if whole_run else entry.method).copy()
    return copy


def _open_model_window(older: _Snapshot, newer: _Snapshot) -> OpenModelStats | None:
    """The open-model counts of a window: what the iterations and intended-start times were between two ticks."""
    from ..open_model import OpenModelStats

    if newer.open_model is None:
        return None
    window = OpenModelStats()
    before = older.open_model or OpenModelStats()
    window.iterations = newer.open_model.iterations - before.iterations
    window.dropped_iterations = newer.open_model.dropped_iterations - before.dropped_iterations
    for key, histogram in newer.open_model.intended.items():
        older_histogram = before.intended.get(key)
        window.intended[key] = histogram if older_histogram is None else histogram.since(older_histogram)
    return window


class _WindowStats:
    """What a window's entry offers as "its run's stats": the window's open-model counts (``open_model_of``)."""

    def __init__(self, open_model: OpenModelStats | None) -> None:
        self.open_model = open_model


class WindowEntry:
    """The requests of one entry between two snapshots, read as a stats entry is (what ``METRICS`` reads).
    ``min`` and ``max`` are the window's extreme histogram buckets (within 0.5 %)."""

    def __init__(self, older: _Snapshot, newer: _Snapshot) -> None:
        self.name, self.method = newer.name, newer.method
        self.stats = _WindowStats(_open_model_window(older, newer))
        self.num_requests = newer.num_requests - older.num_requests
        self.num_none_requests = newer.num_none_requests - older.num_none_requests
        self.num_failures = newer.num_failures - older.num_failures
        self.total_response_time = newer.total_response_time - older.total_response_time
        if newer.response_times is None:
            self.response_times = None
        elif older.response_times is None:
            self.response_times = newer.response_times
        else:
            self.response_times = newer.response_times.since(older.response_times)

    @property
    def num_timed_requests(self) -> int:
        return self.num_requests - self.num_none_requests

    @property
    def fail_ratio(self) -> float:
        return self.num_failures / self.num_requests if self.num_requests else 0.0

    @property
    def avg_response_time(self) -> float:
        timed = self.num_timed_requests
        return self.total_response_time / timed if timed else 0.0

    def exact_percentile(self, q: float) -> float:
        if self.response_times is None or not self.num_timed_requests:
            return 0.0
        return self.response_times.percentile(self.num_timed_requests, q)

    @property
    def exact_median_response_time(self) -> float:
        return self.exact_percentile(0.5)

    @property
    def min_response_time(self) -> float:
        return self.exact_percentile(0.0)

    @property
    def max_response_time(self) -> float:
        return self.exact_percentile(1.0)


@dataclass
class LiveState:
    """One threshold's state as the run goes."""

    threshold: Threshold
    abort_after: float | None
    state: str = WAITING
    measured: float | None = None
    breached_since: float | None = None
    """Seconds into the run of the first tick of the current breach (None: not breached now)."""

    def shown(self) -> str:
        """The measured value as messages show it ("-" before any request matched)."""
        return "-" if self.measured is None else self.threshold.definition.format_threshold(self.measured)

    def describe(self, breached_for: float | None) -> str:
        """``failing for 3 s (aborts at 10 s): p95 of GET /x = 812.0 ms, limit < 500.0 ms``."""
        threshold = self.threshold
        if self.state == WAITING:
            return f"waiting: no requests matched {threshold.scope} yet"
        state = self.state
        if breached_for is not None:
            state += f" for {format_seconds(round(breached_for))}"
            if self.abort_after is not None:
                state += f" (aborts at {format_seconds(self.abort_after)})"
        window = f" over the last {format_seconds(threshold.window)}" if threshold.window else ""
        return (f"{state}: {threshold.metric} of {threshold.scope}{window} = {self.shown()}, limit {threshold.op} "
                f"{threshold.definition.format_threshold(threshold.limit)}")

    def to_dict(self, elapsed: float) -> dict[str, Any]:
        """The state as the web UI's JSON carries it."""
        threshold = self.threshold
        breached_for = None if self.breached_since is None else max(elapsed - self.breached_since, 0.0)
        limit = f"{threshold.op} {threshold.definition.format_threshold(threshold.limit)}"
        return {"expression": threshold.expression, "state": self.state, "passed": self.state != FAILING,
                "message": self.describe(breached_for), "measured": self.measured, "shown": self.shown(),
                "limit": limit, "window": threshold.window, "abort_after": self.abort_after, "breached_for": breached_for,
                "source": threshold.source}


def _aborts(threshold: Threshold, abort_after: float | None) -> float | None:
    """The threshold's abort time, or None for a count that only grows as the run goes (``requests > 1000``):
    the run so far cannot have met it yet, and going on is how it does."""
    if abort_after is None:
        return None
    definition = threshold.definition
    grows = definition.kind == "count" and definition.worse_when < 0 and threshold.op in (">", ">=")
    return None if grows and threshold.window is None else abort_after


class LiveJudge:
    """Every threshold of a run judged at each :meth:`tick` (see the module's docstring)."""

    def __init__(self, thresholds: list[Threshold], abort_after: float | None = None) -> None:
        self.states = [LiveState(t, _aborts(t, t.abort_after if t.abort_after is not None else abort_after))
                       for t in thresholds]
        self.elapsed = 0.0
        self.aborted: str | None = None
        """The abort line once a threshold was breached for its ``for`` time (the run must stop), else None."""
        self.aborted_at: float | None = None
        self.changes: list[str] = []
        """Each change of a threshold's state (and the abort), as a line, in order: what the terminal prints."""
        self.worst_windows: dict[Threshold, Verdict] = {}
        """Each windowed threshold's verdict on its worst window so far (what its end verdict is)."""
        self._snapshots: dict[Threshold, deque[_Snapshot]] = {t: deque() for t in thresholds if t.window}

    def tick(self, stats: Any, elapsed: float, may_abort: bool = True) -> list[LiveState]:
        """Judge every threshold on ``stats`` at ``elapsed`` seconds into the run; returns the states
        that changed (passing <-> failing, or a first measure). Sets :attr:`aborted` at most once
        (never with ``may_abort`` False: the last tick, once the run is over)."""
        self.elapsed = elapsed
        changed = []
        for live in self.states:
            before = live.state
            self._judge(live, stats, elapsed)
            if live.state != before:
                changed.append(live)
                self.changes.append(self._change_line(live, elapsed))
            if may_abort and self.aborted is None and self._breached_long_enough(live, elapsed):
                self.aborted, self.aborted_at = self._abort_line(live, elapsed), elapsed
                self.changes.append(self.aborted)
        return changed

    def restart(self) -> None:
        """The run started again (the web UI's form, after a stop): its stats and its clock begin anew,
        so do breaches and windows. What a window judged before is kept (it happened)."""
        for live in self.states:
            live.state, live.measured, live.breached_since = WAITING, None, None
        for snapshots in self._snapshots.values():
            snapshots.clear()

    def rows(self) -> list[dict[str, Any]]:
        return [live.to_dict(self.elapsed) for live in self.states]

    def _judge(self, live: LiveState, stats: Any, elapsed: float) -> None:
        threshold = live.threshold
        if threshold.window is None:
            entry, duration = select_entry(stats, threshold.name, threshold.method), elapsed
        else:
            entry, duration = self._window(threshold, stats, elapsed)
        measured = _measure(entry, threshold, duration)
        live.measured = measured
        if measured is None:
            live.state, live.breached_since = WAITING, None
            return
        if threshold.holds(measured):
            live.state, live.breached_since = PASSING, None
        else:
            live.state = FAILING
            if live.breached_since is None:
                live.breached_since = elapsed
        if threshold.window is not None:
            self._keep_worst(threshold, measured, elapsed)

    def _window(self, threshold: Threshold, stats: Any, elapsed: float) -> tuple[WindowEntry, float]:
        """The threshold's entry over its last window (the run so far while the run is younger)."""
        assert threshold.window is not None
        snapshots = self._snapshots[threshold]
        now = _Snapshot.of(select_entry(stats, threshold.name, threshold.method), elapsed)
        if snapshots and now.num_requests < snapshots[-1].num_requests:
            snapshots.clear()  # the stats were reset (the web UI's reset, or a new start): a fresh window
        start = elapsed - threshold.window
        while len(snapshots) > 1 and snapshots[1].taken <= start:
            snapshots.popleft()  # keep the newest one taken at or before the window's start, and those after
        base = snapshots[0] if snapshots and snapshots[0].taken <= start else _Snapshot.of(None, 0.0)
        snapshots.append(now)
        return WindowEntry(base, now), max(elapsed - base.taken, 1e-9)

    def _keep_worst(self, threshold: Threshold, measured: float, elapsed: float) -> None:
        kept = self.worst_windows.get(threshold)
        if kept is not None and kept.measured is not None and not _worse(threshold, measured, kept):
            return
        where = f" over the {format_seconds(threshold.window or 0)} to {clock(elapsed)}"
        self.worst_windows[threshold] = threshold.verdict_on(measured, where)

    @staticmethod
    def _change_line(live: LiveState, elapsed: float) -> str:
        """``00:05 threshold 'p95 < 500' failing: p95 of all requests = 812.0 ms, limit < 500.0 ms``."""
        threshold = live.threshold
        window = f" over the last {format_seconds(threshold.window)}" if threshold.window else ""
        return (f"{clock(elapsed)} threshold {threshold.label} {live.state}: {threshold.metric} of "
                f"{threshold.scope}{window} = {live.shown()}, limit {threshold.op} "
                f"{threshold.definition.format_threshold(threshold.limit)}")

    @staticmethod
    def _breached_long_enough(live: LiveState, elapsed: float) -> bool:
        # A hundredth of a second of slack: ticks a second apart must not miss a breach by a rounding error.
        return (live.abort_after is not None and live.breached_since is not None
                and elapsed - live.breached_since + 0.01 >= live.abort_after)

    @staticmethod
    def _abort_line(live: LiveState, elapsed: float) -> str:
        threshold = live.threshold
        assert live.measured is not None and live.abort_after is not None
        relation = ">" if live.measured > threshold.limit else "<" if live.measured < threshold.limit else "=="
        window = f" over {format_seconds(threshold.window)}" if threshold.window else ""
        return (f"aborted at {clock(elapsed)}: {threshold.metric} of {threshold.scope}{window} {live.shown()} "
                f"{relation} {threshold.definition.format_threshold(threshold.limit)} for "
                f"{format_seconds(live.abort_after)} (threshold {threshold.label})")


def _measure(entry: Any, threshold: Threshold, duration: float) -> float | None:
    """A threshold's figure now; None when nothing matched, or when its metric cannot be read while the run
    goes (a ``METRICS`` row reading what only a finished run has): then only the end verdict judges it. An
    iteration metric needs no request: a target that answers nothing is judged on its dropped iterations."""
    if entry is None or (not entry.num_requests and threshold.metric not in ITERATION_METRICS):
        return None
    try:
        return measure_entry(entry, threshold, duration)
    except (AttributeError, TypeError, KeyError, ValueError, ZeroDivisionError):
        return None


def _worse(threshold: Threshold, measured: float, kept: Verdict) -> bool:
    """Whether ``measured`` is a worse window than the kept verdict's: a breach beats a pass; among equals,
    further past the limit in the direction the operator forbids."""
    breached = not threshold.holds(measured)
    if breached != (not kept.passed):
        return breached
    assert kept.measured is not None
    if threshold.op in ("<", "<="):
        return measured > kept.measured
    if threshold.op in (">", ">="):
        return measured < kept.measured
    return False
