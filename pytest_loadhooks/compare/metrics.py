"""What a comparison measures, read from one entry of a result document.

An entry is an endpoint (or the Aggregated total) as ``report.data.entry_data`` writes it;
every figure here is read from it alone, so two saved documents compare exactly as the
run that wrote them would have. Percentiles the entry does not list are recomputed from
its histogram (``response_times``), which is what makes any pNN comparable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..stats import percentile_label, percentile_of

Entry = Mapping[str, Any]


@dataclass(frozen=True)
class Metric:
    """A figure of an entry: how to read it, its kind, and which direction is worse."""

    name: str
    kind: str  # "time" (ms), "ratio" (0-1, shown in %), "count" or "rate" (per second)
    read: Callable[[Entry], float | None]
    worse_when: int = 1  # +1: a rise is a regression (times, failures); -1: a fall is (rps, requests)

    def format(self, value: float | None) -> str:
        if value is None:
            return "-"
        if self.kind == "ratio":
            return f"{value * 100:.2f}%"
        if self.kind == "count":
            return f"{value:,.0f}"
        if self.kind == "rate":
            return f"{value:.2f}/s"
        return f"{value:.1f} ms" if value >= 1 else f"{value:.3g} ms"

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


def _timed(read: Callable[[Entry], float | None]) -> Callable[[Entry], float | None]:
    """A response-time figure means nothing without requests: None then, never a misleading 0 ms."""
    return lambda entry: read(entry) if entry.get("num_requests") else None


def percentile(entry: Entry, fraction: float) -> float:
    """A percentile of an entry: its listed value, else recomputed from its histogram (nearest rank, as the run)."""
    listed = (entry.get("percentiles") or {}).get(percentile_label(fraction))
    if listed is not None:
        return float(listed)
    histogram: dict[float, int] = {}
    for ms, count in entry.get("response_times") or ():
        histogram[float(ms)] = histogram.get(float(ms), 0) + int(count)
    return percentile_of(histogram, sum(histogram.values()), fraction)


def _percentile_metric(name: str, fraction: float) -> Metric:
    return Metric(name, "time", _timed(lambda entry: percentile(entry, fraction)))


METRICS: dict[str, Metric] = {
    "requests": Metric("requests", "count", lambda e: float(e.get("num_requests") or 0), worse_when=-1),
    "failures": Metric("failures", "count", lambda e: float(e.get("num_failures") or 0)),
    "fail_ratio": Metric("fail_ratio", "ratio", lambda e: float(e.get("fail_ratio") or 0.0)),
    "rps": Metric("rps", "rate", lambda e: float(e.get("total_rps") or 0.0), worse_when=-1),
    "avg": Metric("avg", "time", _timed(lambda e: float(e["avg_response_time"]))),
    "median": _percentile_metric("median", 0.5),
    "max": Metric("max", "time", _timed(lambda e: float(e["max_response_time"]))),
}
ALIASES = {"fail-ratio": "fail_ratio", "fail%": "fail_ratio", "error_rate": "fail_ratio", "reqs": "requests"}

TABLE_METRICS = ("requests", "fail_ratio", "p50", "p95", "p99", "rps")
"""The figures every comparison shows, per endpoint (the issue's list)."""

METRICS_HELP = "requests, failures, fail_ratio, rps, avg, median, max, pNN (e.g. p95, p99.9)"

_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")


def metric_named(name: str) -> Metric | None:
    """The metric of a name (case-insensitive; aliases and pNN understood), or None."""
    key = ALIASES.get(name.lower(), name.lower())
    if key in METRICS:
        return METRICS[key]
    match = _PERCENTILE.match(key)
    if match is None:
        return None
    return _percentile_metric(key, float(match[1]) / 100)
