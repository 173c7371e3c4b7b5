"""CSV outputs: ``PREFIX_stats.csv``, ``PREFIX_stats_history.csv``, ``PREFIX_failures.csv``,
``PREFIX_exceptions.csv``, with Locust-compatible column names.

Numbers are written at full precision (Python's shortest round-trip form), so
they equal the JSON report's to the last digit. Text cells that a spreadsheet
would run as a formula are neutralised (:func:`spreadsheet_safe`); numbers are
left as they are.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from ..stats import percentile_label
from .data import HISTORY_PERCENTILE_PREFIX, REPORT_PERCENTILES

STATS_COLUMNS = [
    "Type", "Name", "Request Count", "Failure Count", "Median Response Time", "Average Response Time",
    "Min Response Time", "Max Response Time", "Average Content Size", "Requests/s", "Failures/s",
    *(f"{percentile_label(q)}%" for q in REPORT_PERCENTILES),
]
FAILURES_COLUMNS = ["Method", "Name", "Error", "Occurrences"]
EXCEPTIONS_COLUMNS = ["Count", "Message", "Traceback", "Nodes"]

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


def history_columns(percentiles: Sequence[float]) -> list[str]:
    return [
        "Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s",
        *(f"{percentile_label(q)}%" for q in percentiles),
        "Total Request Count", "Total Failure Count", "Total Average Response Time",
    ]


def history_percentiles_of(rows: Iterable[Mapping[str, Any]], default: Sequence[float]) -> list[float]:
    """The percentiles history rows carry (``response_time_percentile_0.95`` -> 0.95)."""
    for row in rows:
        found = [float(k[len(HISTORY_PERCENTILE_PREFIX):]) for k in row if k.startswith(HISTORY_PERCENTILE_PREFIX)]
        return sorted(found)
    return list(default)


def history_csv_row(row: Mapping[str, Any], percentiles: Sequence[float]) -> list[Any]:
    return [
        int(row["time"]), row["user_count"], "", "Aggregated", row["current_rps"], row["current_fail_per_sec"],
        *(row.get(f"{HISTORY_PERCENTILE_PREFIX}{q}", 0.0) for q in percentiles),
        row["num_requests"], row["num_failures"], row["total_avg_response_time"],
    ]


def _stats_row(entry: Mapping[str, Any]) -> list[Any]:
    return [
        entry["method"], entry["name"], entry["num_requests"], entry["num_failures"],
        entry["median_response_time"], entry["avg_response_time"], entry["min_response_time"],
        entry["max_response_time"], entry["avg_content_length"], entry["total_rps"], entry["total_fail_per_sec"],
        *(entry["percentiles"][percentile_label(q)] for q in REPORT_PERCENTILES),
    ]


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
    return _write(path, FAILURES_COLUMNS, ([f["method"], f["name"], f["error"], f["occurrences"]]
                                          for f in data["failures"]))


def write_exceptions_csv(data: Mapping[str, Any], path: Path) -> Path:
    return _write(path, EXCEPTIONS_COLUMNS, ([e["count"], e["msg"], e["traceback"], ", ".join(e["nodes"])]
                                            for e in data["exceptions"]))


def write_history_csv(data: Mapping[str, Any], path: Path, default_percentiles: Sequence[float]) -> Path:
    """The history CSV from a document, after the run: one line per document row, so a long run's
    older rows come as the summaries the document holds (their averages). A run's own CSV is
    streamed instead (:class:`HistoryCsvWriter`), every sampled row at full resolution."""
    percentiles = history_percentiles_of(data["history"], default_percentiles)
    return _write(path, history_columns(percentiles), (history_csv_row(r, percentiles) for r in data["history"]))


class HistoryCsvWriter:
    """Appends history rows to ``PREFIX_stats_history.csv`` as the run goes, flushing each one,
    so a run that dies half-way leaves every row sampled so far on disk."""

    def __init__(self, path: Path, percentiles: Sequence[float]) -> None:
        self.path = path
        self.percentiles = list(percentiles)
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
        self._writer.writerow(_safe_row(history_csv_row(row, self.percentiles)))
        self._handle.flush()
        self.rows_written += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
