"""Request statistics: per-endpoint entries, a total, failures, user errors, history.

Response times go into a sparse log-linear histogram (three significant digits,
so any percentile is within 0.5 % of the exact value). Histograms are plain
``{bucket: count}`` dicts, which makes entries serializable and exactly mergeable:
the distributed mode adds workers' histograms bucket by bucket.
"""

from __future__ import annotations

import math
import re
import time
from collections import deque
from typing import Any, Iterable

AGGREGATED_NAME = "Aggregated"
DEFAULT_RPS_WINDOW = 10  # seconds over which "current" RPS and percentiles are taken
HISTORY_PERCENTILES = (0.5, 0.95)


def bucket(response_time: float) -> float:
    """Round a response time (ms) to three significant digits: the histogram key.

    Runs once per request, so the common ranges scale, add a half and truncate
    (half-up) instead of calling round(x, n), which is about twice as slow.
    """
    if response_time < 100:
        if response_time >= 10:
            return int(response_time * 10 + 0.5) / 10
        if response_time >= 1:
            return int(response_time * 100 + 0.5) / 100
        if response_time >= 0:
            return int(response_time * 1000 + 0.5) / 1000
        return round(response_time, 3)
    if response_time < 1000:
        return float(int(response_time + 0.5))
    exponent = int(math.log10(response_time)) - 2
    return float(round(response_time, -exponent))


def percentile_of(histogram: dict[float, int], count: int, q: float) -> float:
    """Nearest-rank percentile of a histogram: the smallest bucket holding the ceil(q*n)-th value."""
    if count <= 0 or not histogram:
        return 0.0
    if not 0 <= q <= 1:
        raise ValueError(f"percentile must be between 0 and 1, got {q}")
    rank = max(1, math.ceil(q * count))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)


def _histogram_difference(newer: dict[float, int], older: dict[float, int]) -> dict[float, int]:
    return {k: v - older.get(k, 0) for k, v in newer.items() if v - older.get(k, 0) > 0}


class StatsEntry:
    """Counters of one (name, method) endpoint, or of the total."""

    __slots__ = (
        "name", "method", "num_requests", "num_failures", "total_response_time",
        "min_response_time", "max_response_time", "total_content_length", "response_times",
        "num_reqs_per_sec", "num_fail_per_sec", "start_time", "last_request_timestamp", "rps_window",
    )

    def __init__(self, name: str, method: str = "", rps_window: int = DEFAULT_RPS_WINDOW) -> None:
        self.name = name
        self.method = method
        self.rps_window = rps_window
        self.reset()

    def reset(self) -> None:
        self.num_requests = 0
        self.num_failures = 0
        self.total_response_time = 0.0
        self.min_response_time: float | None = None
        self.max_response_time = 0.0
        self.total_content_length = 0
        self.response_times: dict[float, int] = {}
        self.num_reqs_per_sec: dict[int, int] = {}
        self.num_fail_per_sec: dict[int, int] = {}
        self.start_time = time.time()
        self.last_request_timestamp: float | None = None

    # -- recording (the engine's hot path uses RequestStats.on_request instead) --
    def log(self, response_time: float, content_length: int, now: float | None = None) -> None:
        now = time.time() if now is None else now
        self.num_requests += 1
        self.total_response_time += response_time
        if self.min_response_time is None or response_time < self.min_response_time:
            self.min_response_time = response_time
        if response_time > self.max_response_time:
            self.max_response_time = response_time
        self.total_content_length += content_length or 0
        key = bucket(response_time)
        self.response_times[key] = self.response_times.get(key, 0) + 1
        second = int(now)
        self.num_reqs_per_sec[second] = self.num_reqs_per_sec.get(second, 0) + 1
        self.last_request_timestamp = now

    def log_error(self, now: float | None = None) -> None:
        second = int(time.time() if now is None else now)
        self.num_failures += 1
        self.num_fail_per_sec[second] = self.num_fail_per_sec.get(second, 0) + 1

    # -- derived figures --
    @property
    def fail_ratio(self) -> float:
        return self.num_failures / self.num_requests if self.num_requests else 0.0

    @property
    def avg_response_time(self) -> float:
        return self.total_response_time / self.num_requests if self.num_requests else 0.0

    @property
    def median_response_time(self) -> float:
        return self.get_response_time_percentile(0.5)

    @property
    def avg_content_length(self) -> float:
        return self.total_content_length / self.num_requests if self.num_requests else 0.0

    def get_response_time_percentile(self, q: float) -> float:
        return percentile_of(self.response_times, self.num_requests, q)

    percentile = get_response_time_percentile

    def _window(self, now: float | None) -> tuple[int, int]:
        """Completed seconds of the current window, [first, last)."""
        last = int(time.time() if now is None else now)
        first = max(last - self.rps_window, int(self.start_time))
        return first, last

    def _rate_in_window(self, per_second: dict[int, int], now: float | None) -> float:
        first, last = self._window(now)
        if last <= first:
            return 0.0
        return sum(per_second.get(s, 0) for s in range(first, last)) / (last - first)

    def current_rps_at(self, now: float | None = None) -> float:
        return self._rate_in_window(self.num_reqs_per_sec, now)

    def current_fail_per_sec_at(self, now: float | None = None) -> float:
        return self._rate_in_window(self.num_fail_per_sec, now)

    @property
    def current_rps(self) -> float:
        return self.current_rps_at()

    @property
    def current_fail_per_sec(self) -> float:
        return self.current_fail_per_sec_at()

    @property
    def duration(self) -> float:
        if self.last_request_timestamp is None:
            return 0.0
        return max(self.last_request_timestamp - self.start_time, 0.0)

    @property
    def total_rps(self) -> float:
        duration = self.duration
        return self.num_requests / duration if duration > 0 else 0.0

    @property
    def total_fail_per_sec(self) -> float:
        duration = self.duration
        return self.num_failures / duration if duration > 0 else 0.0

    def prune_per_second(self, now: float) -> None:
        """Drop per-second counters older than the window (keeps memory flat on long runs)."""
        oldest = int(now) - self.rps_window - 2
        for per_second in (self.num_reqs_per_sec, self.num_fail_per_sec):
            if len(per_second) > self.rps_window + 2:
                for second in [s for s in per_second if s < oldest]:
                    del per_second[second]

    # -- serialization and exact merge --
    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "method": self.method,
            "num_requests": self.num_requests,
            "num_failures": self.num_failures,
            "total_response_time": self.total_response_time,
            "min_response_time": self.min_response_time,
            "max_response_time": self.max_response_time,
            "total_content_length": self.total_content_length,
            "response_times": [[k, v] for k, v in self.response_times.items()],
            "num_reqs_per_sec": [[k, v] for k, v in self.num_reqs_per_sec.items()],
            "num_fail_per_sec": [[k, v] for k, v in self.num_fail_per_sec.items()],
            "start_time": self.start_time,
            "last_request_timestamp": self.last_request_timestamp,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], rps_window: int = DEFAULT_RPS_WINDOW) -> "StatsEntry":
        entry = cls(data["name"], data["method"], rps_window)
        for attr in ("num_requests", "num_failures", "total_response_time", "min_response_time",
                     "max_response_time", "total_content_length", "start_time", "last_request_timestamp"):
            setattr(entry, attr, data[attr])
        entry.response_times = {float(k): int(v) for k, v in data["response_times"]}
        entry.num_reqs_per_sec = {int(k): int(v) for k, v in data["num_reqs_per_sec"]}
        entry.num_fail_per_sec = {int(k): int(v) for k, v in data["num_fail_per_sec"]}
        return entry

    def extend(self, other: "StatsEntry") -> None:
        """Add another entry's counts into this one (exact: histograms add bucket by bucket)."""
        self.num_requests += other.num_requests
        self.num_failures += other.num_failures
        self.total_response_time += other.total_response_time
        if other.min_response_time is not None and (
            self.min_response_time is None or other.min_response_time < self.min_response_time
        ):
            self.min_response_time = other.min_response_time
        self.max_response_time = max(self.max_response_time, other.max_response_time)
        self.total_content_length += other.total_content_length
        self.start_time = min(self.start_time, other.start_time)
        if other.last_request_timestamp is not None:
            self.last_request_timestamp = max(self.last_request_timestamp or 0.0, other.last_request_timestamp)
        self._extend_distributions(other)

    def _extend_distributions(self, other: "StatsEntry") -> None:
        for target, source in (
            (self.response_times, other.response_times),
            (self.num_reqs_per_sec, other.num_reqs_per_sec),
            (self.num_fail_per_sec, other.num_fail_per_sec),
        ):
            for key, count in source.items():
                target[key] = target.get(key, 0) + count

    def summary(self, percentiles: Iterable[float] = (0.5, 0.9, 0.95, 0.99)) -> dict[str, Any]:
        """Figures a person reads: what reports, the terminal and serialize_stats show."""
        data = {
            "name": self.name,
            "method": self.method,
            "num_requests": self.num_requests,
            "num_failures": self.num_failures,
            "fail_ratio": self.fail_ratio,
            "avg_response_time": self.avg_response_time,
            "min_response_time": self.min_response_time or 0.0,
            "max_response_time": self.max_response_time,
            "median_response_time": self.median_response_time,
            "avg_content_length": self.avg_content_length,
            "total_rps": self.total_rps,
            "current_rps": self.current_rps,
            "total_fail_per_sec": self.total_fail_per_sec,
        }
        for q in percentiles:
            data[f"p{percentile_label(q)}"] = self.get_response_time_percentile(q)
        return data

    def __repr__(self) -> str:
        return f"<StatsEntry {self.method} {self.name}: {self.num_requests} reqs, {self.num_failures} fails>"


def percentile_label(q: float) -> str:
    """0.95 -> '95', 0.999 -> '99.9'."""
    text = f"{q * 100:.4f}".rstrip("0").rstrip(".")
    return text


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def error_text(error: Any) -> str:
    """An error as text, with memory addresses removed so equal errors group together."""
    if isinstance(error, BaseException):
        text = f"{type(error).__name__}({str(error)!r})"
    else:
        text = str(error)
    return _ADDRESS.sub("", text)


class AggregatedEntry(StatsEntry):
    """The total of all endpoints.

    Its counters are kept per request, but its histogram and per-second counts are
    the endpoints' added together when read: recording each request into a second
    set of dicts was a fifth of the ``request`` hot path. Sums are cached until the
    counts change, so the once-a-second readers (history, live view) pay once.
    """

    __slots__ = ("_stats", "_sums_for", "_sums")

    def __init__(self, stats: "RequestStats", rps_window: int = DEFAULT_RPS_WINDOW) -> None:
        self._stats = stats
        self._sums_for: tuple[int, int, int] | None = None
        self._sums: tuple[dict[float, int], dict[int, int], dict[int, int]] = ({}, {}, {})
        super().__init__(AGGREGATED_NAME, "", rps_window)

    def _summed(self) -> tuple[dict[float, int], dict[int, int], dict[int, int]]:
        entries = self._stats.entries
        key = (self.num_requests, self.num_failures, len(entries))
        if key != self._sums_for:
            histogram: dict[float, int] = {}
            requests: dict[int, int] = {}
            failures: dict[int, int] = {}
            for entry in entries.values():
                for target, source in ((histogram, entry.response_times), (requests, entry.num_reqs_per_sec),
                                       (failures, entry.num_fail_per_sec)):
                    for k, count in source.items():
                        target[k] = target.get(k, 0) + count
            self._sums, self._sums_for = (histogram, requests, failures), key
        return self._sums

    # The total's distributions always come from its endpoints, so recording into the
    # total touches its counters only (the endpoint gets the same request separately).
    def log(self, response_time: float, content_length: int, now: float | None = None) -> None:
        now = time.time() if now is None else now
        self.num_requests += 1
        self.total_response_time += response_time
        if self.min_response_time is None or response_time < self.min_response_time:
            self.min_response_time = response_time
        self.max_response_time = max(self.max_response_time, response_time)
        self.total_content_length += content_length or 0
        self.last_request_timestamp = now

    def log_error(self, now: float | None = None) -> None:
        self.num_failures += 1

    def _extend_distributions(self, other: StatsEntry) -> None:
        pass

    # Assignments (reset) are ignored: the sums follow the endpoints, which reset with the total.
    response_times = property(lambda self: self._summed()[0], lambda self, value: None)
    num_reqs_per_sec = property(lambda self: self._summed()[1], lambda self, value: None)
    num_fail_per_sec = property(lambda self: self._summed()[2], lambda self, value: None)


class RequestStats:
    """All the numbers of one run: what the built-in ``request`` listener records into."""

    def __init__(self, rps_window: int = DEFAULT_RPS_WINDOW) -> None:
        self.rps_window = rps_window
        self.entries: dict[tuple[str, str], StatsEntry] = {}
        self.total: StatsEntry = AggregatedEntry(self, rps_window)
        self.errors: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.exceptions: dict[str, dict[str, Any]] = {}
        self.history: list[dict[str, Any]] = []
        self._window_snapshots: deque[tuple[int, dict[float, int], int]] = deque()

    # -- the hot path --
    def on_request(self, request_type, name, response_time, response_length, response=None, context=None,
                   exception=None, start_time=None, url=None, **_kwargs) -> None:
        """Listener for the ``request`` event: runs once per request, so it is kept flat.

        Every argument the event fires with is named in the signature: a call whose
        keywords all match named parameters is about twice as cheap as one that
        packs leftovers into ``**kwargs``. The entry and the total's counters are
        updated inline, without a loop, a helper call or a tuple per request; the
        total's histogram is summed from the entries when read (AggregatedEntry).
        """
        now = time.time()
        second = int(now)
        entry = self.entries.get((name, request_type))
        if entry is None:
            entry = self.get(name, request_type)
        if response_time is None:
            response_time = 0.0
        # bucket(), inlined for the usual 1-100 ms (the same arithmetic, without a call).
        if 10 <= response_time < 100:
            key = int(response_time * 10 + 0.5) / 10
        elif 1 <= response_time < 10:
            key = int(response_time * 100 + 0.5) / 100
        else:
            key = bucket(response_time)
        length = response_length or 0
        total = self.total

        entry.num_requests += 1
        entry.total_response_time += response_time
        low = entry.min_response_time
        if low is None or response_time < low:
            entry.min_response_time = response_time
        if response_time > entry.max_response_time:
            entry.max_response_time = response_time
        entry.total_content_length += length
        histogram = entry.response_times
        try:
            histogram[key] += 1
        except KeyError:  # a new bucket (try costs nothing when it does not raise)
            histogram[key] = 1
        per_second = entry.num_reqs_per_sec
        try:
            per_second[second] += 1
        except KeyError:  # the first request of this second
            per_second[second] = 1
        entry.last_request_timestamp = now

        total.num_requests += 1
        total.total_response_time += response_time
        low = total.min_response_time
        if low is None or response_time < low:
            total.min_response_time = response_time
        if response_time > total.max_response_time:
            total.max_response_time = response_time
        total.total_content_length += length
        total.last_request_timestamp = now

        if exception is not None:
            entry.num_failures += 1
            total.num_failures += 1
            failures = entry.num_fail_per_sec
            failures[second] = failures.get(second, 0) + 1
            self.log_failure(request_type, name, exception)

    def log_request(self, method: str, name: str, response_time: float, content_length: int) -> None:
        self.on_request(method, name, response_time, content_length)

    def log_error(self, method: str, name: str, error: Any) -> None:
        """Count a failed request already logged with log_request."""
        now = time.time()
        self.get(name, method).log_error(now)
        self.total.log_error(now)
        self.log_failure(method, name, error)

    def log_failure(self, method: str, name: str, error: Any) -> None:
        text = error_text(error)
        key = (method, name, text)
        record = self.errors.get(key)
        if record is None:
            self.errors[key] = {"method": method, "name": name, "error": text, "occurrences": 1}
        else:
            record["occurrences"] += 1

    def log_exception(self, exception: BaseException, formatted_traceback: str, node: str = "local") -> None:
        """Record an uncaught exception in a user (the ``user_error`` event)."""
        record = self.exceptions.get(formatted_traceback)
        if record is None:
            self.exceptions[formatted_traceback] = {
                "count": 1, "msg": repr(exception), "traceback": formatted_traceback, "nodes": [node],
            }
        else:
            record["count"] += 1
            if node not in record["nodes"]:
                record["nodes"].append(node)

    def get(self, name: str, method: str) -> StatsEntry:
        entry = self.entries.get((name, method))
        if entry is None:
            entry = self.entries[(name, method)] = StatsEntry(name, method, self.rps_window)
            # An endpoint's rates count from the start of the run, not from its first request.
            entry.start_time = min(entry.start_time, self.total.start_time)
        return entry

    # -- figures over time --
    def windowed_percentile(self, q: float) -> float:
        """Percentile of the total over the last window (what the live view and history show)."""
        if not self._window_snapshots:
            return self.total.get_response_time_percentile(q)
        _, older, older_count = self._window_snapshots[0]
        window = _histogram_difference(self.total.response_times, older)
        return percentile_of(window, self.total.num_requests - older_count, q)

    def sample_history(self, user_count: int, now: float | None = None) -> dict[str, Any]:
        """Append one history row (called once a second by the runner)."""
        now = time.time() if now is None else now
        second = int(now)
        # Drop snapshots older than the window, take the row, then snapshot: the oldest
        # snapshot left is where the window starts (none yet: the whole run is the window).
        while self._window_snapshots and self._window_snapshots[0][0] < second - self.rps_window:
            self._window_snapshots.popleft()
        row = {
            "time": now,
            "user_count": user_count,
            "current_rps": self.total.current_rps_at(now),
            "current_fail_per_sec": self.total.current_fail_per_sec_at(now),
            "num_requests": self.total.num_requests,
            "num_failures": self.total.num_failures,
            "total_avg_response_time": self.total.avg_response_time,
        }
        for q in HISTORY_PERCENTILES:
            row[f"response_time_percentile_{q}"] = self.windowed_percentile(q)
        self._window_snapshots.append((second, dict(self.total.response_times), self.total.num_requests))
        self.history.append(row)
        for entry in (self.total, *self.entries.values()):
            entry.prune_per_second(now)
        return row

    # -- reset, serialization, merge --
    def reset_all(self) -> None:
        self.total.reset()
        self.entries.clear()
        self.errors.clear()
        self.exceptions.clear()
        self.history.clear()
        self._window_snapshots.clear()

    def clear_all(self) -> None:
        self.reset_all()

    @property
    def start_time(self) -> float:
        return self.total.start_time

    @property
    def last_request_timestamp(self) -> float | None:
        return self.total.last_request_timestamp

    @property
    def num_requests(self) -> int:
        return self.total.num_requests

    @property
    def num_failures(self) -> int:
        return self.total.num_failures

    @property
    def fail_ratio(self) -> float:
        return self.total.fail_ratio

    def sorted_entries(self) -> list[StatsEntry]:
        return [self.entries[k] for k in sorted(self.entries, key=lambda k: (k[0], k[1]))]

    def serialize_stats(self) -> list[dict[str, Any]]:
        """Every endpoint entry as plain data (Locust's name for it)."""
        return [entry.to_dict() for entry in self.sorted_entries() if entry.num_requests or entry.num_failures]

    def serialize_errors(self) -> dict[str, dict[str, Any]]:
        return {f"{m} {n}: {e}": dict(record) for (m, n, e), record in self.errors.items()}

    def serialize(self) -> dict[str, Any]:
        """The whole state as plain data (msgpack/JSON safe); see :meth:`merge`."""
        return {
            "entries": self.serialize_stats(),
            "total": self.total.to_dict(),
            "errors": list(self.errors.values()),
            "exceptions": list(self.exceptions.values()),
        }

    def merge(self, data: dict[str, Any]) -> None:
        """Add serialized stats from elsewhere (a worker) into these, exactly."""
        for entry_data in data.get("entries", []):
            incoming = StatsEntry.from_dict(entry_data, self.rps_window)
            self.get(incoming.name, incoming.method).extend(incoming)
        if "total" in data:
            self.total.extend(StatsEntry.from_dict(data["total"], self.rps_window))
        for record in data.get("errors", []):
            key = (record["method"], record["name"], record["error"])
            if key in self.errors:
                self.errors[key]["occurrences"] += record["occurrences"]
            else:
                self.errors[key] = dict(record)
        for record in data.get("exceptions", []):
            existing = self.exceptions.get(record["traceback"])
            if existing is None:
                self.exceptions[record["traceback"]] = {**record, "nodes": list(record["nodes"])}
            else:
                existing["count"] += record["count"]
                existing["nodes"] += [n for n in record["nodes"] if n not in existing["nodes"]]

    @classmethod
    def from_serialized(cls, data: dict[str, Any], rps_window: int = DEFAULT_RPS_WINDOW) -> "RequestStats":
        stats = cls(rps_window)
        stats.merge(data)
        return stats
