"""A saved result checked by value before it is compared with: one line naming the field at fault.

A baseline is a file people keep, copy and sometimes edit. A count of ``-5``, a ``"NaN"``, a
histogram bucket keyed ``"x"`` or a document that is a list would otherwise be compared
without a word, or fail deep in the comparison with a message about Python, not about the
file. :func:`check_result` walks every figure a comparison reads — each endpoint's counts,
ratios, times, percentiles and histogram, the history rows, the run's settings and the
``saved`` metadata — and raises :class:`ResultError` for the first one that is missing, of
the wrong type, negative where it cannot be, or not a finite number::

    stats[2].num_requests is -5, expected a count >= 0
    total.response_times[3][0] is "x", expected a response time in ms >= 0

Fields a comparison does not read (thresholds, failures, exceptions) are left alone.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..report.data import SCHEMA_VERSION
from ..verdicts.status import STATUSES


class ResultError(ValueError):
    """A saved result that cannot be compared with: the message names the field and what it expected."""


class UnreadableResult(ResultError):
    """A file that is not JSON (cut short, another format, not UTF-8)."""


_PERCENTILE_LABEL = re.compile(r"^(100|[0-9]{1,2}(\.[0-9]+)?)$")
_HISTORY_PERCENTILE = re.compile(r"^response_time_percentile_(0|1|0\.[0-9]+)$")


def _shown(value: Any) -> str:
    """A value as the JSON file spells it (``"NaN"`` quoted, NaN bare), cut short."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -- what a value must be: (test, what it expected) --
Check = tuple[Callable[[Any], bool], str]

COUNT: Check = (lambda v: _number(v) and (isinstance(v, int) or v.is_integer()) and v >= 0, "a count >= 0")
"""A whole number (5.0 too, as JSON Schema's "integer" has it; not 2.5, NaN or true)."""
MS: Check = (lambda v: _number(v) and math.isfinite(v) and v >= 0, "a response time in ms >= 0")
NON_NEGATIVE: Check = (lambda v: _number(v) and math.isfinite(v) and v >= 0, "a finite number >= 0")
RATIO: Check = (lambda v: _number(v) and math.isfinite(v) and 0 <= v <= 1, "a ratio from 0 to 1")
TIMESTAMP: Check = (lambda v: _number(v) and math.isfinite(v), "a finite number (epoch seconds)")
OPTIONAL_TIMESTAMP: Check = (lambda v: v is None or (_number(v) and math.isfinite(v)),
                             "a finite number (epoch seconds) or null")
OPTIONAL_SECONDS: Check = (lambda v: v is None or (_number(v) and math.isfinite(v) and v >= 0),
                           "a number of seconds >= 0 or null")
TEXT: Check = (lambda v: isinstance(v, str), "a string")
OPTIONAL_TEXT: Check = (lambda v: v is None or isinstance(v, str), "a string or null")
TEXTS: Check = (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v), "a list of strings")
OBJECT: Check = (lambda v: isinstance(v, dict), "an object")
STATUS: Check = (lambda v: v in STATUSES, "one of " + ", ".join(STATUSES))

ENTRY_FIELDS: dict[str, Check] = {
    "name": TEXT, "method": TEXT,
    "num_requests": COUNT, "num_failures": COUNT, "fail_ratio": RATIO,
    "avg_response_time": MS, "min_response_time": MS, "max_response_time": MS, "median_response_time": MS,
    "avg_content_length": NON_NEGATIVE, "total_content_length": COUNT,
    "total_rps": NON_NEGATIVE, "total_fail_per_sec": NON_NEGATIVE,
    "start_time": TIMESTAMP, "last_request_timestamp": OPTIONAL_TIMESTAMP,
}
"""Every endpoint's figures (``percentiles`` and ``response_times`` are checked apart): all required."""

HISTORY_FIELDS: dict[str, Check] = {
    "time": TIMESTAMP, "user_count": COUNT, "current_rps": NON_NEGATIVE, "current_fail_per_sec": NON_NEGATIVE,
    "num_requests": COUNT, "num_failures": COUNT, "total_avg_response_time": MS,
}
"""A history row's figures: ``time`` required (the baseline's timeline is drawn from it), the others when there."""

RUN_FIELDS: dict[str, Check] = {
    "name": TEXT, "host": OPTIONAL_TEXT, "status": STATUS, "started_at": TIMESTAMP, "ended_at": TIMESTAMP,
    "duration": NON_NEGATIVE, "users": COUNT, "spawn_rate": NON_NEGATIVE, "run_time": OPTIONAL_SECONDS,
    "user_classes": TEXTS,
}
"""The run's own fields a comparison reads (its name finds the baseline of a run; the rest says whether
two runs are comparable): each checked when present."""

SAVED_FIELDS: dict[str, Check] = {
    "machine": OBJECT, "options": OBJECT, "user_classes": TEXTS, "commit": OPTIONAL_TEXT,
    "machine_id": OPTIONAL_TEXT, "name": TEXT, "number": COUNT, "file": TEXT,
}
"""What ``--load-save`` adds under ``saved``: each checked when present."""


def _check_fields(owner: Mapping[str, Any], where: str, fields: Mapping[str, Check], required: bool) -> None:
    for name, (test, expected) in fields.items():
        if name not in owner:
            if required:
                raise ResultError(f"{where} has no {name}, expected {expected}")
            continue
        if not test(owner[name]):
            raise ResultError(f"{where}.{name} is {_shown(owner[name])}, expected {expected}")


def _check_object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ResultError(f"{where} is {_shown(value)}, expected an object")
    return value


def _check_list(value: Any, where: str, of: str) -> list[Any]:
    if not isinstance(value, list):
        raise ResultError(f"{where} is {_shown(value)}, expected a list of {of}")
    return value


def check_entry(entry: Any, where: str) -> None:
    """One endpoint (or the Aggregated total): its figures, its percentiles and its histogram."""
    entry = _check_object(entry, where)
    _check_fields(entry, where, ENTRY_FIELDS, required=True)
    if "percentiles" not in entry:
        raise ResultError(f"{where} has no percentiles, expected an object of percentile labels")
    percentiles = _check_object(entry["percentiles"], f"{where}.percentiles")
    for label, value in percentiles.items():
        if not _PERCENTILE_LABEL.match(label):
            raise ResultError(f"{where}.percentiles has the key {_shown(label)}, expected a percentile label "
                              "such as \"95\" or \"99.9\"")
        if not MS[0](value):
            raise ResultError(f"{where}.percentiles.{label} is {_shown(value)}, expected {MS[1]}")
    if "response_times" not in entry:
        raise ResultError(f"{where} has no response_times, expected a list of [ms, count] pairs")
    pairs = _check_list(entry["response_times"], f"{where}.response_times", "[ms, count] pairs")
    for index, pair in enumerate(pairs):
        at = f"{where}.response_times[{index}]"
        if not isinstance(pair, list) or len(pair) != 2:
            raise ResultError(f"{at} is {_shown(pair)}, expected a [ms, count] pair")
        if not MS[0](pair[0]):
            raise ResultError(f"{at}[0] is {_shown(pair[0])}, expected {MS[1]}")
        if not COUNT[0](pair[1]):
            raise ResultError(f"{at}[1] is {_shown(pair[1])}, expected {COUNT[1]}")


def check_history(history: Any) -> None:
    rows = _check_list(history, "history", "rows")
    for index, row in enumerate(rows):
        where = f"history[{index}]"
        row = _check_object(row, where)
        _check_fields(row, where, {"time": TIMESTAMP}, required=True)
        _check_fields(row, where, HISTORY_FIELDS, required=False)
        for key, value in row.items():
            if _HISTORY_PERCENTILE.match(key) and not MS[0](value):
                raise ResultError(f"{where}.{key} is {_shown(value)}, expected {MS[1]}")


def check_result(document: Any) -> dict[str, Any]:
    """``document`` (parsed JSON) if a comparison can read it; ResultError (one line, naming the field) otherwise."""
    if not isinstance(document, dict):
        kind = "a list" if isinstance(document, list) else _shown(document)
        raise ResultError(f"the file holds {kind}, not a pytest-loadhooks result (an object with 'stats' and "
                          "'total')")
    major = SCHEMA_VERSION.split(".")[0]
    if "schema_version" not in document:
        raise ResultError(f"the document has no schema_version, expected \"{major}.x\": it is not a "
                          "pytest-loadhooks result")
    version = document["schema_version"]
    if not isinstance(version, str) or version.split(".")[0] != major:
        raise ResultError(f"schema_version is {_shown(version)}, expected \"{major}.x\" (this version writes "
                          f"{SCHEMA_VERSION})")
    if not isinstance(document.get("total"), dict) or not isinstance(document.get("stats"), list):
        raise ResultError("the document is not a pytest-loadhooks result (no 'stats' and 'total')")
    for index, entry in enumerate(document["stats"]):
        check_entry(entry, f"stats[{index}]")
    check_entry(document["total"], "total")
    check_history(document.get("history", []))
    if "run" in document:
        _check_fields(_check_object(document["run"], "run"), "run", RUN_FIELDS, required=False)
    if document.get("saved") is not None:
        _check_fields(_check_object(document["saved"], "saved"), "saved", SAVED_FIELDS, required=False)
    return document


def load_result(path: str | Path) -> dict[str, Any]:
    """Read and check a saved result; OSError when it cannot be read, ResultError (one line) when its JSON or
    its values are not a result a comparison can use."""
    data = Path(path).read_bytes()
    try:
        document = json.loads(data.decode("utf-8"))
    except ValueError as error:  # json.JSONDecodeError, UnicodeDecodeError
        raise UnreadableResult(f"not JSON: {str(error).splitlines()[0]}") from None
    return check_result(document)
