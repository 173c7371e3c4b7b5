"""Request statistics: per-endpoint entries, a total, failures, user errors, history.

Response times go into a log-linear histogram (three significant digits, so any
percentile is within 0.5 % of the exact value; :mod:`pytest_loadhooks.histogram`),
read as a ``{bucket: count}`` mapping and serialized as that dict, which makes
entries exactly mergeable: the distributed mode adds workers' histograms bucket
by bucket.

The names a locustfile uses are Locust's: ``StatsEntry.serialize()`` /
``unserialize()`` (the wire), ``to_dict()`` (the figures), ``num_none_requests``,
``environment.stats.errors`` holding :class:`StatsError` records,
``serialize_stats()`` / ``serialize_errors()``, and the library-mode helpers
``stats_printer``, ``stats_history``, ``print_stats``, ``print_percentile_stats``
and ``print_error_report``.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import logging
import math
import re
import sys
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any

from greenlet import getcurrent

from .histogram import (DENSE_LIMIT, INDEX_OF_1_MS, INDEX_OF_10_MS, ResponseTimeHistogram, bucket_index, narrowest,
                        numpy_dtypes, packed_parts)
from .histogram import bucket as bucket, percentile_of as percentile_of  # their home before histogram.py
from .history import History
from .open_model import OpenModelStats

AGGREGATED_NAME = "Aggregated"
DEFAULT_RPS_WINDOW = 10  # seconds over which "current" RPS and percentiles are taken
HISTORY_PERCENTILES = (0.5, 0.95)
PERCENTILES_TO_REPORT = (0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0)
"""The columns of the percentile table (Locust's list)."""
PERCENTILES_TO_STATISTICS = (0.95, 0.99)
"""The percentiles ``StatsEntry.to_dict()`` includes, as ``response_time_percentile_<q>`` (Locust's keys)."""
CONSOLE_STATS_INTERVAL_SEC = 2
"""Seconds between two tables of :func:`stats_printer`."""
HISTORY_STATS_INTERVAL_SEC = 1
"""Seconds between two checks of :func:`stats_history` (runners sample history every second)."""

console_logger = logging.getLogger("pytest_loadhooks.stats_logger")
"""Where the printed tables go (Locust's ``locust.stats_logger``): ``setup_logging`` sends it to stdout."""

_now = time.time


def per_second(count: float, seconds: float) -> float:
    """The one definition of a rate over a run: ``count`` spread over the run's duration in ``seconds``.

    Every whole-run rate an output shows (requests/s and failures/s, of one endpoint or of all:
    the terminal table, the CSV, the JSON and HTML report, the ``rps`` threshold) is this, with
    the duration of the whole run as the denominator, for every endpoint alike. An endpoint hit
    only during the ramp-up (20 requests in the first second of a 10 s run) ran at 2.0 req/s over
    the run, which is what its row says; over its own span it would claim 20 req/s, a load the
    target never saw. 0 before any time has passed.
    """
    return count / seconds if seconds > 0 else 0.0


def _add_counts(target: dict, source: dict) -> None:
    """Add ``source``'s counts into ``target`` key by key (per-second counts: the total's sums once a
    second, merged reports): a copy in C when ``target`` is still empty, else a bound ``get``."""
    if not target:
        target.update(source)
        return
    get = target.get
    for k, count in source.items():
        target[k] = get(k, 0) + count


def forget_seconds_before(per_second: dict[int, int], oldest: int) -> None:
    """Drop the per-second counts of seconds before ``oldest``.

    Per-second counts exist for the live rates over the RPS window only (the run's long view is
    its history), so each entry keeps the window's seconds and a little slack, never the run's.
    """
    for second in [s for s in per_second if s < oldest]:
        del per_second[second]


def record_request(entry: StatsEntry, response_time: float | None, content_length: int | None,
                   now: float) -> None:
    """Count one request into one endpoint entry: the only definition of what a request adds.

    ``RequestStats.on_request`` (the ``request`` listener, once per request) and
    ``StatsEntry.log`` both come here. A request timed as ``None`` (Locust's
    asynchronous requests) is counted, in ``num_requests`` and ``num_none_requests``,
    but stays out of every response-time figure, as in Locust.

    Kept flat, without loops or further calls, for the hot path: the histogram
    bucket's index is :func:`~pytest_loadhooks.histogram.bucket_index`'s arithmetic
    inlined for the usual 1-100 ms, counted straight into the histogram's array.
    """
    entry.num_requests += 1
    second = int(now)
    per_second = entry.num_reqs_per_sec
    try:
        per_second[second] += 1
    except KeyError:  # the first request of this second (try costs nothing when it does not raise)
        per_second[second] = 1
        if len(per_second) > entry.rps_window + 2:  # once a second at most: old seconds go here
            forget_seconds_before(per_second, second - entry.rps_window - 2)
    entry.last_request_timestamp = now
    if content_length:
        entry.total_content_length += content_length
    if response_time is None:
        entry.num_none_requests += 1
        return
    entry.total_response_time += response_time
    low = entry.min_response_time
    if low is None or response_time < low:
        entry.min_response_time = response_time
    if response_time > entry.max_response_time:  # noqa: PLR1730 - a compare is cheaper than max() per request
        entry.max_response_time = response_time
    histogram = entry.response_times
    if 10 <= response_time < 100:
        index = int(response_time * 10 + 0.5) + (INDEX_OF_10_MS - 100)
    elif 1 <= response_time < 10:
        index = int(response_time * 100 + 0.5) + (INDEX_OF_1_MS - 100)
    else:
        index = bucket_index(response_time)
        if index < 0:  # a negative time: never an array slot
            histogram.add_index(index)
            return
    counts = histogram.counts
    if index < len(counts):
        counts[index] += 1
        return
    # Past the array's end: a known outlier is a dict increment (an endpoint hit now and then,
    # or one of 10,000 names, never gets an array); a new one may make the array grow.
    try:
        histogram.outliers[index] += 1
    except KeyError:
        histogram.add_index(index)


def _number_keys(pairs: Any, key_type: type) -> dict:
    """A serialized distribution back as a dict: JSON turns its keys into strings, older wires sent pairs."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return {key_type(k): int(v) for k, v in items}


def _per_second_counts(counts: Any) -> dict[int, int]:
    """A reported ``{second: count}``: as msgpack read it when every key and count is an integer (no
    copy: the master adds it and drops it), else converted as :func:`_number_keys` does."""
    if type(counts) is dict:
        for second, count in counts.items():  # a second or a few: a loop beats building arrays
            if type(second) is not int or type(count) is not int:
                return _number_keys(counts, int)
        return counts
    return _number_keys(counts, int)


_REPORTED_FIGURES = itemgetter("num_requests", "num_failures", "total_response_time", "min_response_time",
                               "max_response_time", "total_content_length", "start_time", "last_request_timestamp")
_NUMBER = (int, float)


def _reported_open_model(data: Any) -> OpenModelStats | None:
    """A report's open-model counts (an arrival-rate run's iterations, drops, intended-start latency), rebuilt
    whole before any of the report is added; None when the worker runs no open model."""
    if data is None:
        return None
    try:
        return OpenModelStats.from_serialized(data)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"malformed open-model counts: {error!r}") from None


def _reported_entry(data: Any) -> tuple:
    """A reported entry's ``((name, method), figures, per-second counts, histogram)``, checked (a
    ValueError otherwise): the figures in :meth:`StatsEntry._add_figures`' order, the histogram as
    :func:`~pytest_loadhooks.histogram.packed_parts`' pair or a :class:`ResponseTimeHistogram`."""
    try:
        name, method = data["name"], data["method"]
        requests, failures, total_time, low, high, length, start, last = _REPORTED_FIGURES(data)
        none_requests = data.get("num_none_requests", 0)
        per_second = (_per_second_counts(data["num_reqs_per_sec"]), _per_second_counts(data["num_fail_per_sec"]))
        if "response_time_buckets" in data:
            histogram: Any = ResponseTimeHistogram.from_indexes(data["response_time_buckets"])
        elif "response_time_packed" in data:
            histogram = packed_parts(data["response_time_packed"])
        else:
            histogram = ResponseTimeHistogram(data["response_times"])
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"a malformed stats entry ({type(error).__name__}: {error})") from None
    if not (isinstance(name, str) and isinstance(method, str) and type(requests) is int and type(failures) is int
            and type(none_requests) is int and type(length) is int and isinstance(total_time, _NUMBER)
            and isinstance(high, _NUMBER) and isinstance(start, _NUMBER)
            and (low is None or isinstance(low, _NUMBER)) and (last is None or isinstance(last, _NUMBER))):
        raise ValueError(f"a stats entry with figures of the wrong types: {name!r} {method!r}")
    figures = (requests, none_requests, failures, total_time, low, high, length, start, last)
    return (name, method), figures, per_second, histogram


def _reported_total(data: Any) -> tuple[int, int, float | None]:
    """A report's total: only its counts and start are the master's total's own (the rest is the endpoints')."""
    try:
        requests, failures, start = data["num_requests"], data["num_failures"], data["start_time"]
    except (KeyError, TypeError) as error:
        raise ValueError(f"a malformed stats total ({type(error).__name__}: {error})") from None
    if not (type(requests) is int and type(failures) is int and isinstance(start, _NUMBER)):
        raise ValueError("a stats total with figures of the wrong types")
    return requests, failures, start


# -- the columnar report: what a worker sends its master (issue 24) ------------------------------------------

COUNT_COLUMNS = ("num_requests", "num_none_requests", "num_failures", "total_content_length")
"""The integer figures of a columnar report, one little-endian int64 column each, in this order."""
TIME_COLUMNS = ("total_response_time", "min_response_time", "max_response_time", "start_time",
                "last_request_timestamp")
"""Its float figures, one little-endian float64 column each (NaN: None, for a minimum or a last request)."""


def _little_endian(values: array) -> bytes:
    if sys.byteorder == "big":
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _column_bytes(entries: list[StatsEntry]) -> dict[str, Any]:
    """The figures and per-second counts of ``entries`` as columns: one array per figure across them."""
    counts = array("q")
    for figure in COUNT_COLUMNS:
        counts.extend(int(getattr(entry, figure)) for entry in entries)
    times = array("d")
    for figure in TIME_COLUMNS:
        times.extend(math.nan if (value := getattr(entry, figure)) is None else value for entry in entries)
    seconds = sorted({second for entry in entries for second in (*entry.num_reqs_per_sec, *entry.num_fail_per_sec)})
    per_second = array("q")
    for attribute in ("num_reqs_per_sec", "num_fail_per_sec"):
        for entry in entries:
            get = getattr(entry, attribute).get
            per_second.extend(get(second, 0) for second in seconds)
    return {"counts": _little_endian(counts), "times": _little_endian(times), "seconds": seconds,
            "per_second": _little_endian(per_second)}


def _narrowest_signed(values: array) -> tuple[int, bytes]:
    """``(item width, little-endian bytes)`` of integers in the narrowest signed type that holds them."""
    low, high = min(values, default=0), max(values, default=0)
    code = next(code for code, bits in (("b", 7), ("h", 15), ("i", 31), ("q", 63))
                if -(1 << bits) <= low and high < 1 << bits)
    narrowed = array(code, values)
    return narrowed.itemsize, _little_endian(narrowed)


def _histogram_columns(entries: list[tuple]) -> dict[str, Any]:
    """The endpoints' histograms (:func:`_by_run_width`'s) as columns: each one's dense run narrowed on its
    own (its width in ``widths``) and placed one after the other, their first indexes and lengths; the
    outliers as how many each endpoint has, then every index and every count, each column in its narrowest
    type (a report's outliers are mostly few, small and near the bulk)."""
    firsts, lengths, widths, runs = array("q"), array("q"), array("B"), []
    held, outlier_indexes, outlier_counts = array("q"), array("q"), array("Q")
    for width, entry, first, run, outliers in entries:
        packed = narrowest(run)[1]
        firsts.append(first)
        lengths.append(len(run))
        widths.append(width)
        runs.append(packed)
        held.append(len(outliers))
        outlier_indexes.extend(outliers.keys())
        outlier_counts.extend(outliers.values())
    index_width, indexes = _narrowest_signed(outlier_indexes)
    count_width, counts = narrowest(outlier_counts)
    return {"firsts": _little_endian(firsts), "lengths": _little_endian(lengths), "widths": widths.tobytes(),
            "dense": b"".join(runs), "outliers": [_little_endian(held), index_width, indexes, count_width, counts]}


def _by_run_width(stats: RequestStats) -> list[tuple]:
    """``(run width, entry, first index, dense run, outliers)`` of every endpoint that counted something,
    the narrowest runs first: the master widens each width's runs in one numpy operation."""
    parts = []
    for entry in stats.entries.values():
        if entry.num_requests or entry.num_failures:
            first, run, outliers = entry.response_times.dense_parts()
            parts.append((narrowest(run)[0] if run else 1, entry, first, run, outliers))
    parts.sort(key=itemgetter(0))
    return parts


def columnar_report(stats: RequestStats) -> dict[str, Any]:
    """``stats`` as a worker reports them: the endpoints as *columns* (``"columns"``: their names, methods,
    and one binary array per figure across them), so that the master adds a report with a few numpy
    operations and one short Python step an endpoint, instead of reading a dict per endpoint (issue 24).
    Exact, like :meth:`RequestStats.serialize`; the total, errors, exceptions and open-model counts are
    as there (the total only its own counts: the rest of it is its endpoints'). msgpack only (binary
    strings); built without numpy, which workers never import. :meth:`RequestStats.add_report` reads it."""
    parts = _by_run_width(stats)
    entries = [part[1] for part in parts]
    columns = {"names": [entry.name for entry in entries], "methods": [entry.method for entry in entries],
               **_column_bytes(entries), **_histogram_columns(parts)}
    total = stats.total
    report = {
        "columns": columns,
        "total": {"num_requests": total.num_requests, "num_failures": total.num_failures,
                  "start_time": total.start_time},
        "errors": stats.serialize_errors(),
        "exceptions": list(stats.exceptions.values()),
    }
    if stats.open_model is not None:
        report["open_model"] = stats.open_model.serialize()
    return report


def _column(numpy: Any, data: Any, dtype: str, rows: int, size: int) -> Any:
    """A binary column (or ``rows`` of them) of ``size`` items each, read in place (no copy)."""
    values = numpy.frombuffer(data, dtype=dtype)
    if values.size != rows * size:
        raise ValueError(f"{values.size} items where {rows} x {size} were expected")
    return values.reshape(rows, size) if rows > 1 else values


def _read_columns(data: Any) -> tuple:
    """A columnar report's columns, read as numpy arrays in place and checked whole (a ValueError
    otherwise): ``(keys, counts, times, seconds, per_second, histograms)``, see :func:`_read_histograms`."""
    numpy = numpy_dtypes()["module"]
    try:
        names, methods = data["names"], data["methods"]
        if not (type(names) is list and type(methods) is list and len(names) == len(methods)
                and all(type(name) is str for name in names) and all(type(method) is str for method in methods)):
            raise ValueError("names and methods must be two lists of strings of one length")
        size = len(names)
        seconds = array("q", data["seconds"]).tolist()
        counts = _column(numpy, data["counts"], "<i8", len(COUNT_COLUMNS), size)
        times = _column(numpy, data["times"], "<f8", len(TIME_COLUMNS), size)
        per_second = _column(numpy, data["per_second"], "<i8", 2 * size, len(seconds)) if seconds else None
        histograms = _read_histograms(numpy, data, size)
    except (KeyError, TypeError, ValueError, OverflowError, AttributeError, IndexError) as error:
        raise ValueError(f"a malformed columnar stats report ({type(error).__name__}: {error})") from None
    problem = _column_problem(numpy, size, counts, times, per_second)
    if problem:
        raise ValueError(f"a malformed columnar stats report: {problem}")
    return list(zip(names, methods)), counts, times, seconds, per_second, histograms


_SIGNED = {1: "<i1", 2: "<i2", 4: "<i4", 8: "<i8"}
_UNSIGNED = {1: "<u1", 2: "<u2", 4: "<u4", 8: "<u8"}


def _read_histograms(numpy: Any, data: Any, size: int) -> tuple:
    """``(firsts, lengths, every run widened to uint64 one after the other, outliers held per endpoint, outlier
    indexes, outlier counts)`` of a columnar report, checked: every run within the array's indexes and
    within the dense bytes, every width 1, 2, 4 or 8, as many outliers as the endpoints say they hold."""
    firsts = _column(numpy, data["firsts"], "<i8", 1, size)
    lengths = _column(numpy, data["lengths"], "<i8", 1, size)
    widths = _column(numpy, data["widths"], "<u1", 1, size)
    dense = data["dense"]
    if not isinstance(dense, bytes):
        raise TypeError(f"dense counts must be bytes, not {type(dense).__name__}")
    if size and (lengths.min() < 0 or firsts.min() < 0 or (firsts + lengths).max() > DENSE_LIMIT):
        raise ValueError(f"dense histogram runs must lie within 0..{DENSE_LIMIT}")
    if size and (numpy.diff(widths.astype(numpy.int16)).min(initial=0) < 0 or widths[-1] > 8
                 or (widths & (widths - 1)).any() or not widths[0]):
        raise ValueError("dense count widths must be 1, 2, 4 or 8, the narrowest runs first")
    sizes = lengths * widths
    if int(sizes.sum()) != len(dense):
        raise ValueError(f"{len(dense)} bytes of dense counts where the runs take {int(sizes.sum())}")
    wide = _widened(numpy, dense, widths, sizes)
    outliers = data["outliers"]
    if type(outliers) is not list or len(outliers) != 5:
        raise ValueError("outliers must be [held per endpoint, index width, indexes, count width, counts]")
    held = _column(numpy, outliers[0], "<i8", 1, size)
    if size and held.min() < 0:
        raise ValueError("a negative number of outliers")
    total = int(held.sum())
    indexes = _column(numpy, outliers[2], _SIGNED[outliers[1]], 1, total)
    counts = _column(numpy, outliers[4], _UNSIGNED[outliers[3]], 1, total)
    return firsts, lengths, wide, held, indexes, counts


def _widened(numpy: Any, dense: bytes, widths: Any, sizes: Any) -> Any:
    """Every dense run as one uint64 array, in the report's order: a conversion per width (the runs come
    the narrowest first), so each endpoint's run is a slice of it, added without a cast."""
    slots = numpy_dtypes()["slots"]
    parts, offset = [], 0
    for width in (1, 2, 4, 8):
        taken = int(sizes[widths == width].sum())
        if taken:
            parts.append(numpy.frombuffer(dense, dtype=_UNSIGNED[width], count=taken // width, offset=offset))
            offset += taken
    return numpy.concatenate(parts).astype(slots, copy=False) if parts else numpy.zeros(0, dtype=slots)


def _column_problem(numpy: Any, size: int, counts: Any, times: Any, per_second: Any) -> str | None:
    """What is wrong with a columnar report's figures (their shapes and types are right), or None."""
    if size and counts[:3].min() < 0:
        return "negative request or failure counts"
    if per_second is not None and per_second.size and per_second.min() < 0:
        return "negative per-second counts"
    if size and numpy.isnan(times[[0, 2, 3]]).any():
        return "a response time total, maximum or start that is not a number"
    return None


def _per_second_rows(seconds: list[int], per_second: Any, size: int) -> tuple[list, list]:
    """Each endpoint's ``({second: requests}, {second: failures})`` from the report's per-second matrix."""
    if per_second is None:
        return [{}] * size, [{}] * size
    if len(seconds) == 1:  # a report a second: mostly one second, a dict an endpoint made without a loop
        second = seconds[0]
        rows = [{second: count} if count else {} for count in per_second.reshape(-1).tolist()]
    else:
        rows = [{second: count for second, count in zip(seconds, row) if count} for row in per_second.tolist()]
    return rows[:size], rows[size:]


def _grouped_outliers(held: Any, indexes: Any, counts: Any) -> list[dict[int, int]]:
    """The outlier columns as one ``{bucket index: count}`` per endpoint (made in C; a bucket listed twice,
    which no worker sends, is added rather than overwritten)."""
    index_list, count_list = indexes.tolist(), counts.tolist()
    grouped = []
    start = 0
    for end in held.cumsum().tolist():
        group = dict(zip(index_list[start:end], count_list[start:end]))
        if len(group) != end - start:
            group = {}
            for index, count in zip(index_list[start:end], count_list[start:end]):
                group[index] = group.get(index, 0) + count
        grouped.append(group)
        start = end
    return grouped


def _checked_report(data: Any) -> tuple:
    """A worker's report checked whole (a ValueError otherwise), nothing added yet: ``(columns or None,
    total, entries, failures, exceptions, open model)`` for :meth:`RequestStats.add_report`."""
    if not isinstance(data, dict):
        raise ValueError("the stats report is not a mapping")
    if "columns" in data:
        columns = _read_columns(data["columns"])
        entries: list = []
    else:
        columns = None
        entries = [_reported_entry(item) for item in data.get("entries", [])]
    total = _reported_total(data["total"]) if "total" in data else (0, 0, None)
    errors = data.get("errors", {})
    failures = [StatsError.unserialize(record) for record in (errors.values() if isinstance(errors, dict) else errors)]
    exceptions = data.get("exceptions", [])
    for record in exceptions:
        if not (isinstance(record, dict) and isinstance(record.get("count"), int)
                and isinstance(record.get("traceback"), str) and isinstance(record.get("nodes"), list)):
            raise ValueError("a malformed exception record")
    open_model = _reported_open_model(data.get("open_model"))
    return columns, total, entries, failures, exceptions, open_model


BATCH_FROM = 4
_OUTLIER_BINS = 1 << 21  # (endpoints x buckets spanned) up to which a batch's outliers are summed by bincount
_FLOAT_EXACT = 1 << 53
"""Columnar reports added together from this many (fewer cost about as much together as one by one)."""

_BATCH_SUM_LIMIT = 1 << 62
"""Reports are added together in int64 only while no sum can come near its limit (else one by one,
in Python's unbounded integers)."""


def _batchable(columns: list[tuple]) -> bool:
    """Whether the reports' counts can be summed in int64 without overflow (any real run's can)."""
    most = _BATCH_SUM_LIMIT // len(columns)
    for _, counts, _, _, per_second, _ in columns:
        if counts.size and int(counts.max()) >= most:
            return False
        if per_second is not None and per_second.size and int(per_second.max()) >= most:
            return False
    return True


def _summed_seconds(numpy: Any, slots: Any, width: int, columns: list[tuple]) -> tuple[list, list]:
    """Every endpoint's per-second requests and failures of the batch, summed: two lists of dicts."""
    seconds = sorted({second for part in columns for second in part[3]})
    if not seconds:
        return [{}] * width, [{}] * width
    matrix = numpy.zeros((2 * width, len(seconds)), dtype=numpy.int64)
    start = 0
    for keys, _, _, own, per_second, _ in columns:
        size = len(keys)
        if per_second is not None and size:
            rows = slots[start:start + size]
            where = numpy.searchsorted(seconds, own)
            numpy.add.at(matrix, (numpy.concatenate((rows, rows + width))[:, None], where[None, :]),
                         per_second.reshape(2 * size, len(own)))
        start += size
    return _per_second_rows(seconds, matrix, width)


class StatsEntry:
    """Counters of one (name, method) endpoint, or of the total."""

    __slots__ = (
        "last_request_timestamp",
        "max_response_time",
        "method",
        "min_response_time",
        "name",
        "num_fail_per_sec",
        "num_failures",
        "num_none_requests",
        "num_reqs_per_sec",
        "num_requests",
        "response_times",
        "rps_window",
        "start_time",
        "stats",
        "total_content_length",
        "total_response_time",
    )

    def __init__(self, name: str, method: str = "", rps_window: int = DEFAULT_RPS_WINDOW,
                 stats: RequestStats | None = None) -> None:
        self.name = name
        self.method = method
        self.rps_window = rps_window
        self.stats = stats  # the run's stats, whose span its rates are spread over (None: an entry on its own)
        self.reset()

    def reset(self) -> None:
        self.num_requests = 0
        self.num_none_requests = 0
        self.num_failures = 0
        self.total_response_time = 0.0
        self.min_response_time: float | None = None
        self.max_response_time = 0.0
        self.total_content_length = 0
        self.response_times: ResponseTimeHistogram = ResponseTimeHistogram()
        self.num_reqs_per_sec: dict[int, int] = {}
        self.num_fail_per_sec: dict[int, int] = {}
        self.start_time = time.time()
        self.last_request_timestamp: float | None = None

    # -- recording (the request event's listener is RequestStats.on_request) --
    def log(self, response_time: float | None, content_length: int, now: float | None = None) -> None:
        """Count one request into this entry alone (Locust's signature; ``now`` for replaying)."""
        record_request(self, response_time, content_length, _now() if now is None else now)

    def log_error(self, error: Any = None, now: float | None = None) -> None:
        """Count one failure into this entry alone (the error itself is kept by RequestStats.errors)."""
        second = int(_now() if now is None else now)
        self.num_failures += 1
        per_second = self.num_fail_per_sec
        if second in per_second:
            per_second[second] += 1
        else:
            per_second[second] = 1
            if len(per_second) > self.rps_window + 2:
                forget_seconds_before(per_second, second - self.rps_window - 2)

    # -- derived figures --
    @property
    def num_timed_requests(self) -> int:
        """Requests with a response time: what averages and percentiles are taken over."""
        return self.num_requests - self.num_none_requests

    @property
    def fail_ratio(self) -> float:
        if self.num_requests:
            return self.num_failures / self.num_requests
        return 1.0 if self.num_failures else 0.0  # failures logged without their requests, as Locust

    @property
    def avg_response_time(self) -> float:
        timed = self.num_timed_requests
        return self.total_response_time / timed if timed else 0.0

    @property
    def median_response_time(self) -> int:
        """The median in whole milliseconds, an int as Locust's (see :meth:`get_response_time_percentile`)."""
        return self.get_response_time_percentile(0.5)

    @property
    def exact_median_response_time(self) -> float:
        """The median as measured (within 0.5 %), in milliseconds: what our own outputs and thresholds use."""
        return self.exact_percentile(0.5)

    @property
    def avg_content_length(self) -> float:
        return self.total_content_length / self.num_requests if self.num_requests else 0.0

    def get_response_time_percentile(self, q: float) -> int:
        """Locust's call and Locust's type: the percentile rounded to a whole millisecond, an int.

        Locust returns the key of its histogram bucket (an int: 0.4 ms reads 0, 147 ms reads 150);
        here the exact percentile is rounded to the nearest millisecond (147 ms reads 147), so a
        locustfile that formats it with ``%d`` or ``{:d}`` or compares it to Locust's works unchanged.
        The figure to the 0.5 % is :meth:`exact_percentile`.
        """
        return round(self.exact_percentile(q))

    def exact_percentile(self, q: float) -> float:
        """The ``q`` percentile (0..1) of the response times, in milliseconds, within 0.5 % of the
        exact value (nearest rank over the histogram): reports, thresholds and ``load_result`` read it."""
        return self.response_times.percentile(self.num_timed_requests, q)

    def _window(self, now: float | None) -> tuple[int, int]:
        """Completed seconds of the current window, [first, last)."""
        last = int(time.time() if now is None else now)
        first = max(last - self.rps_window, int(self.start_time))
        return first, last

    def _rate_in_window(self, per_second: dict[int, int], now: float | None) -> float:
        first, last = self._window(now)
        if last <= first:
            return 0.0
        # The run's first second is only partly the run's: spread its counts over the part that was
        # (a run started at .7 has sent 0.3 s of requests in it), or an early rate reads far too low.
        covered = last - max(first, self.start_time)
        return sum(per_second.get(s, 0) for s in range(first, last)) / covered if covered > 0 else 0.0

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
        """Seconds the whole-run rates are spread over while the run goes: the run's so far, the same for
        every endpoint (its stats' span, from their start to the last request of any endpoint, as
        Locust takes it). An entry on its own (no stats) spans from its start to its last request."""
        if self.stats is not None:
            return self.stats.duration
        if self.last_request_timestamp is None:
            return 0.0
        return max(self.last_request_timestamp - self.start_time, 0.0)

    def rps_over(self, duration: float) -> float:
        """Requests per second over a run that lasted ``duration`` seconds (:func:`per_second`)."""
        return per_second(self.num_requests, duration)

    def fail_per_sec_over(self, duration: float) -> float:
        """Failures per second over a run that lasted ``duration`` seconds (:func:`per_second`)."""
        return per_second(self.num_failures, duration)

    @property
    def total_rps(self) -> float:
        """Requests per second over the run so far (Locust's name); a finished run's outputs spread them
        over its measured duration instead, with :meth:`rps_over`: the same definition, the exact end."""
        return self.rps_over(self.duration)

    @property
    def total_fail_per_sec(self) -> float:
        return self.fail_per_sec_over(self.duration)

    def prune_per_second(self, now: float) -> None:
        """Drop per-second counters older than the window (keeps memory flat on long runs).

        Recording prunes as each new second starts; this catches entries that stopped receiving
        traffic, whose last seconds would otherwise stay (the history sampling calls it).
        """
        oldest = int(now) - self.rps_window - 2
        for per_second in (self.num_reqs_per_sec, self.num_fail_per_sec):
            if per_second and min(per_second) < oldest:
                forget_seconds_before(per_second, oldest)

    # -- what a locustfile reads, and the wire --
    def to_dict(self, escape_string_values: bool = False) -> dict[str, Any]:
        """The entry's figures under Locust's ``to_dict()`` keys and types.

        The median and ``response_time_percentile_<q>`` are whole milliseconds (ints), as Locust's;
        the average, min and max stay unrounded (Locust rounds min and max to whole ms, as floats);
        ``escape_string_values`` is accepted for Locust's signature and changes nothing.
        """
        data = {
            "method": self.method,
            "name": self.name,
            "num_requests": self.num_requests,
            "num_failures": self.num_failures,
            "min_response_time": self.min_response_time or 0.0,
            "max_response_time": self.max_response_time,
            "current_rps": self.current_rps,
            "current_fail_per_sec": self.current_fail_per_sec,
            "avg_response_time": self.avg_response_time,
            "median_response_time": self.median_response_time,
            "total_rps": self.total_rps,
            "total_fail_per_sec": self.total_fail_per_sec,
        }
        for q in PERCENTILES_TO_STATISTICS:
            data[f"response_time_percentile_{q}"] = self.get_response_time_percentile(q)
        data["avg_content_length"] = self.avg_content_length
        return data

    def serialize(self, compact: bool = False) -> dict[str, Any]:
        """Everything the entry counted, as plain data (Locust's keys): what :meth:`unserialize`
        and :meth:`extend` rebuild exactly, on another process or machine.

        ``compact``: the histogram as ``response_time_packed`` (two little-endian arrays of bucket
        indexes and counts: :meth:`ResponseTimeHistogram.to_packed`) instead of Locust's
        ``response_times`` (``{ms: count}``): what workers report in, msgpack only.
        """
        data = {
            "name": self.name,
            "method": self.method,
            "last_request_timestamp": self.last_request_timestamp,
            "start_time": self.start_time,
            "num_requests": self.num_requests,
            "num_none_requests": self.num_none_requests,
            "num_failures": self.num_failures,
            "total_response_time": self.total_response_time,
            "max_response_time": self.max_response_time,
            "min_response_time": self.min_response_time,
            "total_content_length": self.total_content_length,
            "num_reqs_per_sec": dict(self.num_reqs_per_sec),
            "num_fail_per_sec": dict(self.num_fail_per_sec),
        }
        if compact:
            data["response_time_packed"] = self.response_times.to_packed()
        else:
            data["response_times"] = self.response_times.to_dict()
        return data

    @classmethod
    def unserialize(cls, data: dict[str, Any], stats: RequestStats | None = None) -> StatsEntry:
        """An entry rebuilt from :meth:`serialize`'s data (after JSON or msgpack too).

        ``stats`` is Locust's second argument: the entry takes its RPS window.
        """
        entry = cls(data["name"], data["method"], stats.rps_window if stats is not None else DEFAULT_RPS_WINDOW, stats)
        for attr in ("num_requests", "num_failures", "total_response_time", "min_response_time",
                     "max_response_time", "total_content_length", "start_time", "last_request_timestamp"):
            setattr(entry, attr, data[attr])
        entry.num_none_requests = data.get("num_none_requests", 0)
        if "response_time_buckets" in data:  # {index: count}: the compact form before the packed one
            entry.response_times = ResponseTimeHistogram.from_indexes(data["response_time_buckets"])
        elif "response_time_packed" in data:
            entry.response_times = ResponseTimeHistogram.from_packed(data["response_time_packed"])
        else:
            entry.response_times = ResponseTimeHistogram(data["response_times"])
        entry.num_reqs_per_sec = _number_keys(data["num_reqs_per_sec"], int)
        entry.num_fail_per_sec = _number_keys(data["num_fail_per_sec"], int)
        return entry

    def extend(self, other: StatsEntry) -> None:
        """Add another entry's counts into this one (exact: histograms add bucket by bucket)."""
        self._add_figures(other.num_requests, other.num_none_requests, other.num_failures, other.total_response_time,
                          other.min_response_time, other.max_response_time, other.total_content_length,
                          other.start_time, other.last_request_timestamp)
        self.response_times.update(other.response_times)
        self._add_per_second(other.num_reqs_per_sec, other.num_fail_per_sec)

    def _add_figures(self, requests: int, none_requests: int, failures: int, total_response_time: float,
                     min_response_time: float | None, max_response_time: float, content_length: int,
                     start_time: float, last_request_timestamp: float | None) -> None:
        """Add counts and extremes from elsewhere: another entry's (:meth:`extend`), or a worker
        report's read straight from its data (:meth:`RequestStats.add_report`)."""
        self.num_requests += requests
        self.num_none_requests += none_requests
        self.num_failures += failures
        self.total_response_time += total_response_time
        if min_response_time is not None and (self.min_response_time is None or min_response_time < self.min_response_time):
            self.min_response_time = min_response_time
        if max_response_time > self.max_response_time:
            self.max_response_time = max_response_time
        self.total_content_length += content_length
        if start_time < self.start_time:
            self.start_time = start_time
        if last_request_timestamp is not None:
            self.last_request_timestamp = max(self.last_request_timestamp or 0.0, last_request_timestamp)

    def _add_per_second(self, requests: dict[int, int], failures: dict[int, int]) -> None:
        _add_counts(self.num_reqs_per_sec, requests)
        _add_counts(self.num_fail_per_sec, failures)
        # Merged seconds (a worker's report, a run merged from elsewhere) are kept to the window too:
        # a master merges reports for hours and samples no history between some of them.
        for per_second in (self.num_reqs_per_sec, self.num_fail_per_sec):
            if len(per_second) > self.rps_window + 2:
                forget_seconds_before(per_second, max(per_second) - self.rps_window - 2)

    def summary(self, percentiles: Iterable[float] = (0.5, 0.9, 0.95, 0.99)) -> dict[str, Any]:
        """Figures a person reads: what reports and the terminal show (times as measured, not rounded)."""
        data = {
            "name": self.name,
            "method": self.method,
            "num_requests": self.num_requests,
            "num_failures": self.num_failures,
            "fail_ratio": self.fail_ratio,
            "avg_response_time": self.avg_response_time,
            "min_response_time": self.min_response_time or 0.0,
            "max_response_time": self.max_response_time,
            "median_response_time": self.exact_median_response_time,
            "avg_content_length": self.avg_content_length,
            "total_rps": self.total_rps,
            "current_rps": self.current_rps,
            "total_fail_per_sec": self.total_fail_per_sec,
        }
        for q in percentiles:
            data[f"p{percentile_label(q)}"] = self.exact_percentile(q)
        return data

    def percentile(self) -> str:
        """This entry's row of the percentile table (:func:`print_percentile_stats`): whole
        milliseconds, as Locust's ``StatsEntry.percentile()``; a ValueError without requests."""
        if not self.num_requests:
            raise ValueError(f"no requests to {self.method} {self.name}: it has no percentiles")
        return _percentile_row(self, _name_width([self]))

    def to_string(self, current: bool = True) -> str:
        """One row of :func:`print_stats`' table (rates of the last window, or of the whole run)."""
        return _stats_row(self, current, _name_width([self]))

    def __str__(self) -> str:
        return self.to_string()

    def __repr__(self) -> str:
        return f"<StatsEntry {self.method} {self.name}: {self.num_requests} reqs, {self.num_failures} fails>"


def percentile_label(q: float) -> str:
    """0.95 -> '95', 0.999 -> '99.9'."""
    text = f"{q * 100:.4f}".rstrip("0").rstrip(".")
    return text


# -- failures ------------------------------------------------------------------------------------------------

_ADDRESS = re.compile(r"(?<= at 0x)[0-9a-fA-F]+")
_CATCH_RESPONSE_PREFIX = "CatchResponseError("


def parse_error(error: Any) -> str:
    """An error as Locust records it: the exception's repr (a message stays as it is), memory
    addresses masked (``0x....``) so that equal errors from different objects group together."""
    text = error if isinstance(error, str) else repr(error)
    return _ADDRESS.sub("....", text)


@functools.lru_cache(maxsize=4096)
def _error_key(method: str, name: str, text: str) -> str:
    return hashlib.sha256(f"{method}.{name}.{parse_error(text)!r}".encode()).hexdigest()


def error_text(error: Any) -> str:
    """An error as the outputs show it: :func:`parse_error`'s text, except that a message given
    to ``response.failure("...")`` shows without its ``CatchResponseError(...)`` wrapper (as in
    Locust's error report), whether it is still the exception or the recorded text from a worker."""
    from .exception import CatchResponseError

    if isinstance(error, CatchResponseError):
        return _ADDRESS.sub("....", str(error.args[0]) if error.args else "")
    text = parse_error(error)
    if text.startswith(_CATCH_RESPONSE_PREFIX) and text.endswith(")"):
        inner = text[len(_CATCH_RESPONSE_PREFIX):-1]
        try:
            value = ast.literal_eval(inner)
        except (ValueError, SyntaxError):
            return inner
        return str(value)
    return text


class StatsError:
    """One row of the failures table: a (method, name, error) and how often it occurred.

    Locust's record: ``method``, ``name``, ``error`` (the exception as raised here; its
    text when it came from elsewhere), ``occurrences``, ``first_seen`` / ``last_seen``
    (epoch seconds), ``to_dict()``, ``serialize()`` / ``unserialize()``, ``to_name()``.
    Failures of one request ``name`` group together whatever URLs they hit.

    ``record["occurrences"]`` (and ``"method"``, ``"name"``, ``"error"``, ``"first_seen"``,
    ``"last_seen"``) reads a record as the failures tables and CSV show it: ``record["error"]``
    is Locust's recorded text (``CatchResponseError('price missing')``, as in Locust's web UI,
    HTML report and ``_failures.csv``); :attr:`message` and :meth:`to_name` unwrap a
    ``response.failure("...")`` message, as Locust's console error report does.
    """

    __slots__ = ("error", "first_seen", "last_seen", "method", "name", "occurrences")

    _FIELDS = frozenset(("method", "name", "error", "occurrences", "first_seen", "last_seen"))

    def __init__(self, method: str, name: str, error: Any, occurrences: int = 0,
                 first_seen: float | None = None, last_seen: float | None = None) -> None:
        self.method = method
        self.name = name
        self.error = error
        self.occurrences = occurrences
        self.first_seen = first_seen
        self.last_seen = last_seen

    parse_error = staticmethod(parse_error)

    @staticmethod
    def create_key(method: str, name: str, error: Any) -> str:
        """The key of a failure in ``RequestStats.errors`` (Locust's: a hash of method, name and
        recorded error text, so a text from a worker meets the exception it was made from)."""
        if type(error) is str:  # a reported error's text: the same few keys again every report, on a master
            return _error_key(method, name, error)
        return hashlib.sha256(f"{method}.{name}.{parse_error(error)!r}".encode()).hexdigest()

    def occurred(self, now: float | None = None) -> None:
        now = _now() if now is None else now
        self.occurrences += 1
        if self.first_seen is None:
            self.first_seen = now
        self.last_seen = now

    @property
    def message(self) -> str:
        """The error as the outputs show it (see :func:`error_text`)."""
        return error_text(self.error)

    def to_name(self) -> str:
        """``METHOD name: message``, a line of the error report."""
        return f"{self.method} {self.name}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "name": self.name,
            "error": parse_error(self.error),
            "occurrences": self.occurrences,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
        }

    serialize = to_dict  # the wire carries the same plain data (the error as its recorded text)

    @classmethod
    def unserialize(cls, data: dict[str, Any]) -> StatsError:
        return cls(data["method"], data["name"], data["error"], data["occurrences"],
                   data.get("first_seen"), data.get("last_seen"))

    def extend(self, other: StatsError) -> None:
        """Add the occurrences of the same failure seen elsewhere."""
        self.occurrences += other.occurrences
        if other.first_seen is not None:
            self.first_seen = other.first_seen if self.first_seen is None else min(self.first_seen, other.first_seen)
        if other.last_seen is not None:
            self.last_seen = other.last_seen if self.last_seen is None else max(self.last_seen, other.last_seen)

    def __getitem__(self, key: str) -> Any:
        if key not in self._FIELDS:
            raise KeyError(key)
        return parse_error(self.error) if key == "error" else getattr(self, key)

    def __repr__(self) -> str:
        return f"<StatsError {self.to_name()!r} x{self.occurrences}>"


# -- the total -----------------------------------------------------------------------------------------------

def _summed(index: int) -> property:
    """A figure of the total taken from its endpoints; assignments (reset) are ignored."""
    return property(lambda self: self._sums()[index], lambda self, value: None)


class AggregatedEntry(StatsEntry):
    """The total of all endpoints.

    Only its request and failure counts are kept as requests come; every other
    figure (times, content length, histogram, per-second counts) is the endpoints'
    added together when read, so a request is recorded once, into its endpoint.
    Sums are cached until the counts change, so the once-a-second readers (history,
    live view) pay once; the counters and the distributions are summed apart, so a
    listener reading the total's average on every request does not re-add histograms.
    """

    __slots__ = ("_counters", "_counters_for", "_distributions", "_distributions_for", "_generation", "_stats")

    def __init__(self, stats: RequestStats, rps_window: int = DEFAULT_RPS_WINDOW) -> None:
        self._stats = stats
        self._generation = 0
        self._counters_for: tuple | None = None
        self._counters: tuple = (0, 0.0, None, 0.0, 0, None)
        self._distributions_for: tuple | None = None
        self._distributions: tuple = (ResponseTimeHistogram(), {}, {})
        super().__init__(AGGREGATED_NAME, "", rps_window, stats)

    def reset(self) -> None:
        self._generation += 1  # the endpoints are new: sums cached before no longer hold
        super().reset()

    def _key(self) -> tuple:
        return (self.num_requests, self.num_failures, len(self._stats.entries), self._generation)

    def _sums(self) -> tuple:
        key = self._key()
        if key != self._counters_for:
            none = 0
            total_time = 0.0
            low: float | None = None
            high = 0.0
            length = 0
            last: float | None = None
            for entry in self._stats.entries.values():
                none += entry.num_none_requests
                total_time += entry.total_response_time
                if entry.min_response_time is not None and (low is None or entry.min_response_time < low):
                    low = entry.min_response_time
                high = max(high, entry.max_response_time)
                length += entry.total_content_length
                if entry.last_request_timestamp is not None and (last is None or entry.last_request_timestamp > last):
                    last = entry.last_request_timestamp
            self._counters, self._counters_for = (none, total_time, low, high, length, last), key
        return self._counters

    def _summed_distributions(self) -> tuple:
        key = self._key()
        if key != self._distributions_for:
            entries = self._stats.entries.values()
            histogram = ResponseTimeHistogram.sum_of(entry.response_times for entry in entries)
            requests: dict[int, int] = {}
            failures: dict[int, int] = {}
            for entry in entries:
                for target, source in ((requests, entry.num_reqs_per_sec), (failures, entry.num_fail_per_sec)):
                    _add_counts(target, source)
            self._distributions, self._distributions_for = (histogram, requests, failures), key
        return self._distributions

    num_none_requests = _summed(0)
    total_response_time = _summed(1)
    min_response_time = _summed(2)
    max_response_time = _summed(3)
    total_content_length = _summed(4)
    last_request_timestamp = _summed(5)
    response_times = property(lambda self: self._summed_distributions()[0], lambda self, value: None)
    num_reqs_per_sec = property(lambda self: self._summed_distributions()[1], lambda self, value: None)
    num_fail_per_sec = property(lambda self: self._summed_distributions()[2], lambda self, value: None)

    def log(self, response_time: float | None, content_length: int, now: float | None = None) -> None:
        raise TypeError("the total is the sum of its endpoints: count a request with "
                        "RequestStats.log_request(method, name, response_time, content_length)")

    def log_error(self, error: Any = None, now: float | None = None) -> None:
        raise TypeError("the total is the sum of its endpoints: count a failure with "
                        "RequestStats.log_error(method, name, error)")

    def prune_per_second(self, now: float) -> None:
        pass  # its per-second counts are its endpoints', pruned with them

    def extend(self, other: StatsEntry) -> None:
        """Merging: only the counts are the total's own (the endpoints are merged separately)."""
        self.num_requests += other.num_requests
        self.num_failures += other.num_failures
        self.start_time = min(self.start_time, other.start_time)


def _refuses_nothing(tree: dict[str, Any]) -> bool:
    """Stats on their own (no Environment) count every request."""
    return False


# -- all the numbers of a run --------------------------------------------------------------------------------

class RequestStats:
    """All the numbers of one run: what the built-in ``request`` listener records into."""

    def __init__(self, rps_window: int = DEFAULT_RPS_WINDOW) -> None:
        self.rps_window = rps_window
        self.entries: dict[tuple[str, str], StatsEntry] = {}
        self.total: StatsEntry = AggregatedEntry(self, rps_window)
        self.errors: dict[str, StatsError] = {}
        self.exceptions: dict[str, dict[str, Any]] = {}
        # One row a second, bounded for any run length (older rows summarised: see history.History).
        self.history: History = History()
        self._window_snapshots: deque[tuple[int, ResponseTimeHistogram, int]] = deque()
        self.unanswered = 0
        """Requests a user was still waiting on when it was stopped: recorded as no request (as in
        Locust), counted here so that a run against a target that never answers does not pass."""
        self.open_model: OpenModelStats | None = None
        """An open-model run's iterations, dropped iterations and response times from the intended start
        (:mod:`pytest_loadhooks.open_model`); None in a closed-model run."""
        self.counted_tree: dict[str, Any] | None = None
        """The ``spawn_tree_locals`` of the run these stats count, while it runs (set by its Environment)."""
        self.refuses: Callable[[dict[str, Any]], bool] = _refuses_nothing
        """Asked about a request fired from any other greenlet tree: True leaves it uncounted (an
        Environment refuses the requests of another run, or of its own once it ended)."""

    # -- recording --
    def on_request(self, request_type, name, response_time, response_length, response=None, context=None,
                   exception=None, start_time=None, url=None, **_kwargs) -> None:
        """Listener for the ``request`` event: runs once per request, so it is kept short.

        Every argument the event fires with is named in the signature: a call whose
        keywords all match named parameters is about twice as cheap as one that
        packs leftovers into ``**kwargs``. The request is counted into its endpoint
        (:func:`record_request`); the total keeps only its count, its other figures
        are summed from the endpoints when read (:class:`AggregatedEntry`). As in
        Locust, a falsy ``exception`` is a success.

        A request fired from a greenlet tree other than the counted run's is first put to
        :attr:`refuses`. The check is here, not in a listener of its own in front: one comparison in
        the usual case, where a wrapping listener's extra call cost ~0.26 µs a request (2,410 against
        2,150 ns per ``request`` fire, pinned, best of 10 chunks).
        """
        tree = getattr(getcurrent(), "spawn_tree_locals", None)
        if tree is not self.counted_tree and tree and self.refuses(tree):
            return
        now = _now()
        entry = self.entries.get((name, request_type))
        if entry is None:
            entry = self.get(name, request_type)
        record_request(entry, response_time, response_length, now)
        self.total.num_requests += 1
        if self.open_model is not None and response_time is not None:
            self.open_model.record_request(name, request_type, response_time, now)
        if exception:
            self._count_failure(entry, request_type, name, exception, now)

    def log_request(self, method: str, name: str, response_time: float | None, content_length: int) -> None:
        """Count one request (Locust's call); a failure is counted with :meth:`log_error` after it."""
        self.on_request(method, name, response_time, content_length)

    def log_error(self, method: str, name: str, error: Any) -> None:
        """Count a failed request already counted with :meth:`log_request`."""
        self._count_failure(self.get(name, method), method, name, error, _now())

    def _count_failure(self, entry: StatsEntry, method: str, name: str, error: Any, now: float) -> None:
        entry.log_error(error, now)
        self.total.num_failures += 1
        self.log_failure(method, name, error, now)

    def log_failure(self, method: str, name: str, error: Any, now: float | None = None) -> None:
        """Add one occurrence of ``error`` to the failures table (the counts are the caller's)."""
        key = StatsError.create_key(method, name, error)
        record = self.errors.get(key)
        if record is None:
            record = self.errors[key] = StatsError(method, name, error)
        record.occurred(now)

    def log_exception(self, exception: BaseException, formatted_traceback: str, node: str = "local") -> None:
        """Record an uncaught exception in a user (the ``user_error`` event); equal tracebacks count
        together. ``msg`` is the exception's repr, which names its type (what the terminal, the
        report and ``load_result`` show); ``message`` is Locust's text for it, ``str(exception)``,
        what the exceptions CSV writes in its Message column."""
        record = self.exceptions.get(formatted_traceback)
        if record is None:
            self.exceptions[formatted_traceback] = {
                "count": 1, "msg": repr(exception), "traceback": formatted_traceback, "nodes": [node],
                "message": str(exception),
            }
        else:
            record["count"] += 1
            if node not in record["nodes"]:
                record["nodes"].append(node)

    def get(self, name: str, method: str) -> StatsEntry:
        entry = self.entries.get((name, method))
        if entry is None:
            entry = self.entries[(name, method)] = StatsEntry(name, method, self.rps_window, self)
            # An endpoint's rates count from the start of the run, not from its first request.
            entry.start_time = min(entry.start_time, self.total.start_time)
        return entry

    # -- figures over time --
    def windowed_percentile(self, q: float, now: float | None = None) -> float:
        """Percentile of the total over the last window (what the live view and history show).

        The window is the last ``rps_window`` seconds; while the run is younger than that, the whole
        run. (Starting it at the first snapshot instead left it empty just after each early one:
        the live line read p50 0.0 ms while requests flowed.)
        """
        return self.windowed_percentiles((q,), now)[q]

    def windowed_percentiles(self, qs: Iterable[float], now: float | None = None) -> dict[float, float]:
        """Several percentiles of the last window at once: the window's histogram is taken once (a
        difference over every bucket of the total, the costly part of a history sample)."""
        base = self._window_base(int(time.time() if now is None else now))
        if base is None:
            return {q: self.total.exact_percentile(q) for q in qs}
        older, older_count = base
        window = self.total.response_times.since(older)
        count = self.total.num_timed_requests - older_count
        return {q: window.percentile(count, q) for q in qs}

    def _window_base(self, second: int) -> tuple[ResponseTimeHistogram, int] | None:
        """The snapshot the window starts from: the newest taken at or before its start; None when none was."""
        base = None
        for taken, histogram, count in self._window_snapshots:
            if taken > second - self.rps_window:
                break
            base = (histogram, count)
        return base

    def sample_history(self, user_count: int, now: float | None = None) -> dict[str, Any]:
        """Append one history row (called once a second by the runner)."""
        now = time.time() if now is None else now
        second = int(now)
        # Keep one snapshot at or before the window's start (where it starts from) and those after it;
        # older ones can no longer be a start.
        snapshots = self._window_snapshots
        while len(snapshots) > 1 and snapshots[1][0] <= second - self.rps_window:
            snapshots.popleft()
        row = {
            "time": now,
            "user_count": user_count,
            "current_rps": self.total.current_rps_at(now),
            "current_fail_per_sec": self.total.current_fail_per_sec_at(now),
            "num_requests": self.total.num_requests,
            "num_failures": self.total.num_failures,
            "total_avg_response_time": self.total.avg_response_time,
        }
        for q, value in self.windowed_percentiles(HISTORY_PERCENTILES, now).items():
            row[f"response_time_percentile_{q}"] = value
        self._window_snapshots.append((second, self.total.response_times.copy(), self.total.num_timed_requests))
        self.history.append(row)
        for entry in self.entries.values():
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
        self.unanswered = 0
        if self.open_model is not None:
            self.open_model.reset()

    def take_counts(self) -> RequestStats:
        """Everything counted so far moved into a new RequestStats (no copy: its endpoints, errors and
        exceptions are these ones'), these stats reset as :meth:`reset_all` does: what a worker reports."""
        taken = RequestStats(self.rps_window)
        taken.entries = dict(self.entries)
        taken.errors = dict(self.errors)
        taken.exceptions = dict(self.exceptions)
        total = taken.total
        total.num_requests, total.num_failures = self.total.num_requests, self.total.num_failures
        total.start_time = self.total.start_time
        if self.open_model is not None:
            taken.counted_open_model().extend(self.open_model)
        self.reset_all()
        return taken

    def clear_all(self) -> None:
        self.reset_all()

    @property
    def start_time(self) -> float:
        return self.total.start_time

    @property
    def last_request_timestamp(self) -> float | None:
        return self.total.last_request_timestamp

    @property
    def duration(self) -> float:
        """The run so far, in seconds: from the start of the stats to the last request of any endpoint
        (Locust's span for its total_rps), 0 before the first request."""
        last = self.total.last_request_timestamp
        return max(last - self.start_time, 0.0) if last is not None else 0.0

    @property
    def num_requests(self) -> int:
        return self.total.num_requests

    @property
    def num_none_requests(self) -> int:
        return self.total.num_none_requests

    @property
    def num_failures(self) -> int:
        return self.total.num_failures

    @property
    def fail_ratio(self) -> float:
        return self.total.fail_ratio

    def sorted_entries(self) -> list[StatsEntry]:
        return [self.entries[k] for k in sorted(self.entries, key=lambda k: (k[0], k[1]))]

    def serialize_stats(self, compact: bool = False) -> list[dict[str, Any]]:
        """Every endpoint that saw a request, as :meth:`StatsEntry.serialize` data (Locust's name).

        Unlike Locust's, it leaves the counts as they are (Locust's empties them: its
        workers use it to report).
        """
        return [entry.serialize(compact) for entry in self.sorted_entries() if entry.num_requests or entry.num_failures]

    def serialize_errors(self) -> dict[str, dict[str, Any]]:
        """The failures table, keyed as :attr:`errors`, each row as ``StatsError.serialize()`` data."""
        return {key: record.serialize() for key, record in self.errors.items()}

    def serialize(self, compact: bool = False) -> dict[str, Any]:
        """The whole state as plain data (msgpack/JSON safe); see :meth:`merge`. ``compact``:
        histograms keyed by bucket index (:meth:`StatsEntry.serialize`), msgpack only (JSON
        would turn the keys into strings): what a worker reports."""
        return {
            "entries": self.serialize_stats(compact),
            "total": self.total.serialize(compact),
            "errors": self.serialize_errors(),
            "exceptions": list(self.exceptions.values()),
            **({"open_model": self.open_model.serialize()} if self.open_model is not None else {}),
        }

    def merge(self, data: dict[str, Any]) -> None:
        """Add serialized stats from elsewhere (a worker) into these, exactly (:func:`columnar_report`'s
        form too: added as a master adds it, with numpy)."""
        if "columns" in data:
            self.add_report(data)
            return
        for entry_data in data.get("entries", []):
            self._add_entry(StatsEntry.unserialize(entry_data, self))
        if "total" in data:
            self.total.extend(StatsEntry.unserialize(data["total"], self))
        errors = data.get("errors", {})
        for record_data in errors.values() if isinstance(errors, dict) else errors:
            self._add_error(StatsError.unserialize(record_data))
        for record in data.get("exceptions", []):
            self._add_exception(record)
        if "open_model" in data:
            self.counted_open_model().merge(data["open_model"])

    def counted_open_model(self) -> OpenModelStats:
        """The open-model counts, made when these stats have none yet (a master's first report of them)."""
        if self.open_model is None:
            self.open_model = OpenModelStats()
        return self.open_model

    def extend(self, other: RequestStats) -> None:
        """Add another RequestStats' counts into these, exactly: :meth:`merge` for data already
        rebuilt (a master checks a worker's report by rebuilding it, then adds it without
        serializing it again)."""
        for entry in other.entries.values():
            self.get(entry.name, entry.method).extend(entry)
        self.total.extend(other.total)
        for error in other.errors.values():
            self._add_error(error)
        for record in other.exceptions.values():
            self._add_exception(record)
        if other.open_model is not None:
            self.counted_open_model().extend(other.open_model)

    def add_report(self, data: Any) -> int:
        """Add a worker's report, exactly; returns the requests it counted.

        Either form: :func:`columnar_report`'s (what workers send: the endpoints as columns, added
        with a few numpy operations and a short step an endpoint) or :meth:`serialize`'s (an entry
        dict per endpoint, its histogram read in place as numpy arrays when packed). Checked whole
        before any of it is added, so a malformed report adds nothing (a one-line ValueError says
        what is wrong). No entry is rebuilt as an object: the master's own entries take the figures
        (the master's cost per report is what decides how many workers it keeps up with).
        """
        checked = _checked_report(data)
        if checked[0] is not None:
            self._add_columns(*checked[0])
        return self._add_checked(checked)

    def add_reports(self, reports: list) -> list:
        """Add several workers' reports (those a master has already received) as :meth:`add_report`
        adds each, exactly and in their order, but their columns together: one short Python step an
        endpoint of the batch rather than one an endpoint of each report (issue 24). Returns, per report,
        the requests it counted or the ValueError that refused it (a malformed report adds nothing and
        the others are added all the same)."""
        outcomes: list = []
        checked_reports = []
        for data in reports:
            try:
                checked_reports.append(_checked_report(data))
                outcomes.append(None)
            except ValueError as error:
                outcomes.append(error)
        added: list[int] = []
        group: list[tuple] = []  # consecutive columnar reports: added together
        for checked in checked_reports:
            if checked[0] is not None:
                group.append(checked)
                continue
            added += self._add_group(group)
            group = []
            added.append(self._add_checked(checked))  # a per-entry report: after those before it
        added += self._add_group(group)
        counted = iter(added)
        return [outcome if outcome is not None else next(counted) for outcome in outcomes]

    def _add_group(self, group: list[tuple]) -> list[int]:
        """Checked columnar reports added: their columns together (when more than one), then the rest of
        each, in order."""
        columns = [checked[0] for checked in group]
        if len(columns) >= BATCH_FROM and _batchable(columns):
            self._add_column_batch(columns, [checked[1] for checked in group])
        else:
            for part in columns:
                self._add_columns(*part)
        return [self._add_checked(checked) for checked in group]

    def _add_checked(self, checked: tuple) -> int:
        """Add a checked report's all but its columns (added first, alone or with others)."""
        _, total, entries, failures, exceptions, open_model = checked
        for key, figures, per_second, histogram in entries:
            entry = self.get(*key)
            entry._add_figures(*figures)
            if isinstance(histogram, tuple):  # packed_parts'
                entry.response_times.add_packed(*histogram)
            else:
                entry.response_times.update(histogram)
            entry._add_per_second(*per_second)
        requests, failed, start_time = total
        self.total.num_requests += requests
        self.total.num_failures += failed
        if start_time is not None and start_time < self.total.start_time:
            self.total.start_time = start_time
        for failure in failures:
            self._add_error(failure)
        for record in exceptions:
            self._add_exception(record)
        if open_model is not None:
            self.counted_open_model().extend(open_model)
        return requests

    def _add_columns(self, keys: list[tuple[str, str]], counts: Any, times: Any, seconds: list[int], per_second: Any,
                     histograms: tuple) -> None:
        """Add :func:`_read_columns`' checked columns: each column turned into a list at once, then one
        short step an endpoint (its figures, its dense run read in place, its outliers, its seconds)."""
        size = len(keys)
        requests, nones, failures, content = counts.tolist()
        total_times, lows, highs, starts, lasts = times.tolist()
        firsts, lengths, wide, held, indexes, outlier_counts = histograms
        requests_per_second, failures_per_second = _per_second_rows(seconds, per_second, size)
        grouped = _grouped_outliers(held, indexes, outlier_counts)
        ends = lengths.cumsum().tolist()
        known = self.entries.get
        for position, (key, first, end, length) in enumerate(zip(keys, firsts.tolist(), ends, lengths.tolist())):
            entry = known(key) or self.get(*key)
            low, last = lows[position], lasts[position]
            entry._add_figures(requests[position], nones[position], failures[position], total_times[position],
                               None if low != low else low, highs[position], content[position],  # NaN: None
                               starts[position], None if last != last else last)
            entry.response_times.add_packed(first, wide[end - length:end], grouped[position])
            entry._add_per_second(requests_per_second[position], failures_per_second[position])

    def _slots_of(self, columns: list[tuple], totals: list[tuple]) -> tuple[list[StatsEntry], list[int]]:
        """The batch's endpoints, each once (in the order reports name them), and every report row's index
        among them. An endpoint new to these stats starts no later than the total did when its report came
        (as if the reports before it had been added: their totals' starts count)."""
        slot_of: dict = {}
        entries: list[StatsEntry] = []
        rows: list[int] = []
        started = self.total.start_time
        known = self.entries.get
        for (keys, *_), (_, _, start_time) in zip(columns, totals):
            for key in keys:
                slot = slot_of.get(key)
                if slot is None:
                    slot = slot_of[key] = len(entries)
                    entry = known(key)
                    if entry is None:
                        entry = self.get(*key)
                        entry.start_time = min(entry.start_time, started)
                    entries.append(entry)
                rows.append(slot)
            if start_time is not None and start_time < started:
                started = start_time
        return entries, rows

    def _add_column_batch(self, columns: list[tuple], totals: list[tuple]) -> None:
        """Add several reports' checked columns as :meth:`_add_columns` would one after the other, exactly
        (float totals added in report order by ``add.at``, extremes as the same comparisons), but summed
        per endpoint with numpy first: then one short step an endpoint of the batch."""
        numpy = numpy_dtypes()["module"]
        entries, rows = self._slots_of(columns, totals)
        width = len(entries)
        slots = numpy.array(rows, dtype=numpy.intp)
        counts = numpy.concatenate([part[1] for part in columns], axis=1)
        times = numpy.concatenate([part[2] for part in columns], axis=1)
        sums = numpy.zeros((4, width), dtype=numpy.int64)
        for row in range(4):
            numpy.add.at(sums[row], slots, counts[row])
        figures = numpy.array([[entry.total_response_time, math.nan if entry.min_response_time is None
                                else entry.min_response_time, entry.max_response_time, entry.start_time,
                                math.nan if entry.last_request_timestamp is None else entry.last_request_timestamp]
                               for entry in entries], dtype=numpy.float64).T.copy()
        for row, ufunc in enumerate((numpy.add, numpy.fmin, numpy.maximum, numpy.minimum, numpy.fmax)):
            ufunc.at(figures[row], slots, times[row])
        self._add_batch_runs(entries, rows, columns)
        outliers = self._batch_outliers(numpy, slots, columns)
        requests_per_second, failures_per_second = _summed_seconds(numpy, slots, width, columns)
        requests, nones, failures, content = sums.tolist()
        total_times, low_times, high_times, starts, lasts = figures.tolist()
        for slot, entry in enumerate(entries):
            entry.num_requests += requests[slot]
            entry.num_none_requests += nones[slot]
            entry.num_failures += failures[slot]
            entry.total_response_time = total_times[slot]
            entry.total_content_length += content[slot]
            low, high, start, last = low_times[slot], high_times[slot], starts[slot], lasts[slot]
            if low == low and (entry.min_response_time is None or low < entry.min_response_time):
                entry.min_response_time = low
            if high > entry.max_response_time:
                entry.max_response_time = high
            if start < entry.start_time:
                entry.start_time = start
            if last == last:  # NaN: no report gave a last request
                entry.last_request_timestamp = max(entry.last_request_timestamp or 0.0, last)
            if slot in outliers:
                entry.response_times.add_index_counts(*outliers[slot])
            entry._add_per_second(requests_per_second[slot], failures_per_second[slot])

    @staticmethod
    def _add_batch_runs(entries: list[StatsEntry], rows: list[int], columns: list[tuple]) -> None:
        """Every report's dense runs added into its endpoints' histograms, one numpy add a run (summing
        the batch's runs first costs more than it saves: a run is hundreds of buckets, mostly zeros)."""
        start = 0
        for keys, _, _, _, _, (firsts, lengths, wide, _, _, _) in columns:
            ends = lengths.cumsum().tolist()
            for slot, first, end, length in zip(rows[start:start + len(keys)], firsts.tolist(), ends,
                                                lengths.tolist()):
                if length:
                    entries[slot].response_times.add_packed(first, wide[end - length:end], {})
            start += len(keys)

    @staticmethod
    def _batch_outliers(numpy: Any, slots: Any, columns: list[tuple]) -> dict[int, tuple]:
        """Every endpoint's outliers of the batch summed bucket by bucket (with numpy, exact):
        ``{endpoint slot: (bucket indexes, counts)}`` for the endpoints that have any."""
        held = numpy.concatenate([part[5][3] for part in columns])
        if not held.any():
            return {}
        owners = numpy.repeat(slots, held)
        indexes = numpy.concatenate([part[5][4].astype(numpy.int64) for part in columns])
        counts = numpy.concatenate([part[5][5].astype(numpy.uint64) for part in columns])
        low, span = int(indexes.min()), int(indexes.max()) - int(indexes.min()) + 1
        if span * len(held) <= _OUTLIER_BINS and int(counts.max()) < _FLOAT_EXACT // len(counts):
            # Few enough buckets to count into one array by (endpoint, bucket): no sort. Float sums are
            # exact below 2**53, which no bucket of a batch comes near (checked).
            keys = owners.astype(numpy.int64) * span + (indexes - low)
            sums = numpy.bincount(keys, weights=counts, minlength=0)
            keys = numpy.flatnonzero(sums)
            owners, indexes, counts = keys // span, keys % span + low, sums[keys].astype(numpy.uint64)
        else:
            order = numpy.lexsort((indexes, owners))
            owners, indexes, counts = owners[order], indexes[order], counts[order]
            starts = numpy.flatnonzero(numpy.concatenate(([True], (owners[1:] != owners[:-1])
                                                          | (indexes[1:] != indexes[:-1]))))
            owners, indexes, counts = owners[starts], indexes[starts], numpy.add.reduceat(counts, starts)
        edges = numpy.flatnonzero(numpy.concatenate(([True], owners[1:] != owners[:-1], [True]))).tolist()
        return {int(owners[low]): (indexes[low:high], counts[low:high]) for low, high in zip(edges, edges[1:])}

    def _add_entry(self, incoming: StatsEntry) -> None:
        """An entry rebuilt for these stats: adopted when its endpoint is new (no copy), else added."""
        key = (incoming.name, incoming.method)
        existing = self.entries.get(key)
        if existing is None:
            incoming.start_time = min(incoming.start_time, self.total.start_time)  # as get() does
            self.entries[key] = incoming
        else:
            existing.extend(incoming)

    def _add_error(self, incoming: StatsError) -> None:
        key = StatsError.create_key(incoming.method, incoming.name, incoming.error)
        existing = self.errors.get(key)
        if existing is None:
            self.errors[key] = incoming
        else:
            existing.extend(incoming)

    def _add_exception(self, record: dict[str, Any]) -> None:
        existing = self.exceptions.get(record["traceback"])
        if existing is None:
            self.exceptions[record["traceback"]] = {**record, "nodes": list(record["nodes"])}
        else:
            existing["count"] += record["count"]
            existing["nodes"] += [n for n in record["nodes"] if n not in existing["nodes"]]

    @classmethod
    def from_serialized(cls, data: dict[str, Any], rps_window: int = DEFAULT_RPS_WINDOW) -> RequestStats:
        stats = cls(rps_window)
        stats.merge(data)
        return stats


# -- tables for the console (library mode) -------------------------------------------------------------------

def _name_width(entries: Iterable[StatsEntry]) -> int:
    """Wide enough for the longest "METHOD name", within 30..80 columns."""
    longest = max((len(f"{e.method} {e.name}".strip()) for e in entries), default=0)
    return min(max(longest, 30), 80)


def _stats_row(entry: StatsEntry, current: bool, width: int) -> str:
    rps = entry.current_rps if current else entry.total_rps
    fails_per_sec = entry.current_fail_per_sec if current else entry.total_fail_per_sec
    label = f"{entry.method} {entry.name}".strip()
    failures = f"{entry.num_failures}({entry.fail_ratio * 100:.2f}%)"
    return (f"{label:<{width}} {entry.num_requests:>8} {failures:>14} | {entry.avg_response_time:>8.0f} "
            f"{entry.min_response_time or 0:>8.0f} {entry.max_response_time:>8.0f} "
            f"{entry.median_response_time:>8.0f} | {rps:>8.2f} {fails_per_sec:>10.2f}")


def get_stats_summary(stats: RequestStats, current: bool = True) -> list[str]:
    """The request table as lines: one row per endpoint, then the total.

    ``current=True`` shows the rates of the last window; False, those of the whole run.
    """
    entries = stats.sorted_entries()
    width = _name_width([*entries, stats.total])
    header = (f"{'Type Name':<{width}} {'# reqs':>8} {'# fails':>14} | {'Avg':>8} {'Min':>8} {'Max':>8} "
              f"{'Med':>8} | {'req/s':>8} {'failures/s':>10}")
    separator = "-" * len(header)
    lines = [header, separator]
    lines += [_stats_row(entry, current, width) for entry in entries]
    lines += [separator, _stats_row(stats.total, current, width)]
    return lines


def get_percentile_stats_summary(stats: RequestStats) -> list[str]:
    """The percentile table as lines (percentiles within 0.5 % of the exact values, in ms)."""
    entries = [entry for entry in stats.sorted_entries() if entry.num_timed_requests]
    width = _name_width([*entries, stats.total])
    columns = "".join(f" {percentile_label(q) + '%':>7}" for q in PERCENTILES_TO_REPORT)
    header = f"{'Type Name':<{width}}{columns} {'# reqs':>8}"
    separator = "-" * len(header)

    lines = ["Response time percentiles", header, separator]
    lines += [_percentile_row(entry, width) for entry in entries]
    lines.append(separator)
    if stats.total.num_timed_requests:
        lines.append(_percentile_row(stats.total, width))
    return lines


def _percentile_row(entry: StatsEntry, width: int) -> str:
    values = "".join(f" {entry.get_response_time_percentile(q):>7d}" for q in PERCENTILES_TO_REPORT)
    return f"{f'{entry.method} {entry.name}'.strip():<{width}}{values} {entry.num_requests:>8}"


def get_error_report_summary(stats: RequestStats) -> list[str]:
    """The failures table as lines: occurrences, then ``METHOD name: message``."""
    lines = ["Error report", f"{'# occurrences':>14}  Error", "-" * 80]
    for record in sorted(stats.errors.values(), key=lambda r: -r.occurrences):
        lines.append(f"{record.occurrences:>14}  {record.to_name()}")
    lines += ["-" * 80, ""]
    return lines


def print_stats(stats: RequestStats, current: bool = True) -> None:
    """Log the request table to the stats console logger."""
    for line in get_stats_summary(stats, current):
        console_logger.info(line)
    console_logger.info("")


def print_percentile_stats(stats: RequestStats) -> None:
    """Log the percentile table to the stats console logger."""
    for line in get_percentile_stats_summary(stats):
        console_logger.info(line)
    console_logger.info("")


def print_error_report(stats: RequestStats) -> None:
    """Log the failures table to the stats console logger (nothing when nothing failed)."""
    if stats.errors:
        for line in get_error_report_summary(stats):
            console_logger.info(line)


def stats_printer(stats: RequestStats) -> Callable[[], None]:
    """A function for ``gevent.spawn`` that logs the request table every
    ``CONSOLE_STATS_INTERVAL_SEC`` seconds, until its greenlet is killed."""
    def print_stats_forever() -> None:
        import gevent  # not at import time: reading stats needs no gevent

        while True:
            print_stats(stats)
            gevent.sleep(CONSOLE_STATS_INTERVAL_SEC)

    return print_stats_forever


def stats_history(runner: Any) -> None:
    """Locust's greenlet that keeps the history the charts are drawn from.

    Runners here sample the history themselves, every second of a run
    (``runner.stats.history``), so this has nothing to add: it waits until the runner
    has stopped and returns, so that ``gevent.spawn(stats_history, env.runner)`` in a
    library-mode script neither duplicates rows nor outlives the run. Killing its
    greenlet stops it at once.
    """
    import gevent

    while getattr(runner, "state", "stopped") != "stopped":
        gevent.sleep(HISTORY_STATS_INTERVAL_SEC)
