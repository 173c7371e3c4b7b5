"""The values of a load run's settings, read from text: durations, user counts, spawn rates.

One definition for every place a person types them: the command line, ini keys and environment
variables (the pytest layer), marker arguments, and the web UI's start form. A bad value is a
``ValueError`` whose message names the value and what is allowed.
"""

from __future__ import annotations

import math
import re
from typing import Any

_DURATION = re.compile(r"^(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m(?!s))?(?:(?P<s>\d+(?:\.\d+)?)s)?"
                       r"(?:(?P<ms>\d+(?:\.\d+)?)ms)?$")

MAX_DURATION = 366 * 24 * 3600.0
"""The longest duration accepted (a year and a day, in seconds): anything longer is a typo, not a test."""

MAX_USERS = 10_000_000
"""The most users a run may ask for: far beyond what any machine or cluster runs, well within every counter."""


def is_negative(value: float) -> bool:
    """Below zero, or zero written with a minus sign (``-0`` is a typo, never meant as 0)."""
    return value < 0 or math.copysign(1.0, value) < 0


def parse_duration(text: Any) -> float:
    """'30s', '5m', '1h30m', '1m30s', '500ms' or a plain number of seconds -> seconds (finite, 0 to a year)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        raw = str(text).strip().lower().replace(" ", "")
        try:
            value = float(raw)
        except ValueError:
            match = _DURATION.match(raw)
            if not raw or not match or not any(match.groupdict().values()):
                raise ValueError(f"invalid duration '{text}': use e.g. 30s, 5m, 1h30m or a number of seconds")
            parts = {k: float(v) for k, v in match.groupdict().items() if v}
            value = parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0) + parts.get("ms", 0) / 1000
    if math.isnan(value):
        raise ValueError(f"invalid duration '{text}': not a number; use e.g. 30s, 5m, 1h30m or a number of seconds")
    if is_negative(value):
        raise ValueError(f"invalid duration '{text}': must not be negative")
    if value > MAX_DURATION:
        raise ValueError(f"invalid duration '{text}': must be finite and at most 366 days")
    return value


def parse_user_count(text: Any) -> int:
    """A whole number of users, 0 to ``MAX_USERS`` (written without a sign)."""
    raw = str(text).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"invalid user count '{text}': must be a whole number >= 0") from None
    if value < 0 or raw.startswith("-"):
        raise ValueError(f"invalid user count '{text}': must be a whole number >= 0")
    if value > MAX_USERS:
        raise ValueError(f"invalid user count '{text}': must be at most {MAX_USERS:,}")
    return value


def parse_spawn_rate(text: Any) -> float:
    """Users started per second: a finite number more than 0."""
    try:
        value = float(str(text).strip())
    except ValueError:
        raise ValueError(f"invalid spawn rate '{text}': must be a number of users per second > 0") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"invalid spawn rate '{text}': must be a finite number of users per second > 0")
    return value


# -- arrival rates (the open model, docs/open-model.md) --

_RATE = re.compile(r"^(?P<n>\d+(?:\.\d*)?|\.\d+)\s*(?:/\s*(?P<unit>s|sec|m|min|h))?$")
_RATE_UNITS = {None: 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
MAX_RATE = 1_000_000.0
"""The highest arrival rate accepted (iterations per second): far beyond one machine, a typo above it."""


def parse_rate(text: Any) -> float:
    """'200/s', '600/m', '36000/h' or a plain number (per second) -> iterations per second (0 to a million)."""
    raw = str(text).strip().lower()
    match = _RATE.match(raw)
    if not match:
        raise ValueError(f"invalid rate '{text}': use iterations per second like 200/s, or 600/m, 36000/h")
    rate = float(match["n"]) / _RATE_UNITS[match["unit"]]
    if rate > MAX_RATE:
        raise ValueError(f"invalid rate '{text}': at most {MAX_RATE:,.0f}/s")
    return rate


def parse_rate_stages(text: Any) -> list[tuple[float, float]]:
    """'50/s:30s,200/s:1m,0/s:10s' -> [(rate per second, seconds), ...]: each stage ramps linearly from the
    rate before it (0 before the first) to its rate, over its duration."""
    if isinstance(text, (list, tuple)):
        items = [item if isinstance(item, str) else ":".join(str(part) for part in item) for item in text]
    else:
        items = [item for item in str(text).replace("\n", ",").split(",") if item.strip()]
    if not items:
        raise ValueError(f"invalid rate stages '{text}': use RATE:DURATION,... like 50/s:30s,200/s:1m,0/s:10s")
    stages = []
    for item in items:
        rate_text, sep, duration_text = item.strip().rpartition(":")
        if not sep or not rate_text.strip():
            raise ValueError(f"invalid rate stage '{item.strip()}' in '{text}': use RATE:DURATION like 200/s:1m")
        stages.append((parse_rate(rate_text), parse_duration(duration_text.strip())))
    if sum(duration for _, duration in stages) <= 0:
        raise ValueError(f"invalid rate stages '{text}': their durations add up to 0")
    return stages
