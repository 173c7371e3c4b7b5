"""Thresholds: the assertions a load run must meet, e.g. ``p95 < 300`` or ``GET /cart: p99 < 500``.

Grammar: ``[METHOD] [NAME:] METRIC OP VALUE[UNIT]`` where METRIC is one of ``METRICS``
(the one table in ``pytest_loadhooks.verdicts.metrics``, shared with the comparisons:
fail_ratio, failures, requests, rps, avg, min, max, median) or a percentile pNN / pNN.N;
OP is one of < <= > >= == !=; UNIT is ms or s for times, % for fail_ratio. A new metric
is one entry in ``METRICS``: parsing, measuring, units and messages all read it.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..verdicts.metrics import METRICS, Metric, lookup

HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE"}
HTTP_METHODS |= {"TEST"}  # the entries of functional tests run as load tasks (plugin.iterations), issue 20

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
}

METRIC_ALIASES = {"fail-ratio": "fail_ratio", "failratio": "fail_ratio", "error_rate": "fail_ratio"}
METRICS_HELP = ", ".join(name for name, metric in METRICS.items() if metric.from_stats) + ", pNN (e.g. p95, p99.9)"
_EXPRESSION = re.compile(
    r"^\s*(?:(?P<scope>.+?)\s*:\s+)?(?P<metric>[A-Za-z_][A-Za-z_0-9.]*)\s*(?P<op><=|>=|==|!=|<|>)\s*"
    r"(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<unit>ms|s|%)?\s*$"
)


def metric_named(name: str) -> Metric | None:
    """The metric of a (lower-case, alias-resolved) name that live stats can be judged on: one of ``METRICS``
    or a percentile like p95."""
    metric = lookup(name)
    if metric is None or metric.from_stats is None:
        return None
    return metric


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
    source: str | None = None
    """The test that set it on the run it reads (its node id), or None for the run's own thresholds."""

    @property
    def label(self) -> str:
        """How messages name it: the expression, and the test that set it."""
        return f"'{self.expression}'" + (f" (set by {self.source})" if self.source else "")

    @property
    def scope(self) -> str:
        return " ".join(part for part in (self.method, self.name) if part) or "all requests"

    @property
    def definition(self) -> Metric:
        """What ``metric`` names (parse() accepts only names that have one)."""
        definition = metric_named(self.metric)
        if definition is None:
            raise ThresholdError(f"unknown threshold metric {self.metric!r}: use {METRICS_HELP}")
        return definition

    def check(self, result: Any) -> Verdict:
        measured = measure(result, self)
        if measured is None:
            return Verdict(self, False, None, f"threshold {self.label} failed: no requests matched {self.scope}")
        passed = OPERATORS[self.op](measured, self.limit)
        shown = self.definition.format_threshold(measured)
        state = "passed" if passed else "failed"
        message = (f"threshold {self.label} {state}: {self.metric} of {self.scope} = {shown}, "
                   f"limit {self.op} {self.definition.format_threshold(self.limit)}")
        return Verdict(self, passed, measured, message)


@dataclass(frozen=True)
class Verdict:
    threshold: Threshold
    passed: bool
    measured: float | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        record = {"expression": self.threshold.expression, "passed": self.passed, "measured": self.measured,
                  "limit": self.threshold.limit, "message": self.message}
        if self.threshold.source:
            record["source"] = self.threshold.source
        return record


def parse(expression: str) -> Threshold:
    """Parse one threshold; raises ThresholdError with a message that says what is wrong."""
    if not isinstance(expression, str) or not expression.strip():
        raise ThresholdError("empty threshold: use e.g. 'p95 < 300' or 'GET /cart: p99 < 500'")
    match = _EXPRESSION.match(expression)
    if not match:
        raise ThresholdError(f"invalid threshold {expression!r}: expected '[METHOD NAME:] METRIC OP VALUE', "
                             "e.g. 'p95 < 300' or 'GET /cart: p99 < 500'")
    raw_metric = match["metric"].lower()
    metric = METRIC_ALIASES.get(raw_metric, raw_metric)
    definition = metric_named(metric)
    if definition is None:
        raise ThresholdError(f"unknown threshold metric {match['metric']!r} in {expression!r}: use {METRICS_HELP}")
    limit = float(match["value"])
    if not math.isfinite(limit):
        raise ThresholdError(f"invalid threshold {expression!r}: the limit {match['value']} is not a finite number")
    unit = match["unit"]
    if unit == "%":
        if definition.kind != "ratio":
            raise ThresholdError(f"'%' only applies to fail_ratio, in {expression!r}")
        limit /= 100
    elif unit in ("ms", "s"):
        if definition.kind != "time":
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


def parse_all(expressions: Iterable[Any]) -> list[Threshold]:
    """Parse each expression; a list or tuple among them (a marker's argument) stands for its items."""
    return [parse(expression) for expression in flatten_expressions(expressions)]


def flatten_expressions(expressions: Iterable[Any]) -> list[str]:
    """Expressions given as strings, or as lists/tuples of strings; anything else is a ThresholdError."""
    flat: list[str] = []
    for item in expressions:
        if isinstance(item, str):
            flat.append(item)
        elif isinstance(item, (list, tuple)) and all(isinstance(inner, str) for inner in item):
            flat.extend(item)
        else:
            raise ThresholdError(f"a threshold must be a string like 'p95 < 300' (or a list of them), "
                                 f"got {item!r}")
    return flat


def marker_expressions(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> list[str]:
    """The expressions of ``@pytest.mark.thresholds(...)``: strings or lists of strings, no keywords."""
    if kwargs:
        raise ThresholdError(f"the thresholds marker takes expressions as positional arguments, not keywords "
                             f"({', '.join(f'{key}=' for key in kwargs)}): use "
                             "@pytest.mark.thresholds('p95 < 300', 'fail_ratio < 1%')")
    return flatten_expressions(args)


def measure(result: Any, threshold: Threshold) -> float | None:
    """The measured value of a threshold's metric, from a LoadResult; None when nothing matched."""
    entry = result.entry(threshold.name, threshold.method) if threshold.name or threshold.method else result.total
    if entry is None:
        return None
    read = threshold.definition.from_stats
    assert read is not None  # metric_named() gives only metrics live stats can be judged on
    return read(entry, result.duration)
