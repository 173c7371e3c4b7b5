"""CsvRequestLogger: one CSV row per ``request`` event, for analysis of single requests.

As Locust's ``locust.contrib.csv_request_logger``: ``CsvRequestLogger(path)`` and, in an
``init`` listener, ``logger.register(environment)``. The file is written anew (with its
header) at ``register`` and closed when ``quitting`` fires. Columns: ``timestamp`` (the
request's start, Unix seconds), ``request_type``, ``name``, ``response_time_ms`` (2
decimals), ``response_length``, ``status_code`` (0 when the response has none, e.g. a
connection error or a non-HTTP request) and ``exception`` (its text, empty on success).
``flush_interval`` rows are buffered before each flush (1: every row reaches the disk at once).
"""

from __future__ import annotations

import csv
import time
from typing import IO, Any

CSV_COLUMNS = ("timestamp", "request_type", "name", "response_time_ms", "response_length", "status_code",
               "exception")


def status_code_of(response: Any) -> int:
    """The response's HTTP status code, 0 when there is none."""
    try:
        return int(response.status_code)
    except (AttributeError, TypeError, ValueError):
        return 0


class CsvRequestLogger:
    """Listens to ``request`` and appends a row per request to ``filepath``."""

    def __init__(self, filepath: str, *, flush_interval: int = 1) -> None:
        self.filepath = filepath
        self.flush_interval = max(1, flush_interval)
        self._file: IO[str] | None = None
        self._writer: Any = None
        self._unflushed = 0

    def register(self, environment: Any) -> None:
        """Listen to ``environment``'s events and start the file (call once, from ``init``)."""
        environment.events.request.add_listener(self._on_request)
        environment.events.quitting.add_listener(self._on_quitting)
        self._open()

    def close(self) -> None:
        """Flush and close the file; calling it again does nothing."""
        if self._file is not None and not self._file.closed:
            self._file.close()
        self._file = None
        self._writer = None
        self._unflushed = 0

    def _open(self) -> None:
        self.close()
        self._file = open(self.filepath, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed at quitting
        self._writer = csv.writer(self._file)
        self._writer.writerow(CSV_COLUMNS)
        self._file.flush()

    def _on_request(self, *, request_type: str, name: str, response_time: float, response_length: int,
                    exception: Any = None, response: Any = None, start_time: float | None = None,
                    **kwargs: Any) -> None:
        if self._writer is None or self._file is None:
            return
        self._writer.writerow([
            round(start_time if start_time is not None else time.time(), 6), request_type, name,
            round(response_time or 0, 2), response_length or 0,
            0 if response is None else status_code_of(response), "" if exception is None else str(exception),
        ])
        self._unflushed += 1
        if self._unflushed >= self.flush_interval:
            self._file.flush()
            self._unflushed = 0

    def _on_quitting(self, **kwargs: Any) -> None:
        self.close()
