"""The one table of what a verdict can measure: ``METRICS``, and the percentiles pNN.

A metric is read in two places, so it says how to read itself from each:

- a threshold (``p95 < 300``) reads a run's live stats entry (``StatsEntry``, or a ``LoadResult``'s
  entry) and the run's duration: :attr:`Metric.from_stats`;
- a comparison (``p95:+10%``) reads an entry of a saved result document, as
  ``report.data.entry_data`` writes it: :attr:`Metric.from_document`.

A metric one of them cannot read has None there (``min`` is a threshold's only), and that side
does not know its name. A new metric is one row of ``METRICS``: parsing, measuring, units and
messages all read it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Entry = Mapping[str, Any]
"""An entry of a result document: an endpoint, or the Aggregated total."""
StatsReader = Callable[[Any, float], "float | None"]
"""(live stats entry, run duration in s) -> value; None: nothing to judge."""
DocumentReader = Callable[[Entry], "float | None"]
"""(document entry) -> value; None: nothing to compare."""

PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")
"""A percentile's name: p50, p95, p99.9, p100."""


@dataclass(frozen=True)
class Metric:
    """A figure of a run: its name, its kind, how to read it, and which direction is worse."""

    name: str
    kind: str  # "time" (ms; accepts ms/s units), "ratio" (0-1; accepts %), "count" or "rate" (per second)
    from_stats: StatsReader | None
    from_document: DocumentReader | None
    worse_when: int = 1  # +1: a rise is a regression (times, failures); -1: a fall is (rps, requests)

    def format(self, value: float | None) -> str:
        """A value as a comparison shows it ("-" for none)."""
        if value is None:
            return "-"
        if self.kind == "ratio":
            return f"{value * 100:.2f}%"
        if self.kind == "count":
            return f"{value:,.0f}"
        if self.kind == "rate":
            return f"{value:.2f}/s"
        return _milliseconds(value)

    def format_change(self, change: float | None) -> str:
        """An absolute change, signed, in the metric's unit (percentage points for a ratio)."""
        if change is None:
            return "-"
        if self.kind == "ratio":
            return f"{change * 100:+.2f}pp"
        if self.kind == "count":
            return f"{change:+,.0f}"
        if self.kind == "rate":
            return f"{change:+.2f}/s"
        return f"{change:+.1f} ms" if abs(change) >= 1 else f"{change:+.3g} ms"

    def format_threshold(self, value: float) -> str:
        """A measured value or a limit as a threshold's message shows it: a ratio both as a fraction and in
        percent (a limit may be written either way), a count exactly."""
        if self.kind == "ratio":
            return f"{value:.4g} ({value * 100:.2f}%)"
        if self.kind == "count":
            return f"{value:g}"
        if self.kind == "rate":
            return f"{value:.2f}/s"
        return _milliseconds(value)


def _milliseconds(value: float) -> str:
    return f"{value:.1f} ms" if value >= 1 else f"{value:.3g} ms"


def _timed_stats(read: Callable[[Any], float | None]) -> StatsReader:
    """A response-time figure of live stats: nothing to judge when no request matched."""
    return lambda entry, _duration: read(entry) if entry.num_requests else None


def _timed_document(read: DocumentReader) -> DocumentReader:
    """A response-time figure means nothing without requests: None then, never a misleading 0 ms."""
    return lambda entry: read(entry) if entry.get("num_requests") else None


def document_percentile(entry: Entry, fraction: float) -> float:
    """A percentile of a document entry: its listed value, else recomputed from its histogram (nearest rank,
    as the run), which is what makes any pNN of a saved document comparable."""
    # Imported here: the pytest plugin loads this table in every session, and a session without a
    # load test must not import the engine (tests/test_plugin_session.py: a plain session is unaffected).
    from ..stats import percentile_label, percentile_of

    listed = (entry.get("percentiles") or {}).get(percentile_label(fraction))
    if listed is not None:
        return float(listed)
    histogram: dict[float, int] = {}
    for ms, count in entry.get("response_times") or ():
        histogram[float(ms)] = histogram.get(float(ms), 0) + int(count)
    return percentile_of(histogram, sum(histogram.values()), fraction)


def percentile_metric(name: str, fraction: float) -> Metric:
    """The metric of one percentile (``fraction`` 0-1), under ``name`` (p95, median)."""
    return Metric(name, "time", _timed_stats(lambda entry: entry.exact_percentile(fraction)),
                  _timed_document(lambda entry: document_percentile(entry, fraction)))


def _live_rps(entry: Any, duration: float) -> float | None:
    """Requests per second over the whole run (None without requests: nothing to judge)."""
    if not entry.num_requests:
        return None
    return entry.num_requests / duration if duration > 0 else 0.0


METRICS: dict[str, Metric] = {
    "fail_ratio": Metric("fail_ratio", "ratio", lambda entry, _d: entry.fail_ratio if entry.num_requests else 0.0,
                         lambda entry: float(entry.get("fail_ratio") or 0.0)),
    "failures": Metric("failures", "count", lambda entry, _d: float(entry.num_failures),
                       lambda entry: float(entry.get("num_failures") or 0)),
    "requests": Metric("requests", "count", lambda entry, _d: float(entry.num_requests),
                       lambda entry: float(entry.get("num_requests") or 0), worse_when=-1),
    "rps": Metric("rps", "rate", _live_rps, lambda entry: float(entry.get("total_rps") or 0.0), worse_when=-1),
    "avg": Metric("avg", "time", _timed_stats(lambda entry: entry.avg_response_time),
                  _timed_document(lambda entry: float(entry["avg_response_time"]))),
    "min": Metric("min", "time", _timed_stats(lambda entry: entry.min_response_time or 0.0), None),
    "max": Metric("max", "time", _timed_stats(lambda entry: entry.max_response_time),
                  _timed_document(lambda entry: float(entry["max_response_time"]))),
    "median": Metric("median", "time", _timed_stats(lambda entry: entry.exact_median_response_time),
                     _timed_document(lambda entry: document_percentile(entry, 0.5))),
}
"""Every named metric, in the order threshold messages list them."""


# -- the open model (issue 21, docs/open-model.md): iterations, and response times from the intended start --

INTENDED_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)_intended$")
"""A percentile of the response times from the intended start: p95_intended, p99.9_intended."""


def _open_model(entry: Any) -> Any:
    """The open-model counts of the run an entry belongs to (None: a closed-model run)."""
    from ..open_model import open_model_of  # lazily: see document_percentile

    return open_model_of(entry)


def _intended(entry: Any) -> Any:
    """The entry's response times from the intended start (a histogram), or None when it has none."""
    counts = _open_model(entry)
    if counts is None:
        return None
    from ..stats import AGGREGATED_NAME

    whole_run = entry.name == AGGREGATED_NAME and not entry.method
    histogram = counts.intended_histogram(None if whole_run else entry.name, None if whole_run else entry.method)
    return histogram if histogram.total() else None


def _intended_stats(read: Callable[[Any], float]) -> StatsReader:
    def reader(entry: Any, _duration: float) -> float | None:
        histogram = _intended(entry)
        return read(histogram) if histogram is not None else None
    return reader


def intended_percentile_metric(name: str, fraction: float) -> Metric:
    """A percentile of the response times from the intended start (open-model runs only)."""
    return Metric(name, "time", _intended_stats(lambda h: h.percentile(h.total(), fraction)), None)


def _iterations_stats(read: Callable[[Any, float], float]) -> StatsReader:
    def reader(entry: Any, duration: float) -> float | None:
        counts = _open_model(entry)
        return read(counts, duration) if counts is not None else None
    return reader


def _histogram_mean(histogram: Any) -> float:
    return sum(value * count for value, count in histogram.items()) / histogram.total()


METRICS.update({
    "dropped_iterations": Metric("dropped_iterations", "count",
                                 _iterations_stats(lambda c, _d: float(c.dropped_iterations)), None),
    "iterations": Metric("iterations", "count", _iterations_stats(lambda c, _d: float(c.iterations)), None,
                         worse_when=-1),
    "iteration_rate": Metric("iteration_rate", "rate", _iterations_stats(lambda c, d: c.achieved_rate(d)), None,
                             worse_when=-1),
    "avg_intended": Metric("avg_intended", "time", _intended_stats(_histogram_mean), None),
    "median_intended": intended_percentile_metric("median_intended", 0.5),
    "max_intended": intended_percentile_metric("max_intended", 1.0),
})

ITERATION_METRICS = frozenset({"dropped_iterations", "iterations", "iteration_rate"})
"""Metrics read from the run's iterations, not its requests: they mean something before any request is
answered (a target that answers nothing drops iterations), so a live judge reads them even then."""


def lookup(key: str) -> Metric | None:
    """The metric of a normalised name (lower case, aliases resolved by the grammar that reads it):
    a row of ``METRICS`` or a percentile like p95; None for anything else."""
    if key in METRICS:
        return METRICS[key]
    intended = INTENDED_PERCENTILE.match(key)
    if intended is not None:
        return intended_percentile_metric(key, float(intended[1]) / 100)
    match = PERCENTILE.match(key)
    if match is None:
        return None
    return percentile_metric(key, float(match[1]) / 100)
