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

from collections.abc import Callable, Mapping
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
    """Writes the outputs a run asked for: ``html`` (a file path), ``csv_prefix``, ``json_path``.

    A file that cannot be written (a full disk) does not stop the others: ``finish`` writes what it
    can and keeps one line per file that failed in :attr:`failures`; the caller marks the run
    errored and calls :meth:`rewrite`, so that the files written say so too.
    """

    def __init__(self, html: str | Path | None = None, csv_prefix: str | Path | None = None,
                 json_path: str | Path | None = None) -> None:
        self.html = Path(html) if html else None
        self.csv_prefix = str(csv_prefix) if csv_prefix else None
        self.json_path = Path(json_path) if json_path else None
        self._history: _GuardedHistory | None = None
        self._runner: Any = None
        self.failures: list[str] = []
        """One line per file that could not be written, naming its option and path."""
        self._written: list[Path] = []

    @property
    def requested(self) -> bool:
        return bool(self.html or self.csv_prefix or self.json_path)

    def attach(self, runner: Any) -> None:
        """Before the run starts: open ``PREFIX_stats_history.csv`` and append a row (flushed) per
        history sample, so a run that dies half-way still leaves the rows so far."""
        if self.csv_prefix is None or self._history is not None:
            return
        path = csv_paths(self.csv_prefix)["stats_history"]
        try:
            self._history = _GuardedHistory(HistoryCsvWriter(path, stats=runner.stats))
        except OSError as error:
            self._fail("--load-csv", path, error)
            return
        self._runner = runner
        runner.history_listeners.append(self._history)

    def detach(self) -> None:
        """Stop streaming history rows and close the history file (``finish`` does this)."""
        if self._runner is not None and self._history in self._runner.history_listeners:
            self._runner.history_listeners.remove(self._history)
        self._runner = None
        if self._history is not None:
            self._history.close()
            if self._history.error is not None:
                self._fail("--load-csv", self._history.path, self._history.error)

    def finish(self, environment: Any, run_info: Mapping[str, Any] | None = None) -> list[Path]:
        """After the run: write every requested file it can; returns the paths written (see :attr:`failures`)."""
        streamed = self._history is not None
        self.detach()
        if not self.requested:
            return []
        data = build_report_data(environment, run_info or {})
        self._written = []
        if self.csv_prefix is not None:
            # Locust's CSV files hold details the document does not keep (failure times, exception messages).
            csv_data = with_run_details(data, environment.stats)
            for kind, path in csv_paths(self.csv_prefix).items():
                if kind != "stats_history" or not streamed:
                    self._write("--load-csv", path, lambda p, k=kind: _CSV_WRITERS[k](csv_data, p))
                elif self._history is not None and self._history.error is None:  # streamed whole during the run
                    self._written.append(path)
        if self.json_path is not None:
            self._write("--load-json", self.json_path, lambda p: write_json(data, p))
        if self.html is not None:
            self._write("--load-html", self.html, lambda p: write_html(data, p))
        return list(self._written)

    def rewrite(self, environment: Any, run_info: Mapping[str, Any] | None = None) -> list[Path]:
        """Write again the files ``finish`` wrote (not the streamed history, not those that failed): after
        a failure, so that they carry the run's errored status and the failure's line."""
        data = build_report_data(environment, run_info or {})
        writers: dict[Path, tuple[str, Callable[[Path], Path]]] = {}
        if self.csv_prefix is not None:
            csv_data = with_run_details(data, environment.stats)
            for kind, path in csv_paths(self.csv_prefix).items():
                if kind != "stats_history":
                    writers[path] = ("--load-csv", lambda p, k=kind: _CSV_WRITERS[k](csv_data, p))
        if self.json_path is not None:
            writers[self.json_path] = ("--load-json", lambda p: write_json(data, p))
        if self.html is not None:
            writers[self.html] = ("--load-html", lambda p: write_html(data, p))
        written, self._written = self._written, []
        for path in written:
            if path in writers:
                self._write(writers[path][0], path, writers[path][1])
            else:
                self._written.append(path)
        return list(self._written)

    def _write(self, option: str, path: Path, write: Callable[[Path], Path]) -> None:
        try:
            write(path)
        except OSError as error:
            self._fail(option, path, error)
        else:
            self._written.append(path)

    def _fail(self, option: str, path: Path, error: OSError) -> None:
        line = f"cannot write the {option} file {path}: {error.strerror or error}"
        if line not in self.failures:
            self.failures.append(line)


_CSV_WRITERS: dict[str, Callable[[Mapping[str, Any], Path], Path]] = {
    "stats": write_stats_csv,
    "stats_history": write_history_csv,
    "failures": write_failures_csv,
    "exceptions": write_exceptions_csv,
}


class _GuardedHistory:
    """The streamed history CSV, which stops writing (keeping the error) when the disk refuses a row:
    a history listener that raised every second would be logged every second and lost at the end."""

    def __init__(self, writer: HistoryCsvWriter) -> None:
        self.writer = writer
        self.path = writer.path
        self.error: OSError | None = None

    def __call__(self, row: Mapping[str, Any]) -> None:
        if self.error is not None:
            return
        try:
            self.writer(row)
        except OSError as error:
            self.error = error
            self.close()

    def close(self) -> None:
        try:
            self.writer.close()
        except OSError as error:  # the last buffered bytes did not fit either
            self.error = self.error or error
