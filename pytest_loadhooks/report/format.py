"""What the report's pages share: numbers and times as a person reads them, the chart series of a run's
history, and the page templates that ship inside this package.

The HTML report (:mod:`.html`), its comparison section (:mod:`.comparison_view`) and the web UI's
dashboard (``pytest_loadhooks.web``) all format and chart through this module, so a figure reads the
same in each. Jinja2 is imported only when a template is first used (the report package itself stays
importable without it).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

__all__ = [
    "CHART_TIME_ZONE", "TIMELINE_MAX_POINTS", "chart_time", "fmt_bytes", "fmt_duration", "fmt_int", "fmt_ms",
    "fmt_number", "fmt_percent", "fmt_rate", "fmt_time", "package_template", "package_text", "peak_of", "timeline",
]

TIMELINE_MAX_POINTS = 2000
"""Charts over time draw at most this many points (a day-long run has 86,400 history rows)."""

CHART_TIME_ZONE = "UTC"
"""Chart times are wall-clock seconds of the machine that wrote the report, shown as if in UTC,
so the charts read the same times as the header, wherever the page is opened."""


# -- numbers and times (what a person reads; the JSON keeps full precision) --

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


def chart_time(epoch: float) -> float:
    """Epoch seconds moved by this machine's UTC offset at that moment (see CHART_TIME_ZONE)."""
    offset = _dt.datetime.fromtimestamp(float(epoch)).astimezone().utcoffset() or _dt.timedelta(0)
    return round(float(epoch) + offset.total_seconds(), 3)


# -- the run's history, charted --

def _samples(row: Mapping[str, Any]) -> int:
    """How many sampled rows a history row stands for (a summary of a long run's older rows: several)."""
    return int(row.get("samples", 1))


def peak_of(row: Mapping[str, Any], key: str) -> float:
    """A history row's highest value of ``key``: a summary row's ``max``, a sampled row's own value."""
    return (row.get("max") or row).get(key, row.get(key, 0.0))


def timeline(history: Sequence[Mapping[str, Any]], max_points: int = TIMELINE_MAX_POINTS) -> dict[str, list]:
    """Chart series from the history rows (the report's charts and the live dashboard's); a long run's rows
    are merged into at most ``max_points`` (rates averaged over the samples the rows stand for, users and
    percentiles taking the bucket's maximum, a summary row's ``max`` included, so spikes stay visible)."""
    size = max(1, math.ceil(len(history) / max_points))
    buckets = [history[i:i + size] for i in range(0, len(history), size)]

    def mean(rows: Sequence[Mapping[str, Any]], key: str) -> float:
        return round(sum(r[key] * _samples(r) for r in rows) / sum(_samples(r) for r in rows), 3)

    def peak(rows: Sequence[Mapping[str, Any]], key: str) -> float:
        return max(peak_of(r, key) for r in rows)

    return {
        "time_zone": CHART_TIME_ZONE,
        "time": [chart_time(rows[-1]["time"]) for rows in buckets],
        "users": [peak(rows, "user_count") for rows in buckets],
        "rps": [mean(rows, "current_rps") for rows in buckets],
        "fails": [mean(rows, "current_fail_per_sec") for rows in buckets],
        "p50": [peak(rows, "response_time_percentile_0.5") for rows in buckets],
        "p95": [peak(rows, "response_time_percentile_0.95") for rows in buckets],
    }


# -- files shipped in this package: templates, scripts, stylesheets --

def package_text(*parts: str) -> str:
    """A text file of the report package, by its path parts (``package_text("vendor", "uplot", "uPlot.min.css")``)."""
    from importlib import resources

    return resources.files(__package__).joinpath(*parts).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _jinja_environment() -> Any:
    """The one Jinja2 environment of the report's templates: every value autoescaped, an unknown name an error."""
    import jinja2

    return jinja2.Environment(
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


@lru_cache(maxsize=None)
def package_template(name: str) -> Any:
    """The compiled Jinja2 template of a file of this package (``template.html``, ``comparison.html``)."""
    return _jinja_environment().from_string(package_text(name))
