"""Reports of a load run: a self-contained HTML page, CSV files and a JSON document.

Everything is produced from one JSON-able *report document*
(:func:`build_report_data`), so the outputs agree with each other and the HTML
can be rebuilt later from a saved JSON file alone (``python -m
pytest_loadhooks.report report.json report.html``).

Typical use (what the pytest plugin does)::

    writer = ReportWriter(html="report.html", csv_prefix="out/run", json_path="report.json")
    writer.attach(environment.runner)        # before the run: history CSV rows stream to disk
    environment.runner.run(10, 5, 60)
    paths = writer.finish(environment, run_info)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .csv_output import (
    HistoryCsvWriter,
    csv_paths,
    write_exceptions_csv,
    write_failures_csv,
    write_history_csv,
    write_stats_csv,
    with_run_details,
)
from .data import SCHEMA_VERSION, SECRET_MASK, build_report_data, load_schema, read_json, write_json
from .redact import mask_url_credentials

__all__ = [
    "SCHEMA_VERSION", "SECRET_MASK", "ReportWriter", "build_report_data", "load_schema", "mask_url_credentials",
    "read_json", "write_csv_files", "write_html", "write_json",
]


def write_html(data: Mapping[str, Any], path: str | Path) -> Path:
    """Write the self-contained HTML report of a report document (see :mod:`.html`)."""
    from .html import write_html as _write_html  # jinja2 is imported only when a page is written

    return _write_html(data, path)


def write_csv_files(data: Mapping[str, Any], prefix: str | Path, *, history: bool = True) -> list[Path]:
    """Write ``PREFIX_stats.csv``, ``PREFIX_failures.csv``, ``PREFIX_exceptions.csv`` and, unless
    ``history=False`` (it was streamed during the run), ``PREFIX_stats_history.csv``."""
    paths = csv_paths(prefix)
    written = [
        write_stats_csv(data, paths["stats"]),
        write_failures_csv(data, paths["failures"]),
        write_exceptions_csv(data, paths["exceptions"]),
    ]
    if history:
        written.insert(1, write_history_csv(data, paths["stats_history"]))
    return written


class ReportWriter:
    """Writes the outputs a run asked for: ``html`` (a file path), ``csv_prefix``, ``json_path``."""

    def __init__(self, html: str | Path | None = None, csv_prefix: str | Path | None = None,
                 json_path: str | Path | None = None) -> None:
        self.html = Path(html) if html else None
        self.csv_prefix = str(csv_prefix) if csv_prefix else None
        self.json_path = Path(json_path) if json_path else None
        self._history: HistoryCsvWriter | None = None
        self._runner: Any = None

    @property
    def requested(self) -> bool:
        return bool(self.html or self.csv_prefix or self.json_path)

    def attach(self, runner: Any) -> None:
        """Before the run starts: open ``PREFIX_stats_history.csv`` and append a row (flushed) per
        history sample, so a run that dies half-way still leaves the rows so far."""
        if self.csv_prefix is None or self._history is not None:
            return
        self._history = HistoryCsvWriter(csv_paths(self.csv_prefix)["stats_history"], stats=runner.stats)
        self._runner = runner
        runner.history_listeners.append(self._history)

    def detach(self) -> None:
        """Stop streaming history rows and close the history file (``finish`` does this)."""
        if self._runner is not None and self._history in self._runner.history_listeners:
            self._runner.history_listeners.remove(self._history)
        self._runner = None
        if self._history is not None:
            self._history.close()

    def finish(self, environment: Any, run_info: Mapping[str, Any] | None = None) -> list[Path]:
        """After the run: write every requested file; returns their paths."""
        streamed = self._history is not None
        self.detach()
        if not self.requested:
            return []
        data = build_report_data(environment, run_info or {})
        written: list[Path] = []
        if self.csv_prefix is not None:
            # Locust's CSV files hold details the document does not keep (failure times, exception messages).
            csv_data = with_run_details(data, environment.stats)
            written += write_csv_files(csv_data, self.csv_prefix, history=not streamed)
            if streamed:
                written.insert(1, self._history.path)
        if self.json_path is not None:
            written.append(write_json(data, self.json_path))
        if self.html is not None:
            written.append(write_html(data, self.html))
        return written
