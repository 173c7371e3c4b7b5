"""The HTML report's comparison section (``--load-compare``), from the document's ``comparison`` field.

The comparison itself is made by ``pytest_loadhooks.compare`` and stored in the document; this
module only lays it out: a table with, per endpoint and figure, the value now, the baseline's
and the change (red when worse, green when better, plain when inside the baselines' spread),
and three charts overlaying this run on its baseline (``LoadhooksCharts.overlay`` in charts.js).
Numbers read as in the rest of the report (:mod:`.format`); the page (:mod:`.html`) places the section.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .format import fmt_int, fmt_ms, fmt_percent, fmt_rate, fmt_time, package_template

METRIC_LABELS = {"requests": "Requests", "fail_ratio": "Fail %", "p50": "Median (ms)", "p95": "p95 (ms)",
                 "p99": "p99 (ms)", "rps": "Requests/s"}
WORSE_WHEN_LOWER = {"requests", "rps"}
SMALL_CHANGE = 0.005  # as in the terminal: a change of less than half a percent is nobody's business


def _value(metric: str, value: float | None) -> str:
    if value is None:
        return "–"
    if metric == "requests":
        return fmt_int(value)
    if metric == "fail_ratio":
        return fmt_percent(value) + " %"
    if metric == "rps":
        return fmt_rate(value)
    return fmt_ms(value)


def _change(metric: str, change: float | None, relative: float | None) -> str:
    if change is None:
        return ""
    if metric == "fail_ratio":
        return f"{change * 100:+.2f} pp"
    if relative is None:
        return f"{change:+,.1f}"
    return f"{relative * 100:+.1f} %"


def _tone(metric: str, cell: Mapping[str, Any]) -> str:
    """worse, better, noise or same: how the change reads."""
    change, relative = cell["change"], cell["relative"]
    if change is None or change == 0 or (relative is not None and abs(relative) < SMALL_CHANGE):
        return "same"
    if cell["noise"]:
        return "noise"
    worse = change < 0 if metric in WORSE_WHEN_LOWER else change > 0
    return "worse" if worse else "better"


def _row(row: Mapping[str, Any], metrics: list[str]) -> dict[str, Any]:
    cells = []
    for metric in metrics:
        cell = row["metrics"][metric]
        spread = cell["spread"]
        cells.append({
            "now": _value(metric, cell["current"]), "baseline": _value(metric, cell["baseline"]),
            "change": _change(metric, cell["change"], cell["relative"]), "tone": _tone(metric, cell),
            "spread": f"{_value(metric, spread[0])} – {_value(metric, spread[1])}" if spread else "",
        })
    return {"method": row["method"], "name": row["name"], "side": row["side"], "cells": cells}


def _offsets(times: list[float], start: float) -> list[float]:
    return [round(float(t) - float(start), 1) for t in times]


def _aligned(x: list[float], series: list[tuple[list[float], list[Any]]]) -> list[list[Any]]:
    """Each (offsets, values) series laid on the common x axis, None where it has no sample."""
    out = []
    for offsets, values in series:
        by_offset = dict(zip(offsets, values))
        out.append([by_offset.get(point) for point in x])
    return out


def overlay_charts(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Chart data for charts.js's overlay: p95 and requests/s over the run, and the percentile curve."""
    comparison = data.get("comparison")
    if not comparison:
        return []
    history = data.get("history") or []
    now_offsets = _offsets([row["time"] for row in history], data["run"]["started_at"])
    then = comparison.get("baseline_timeline") or {}
    then_offsets = [round(float(offset), 1) for offset in then.get("offset", [])]
    x = sorted(set(now_offsets) | set(then_offsets))
    charts = []
    for key, column, title, unit, colour in (("p95", "response_time_percentile_0.95", "95th percentile", "ms", "p95"),
                                             ("rps", "current_rps", "Requests/s", "req/s", "rps")):
        now_values = [row.get(column) for row in history]
        baseline_values, current_values = _aligned(x, [(then_offsets, then.get(key, [])), (now_offsets, now_values)])
        charts.append({"id": f"compare-{key}", "x": x, "x_label": "seconds from the start", "unit": unit,
                       "title": title, "series": [
                           {"label": f"{title}, baseline", "color": "baseline", "values": baseline_values,
                            "dashed": True},
                           {"label": f"{title}, now", "color": colour, "values": current_values}]})
    then_percentiles = comparison.get("baseline_percentiles") or {}
    now_percentiles = (data.get("total") or {}).get("percentiles") or {}
    labels = sorted(set(then_percentiles) & set(now_percentiles), key=float)
    charts.append({"id": "compare-percentiles", "x": [float(label) for label in labels], "x_label": "percentile",
                   "unit": "ms", "title": "Response time by percentile", "series": [
                       {"label": "baseline", "color": "baseline", "values": [then_percentiles[k] for k in labels],
                        "dashed": True},
                       {"label": "now", "color": "total", "values": [now_percentiles[k] for k in labels]}]})
    return charts


def comparison_view(data: Mapping[str, Any]) -> dict[str, Any] | None:
    comparison = data.get("comparison")
    if not comparison:
        return None
    metrics = list(comparison["metrics"])
    baseline = comparison["baseline"]
    return {
        "baseline": baseline,
        "baseline_started": fmt_time(baseline.get("started_at")),
        "baselines": comparison.get("baselines", 1),
        "warnings": comparison["warnings"],
        "only_baseline": comparison["only_baseline"],
        "only_current": comparison["only_current"],
        "headers": [METRIC_LABELS.get(metric, metric) for metric in metrics],
        "rows": [_row(row, metrics) for row in comparison["rows"] if row["side"] != "baseline"],
        "charts": [{"id": chart["id"], "title": chart["title"]} for chart in overlay_charts(data)],
    }


def comparison_section(data: Mapping[str, Any]) -> Any:
    """The section's HTML (autoescaped), or "" for a run compared with nothing."""
    from markupsafe import Markup

    view = comparison_view(data)
    if view is None:
        return ""
    return Markup(package_template("comparison.html").render(comparison=view))
