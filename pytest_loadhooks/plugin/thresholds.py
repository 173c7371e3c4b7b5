"""Thresholds: the assertions a load run must meet, e.g. ``p95 < 300`` or ``GET /cart: p99 < 500``.

Grammar: ``[METHOD] [NAME:] METRIC OP VALUE[UNIT]`` where METRIC is one of
fail_ratio, failures, requests, rps, avg, min, max, median, pNN, pNN.N; OP is
one of < <= > >= == !=; UNIT is ms or s for times, % for fail_ratio.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any, Callable

HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE"}
TIME_METRICS = {"avg", "min", "max", "median"}
METRICS_HELP = "fail_ratio, failures, requests, rps, avg, min, max, median, pNN (e.g. p95, p99.9)"

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
}

_EXPRESSION = re.compile(
    r"^\s*(?:(?P<scope>.+?)\s*:\s+)?(?P<metric>[A-Za-z_][A-Za-z_0-9.]*)\s*(?P<op><=|>=|==|!=|<|>)\s*"
    r"(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<unit>ms|s|%)?\s*$"
)
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")


class ThresholdError(ValueError):
    """A threshold expression that cannot be understood."""


@dataclass(frozen=True)
class Threshold:
    expression: str
    metric: str
    op: str
    limit: float
    method: str | None = None
    name: str | None = None

    @property
    def scope(self) -> str:
        return " ".join(part for part in (self.method, self.name) if part) or "all requests"

    @property
    def is_time(self) -> bool:
        return self.metric in TIME_METRICS or self.metric.startswith("p")

    def unit(self) -> str:
        return " ms" if self.is_time else ""

    def check(self, result: Any) -> "Verdict":
        measured = measure(result, self)
        if measured is None:
            return Verdict(self, False, None, f"threshold '{self.expression}' failed: no requests matched "
                                              f"{self.scope}")
        passed = OPERATORS[self.op](measured, self.limit)
        shown = format_value(self, measured)
        state = "passed" if passed else "failed"
        message = (f"threshold '{self.expression}' {state}: {self.metric} of {self.scope} = {shown}, "
                   f"limit {self.op} {format_value(self, self.limit)}")
        return Verdict(self, passed, measured, message)


@dataclass(frozen=True)
class Verdict:
    threshold: Threshold
    passed: bool
    measured: float | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"expression": self.threshold.expression, "passed": self.passed, "measured": self.measured,
                "limit": self.threshold.limit, "message": self.message}


def format_value(threshold: Threshold, value: float) -> str:
    if threshold.metric == "fail_ratio":
        return f"{value:.4g} ({value * 100:.2f}%)"
    if threshold.metric in ("failures", "requests"):
        return f"{value:g}"
    if threshold.metric == "rps":
        return f"{value:.2f}/s"
    return f"{value:.1f}{threshold.unit()}" if value >= 1 else f"{value:.3g}{threshold.unit()}"


def parse(expression: str) -> Threshold:
    """Parse one threshold; raises ThresholdError with a message that says what is wrong."""
    if not isinstance(expression, str) or not expression.strip():
        raise ThresholdError("empty threshold: use e.g. 'p95 < 300' or 'GET /cart: p99 < 500'")
    match = _EXPRESSION.match(expression)
    if not match:
        raise ThresholdError(f"invalid threshold {expression!r}: expected '[METHOD NAME:] METRIC OP VALUE', "
                             "e.g. 'p95 < 300' or 'GET /cart: p99 < 500'")
    metric = match["metric"].lower()
    if metric in ("fail-ratio", "failratio", "error_rate"):
        metric = "fail_ratio"
    if metric not in {"fail_ratio", "failures", "requests", "rps", *TIME_METRICS} and not _PERCENTILE.match(metric):
        raise ThresholdError(f"unknown threshold metric {match['metric']!r} in {expression!r}: use {METRICS_HELP}")
    limit = float(match["value"])
    unit = match["unit"]
    if unit == "%":
        if metric != "fail_ratio":
            raise ThresholdError(f"'%' only applies to fail_ratio, in {expression!r}")
        limit /= 100
    elif unit in ("ms", "s"):
        if metric not in TIME_METRICS and not metric.startswith("p"):
            raise ThresholdError(f"'{unit}' only applies to response times, in {expression!r}")
        if unit == "s":
            limit *= 1000
    method = name = None
    scope = (match["scope"] or "").strip()
    if scope:
        head, _, rest = scope.partition(" ")
        if head.upper() in HTTP_METHODS:
            method, name = head.upper(), rest.strip() or None
        else:
            name = scope
    return Threshold(expression.strip(), metric, match["op"], limit, method, name)


def parse_all(expressions: list[str]) -> list[Threshold]:
    return [parse(expression) for expression in expressions]


def measure(result: Any, threshold: Threshold) -> float | None:
    """The measured value of a threshold's metric, from a LoadResult; None when nothing matched."""
    entry = result.entry(threshold.name, threshold.method) if threshold.name or threshold.method else result.total
    if entry is None:
        return None
    metric = threshold.metric
    if metric == "requests":
        return float(entry.num_requests)
    if metric == "failures":
        return float(entry.num_failures)
    if entry.num_requests == 0:
        return 0.0 if metric == "fail_ratio" else None
    if metric == "fail_ratio":
        return entry.fail_ratio
    if metric == "rps":
        return entry.num_requests / result.duration if result.duration > 0 else 0.0
    if metric == "avg":
        return entry.avg_response_time
    if metric == "min":
        return entry.min_response_time or 0.0
    if metric == "max":
        return entry.max_response_time
    if metric == "median":
        return entry.median_response_time
    return entry.get_response_time_percentile(float(metric[1:]) / 100)
