"""The one grammar that thresholds and comparison rules share: scopes, metric names, units, durations.

A threshold (``GET /cart: p95 < 300ms over 10s for 5s``) and a comparison rule
(``GET /cart: p95:+10%``) differ only in what follows the metric; everything else reads the same:

- **scope** ``[SCOPE: ]`` (a colon and a space end it): ``GET /cart`` (one method of one endpoint),
  ``/cart`` (every method of that name), ``GET`` (every request of that method), or ``Aggregated``
  / ``total`` / ``all`` / ``all requests`` (every request together, as no scope does for a threshold);
- **metric**: a row of ``METRICS`` (:mod:`.metrics`) or a percentile pNN / pNN.N, case-insensitive,
  with the aliases of :data:`ALIASES`;
- **units** after a number: ``ms`` or ``s`` for response times, ``%`` or ``pp`` (percentage points)
  for ``fail_ratio``, ``/s`` for rates; none: the metric's own unit (ms, a fraction, a count, per second);
- **durations** (``over 10s``, ``for 1m30s``): what ``--load-run-time`` accepts (``500ms``, ``10s``,
  ``2m``, ``1h30m``, a plain number of seconds).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..values import parse_duration
from .metrics import Metric, lookup

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE",
                          "TEST"})  # TEST: functional tests run as load tasks (plugin.iterations), issue 20
TOTAL_SCOPES = frozenset({"aggregated", "total", "all", "all requests"})
ALIASES = {"fail-ratio": "fail_ratio", "failratio": "fail_ratio", "fail%": "fail_ratio", "error_rate": "fail_ratio",
           "reqs": "requests"}
"""Other names of metrics, for thresholds and comparison rules alike."""

SCOPE_PATTERN = r"(?:(?P<scope>.+?)\s*:\s+)?"
"""A regular expression's optional leading scope (named ``scope``), as both grammars start."""
METRIC_PATTERN = r"(?P<metric>[A-Za-z_%][A-Za-z_0-9.%-]*)"
NUMBER_PATTERN = r"(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
UNIT_PATTERN = r"(?P<unit>ms|s|%|pp|/s)?"


class GrammarError(ValueError):
    """A part of an expression that the grammar does not accept; the caller says in which expression."""


@dataclass(frozen=True)
class Scope:
    """What requests an expression reads: one method, one name, both, or all of them (``total``)."""

    method: str | None = None
    name: str | None = None
    total: bool = False
    """Written as ``Aggregated`` (or ``total``, ``all``): every request together, explicitly."""

    @property
    def everything(self) -> bool:
        return self.total or (self.method is None and self.name is None)

    @property
    def label(self) -> str:
        """How messages name it: ``GET /cart``, ``/cart``, ``GET``, or ``all requests``."""
        return endpoint_label(self.method or "", self.name or "") or "all requests"


def endpoint_label(method: str, name: str) -> str:
    """``GET /cart``: an endpoint as every message names it."""
    return f"{method} {name}".strip()


def parse_scope(text: str | None) -> Scope:
    """The scope before ``: `` (see the module's docstring); an empty one reads everything."""
    scope = (text or "").strip()
    if not scope:
        return Scope()
    if scope.lower() in TOTAL_SCOPES:
        return Scope(total=True)
    head, _, rest = scope.partition(" ")
    if head.upper() in HTTP_METHODS:
        return Scope(head.upper(), rest.strip() or None)
    return Scope(None, scope)


def metric_named(name: str, reading: str) -> Metric | None:
    """The metric of a name (case-insensitive, aliases understood) that can be read from ``reading``:
    ``"stats"`` (a live run: thresholds) or ``"document"`` (a saved result: comparisons); else None."""
    key = name.lower()
    metric = lookup(ALIASES.get(key, key))
    if metric is None:
        return None
    reader = metric.from_stats if reading == "stats" else metric.from_document
    return metric if reader is not None else None


def metrics_help(reading: str) -> str:
    """The metric names ``reading`` understands, for error messages."""
    from .metrics import METRICS

    names = [name for name, metric in METRICS.items()
             if (metric.from_stats if reading == "stats" else metric.from_document) is not None]
    suffix = ", pNN (e.g. p95, p99.9)" + (", pNN_intended" if reading == "stats" else "")
    return ", ".join(names) + suffix


def in_metric_unit(metric: Metric, amount: float, unit: str | None) -> float:
    """An absolute amount written with ``unit``, in the metric's own unit (ms, a fraction, per second).

    Raises GrammarError for a unit the metric does not take. (A comparison's relative ``%`` is
    not an absolute unit: its grammar reads it before this.)"""
    if unit is None:
        return amount
    if unit in ("ms", "s"):
        if metric.kind != "time":
            raise GrammarError(f"'{unit}' only applies to response times")
        return amount * 1000 if unit == "s" else amount
    if unit in ("%", "pp"):
        if metric.kind != "ratio":
            raise GrammarError("'%' only applies to fail_ratio" if unit == "%"
                               else "'pp' (percentage points) only applies to fail_ratio")
        return amount / 100
    if unit == "/s":
        if metric.kind != "rate":
            raise GrammarError("'/s' only applies to rates (rps)")
        return amount
    raise GrammarError(f"unknown unit {unit!r}")


def parse_seconds(text: str, what: str) -> float:
    """A duration of the grammar (``10s``, ``1m30s``, ``500ms``) in seconds, above zero."""
    try:
        seconds = parse_duration(text)
    except ValueError as error:
        raise GrammarError(f"{what}: {error}") from None
    if seconds <= 0:
        raise GrammarError(f"{what}: the duration {text!r} must be above zero")
    return seconds


def format_seconds(seconds: float) -> str:
    """A duration as messages show it: ``10 s``, ``1.5 s``."""
    return f"{seconds:g} s"
