"""What an open-model (arrival-rate) run counts beside its requests.

In an open-model run (``--load-rate``, see ``docs/open-model.md``) every iteration has an
*intended* start time, fixed by the rate alone. This module keeps, for such a run:

- ``iterations``: iterations started; ``dropped_iterations``: iterations that were due while
  every user of the pool was busy and the pool was at its ceiling (never started);
- ``start_lag``: how late each iteration started after its intended start (ms): the
  scheduler's jitter, a new user's ``on_start``, a busy event loop;
- per endpoint, the response times *from the intended start*: a request's response time plus
  the start lag of the iteration that sent it. Percentiles of these do not suffer from
  coordinated omission (a generator that falls behind does not hide the time it lost).

A request is counted once, by ``RequestStats.on_request``; when the run is an open-model one it
hands the response time here too (:meth:`OpenModelStats.record_request`), which charges it the
start lag of the iteration that sent it. The lag is read from the greenlet the request was fired
in (the user's own, stamped by the arrival executor at each iteration's start): a request sent
from a greenlet the task spawned itself carries no lag and is left out of the intended-start
figures (it is counted in the ordinary ones).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gevent import getcurrent

from .histogram import ResponseTimeHistogram

LAG_ATTRIBUTE = "loadhooks_start_lag_ms"
"""The attribute of a user's greenlet that holds its current iteration's start lag (ms)."""


def _per_second_add(counts: dict[int, int], second: int, n: int = 1) -> None:
    counts[second] = counts.get(second, 0) + n


class OpenModelStats:
    """Iterations, dropped iterations, start lag, and response times from the intended start."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.iterations = 0
        self.dropped_iterations = 0
        self.start_lag = ResponseTimeHistogram()
        self.intended: dict[tuple[str, str], ResponseTimeHistogram] = {}
        """Per (name, method): response times from the intended start (ms)."""
        self.started_per_second: dict[int, int] = {}
        self.dropped_per_second: dict[int, int] = {}
        self.latency_per_second: dict[int, list[float]] = {}
        """Per second: [requests, sum of response times, sum of times from the intended start] (ms): the
        report's latency over time, from the actual and from the intended start, of the same requests."""

    # -- recording (the arrival executor and RequestStats.on_request) --
    def record_start(self, lag_ms: float, now: float) -> None:
        """An iteration started ``lag_ms`` after its intended start."""
        self.iterations += 1
        self.start_lag.add(max(lag_ms, 0.0))
        _per_second_add(self.started_per_second, int(now))

    def record_drop(self, now: float, n: int = 1) -> None:
        """An iteration (or ``n``) was due and no user was free to start it."""
        self.dropped_iterations += n
        _per_second_add(self.dropped_per_second, int(now), n)

    def record_request(self, name: str, method: str, response_time: float, now: float) -> None:
        """A request counted by the stats: charged its iteration's start lag (when it has one)."""
        lag = getattr(getcurrent(), LAG_ATTRIBUTE, None)
        if lag is None:
            return
        histogram = self.intended.get((name, method))
        if histogram is None:
            histogram = self.intended[(name, method)] = ResponseTimeHistogram()
        histogram.add(response_time + lag)
        sums = self.latency_per_second.get(int(now))
        if sums is None:
            sums = self.latency_per_second[int(now)] = [0, 0.0, 0.0]
        sums[0] += 1
        sums[1] += response_time
        sums[2] += response_time + lag

    # -- reading --
    def intended_histogram(self, name: str | None = None, method: str | None = None) -> ResponseTimeHistogram:
        """Response times from the intended start of the requests matching ``name`` and ``method``
        (None: any), summed."""
        return ResponseTimeHistogram.sum_of(
            histogram for (entry_name, entry_method), histogram in self.intended.items()
            if (name is None or entry_name == name) and (method is None or entry_method == method))

    def start_lag_percentile(self, q: float) -> float:
        return self.start_lag.percentile(self.start_lag.total(), q)

    def achieved_rate(self, duration: float) -> float:
        """Iterations started per second over ``duration`` seconds."""
        return self.iterations / duration if duration > 0 else 0.0

    def rates_at(self, second: int) -> tuple[int, int]:
        """(iterations started, iterations dropped) in one whole second."""
        return self.started_per_second.get(second, 0), self.dropped_per_second.get(second, 0)

    def average_latencies_at(self, second: int) -> tuple[float | None, float | None]:
        """(average response time, average time from the intended start) of one second's requests, ms."""
        sums = self.latency_per_second.get(second)
        if not sums or not sums[0]:
            return None, None
        return sums[1] / sums[0], sums[2] / sums[0]

    def seconds(self) -> list[int]:
        """Every second in which something was counted, in order."""
        return sorted(set(self.started_per_second) | set(self.dropped_per_second) | set(self.latency_per_second))

    def forget_seconds_before(self, oldest: int) -> None:
        for counts in (self.started_per_second, self.dropped_per_second, self.latency_per_second):
            for second in [s for s in counts if s < oldest]:
                del counts[second]

    # -- the wire (a worker's report) and merges --
    def serialize(self) -> dict[str, Any]:
        return {
            "iterations": self.iterations,
            "dropped_iterations": self.dropped_iterations,
            "start_lag": self.start_lag.to_indexes(),
            "intended": [[name, method, histogram.to_indexes()]
                         for (name, method), histogram in self.intended.items()],
            "started_per_second": [[s, n] for s, n in self.started_per_second.items()],
            "dropped_per_second": [[s, n] for s, n in self.dropped_per_second.items()],
            "latency_per_second": [[s, *sums] for s, sums in self.latency_per_second.items()],
        }

    def merge(self, data: dict[str, Any]) -> None:
        """Add serialized counts (a worker's report) into these."""
        self.extend(OpenModelStats.from_serialized(data))

    @classmethod
    def from_serialized(cls, data: dict[str, Any]) -> OpenModelStats:
        stats = cls()
        stats.iterations = int(data["iterations"])
        stats.dropped_iterations = int(data["dropped_iterations"])
        stats.start_lag = ResponseTimeHistogram.from_indexes(_int_keys(data["start_lag"]))
        for name, method, buckets in data["intended"]:
            stats.intended[(str(name), str(method))] = ResponseTimeHistogram.from_indexes(_int_keys(buckets))
        stats.started_per_second = {int(s): int(n) for s, n in data["started_per_second"]}
        stats.dropped_per_second = {int(s): int(n) for s, n in data["dropped_per_second"]}
        stats.latency_per_second = {int(s): [int(n), float(raw), float(intended)]
                                    for s, n, raw, intended in data.get("latency_per_second", ())}
        return stats

    def extend(self, other: OpenModelStats) -> None:
        self.iterations += other.iterations
        self.dropped_iterations += other.dropped_iterations
        self.start_lag.update(other.start_lag)
        for key, histogram in other.intended.items():
            mine = self.intended.get(key)
            if mine is None:
                self.intended[key] = histogram.copy()
            else:
                mine.update(histogram)
        for mine, theirs in ((self.started_per_second, other.started_per_second),
                             (self.dropped_per_second, other.dropped_per_second)):
            for second, n in theirs.items():
                _per_second_add(mine, second, n)
        for second, sums in other.latency_per_second.items():
            mine_sums = self.latency_per_second.setdefault(second, [0, 0.0, 0.0])
            for i in range(3):
                mine_sums[i] += sums[i]


def _int_keys(buckets: Any) -> dict[int, int]:
    items: Iterable = buckets.items() if isinstance(buckets, dict) else buckets
    return {int(k): int(v) for k, v in items}


def open_model_of(entry: Any) -> OpenModelStats | None:
    """The open-model counts of the run a stats entry belongs to (None: not an open-model run)."""
    stats = getattr(entry, "stats", None)
    return getattr(stats, "open_model", None) if stats is not None else None
