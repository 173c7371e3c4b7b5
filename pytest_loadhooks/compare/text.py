"""The comparison as terminal lines: the pytest summary and ``python -m pytest_loadhooks.compare`` print these.

One row per endpoint and figure (baseline, now, absolute and relative change, a note), so a
line can be found with grep. On a terminal that takes colours, a change for the worse is red,
one for the better green, and one within the baselines' spread is left plain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .metrics import metric_named

RED, GREEN, YELLOW, RESET = "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[0m"
COLUMNS = ("Type", "Name", "metric", "baseline", "now", "change", "relative", "")
MAX_ENDPOINTS = 30
SMALL_CHANGE = 0.005
"""Relative changes below half a percent are shown uncoloured: nobody should act on them."""


def _relative(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f}%"


def _direction(metric_name: str, cell: Mapping[str, Any]) -> int:
    """+1 better, -1 worse, 0 neither (no change, noise, or nothing to compare)."""
    change = cell["change"]
    if change is None or cell["noise"] or change == 0:
        return 0
    relative = cell["relative"]
    if relative is not None and abs(relative) < SMALL_CHANGE:
        return 0
    metric = metric_named(metric_name)
    worse_when = metric.worse_when if metric is not None else 1
    return -1 if change * worse_when > 0 else 1


def _note(cell: Mapping[str, Any], metric_name: str, baselines: int) -> str:
    metric = metric_named(metric_name)
    if cell["noise"] and cell["spread"] and metric is not None:
        low, high = cell["spread"]
        return f"within noise ({baselines} baselines: {metric.format(low)} to {metric.format(high)})"
    return ""


def comparison_lines(comparison: Mapping[str, Any], colour: bool = False, max_endpoints: int = MAX_ENDPOINTS
                     ) -> list[str]:
    """The comparison as text: a heading, warnings, the table, and the endpoints on one side only."""
    baseline = comparison["baseline"]
    head = f"comparison with baseline {baseline['label']}"
    details = [part for part in (f"run {baseline['run']}" if baseline.get("run") else "",
                                 f"commit {baseline['commit'][:12]}" if baseline.get("commit") else "") if part]
    if details:
        head += f" ({', '.join(details)})"
    lines = [head]
    if comparison.get("baselines", 1) > 1:
        lines.append(f"  spread of {comparison['baselines']} baselines shown where this run falls inside it")
    lines += [_paint(f"  WARNING {warning}", YELLOW, colour) for warning in comparison["warnings"]]
    table: list[tuple[list[str], int]] = []
    endpoints = [row for row in comparison["rows"] if row["side"] == "both"][:max_endpoints]
    hidden = sum(1 for row in comparison["rows"] if row["side"] == "both") - len(endpoints)
    total = [row for row in comparison["rows"] if row["side"] == "total"]
    for row in endpoints + total:
        for metric_name, cell in row["metrics"].items():
            metric = metric_named(metric_name)
            assert metric is not None
            table.append(([row["method"], row["name"], metric_name, metric.format(cell["baseline"]),
                           metric.format(cell["current"]), metric.format_change(cell["change"]),
                           _relative(cell["relative"]), _note(cell, metric_name, comparison.get("baselines", 1))],
                          _direction(metric_name, cell)))
    widths = [max(len(COLUMNS[i]), *(len(cells[i]) for cells, _ in table)) for i in range(len(COLUMNS))]
    widths[1] = min(widths[1], 50)

    def fmt(cells: list[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            if i == 1 and len(cell) > widths[1]:
                cell = cell[: widths[1] - 1] + "…"
            out.append(cell.ljust(widths[i]) if i in (0, 1, 2, 7) else cell.rjust(widths[i]))
        return "  ".join(out).rstrip()

    lines += ["  " + fmt(list(COLUMNS)), "  " + "-" * len(fmt(list(COLUMNS)))]
    for cells, direction in table:
        colour_code = RED if direction < 0 else GREEN if direction > 0 else ""
        lines.append(_paint("  " + fmt(cells), colour_code, colour))
    if hidden > 0:
        lines.append(f"  ... {hidden} more endpoints in both runs (see --load-html / --load-json)")
    if comparison["only_current"]:
        lines.append("  only in this run: " + ", ".join(comparison["only_current"]))
    if comparison["only_baseline"]:
        lines.append("  only in the baseline: " + ", ".join(comparison["only_baseline"]))
    return lines


def _paint(text: str, code: str, colour: bool) -> str:
    return f"{code}{text}{RESET}" if colour and code else text

