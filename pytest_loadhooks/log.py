"""Logging set-up for scripts and single-user debugging (Locust's ``locust.log``).

Inside a pytest session the plugin leaves logging to pytest (``--log-level``,
``--log-cli-level``, ``caplog``); :func:`setup_logging` is for code that runs a load
test outside it, e.g. ``run_single_user`` under ``python locustfile.py``.
"""

from __future__ import annotations

import logging
import re
import socket
import sys
from collections import deque

HOSTNAME = re.sub(r"\..*", "", socket.gethostname())
LOG_FORMAT = f"[%(asctime)s] {HOSTNAME}/%(levelname)s/%(name)s: %(message)s"
LOG_READER_SIZE = 500


class LogReader(logging.Handler):
    """Keeps the last formatted log lines in memory (what Locust's web UI shows)."""

    def __init__(self, size: int = LOG_READER_SIZE) -> None:
        super().__init__()
        self.logs: deque[str] = deque(maxlen=size)

    def emit(self, record: logging.LogRecord) -> None:
        self.logs.append(self.format(record))


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not when the handler
    was made: under pytest the stderr of set-up time is a capture buffer that is closed
    later, and a handler holding it would fail with 'I/O operation on closed file'."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def setup_logging(loglevel: str | int, logfile: str | None = None) -> None:
    """Send log records at ``loglevel`` and above to stderr (or to ``logfile``), as
    ``locust.log.setup_logging`` does, and keep the last lines for :func:`get_logs`.

    Unlike Locust's, which replaces the root logger's configuration (``dictConfig``
    removes every root handler), this only adds its own handlers, and a second call
    replaces them: inside pytest the root logger also holds pytest's handlers (the
    ``caplog`` and report-section capture, live logging), and removing them would
    silently drop log capture for the rest of the session.
    """
    level = loglevel.upper() if isinstance(loglevel, str) else loglevel
    if isinstance(level, str) and not isinstance(logging.getLevelName(level), int):
        # ValueError, not TypeError: a string naming no level is a bad value.
        raise ValueError(f"unknown log level {loglevel!r}: use DEBUG, INFO, WARNING, ERROR, CRITICAL")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_loadhooks_setup", False)]:
        root.removeHandler(handler)
        handler.close()
    output: logging.Handler = logging.FileHandler(logfile) if logfile else _CurrentStderrHandler()
    for handler in (output, LogReader()):
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler._loadhooks_setup = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("pytest_loadhooks").setLevel(level)


def get_logs() -> list[str]:
    """The last log lines :func:`setup_logging`'s reader kept (empty if it was not called)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, LogReader) and getattr(handler, "_loadhooks_setup", False):
            return list(handler.logs)
    return []


__all__ = ["HOSTNAME", "LogReader", "get_logs", "setup_logging"]
