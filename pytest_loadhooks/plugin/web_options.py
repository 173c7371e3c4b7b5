"""Parsers of the web UI's options (``--load-web-port``, ``--load-tls-cert``, ``--load-tls-key``)."""

from __future__ import annotations

import os
from typing import Any


def parse_web_port(text: Any) -> int:
    """The web UI's TCP port: 1-65535, or 0 for any free port (the session prints the one it got)."""
    raw = str(text).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"invalid port '{text}': must be a whole number from 0 (any free port) to 65535") from None
    if not 0 <= value <= 65535:
        raise ValueError(f"invalid port '{text}': must be a whole number from 0 (any free port) to 65535")
    return value


def parse_readable_file(text: Any) -> str:
    """A file read at start-up (a TLS certificate or key): it must exist and be readable now."""
    path = str(text).strip()
    if not path or not os.path.isfile(path):
        raise ValueError(f"'{text}' is not a file")
    if not os.access(path, os.R_OK):
        raise ValueError(f"'{text}' is not readable")
    return path
