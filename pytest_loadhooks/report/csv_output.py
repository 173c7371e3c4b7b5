"""CSV outputs: ``PREFIX_stats.csv``, ``PREFIX_stats_history.csv``, ``PREFIX_failures.csv``,
``PREFIX_exceptions.csv``, in Locust's layout: its column names and order, and its number formats,
so that a script written for Locust's CSV files reads these unchanged.

Locust's formats: medians and percentiles are whole milliseconds (ints; ``N/A`` for an entry with
no request), averages, min, max and rates are floats at full precision (``0`` for min, max and
content size when nothing was measured), the history's rates have six decimals, failure times are
``YYYY-MM-DDTHH:MM:SSZ`` (UTC). The JSON document and the HTML report keep every figure as
measured; only these files round as Locust does. Text cells that a spreadsheet would run as a
formula are neutralised (:func:`spreadsheet_safe`); numbers are left as they are.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from ..stats import percentile_label
from .data import HISTORY_PERCENTILE_PREFIX, REPORT_PERCENTILES

STATS_COLUMNS = [
    "Type", "Name", "Request Count", "Failure Count", "Median Response Time", "Average Response Time",
    "Min Response Time", "Max Response Time", "Average Content Size", "Requests/s", "Failures/s",
    *(f"{percentile_label(q)}%" for q in REPORT_PERCENTILES),
]
FAILURES_COLUMNS = ["Method", "Name", "Error", "Occurrences", "First Seen", "Last Seen"]
EXCEPTIONS_COLUMNS = ["Count", "Message", "Traceback", "Nodes"]
NOT_MEASURED = "N/A"
"""What Locust writes for the percentiles of an entry without requests."""

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""What a text cell may not start with: Excel, LibreOffice and Google Sheets read such a cell as a
formula (CSV injection: a request name like ``=HYPERLINK(...)`` would run when the file is opened)."""


def spreadsheet_safe(cell: Any) -> Any:
    """A cell as it can go into a CSV file: text starting with a formula trigger gets a leading ``'``
    (OWASP's advice: spreadsheets show the text as it is, the quote hidden). Numbers, negative ones
    included, stay numbers; only text is changed, so ``-1`` the number is kept and ``-cmd`` the name is not."""
    if isinstance(cell, str) and cell.startswith(FORMULA_TRIGGERS):
        return "'" + cell
    return cell


def _safe_row(row: Iterable[Any]) -> list[Any]:
    return [spreadsheet_safe(cell) for cell in row]


def csv_paths(prefix: str | Path) -> dict[str, Path]:
    """The four files of a CSV prefix (``out/run`` -> ``out/run_stats.csv``, ...)."""
    prefix = str(prefix)
    return {kind: Path(f"{prefix}_{kind}.csv") for kind in ("stats", "stats_history", "failures", "exceptions")}


def history_columns(percentiles: Sequence[float] = REPORT_PERCENTILES) -> list[str]:
    return [
        "Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s",
        *(f"{percentile_label(q)}%" for q in percentiles),
        "Total Request Count", "Total Failure Count", "Total Median Response Time", "Total Average Response Time",
        "Total Min Response Time", "Total Max Response Time", "Total Average Content Size",
    ]


def whole_ms(value: float) -> int:
    """A time as Locust's CSV writes medians and percentiles: whole milliseconds, an int."""
    return round(value)


def utc_time(epoch: float | None) -> str:
    """A failure's first or last time as Locust writes it (whole seconds, UTC); empty when unknown."""
    if epoch is None:
        return ""
    return datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def six_decimals(rate: float) -> str:
    """A history rate as Locust writes it (``1.500000``)."""
    return f"{rate:2f}"


def _percentile_cells(num_requests: int, value_of: Callable[[float], float],
                      percentiles: Sequence[float]) -> list[Any]:
    if not num_requests:
        return [NOT_MEASURED] * len(percentiles)
    return [whole_ms(value_of(q)) for q in percentiles]


def _history_totals(num_requests: int, median: float, average: float, low: float | None, high: float,
                    content: float) -> list[Any]:
    """The history's Total Median ... Total Average Content Size cells, in Locust's types (0 when
    nothing was measured: Locust's initial ints)."""
    return [whole_ms(median), average, low or 0, high or 0, content if num_requests else 0]


def history_csv_row(row: Mapping[str, Any], percentiles: Sequence[float] = REPORT_PERCENTILES,
                    stats: Any = None) -> list[Any]:
    """One history line. Its percentiles are those of the last seconds (the window of the current
    RPS, as the document's history and the charts), its Total columns the run's so far. With the run's
    ``stats`` (while it goes) every column is filled; from a saved document's row alone, what the
    document keeps: the 50 %/95 % and the counts and average, other cells empty."""
    head = [int(row["time"]), row["user_count"], "", "Aggregated", six_decimals(row["current_rps"]),
            six_decimals(row["current_fail_per_sec"])]
    counts = [row["num_requests"], row["num_failures"]]
    if stats is not None:
        total = stats.total
        window = stats.windowed_percentiles(percentiles, row["time"])
        cells = _percentile_cells(total.num_requests, window.__getitem__, percentiles)
        totals = _history_totals(total.num_requests, total.exact_median_response_time, total.avg_response_time,
                                 total.min_response_time, total.max_response_time, total.avg_content_length)
        return [*head, *cells, *counts, *totals]
    cells = []
    for q in percentiles:
        value = row.get(f"{HISTORY_PERCENTILE_PREFIX}{q}")
        cells.append("" if value is None else NOT_MEASURED if not row["num_requests"] else whole_ms(value))
    return [*head, *cells, *counts, "", row["total_avg_response_time"], "", "", ""]


def _stats_row(entry: Mapping[str, Any]) -> list[Any]:
    measured = entry["num_requests"]
    return [
        entry["method"], entry["name"], measured, entry["num_failures"],
        whole_ms(entry["median_response_time"]), entry["avg_response_time"], entry["min_response_time"] or 0,
        entry["max_response_time"] or 0, entry["avg_content_length"] if measured else 0, entry["total_rps"],
        entry["total_fail_per_sec"],
        *_percentile_cells(measured, lambda q: entry["percentiles"][percentile_label(q)], REPORT_PERCENTILES),
    ]


def _failure_row(failure: Mapping[str, Any]) -> list[Any]:
    return [failure["method"], failure["name"], failure["error"], failure["occurrences"],
            utc_time(failure.get("first_seen")), utc_time(failure.get("last_seen"))]


def _write(path: Path, header: list[str], rows: Iterable[list[Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(_safe_row(row) for row in rows)
    return path


def write_stats_csv(data: Mapping[str, Any], path: Path) -> Path:
    return _write(path, STATS_COLUMNS, [*(_stats_row(e) for e in data["stats"]), _stats_row(data["total"])])


def write_failures_csv(data: Mapping[str, Any], path: Path) -> Path:
    """The failures, with their first and last times when the rows carry them (a run's own CSV, see
    :func:`with_run_details`); a document read back from JSON does not keep them: empty cells."""
    return _write(path, FAILURES_COLUMNS, (_failure_row(f) for f in data["failures"]))


def with_run_details(data: Mapping[str, Any], stats: Any) -> dict[str, Any]:
    """``data`` with what Locust's CSV files hold and the document does not keep, from the run's
    ``stats``: each failure's ``first_seen`` / ``last_seen`` (matched by method, name and error
    text) and each exception's Locust message, ``str(exception)`` (matched by traceback), where
    the document keeps its repr. For the CSV files only: the document itself is left as it is."""
    times = {(r["method"], r["name"], r["error"]): (r.first_seen, r.last_seen) for r in stats.errors.values()}
    failures = []
    for row in data["failures"]:
        first, last = times.get((row["method"], row["name"], row["error"]), (None, None))
        failures.append({**row, "first_seen": first, "last_seen": last})
    messages = {r["traceback"]: r["message"] for r in stats.exceptions.values() if "message" in r}
    exceptions = [{**row, "msg": messages.get(row["traceback"], row["msg"])} for row in data["exceptions"]]
    return {**data, "failures": failures, "exceptions": exceptions}


def write_exceptions_csv(data: Mapping[str, Any], path: Path) -> Path:
    """The exceptions; the Message column is Locust's ``str(exception)`` when the rows went through
    :func:`with_run_details`, else the document's ``msg`` (the exception's repr)."""
    return _write(path, EXCEPTIONS_COLUMNS, ([e["count"], e["msg"], e["traceback"], ", ".join(e["nodes"])]
                                            for e in data["exceptions"]))


def write_history_csv(data: Mapping[str, Any], path: Path,
                      percentiles: Sequence[float] = REPORT_PERCENTILES) -> Path:
    """The history CSV from a document, after the run: one line per document row, so a long run's
    older rows come as the summaries the document holds (their averages), and only the figures the
    document keeps (see :func:`history_csv_row`). A run's own CSV is streamed instead
    (:class:`HistoryCsvWriter`), every sampled row at full resolution with Locust's every column."""
    return _write(path, history_columns(percentiles), (history_csv_row(r, percentiles) for r in data["history"]))


class HistoryCsvWriter:
    """Appends history rows to ``PREFIX_stats_history.csv`` as the run goes, flushing each one,
    so a run that dies half-way leaves every row sampled so far on disk. Given the run's
    ``stats``, each line has every one of Locust's columns (see :func:`history_csv_row`)."""

    def __init__(self, path: Path, percentiles: Sequence[float] = REPORT_PERCENTILES, stats: Any = None) -> None:
        self.path = path
        self.percentiles = list(percentiles)
        self.stats = stats
        path.parent.mkdir(parents=True, exist_ok=True)
        # Stays open for the whole run (closed by close()), so no context manager here.
        self._handle: IO[str] | None = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._handle)
        self._writer.writerow(history_columns(self.percentiles))
        self._handle.flush()
        self.rows_written = 0

    def __call__(self, row: Mapping[str, Any]) -> None:
        if self._handle is None:
            return
        self._writer.writerow(_safe_row(history_csv_row(row, self.percentiles, self.stats)))
        self._handle.flush()
        self.rows_written += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
