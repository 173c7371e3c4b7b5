"""The self-contained HTML report, rendered from the report document alone.

Tables are rendered here with Jinja2 (autoescaping every value), charts in the
browser by ``charts.js`` (the chart module the web UI shares) on uPlot, vendored
under ``vendor/uplot`` with its licence and inlined, so the file needs no network
and stays small (about 60 KB of script, where plotly.js was 4.6 MB). Chart data
travels in a ``<script type="application/json">`` block written with Jinja2's
``tojson`` (which escapes ``<``, ``>``, ``&`` and ``'``, so neither ``</script>``
nor ``<!--`` in a request name can end it); uPlot puts text on a canvas or in
``textContent`` only, so chart labels need no further escaping. Numbers, times, the history's
chart series and the templates come from :mod:`.format`, which the web UI's dashboard shares.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from .comparison_view import comparison_section, overlay_charts
from .data import rate_setting
from .open_model_view import open_model_charts
from .format import (
    fmt_bytes,
    fmt_duration,
    fmt_int,
    fmt_ms,
    fmt_number,
    fmt_percent,
    fmt_rate,
    fmt_time,
    package_template,
    package_text,
    peak_of,
    timeline,
)

DISTRIBUTION_TOP_N = 12
"""Response-time distribution charts are drawn for the busiest endpoints only (the table lists all)."""
DISTRIBUTION_MAX_BINS = 20
BIG_TABLE = 300
"""Tables with more rows than this render rows lazily, as they scroll into view."""

STATUS_LABELS = {"passed": "Passed", "failed": "Failed", "stopped": "Stopped early", "errored": "Errored",
                 "interrupted": "Interrupted"}


# -- response-time distribution from a histogram --

def _nice(value: float) -> float:
    """Round to three significant digits (the histogram's own precision)."""
    if value <= 0:
        return 0.0
    digits = 2 - math.floor(math.log10(value))
    return round(value, digits)


def fmt_edge(value: float) -> str:
    """A bin edge in ms, three significant digits (the histogram's precision)."""
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def distribution_bins(histogram: Sequence[Sequence[float]], max_bins: int = DISTRIBUTION_MAX_BINS) -> dict[str, list]:
    """Regroup a ``[[ms, count], ...]`` histogram into at most ``max_bins`` readable bins.

    Few distinct values are shown as they are; otherwise bins are spaced
    logarithmically (response times are skewed) or linearly for a narrow range.
    Returns ``{"labels": [...], "ranges": [...], "counts": [...], "low": [...], "high": [...]}``:
    a label is a bin's lower edge (unique, as the chart's category axis needs), a range its full span.
    """
    pairs = sorted((float(ms), int(count)) for ms, count in histogram if count > 0)
    if not pairs:
        return {"labels": [], "ranges": [], "counts": [], "low": [], "high": []}
    if len(pairs) <= max_bins:
        labels = _unique([fmt_edge(ms) for ms, _ in pairs])
        return {
            "labels": labels,
            "ranges": [f"{fmt_edge(ms)} ms" for ms, _ in pairs],
            "counts": [count for _, count in pairs],
            "low": [ms for ms, _ in pairs],
            "high": [ms for ms, _ in pairs],
        }
    low, high = pairs[0][0], pairs[-1][0]
    floor = low if low > 0 else next((ms for ms, _ in pairs if ms > 0), 0.001)
    if high / floor > 4:
        ratio = (high / floor) ** (1 / max_bins)
        inner = [floor * ratio ** i for i in range(1, max_bins)]
    else:
        step = (high - low) / max_bins
        inner = [low + step * i for i in range(1, max_bins)]
    edges = sorted({_nice(e) for e in inner if low < _nice(e) < high})
    edges = [low, *edges, high]
    counts = [0] * (len(edges) - 1)
    for ms, count in pairs:
        index = min(bisect.bisect_right(edges, ms) - 1, len(counts) - 1)
        counts[index] += count
    return {
        "labels": _unique([fmt_edge(edges[i]) for i in range(len(counts))]),
        "ranges": [f"{fmt_edge(edges[i])}–{fmt_edge(edges[i + 1])} ms" for i in range(len(counts))],
        "counts": counts,
        "low": edges[:-1],
        "high": edges[1:],
    }


def _unique(labels: list[str]) -> list[str]:
    """Labels made unique (a category axis would merge equal ones into one bar)."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        if label in seen:
            seen[label] += 1
            out.append(f"{label} ({seen[label]})")
        else:
            seen[label] = 1
            out.append(label)
    return out


# -- the view model --

def _row(entry: Mapping[str, Any]) -> dict[str, Any]:
    p = entry["percentiles"]
    return {
        "method": entry["method"],
        "name": entry["name"],
        "requests": fmt_int(entry["num_requests"]),
        "failures": fmt_int(entry["num_failures"]),
        "has_failures": entry["num_failures"] > 0,
        "fail_percent": fmt_percent(entry["fail_ratio"]),
        "avg": fmt_ms(entry["avg_response_time"]),
        "min": fmt_ms(entry["min_response_time"]),
        "max": fmt_ms(entry["max_response_time"]),
        "median": fmt_ms(entry["median_response_time"]),
        "p90": fmt_ms(p.get("90")),
        "p95": fmt_ms(p.get("95")),
        "p99": fmt_ms(p.get("99")),
        "avg_size": fmt_bytes(entry["avg_content_length"]),
        "rps": fmt_rate(entry["total_rps"]),
    }


def _distribution(entry: Mapping[str, Any], chart_id: str, label: str) -> dict[str, Any]:
    bins = distribution_bins(entry["response_times"])
    total = max(entry["num_requests"], 1)
    return {
        "id": chart_id,
        "label": label,
        "method": entry["method"],
        "name": entry["name"],
        "requests": fmt_int(entry["num_requests"]),
        "median": fmt_ms(entry["median_response_time"]),
        "p95": fmt_ms(entry["percentiles"].get("95")),
        "p99": fmt_ms(entry["percentiles"].get("99")),
        "chart": {
            "id": chart_id,
            "title": label,
            "labels": bins["labels"],
            "ranges": bins["ranges"],
            "counts": bins["counts"],
            "shares": [round(100 * c / total, 2) for c in bins["counts"]],
        },
    }


def _latency_kpis(total: Mapping[str, Any]) -> list[dict[str, Any]]:
    figures = [("Median", total["median_response_time"]), ("95th percentile", total["percentiles"].get("95")),
               ("99th percentile", total["percentiles"].get("99"))]
    if not total["num_requests"]:  # no requests: no response times, rather than a misleading 0 ms
        return [{"label": label, "value": "–", "unit": ""} for label, _ in figures]
    return [{"label": label, "value": fmt_ms(value), "unit": "ms"} for label, value in figures]


def status_reasons(data: Mapping[str, Any]) -> list[str]:
    """What the document shows behind a status that is not *passed* (the status itself is the caller's
    verdict, taken as it is; this only points at the evidence)."""
    run = data["run"]
    if run["status"] == "passed":
        return []
    checks = len(run.get("run_failures") or ())  # each is listed in full under the status
    reasons = [f"{checks} run check{'s' if checks > 1 else ''} failed"] if checks else []
    if run.get("stopped"):
        reasons.append(run["stopped"])
    failed = sum(1 for t in data["thresholds"] if not t["passed"])
    if failed:
        reasons.append(f"{failed} of {len(data['thresholds'])} threshold{'s' if len(data['thresholds']) > 1 else ''} "
                       "missed")
    errors = sum(int(e.get("count") or 1) for e in data["listener_errors"])
    if errors:
        reasons.append(f"{errors} listener error{'s' if errors > 1 else ''}")
    return reasons


def view_model(data: Mapping[str, Any]) -> dict[str, Any]:
    run = data["run"]
    total = data["total"]
    entries = data["stats"]
    history = data["history"]
    peak_users = max([run["users"], *(peak_of(r, "user_count") for r in history)])
    busiest = sorted(entries, key=lambda e: (-e["num_requests"], e["name"], e["method"]))[:DISTRIBUTION_TOP_N]
    distributions = []
    if total["num_requests"]:
        distributions.append(_distribution(total, "dist-total", "All requests"))
    for index, entry in enumerate(busiest):
        label = f"{entry['method']} {entry['name']}".strip()
        distributions.append(_distribution(entry, f"dist-{index}", label))
    thresholds = data["thresholds"]
    return {
        "data": data,
        "run": run,
        "status": run["status"],
        "status_label": STATUS_LABELS.get(run["status"], str(run["status"]).title()),
        "status_reasons": status_reasons(data),
        "run_failures": list(run.get("run_failures") or ()),
        "run_warnings": list(run.get("warnings") or ()),
        "run_time": fmt_duration(run["run_time"]) if run["run_time"] is not None else "until stopped",
        "rate_setting": rate_setting(run),  # an open-model run shows its rate and pool, not users and spawn rate
        "started": fmt_time(run["started_at"]),
        "ended": fmt_time(run["ended_at"]),
        "generated": fmt_time(data.get("generated_at")),
        "duration": fmt_duration(run["duration"]),
        "kpis": [{"bad": False, **kpi} for kpi in [
            {"label": "Requests", "value": fmt_int(total["num_requests"]), "unit": ""},
            {"label": "Failures", "value": fmt_int(total["num_failures"]),
             "unit": f"{fmt_percent(total['fail_ratio'])} %", "bad": total["num_failures"] > 0},
            {"label": "Throughput", "value": fmt_rate(total["total_rps"]), "unit": "req/s"},
            *_latency_kpis(total),
            {"label": "Peak users", "value": fmt_int(peak_users), "unit": ""},
            {"label": "Duration", "value": fmt_duration(run["duration"]), "unit": ""},
        ]],
        "thresholds": [
            {**t, "measured_text": fmt_number(t["measured"]), "limit_text": fmt_number(t["limit"])} for t in thresholds
        ],
        "thresholds_failed": sum(1 for t in thresholds if not t["passed"]),
        "rows": [_row(e) for e in entries],
        "total_row": _row(total),
        "distributions": distributions,
        "distribution_top_n": DISTRIBUTION_TOP_N,
        "big_table": BIG_TABLE,
        "endpoint_count": len(entries),
        "failures": [{**f, "occurrences_text": fmt_int(f["occurrences"])} for f in data["failures"]],
        "exceptions": [{**e, "count_text": fmt_int(e["count"])} for e in data["exceptions"]],
        "custom_arguments": data["custom_arguments"],
        "listener_errors": data["listener_errors"],
        "workers": data.get("workers"),  # distributed runs only
        "open_model": data.get("open_model"),  # open-model runs only
        "charts": {
            "timeline": timeline(history),
            "distributions": [d["chart"] for d in distributions],
            # --load-compare: this run over its baseline; an open-model run: its rate and latency over time
            "overlays": overlay_charts(data) + open_model_charts(data),
        },
        "comparison_section": comparison_section(data),
    }


# -- rendering --

_SCRIPT_END = re.compile(r"</(script)", re.IGNORECASE)


def _inline_script(source: str) -> str:
    """JavaScript safe to put between <script> tags: no ``</script`` or ``<!--`` can end or confuse the block."""
    return _SCRIPT_END.sub(r"<\\/\1", source).replace("<!--", "<\\!--")


@lru_cache(maxsize=1)
def page_scripts() -> tuple[str, ...]:
    """The page's scripts, in order: uPlot (vendored), the shared chart module, the report's own."""
    sources = (package_text("vendor", "uplot", "uPlot.iife.min.js"), package_text("charts.js"),
               package_text("report.js"))
    return tuple(_inline_script(source) for source in sources)


@lru_cache(maxsize=1)
def chart_css() -> str:
    """uPlot's stylesheet (vendored, static: it holds no ``</style``)."""
    return package_text("vendor", "uplot", "uPlot.min.css")


def render_html(data: Mapping[str, Any]) -> str:
    """The report page as a string."""
    from markupsafe import Markup

    scripts = page_scripts()
    return package_template("template.html").render(
        **view_model(data),
        chart_css=Markup(chart_css()),
        scripts=[Markup(source) for source in scripts],
        content_security_policy=content_security_policy(scripts),
    )


def content_security_policy(scripts: Sequence[str]) -> str:
    """The page's CSP: only these exact inline scripts run (so an injected one or an ``onerror=`` could not),
    and nothing is fetched from anywhere."""
    hashes = " ".join(f"'sha256-{_sha256(source)}'" for source in scripts)
    return (f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data: blob:; "
            "font-src data:; base-uri 'none'; form-action 'none'")


def _sha256(source: str) -> str:
    import base64
    import hashlib

    return base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii")


def write_html(data: Mapping[str, Any], path: str | Path) -> Path:
    """Write the self-contained HTML report of a report document; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(data), encoding="utf-8")
    return path
