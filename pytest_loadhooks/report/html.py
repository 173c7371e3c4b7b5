"""The self-contained HTML report, rendered from the report document alone.

Tables are rendered here with Jinja2 (autoescaping every value), charts in the
browser by ``charts.js`` (the chart module the web UI shares) on uPlot, vendored
under ``vendor/uplot`` with its licence and inlined, so the file needs no network
and stays small (about 60 KB of script, where plotly.js was 4.6 MB). Chart data
travels in a ``<script type="application/json">`` block written with Jinja2's
``tojson`` (which escapes ``<``, ``>``, ``&`` and ``'``, so neither ``</script>``
nor ``<!--`` in a request name can end it); uPlot puts text on a canvas or in
``textContent`` only, so chart labels need no further escaping.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import math
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from .comparison_view import comparison_section, overlay_charts

DISTRIBUTION_TOP_N = 12
"""Response-time distribution charts are drawn for the busiest endpoints only (the table lists all)."""
DISTRIBUTION_MAX_BINS = 20
TIMELINE_MAX_POINTS = 2000
"""Charts over time draw at most this many points (a day-long run has 86,400 history rows)."""
BIG_TABLE = 300
"""Tables with more rows than this render rows lazily, as they scroll into view."""

STATUS_LABELS = {"passed": "Passed", "failed": "Failed", "stopped": "Stopped early", "errored": "Errored",
                 "interrupted": "Interrupted"}


# -- formatting (what a person reads; the JSON keeps full precision) --

def fmt_int(value: Any) -> str:
    return f"{int(value or 0):,}"


def fmt_ms(value: Any) -> str:
    value = float(value or 0.0)
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def fmt_rate(value: Any) -> str:
    value = float(value or 0.0)
    return f"{value:,.1f}" if value >= 100 else f"{value:.2f}"


def fmt_percent(ratio: Any) -> str:
    return f"{float(ratio or 0.0) * 100:.2f}"


def fmt_bytes(value: Any) -> str:
    return f"{float(value or 0.0):,.0f}"


def fmt_number(value: Any) -> str:
    if value is None:
        return "–"
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4g}"


def fmt_duration(seconds: Any) -> str:
    if seconds is None:
        return "–"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {secs:02d} s"
    return f"{minutes} min {secs:02d} s"


def fmt_time(epoch: Any) -> str:
    if epoch is None:
        return "–"
    moment = _dt.datetime.fromtimestamp(float(epoch)).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


CHART_TIME_ZONE = "UTC"
"""Chart times are wall-clock seconds of the machine that wrote the report, shown as if in UTC,
so the charts read the same times as the header, wherever the page is opened."""


def _chart_time(epoch: float) -> float:
    """Epoch seconds moved by this machine's UTC offset at that moment (see CHART_TIME_ZONE)."""
    offset = _dt.datetime.fromtimestamp(float(epoch)).astimezone().utcoffset() or _dt.timedelta(0)
    return round(float(epoch) + offset.total_seconds(), 3)


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


def _samples(row: Mapping[str, Any]) -> int:
    """How many sampled rows a history row stands for (a summary of a long run's older rows: several)."""
    return int(row.get("samples", 1))


def _peak_of(row: Mapping[str, Any], key: str) -> float:
    """A row's highest value of ``key``: a summary row's ``max``, a sampled row's own value."""
    return (row.get("max") or row).get(key, row.get(key, 0.0))


def _timeline(history: Sequence[Mapping[str, Any]], max_points: int = TIMELINE_MAX_POINTS) -> dict[str, list]:
    """Chart series from the history rows; a long run's rows are merged into at most ``max_points``
    (rates averaged over the samples the rows stand for, users and percentiles taking the bucket's
    maximum, a summary row's ``max`` included, so spikes stay visible)."""
    size = max(1, math.ceil(len(history) / max_points))
    buckets = [history[i:i + size] for i in range(0, len(history), size)]

    def mean(rows: Sequence[Mapping[str, Any]], key: str) -> float:
        return round(sum(r[key] * _samples(r) for r in rows) / sum(_samples(r) for r in rows), 3)

    def peak(rows: Sequence[Mapping[str, Any]], key: str) -> float:
        return max(_peak_of(r, key) for r in rows)

    return {
        "time_zone": CHART_TIME_ZONE,
        "time": [_chart_time(rows[-1]["time"]) for rows in buckets],
        "users": [peak(rows, "user_count") for rows in buckets],
        "rps": [mean(rows, "current_rps") for rows in buckets],
        "fails": [mean(rows, "current_fail_per_sec") for rows in buckets],
        "p50": [peak(rows, "response_time_percentile_0.5") for rows in buckets],
        "p95": [peak(rows, "response_time_percentile_0.95") for rows in buckets],
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
    peak_users = max([run["users"], *(_peak_of(r, "user_count") for r in history)])
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
        "charts": {
            "timeline": _timeline(history),
            "distributions": [d["chart"] for d in distributions],
            "overlays": overlay_charts(data),  # --load-compare: this run over its baseline
        },
        "comparison_section": comparison_section(data),
    }


# -- rendering --

_SCRIPT_END = re.compile(r"</(script)", re.IGNORECASE)


def _inline_script(source: str) -> str:
    """JavaScript safe to put between <script> tags: no ``</script`` or ``<!--`` can end or confuse the block."""
    return _SCRIPT_END.sub(r"<\\/\1", source).replace("<!--", "<\\!--")


def _package_text(*parts: str) -> str:
    from importlib import resources

    return resources.files(__package__).joinpath(*parts).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def page_scripts() -> tuple[str, ...]:
    """The page's scripts, in order: uPlot (vendored), the shared chart module, the report's own."""
    sources = (_package_text("vendor", "uplot", "uPlot.iife.min.js"), _package_text("charts.js"),
               _package_text("report.js"))
    return tuple(_inline_script(source) for source in sources)


@lru_cache(maxsize=1)
def chart_css() -> str:
    """uPlot's stylesheet (vendored, static: it holds no ``</style``)."""
    return _package_text("vendor", "uplot", "uPlot.min.css")


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env


@lru_cache(maxsize=1)
def _template() -> Any:
    return _environment().from_string(_package_text("template.html"))


def render_html(data: Mapping[str, Any]) -> str:
    """The report page as a string."""
    from markupsafe import Markup

    scripts = page_scripts()
    return _template().render(
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
