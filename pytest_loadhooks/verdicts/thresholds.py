"""Thresholds: the assertions a load run must meet, e.g. ``p95 < 300`` or ``GET /cart: p99 < 500 for 10s``.

Grammar: ``[SCOPE: ]METRIC OP VALUE[UNIT] [over DURATION] [for DURATION]``. SCOPE, METRIC, UNIT
and DURATION are the grammar shared with the comparison rules (:mod:`.grammar`): METRIC is one of
``METRICS`` (:mod:`.metrics`) or a percentile pNN / pNN.N; OP is one of < <= > >= == !=.

- ``over DURATION``: the threshold holds for every window of that length, judged each second
  while the run goes (``p95 < 500 over 10s``: the p95 of the last 10 s stays under 500 ms); the
  verdict at the end is the worst window's. Without it, the run so far, and at the end the whole run.
- ``for DURATION``: the run is aborted (and failed) once the threshold has been breached for that
  long without a break (``p95 < 500 for 10s``); ``--load-abort-after`` gives every threshold
  without a ``for`` of its own the same.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .grammar import ALIASES as METRIC_ALIASES
from .grammar import (
    HTTP_METHODS, METRIC_PATTERN, NUMBER_PATTERN, SCOPE_PATTERN, UNIT_PATTERN, GrammarError, Scope, in_metric_unit,
    metrics_help, parse_scope, parse_seconds,
)
from .grammar import metric_named as _grammar_metric
from .metrics import ITERATION_METRICS, Metric

__all__ = ["HTTP_METHODS", "METRICS_HELP", "METRIC_ALIASES", "OPERATORS", "Threshold", "ThresholdError", "Verdict",
           "flatten_expressions", "marker_expressions", "measure", "measure_entry", "metric_named", "parse",
           "parse_all", "select_entry"]

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
}

METRICS_HELP = metrics_help("stats")
_EXPRESSION = re.compile(
    rf"^\s*{SCOPE_PATTERN}{METRIC_PATTERN}\s*(?P<op><=|>=|==|!=|<|>)\s*{NUMBER_PATTERN}\s*{UNIT_PATTERN}"
    r"(?:\s+over\s+(?P<over>\S+))?(?:\s+for\s+(?P<hold>\S+))?\s*$"
)


def metric_named(name: str) -> Metric | None:
    """The metric of a name that live stats can be judged on: one of ``METRICS`` or a percentile like p95."""
    return _grammar_metric(name, "stats")


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
    window: float | None = None
    """``over DURATION``: judged on each window of this many seconds, not on the run so far."""
    abort_after: float | None = None
    """``for DURATION``: breached this many seconds without a break aborts the run."""

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

    def holds(self, measured: float) -> bool:
        return OPERATORS[self.op](measured, self.limit)

    def check(self, result: Any) -> Verdict:
        """The verdict on a finished run (a ``LoadResult``): on the whole run, or, for a windowed threshold
        judged while the run went, on its worst window (``result.worst_windows``, see ``verdicts.live``)."""
        if self.window is not None:
            worst = (getattr(result, "worst_windows", None) or {}).get(self)
            if worst is not None:
                return worst
        measured = measure(result, self)
        if measured is None and self.open_model_only and not _is_open_model(result):
            return Verdict(self, False, None, f"threshold {self.label} failed: {self.metric} is measured only in an "
                                              "open-model run (--load-rate, --load-rate-stages or a shape's RateTick)")
        return self.verdict_on(measured)

    @property
    def open_model_only(self) -> bool:
        """Whether its metric is one only an open-model run measures (iterations, times from the intended start)."""
        return self.metric in ITERATION_METRICS or self.metric.endswith("_intended")

    def verdict_on(self, measured: float | None, where: str = "") -> Verdict:
        """The verdict on one measured value (None: no request matched); ``where`` says which part of the
        run it was measured on (e.g. " over 10 s to 00:23")."""
        if measured is None:
            return Verdict(self, False, None, f"threshold {self.label} failed: no requests matched {self.scope}")
        passed = self.holds(measured)
        shown = self.definition.format_threshold(measured)
        state = "passed" if passed else "failed"
        message = (f"threshold {self.label} {state}: {self.metric} of {self.scope}{where} = {shown}, "
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


EXAMPLES = "e.g. 'p95 < 300', 'GET /cart: p99 < 500' or 'p95 < 500 over 10s for 5s'"


def parse(expression: str) -> Threshold:
    """Parse one threshold; raises ThresholdError with a message that says what is wrong."""
    if not isinstance(expression, str) or not expression.strip():
        raise ThresholdError("empty threshold: use e.g. 'p95 < 300' or 'GET /cart: p99 < 500'")
    match = _EXPRESSION.match(expression)
    if not match:
        raise ThresholdError(f"invalid threshold {expression!r}: expected '[METHOD NAME:] METRIC OP VALUE "
                             f"[over DURATION] [for DURATION]', {EXAMPLES}")
    definition = metric_named(match["metric"])
    if definition is None:
        raise ThresholdError(f"unknown threshold metric {match['metric']!r} in {expression!r}: use {METRICS_HELP}")
    limit = float(match["value"])
    if not math.isfinite(limit):
        raise ThresholdError(f"invalid threshold {expression!r}: the limit {match['value']} is not a finite number")
    try:
        limit = in_metric_unit(definition, limit, match["unit"])
        window = parse_seconds(match["over"], "'over'") if match["over"] else None
        abort_after = parse_seconds(match["hold"], "'for'") if match["hold"] else None
    except GrammarError as error:
        raise ThresholdError(f"{error}, in {expression!r}") from None
    scope: Scope = parse_scope(match["scope"])
    return Threshold(expression.strip(), definition.name, match["op"], limit, scope.method, scope.name,
                     window=window, abort_after=abort_after)


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


def _is_open_model(result: Any) -> bool:
    """Whether a finished run (a ``LoadResult``) was an open-model one: its stats count iterations."""
    stats = getattr(getattr(result, "total", None), "stats", None)
    return getattr(stats, "open_model", None) is not None


def measure(result: Any, threshold: Threshold) -> float | None:
    """The measured value of a threshold's metric, from a LoadResult; None when nothing matched."""
    entry = result.entry(threshold.name, threshold.method) if threshold.name or threshold.method else result.total
    return measure_entry(entry, threshold, result.duration)


def measure_entry(entry: Any, threshold: Threshold, duration: float) -> float | None:
    """A threshold's metric read from one stats entry (or a window's, see ``verdicts.live``) over ``duration``
    seconds; None when nothing matched."""
    if entry is None:
        return None
    read = threshold.definition.from_stats
    assert read is not None  # metric_named() gives only metrics live stats can be judged on
    return read(entry, duration)


def select_entry(stats: Any, name: str | None = None, method: str | None = None) -> Any:
    """The stats entry of one endpoint of a ``RequestStats``; with no method, every method of that name
    merged; with neither, the total. None when no request matched."""
    if name is None and method is None:
        return stats.total
    matches = [e for e in stats.entries.values()
               if (name is None or e.name == name) and (method is None or e.method == method)]
    if not matches:
        return None
    if len(matches) == 1:
        return matches[0]
    from ..stats import StatsEntry

    merged = StatsEntry(name or "", method or "")
    merged.start_time = min(e.start_time for e in matches)
    for match in matches:
        merged.extend(match)
    return merged
