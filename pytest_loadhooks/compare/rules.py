"""``--load-compare-fail`` rules: how much worse than its baseline a run may get.

Grammar: ``[SCOPE: ]METRIC:(+|-)VALUE[UNIT]``, e.g. ``p95:+10%``, ``GET /cart: p99:+20%``,
``fail_ratio:+0.5pp``, ``rps:-15%``, ``p99:+50ms``. ``+`` limits a rise, ``-`` a fall.
UNIT: ``%`` a change relative to the baseline; ``pp`` percentage points (fail_ratio only);
``ms`` or ``s`` for response times; none: the metric's own unit. Without a scope a rule
holds for every endpoint found in both runs and for all requests together; a scope names
one endpoint (``GET /cart``, or ``/cart`` for every method) or ``Aggregated`` for the total.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .diff import endpoint_label
from .metrics import METRICS_HELP, Metric, metric_named

HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE"}
HTTP_METHODS |= {"TEST"}  # the entries of functional tests run as load tasks (plugin.iterations), issue 20
TOTAL_SCOPES = {"aggregated", "total", "all", "all requests"}

_RULE = re.compile(r"^\s*(?:(?P<scope>.+?)\s*:\s+)?(?P<metric>[A-Za-z_%][A-Za-z_0-9.%-]*)\s*:\s*"
                   r"(?P<sign>[+-])\s*(?P<value>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>%|pp|ms|s)?\s*$")
EXAMPLES = "e.g. 'p95:+10%', 'GET /cart: p99:+20%', 'fail_ratio:+0.5pp' or 'rps:-15%'"


class RuleError(ValueError):
    """A rule that cannot be understood."""


@dataclass(frozen=True)
class Rule:
    expression: str
    metric: str
    sign: int  # +1 limits a rise, -1 a fall
    amount: float  # relative (0.10 for 10%) when ``relative``, else in the metric's unit (ratio for pp)
    relative: bool
    method: str | None = None
    name: str | None = None
    total_only: bool = False

    @property
    def definition(self) -> Metric:
        definition = metric_named(self.metric)
        assert definition is not None  # parse() accepts only known metrics
        return definition

    @property
    def allowance(self) -> str:
        """The allowed change as written: +10%, +0.50pp, -5/s, +20 ms."""
        sign = "+" if self.sign > 0 else "-"
        if self.relative:
            return f"{sign}{self.amount * 100:g}%"
        return sign + self.definition.format_change(self.amount).lstrip("+")

    def limit(self, baseline: float) -> float:
        """The worst value allowed now, given the baseline's."""
        step = baseline * self.amount if self.relative else self.amount
        return baseline + self.sign * step

    def breached(self, baseline: float, current: float) -> bool:
        bound = self.limit(baseline)
        return current > bound if self.sign > 0 else current < bound

    def applies_to(self, row: Mapping[str, Any]) -> bool:
        if row["side"] not in ("both", "total"):
            return False
        if self.total_only:
            return row["side"] == "total"
        if self.name is None and self.method is None:
            return True
        return row["side"] == "both" and row["name"] == self.name and self.method in (None, row["method"])


def parse_rule(expression: str) -> Rule:
    """One rule; raises RuleError saying what is wrong."""
    if not isinstance(expression, str) or not expression.strip():
        raise RuleError(f"empty comparison rule: {EXAMPLES}")
    match = _RULE.match(expression)
    if match is None:
        raise RuleError(f"invalid comparison rule {expression!r}: expected '[ENDPOINT: ]METRIC:+LIMIT' or "
                        f"'METRIC:-LIMIT', {EXAMPLES}")
    metric = metric_named(match["metric"])
    if metric is None:
        raise RuleError(f"unknown metric {match['metric']!r} in comparison rule {expression!r}: use {METRICS_HELP}")
    amount = float(match["value"])
    if not math.isfinite(amount):
        raise RuleError(f"invalid comparison rule {expression!r}: {match['value']} is not a finite number")
    unit = match["unit"]
    relative = unit == "%"
    if relative:
        amount /= 100
    elif unit == "pp":
        if metric.kind != "ratio":
            raise RuleError(f"'pp' (percentage points) only applies to fail_ratio, in {expression!r}")
        amount /= 100
    elif unit in ("ms", "s"):
        if metric.kind != "time":
            raise RuleError(f"'{unit}' only applies to response times, in {expression!r}")
        amount *= 1000 if unit == "s" else 1
    elif metric.kind == "ratio":
        raise RuleError(f"give fail_ratio's limit in percentage points or percent, e.g. 'fail_ratio:+0.5pp', "
                        f"in {expression!r}")
    method, name, total_only = _scope(match["scope"])
    return Rule(expression.strip(), metric.name, 1 if match["sign"] == "+" else -1, amount, relative,
                method, name, total_only)


def _scope(text: str | None) -> tuple[str | None, str | None, bool]:
    scope = (text or "").strip()
    if not scope:
        return None, None, False
    if scope.lower() in TOTAL_SCOPES:
        return None, None, True
    head, _, rest = scope.partition(" ")
    if head.upper() in HTTP_METHODS and rest.strip():
        return head.upper(), rest.strip(), False
    return None, scope, False


def parse_rules(expressions: Iterable[str]) -> list[Rule]:
    return [parse_rule(expression) for expression in expressions]


@dataclass(frozen=True)
class Outcome:
    """One rule judged against one endpoint (or, when nothing matched, against none)."""

    rule: Rule
    passed: bool
    endpoint: str | None
    baseline: float | None
    current: float | None
    limit: float | None
    message: str
    noise: bool = False


def judge(comparison: Mapping[str, Any], rules: Sequence[Rule], documents: Sequence[Mapping[str, Any]] = ()
          ) -> list[Outcome]:
    """Each rule against the comparison's rows: every breach, or one passing outcome per rule.

    ``documents`` (baseline, current) are read for metrics beyond the table's (e.g. p99.9, avg);
    without them only ``TABLE_METRICS`` can be judged.
    """
    label = comparison["baseline"]["label"]
    outcomes: list[Outcome] = []
    for rule in rules:
        rows = [row for row in comparison["rows"] if rule.applies_to(row)]
        if not rows:
            where = endpoint_label(rule.method or "", rule.name or "") or "any endpoint"
            outcomes.append(Outcome(rule, False, None, None, None, None,
                                    f"comparison '{rule.expression}' failed: no requests to {where} in both the "
                                    f"baseline {label} and this run"))
            continue
        breaches = []
        judged = 0
        for row in rows:
            base, now = _values(rule, row, documents)
            if base is None or now is None:
                continue
            judged += 1
            if rule.breached(base, now):
                breaches.append(_breach(rule, row, base, now, label))
        outcomes += breaches
        if not breaches:
            scope = "all requests" if rule.total_only else f"{judged} endpoint{'s' if judged != 1 else ''}"
            outcomes.append(Outcome(rule, True, None, None, None, None,
                                    f"comparison '{rule.expression}' passed: {rule.metric} within {rule.allowance} "
                                    f"of the baseline {label} ({scope} judged)"))
    return outcomes


def _row_name(row: Mapping[str, Any]) -> str:
    return "all requests" if row["side"] == "total" else endpoint_label(row["method"], row["name"])


def _breach(rule: Rule, row: Mapping[str, Any], base: float, now: float, label: str) -> Outcome:
    metric = rule.definition
    limit = rule.limit(base)
    noise = bool(row["metrics"].get(rule.metric, {}).get("noise"))
    change = f"{(now - base) / base * 100:+.1f}%" if base else metric.format_change(now - base)
    message = (f"comparison '{rule.expression}' failed: {rule.metric} of {_row_name(row)} = {metric.format(now)} "
               f"now, baseline {metric.format(base)} ({label}), change {change}, limit {rule.allowance} "
               f"({'<=' if rule.sign > 0 else '>='} {metric.format(limit)})")
    if noise:
        message += "; within the spread of the baselines (noise?)"
    return Outcome(rule, False, _row_name(row), base, now, limit, message, noise)


def _values(rule: Rule, row: Mapping[str, Any], documents: Sequence[Mapping[str, Any]]
            ) -> tuple[float | None, float | None]:
    cell = row["metrics"].get(rule.metric)
    if cell is not None:
        return cell["baseline"], cell["current"]
    if len(documents) < 2:
        return None, None
    read = rule.definition.from_document
    assert read is not None  # metric_named() gives only metrics a document can be read for
    found = []
    for document in documents[:2]:
        if row["side"] == "total":
            entry = document.get("total")
        else:
            entry = next((e for e in document.get("stats") or () if e.get("name") == row["name"]
                          and (e.get("method") or "") == row["method"]), None)
        found.append(read(entry) if entry is not None else None)
    return found[0], found[1]
