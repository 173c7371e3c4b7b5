"""The report document: one run's results as plain, JSON-able data.

Every output (HTML, CSV, JSON) is produced from this document, so the numbers
agree across them, and the HTML can be rebuilt from a saved JSON file alone.
Its shape is described by ``schema.json`` next to this module (JSON Schema
draft 2020-12) and in ``docs/reports.md``.

This module reads results through public objects only (``environment.stats``,
``environment.runner``, ``environment.listener_errors``) and imports nothing heavy.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from ..stats import percentile_label
# run_status and STATUSES moved to verdicts.status (issue 21, judging in one home): re-exported, the old path.
from ..verdicts.status import STATUSES, run_status  # noqa: F401 - re-export shim
from .redact import mask_url_credentials

SCHEMA_VERSION = "1.3"
"""Major changes when a field is removed or changes meaning; minor when fields are added."""

REPORT_PERCENTILES = (0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0)
"""Percentiles every entry reports (the columns Locust's CSV has)."""

SECRET_MASK = "********"

HISTORY_BASE_KEYS = (
    "time", "user_count", "current_rps", "current_fail_per_sec",
    "num_requests", "num_failures", "total_avg_response_time",
)
HISTORY_PERCENTILE_PREFIX = "response_time_percentile_"


def load_schema() -> dict[str, Any]:
    """The JSON Schema of the report document."""
    text = resources.files(__package__).joinpath("schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def entry_data(entry: Any, duration: float | None = None) -> dict[str, Any]:
    """One StatsEntry (an endpoint, or the Aggregated total) as report data.

    Its rates are spread over ``duration``, the run's (``stats.per_second``: the figure the
    terminal table and the ``rps`` threshold read too); without one, over the stats' own span.
    """
    summary = entry.summary(())
    if duration is None:
        duration = entry.duration
    return {
        "name": _text(entry.name),
        "method": _text(entry.method),
        "num_requests": summary["num_requests"],
        "num_failures": summary["num_failures"],
        "fail_ratio": summary["fail_ratio"],
        "avg_response_time": summary["avg_response_time"],
        "min_response_time": summary["min_response_time"],
        "max_response_time": summary["max_response_time"],
        "median_response_time": summary["median_response_time"],
        "percentiles": {percentile_label(q): entry.exact_percentile(q) for q in REPORT_PERCENTILES},
        "avg_content_length": summary["avg_content_length"],
        "total_content_length": entry.total_content_length,
        "total_rps": entry.rps_over(duration),
        "total_fail_per_sec": entry.fail_per_sec_over(duration),
        "start_time": entry.start_time,
        "last_request_timestamp": entry.last_request_timestamp,
        "response_times": [[float(ms), int(count)] for ms, count in sorted(entry.response_times.items())],
    }


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _listener_error(record: Any) -> dict[str, Any]:
    """One group of listener failures: what raised, its first traceback, and how often (1 when not said)."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        record = dataclasses.asdict(record)
    data: dict[str, Any] = {key: str(record.get(key, "") or "") for key in ("event", "listener", "error", "traceback")}
    data["count"] = int(record.get("count") or 1)
    return data


def _custom_argument(record: Mapping[str, Any]) -> dict[str, Any]:
    secret = bool(record.get("is_secret", False))
    value = record.get("value")
    if secret and value not in (None, ""):
        value = SECRET_MASK
    return {"name": str(record.get("name", "")), "value": None if value is None else str(value), "is_secret": secret}


def _threshold(record: Mapping[str, Any]) -> dict[str, Any]:
    threshold = {
        "expression": str(record.get("expression", "")),
        "passed": bool(record.get("passed", False)),
        "measured": _number_or_none(record.get("measured")),
        "limit": _number_or_none(record.get("limit")),
        "message": str(record.get("message", "") or ""),
    }
    if record.get("source"):  # the test that set it on the run it reads
        threshold["source"] = str(record["source"])
    return threshold


def _number_or_none(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _history_figures(row: Mapping[str, Any]) -> dict[str, Any]:
    out = {key: row.get(key, 0) for key in HISTORY_BASE_KEYS}
    out["user_count"] = round(out["user_count"])  # a summary's average users, to the nearest user
    out.update({key: value for key, value in row.items() if key.startswith(HISTORY_PERCENTILE_PREFIX)})
    return out


def _history_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A history row; a summary of older rows (a long run's, see ``pytest_loadhooks.history``) keeps
    how many samples it stands for and their ``min`` / ``max``, so spikes survive into the report."""
    out = _history_figures(row)
    if "samples" in row:
        out["samples"] = int(row["samples"])
        out["min"] = _history_figures(row.get("min") or row)
        out["max"] = _history_figures(row.get("max") or row)
    return out


def _host(environment: Any) -> str | None:
    if getattr(environment, "host", None):
        return environment.host
    hosts = sorted({cls.host for cls in getattr(environment, "user_classes", []) if getattr(cls, "host", None)})
    return ", ".join(hosts) or None


def build_report_data(environment: Any, run_info: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-able report document of a finished run.

    ``run_info`` carries what only the caller knows (run id, thresholds, custom
    arguments, status); missing keys are filled in from the environment and its
    runner, so a bare ``build_report_data(env, {})`` works too. Secret custom
    argument values are masked here, so no output ever holds them.
    """
    info = dict(run_info or {})
    runner = getattr(environment, "runner", None)
    stats = environment.stats
    started_at, ended_at, duration = _run_window(info, runner, stats)
    thresholds = [_threshold(t) for t in info.get("thresholds") or ()]
    status, exit_code = _status_and_exit_code(info, runner, thresholds)
    listener_errors = _given(info, "listener_errors", lambda: getattr(environment, "listener_errors", []))
    document = {
        "schema_version": SCHEMA_VERSION,
        "generator": {"name": "pytest-loadhooks", "version": _version()},
        "generated_at": time.time(),
        "run": _run_section(info, environment, (started_at, ended_at, duration), status, exit_code),
        "thresholds": thresholds,
        "custom_arguments": [_custom_argument(a) for a in info.get("custom_arguments") or ()],
        "listener_errors": [_listener_error(e) for e in listener_errors],
        "percentiles": list(REPORT_PERCENTILES),
        **_stats_sections(stats, float(duration)),
    }
    if getattr(stats, "open_model", None) is not None:
        document["open_model"] = open_model_section(stats, float(duration))
    workers = _given(info, "workers", lambda: _workers_of(runner))
    if workers is not None:
        document["workers"] = [_worker(w) for w in workers]
    if info.get("comparison") is not None:  # --load-compare: made by pytest_loadhooks.compare
        document["comparison"] = info["comparison"]
    return _clean(document)


def _given(info: Mapping[str, Any], key: str, otherwise: Callable[[], Any]) -> Any:
    """What the caller said of ``key``, else what ``otherwise()`` finds out (None counts as not said)."""
    value = info.get(key)
    return otherwise() if value is None else value


def _run_window(info: Mapping[str, Any], runner: Any, stats: Any) -> tuple[Any, Any, Any]:
    """When the run started and ended, and how long it ran: as the caller says, else as the runner
    (or, without one, the stats) saw it."""
    started_at = _given(info, "started_at", lambda: getattr(runner, "start_time", None) or stats.start_time)
    ended_at = _given(info, "ended_at", lambda: getattr(runner, "stop_time", None) or stats.last_request_timestamp
                      or time.time())
    duration = _given(info, "duration", lambda: max(float(ended_at) - float(started_at), 0.0))
    return started_at, ended_at, duration


def _status_and_exit_code(info: Mapping[str, Any], runner: Any, thresholds: list[dict[str, Any]]) -> tuple[str, int]:
    """The run's status and the exit code that goes with it (see :func:`run_status`, :func:`exit_code_of`)."""
    exit_code = int(_given(info, "exit_code", lambda: getattr(runner, "exit_code", 0) if runner is not None else 0))
    # The caller knows the status (the plugin's LoadResult); a bare call derives it the same way.
    status = info.get("status") or run_status(exit_code, all(t["passed"] for t in thresholds),
                                              stopped=info.get("stopped") is not None,
                                              checks_failed=bool(info.get("run_failures")))
    return status, exit_code_of(status, exit_code)


def _run_section(info: Mapping[str, Any], environment: Any, window: tuple[Any, Any, Any], status: str,
                 exit_code: int) -> dict[str, Any]:
    """The document's ``run``: what ran, when, with how many users, and how it ended."""
    runner = getattr(environment, "runner", None)
    started_at, ended_at, duration = window
    users = _given(info, "users", lambda: getattr(runner, "target_user_count", 0) if runner is not None else 0)
    spawn_rate = _given(info, "spawn_rate", lambda: getattr(runner, "spawn_rate", 0.0) if runner is not None else 0.0)
    run_time = info.get("run_time")
    return {
        "name": str(info.get("name") or "load run"),
        "host": info.get("host") if info.get("host") is not None else _host(environment),
        "started_at": float(started_at),
        "ended_at": float(ended_at),
        "duration": float(duration),
        "users": int(users),
        "spawn_rate": float(spawn_rate),
        "run_time": None if run_time is None else float(run_time),
        "status": status,
        "exit_code": exit_code,
        "user_classes": [cls.__name__ for cls in getattr(environment, "user_classes", [])],
        # Why the status is what it is beyond thresholds and listener errors, and what a
        # reader must know to trust the numbers (LoadResult decides both).
        "run_failures": [_text(line) for line in info.get("run_failures") or ()],
        "stopped": None if info.get("stopped") is None else _text(info["stopped"]),
        "warnings": [_text(line) for line in info.get("warnings") or ()],
        **_rate_fields(info),
    }


def _rate_fields(info: Mapping[str, Any]) -> dict[str, Any]:
    """An open-model run's requested rate, stages and pool ceiling (since 1.3); nothing for the closed model."""
    if info.get("rate") is None and not info.get("rate_stages"):
        return {}
    stages = info.get("rate_stages")
    return {"rate": None if info.get("rate") is None else float(info["rate"]),
            "rate_stages": [[float(rate), float(duration)] for rate, duration in stages] if stages else None,
            "max_users": int(info["max_users"])}


def rate_setting(run: Mapping[str, Any]) -> str | None:
    """An open-model run's settings in words ("40/s, pool up to 100 users"); None for a closed-model run."""
    stages = run.get("rate_stages")
    if run.get("rate") is None and not stages:
        return None
    users = int(run["max_users"])
    pool = f"pool up to {users} user{'' if users == 1 else 's'}"
    if run.get("rate") is not None:
        return f"{float(run['rate']):g}/s, {pool}"
    shown = ", ".join(f"{rate:g}/s:{duration:g}s" for rate, duration in stages)
    return f"up to {max(rate for rate, _ in stages):g}/s (stages {shown}), {pool}"


def _stats_sections(stats: Any, duration: float) -> dict[str, Any]:
    """The document's numbers: per endpoint, in total, the failures, the exceptions and the history."""
    entries = sorted(
        (e for e in stats.entries.values() if e.num_requests or e.num_failures),
        key=lambda e: (e.name, e.method),
    )
    failures = sorted(
        ({"method": _text(r["method"]), "name": _text(r["name"]), "error": _text(r["error"]),
          "occurrences": r["occurrences"]}
         for r in stats.errors.values()),
        key=lambda r: (-r["occurrences"], r["name"], r["method"], r["error"]),
    )
    exceptions = sorted(
        ({"count": r["count"], "msg": _text(r["msg"]), "traceback": _text(r["traceback"]),
          "nodes": [_text(n) for n in r.get("nodes", [])]}
         for r in stats.exceptions.values()),
        key=lambda r: -r["count"],
    )
    return {
        "stats": [entry_data(e, duration) for e in entries],
        "total": entry_data(stats.total, duration),
        "failures": failures,
        "exceptions": exceptions,
        "history": [_history_row(row) for row in stats.history],
    }


def open_model_section(stats: Any, duration: float) -> dict[str, Any]:
    """An open-model run's figures (docs/open-model.md): iterations started and dropped, how late they
    started, each endpoint's response times from the intended start, and the rates second by second."""
    counts = stats.open_model

    def intended(name: str | None, method: str | None) -> dict[str, Any]:
        histogram = counts.intended_histogram(name, method)
        total = histogram.total()
        return {"num_requests": total,
                "percentiles": {percentile_label(q): histogram.percentile(total, q) if total else None
                                for q in REPORT_PERCENTILES}}

    return {
        "iterations": counts.iterations,
        "dropped_iterations": counts.dropped_iterations,
        "iteration_rate": counts.achieved_rate(duration),
        "start_lag": {percentile_label(q): counts.start_lag_percentile(q) if counts.iterations else None
                      for q in (0.5, 0.95, 0.99, 1.0)},
        "intended": [{"method": _text(method), "name": _text(name), **intended(name, method)}
                     for name, method in sorted(counts.intended)],
        "intended_total": intended(None, None),
        "per_second": [[second, *counts.rates_at(second), *counts.average_latencies_at(second)]
                       for second in counts.seconds()],
    }


def _workers_of(runner: Any) -> list[dict[str, Any]] | None:
    """A master runner's worker table (``runner.clients``); None for a runner without workers."""
    clients = getattr(runner, "clients", None)
    if clients is None or not hasattr(clients, "missing"):
        return None
    return [{"id": n.id, "index": n.index, "state": n.state, "users": sum(n.assigned.values())}
            for n in sorted(clients.values(), key=lambda n: n.index)]


def _worker(worker: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": _text(worker["id"]), "index": int(worker["index"]), "state": _text(worker["state"]),
            "users": int(worker["users"])}


def exit_code_of(status: str, runner_exit_code: int) -> int:
    """The run's exit code, as the status it goes with tells it: 0 when it passed; otherwise the
    runner's own code when that is not 0 (2: something errored), else 1, Locust's code for a failed run.

    The runner's code alone would say 0 for a run that missed a threshold (its requests all
    went well), next to a status of *failed*.
    """
    if status == "passed" or runner_exit_code != 0:
        return runner_exit_code
    return 1


def _clean(value: Any) -> Any:
    """Everywhere in the document: NaN and infinities (not valid JSON) become None, and the password
    of any URL in a text (a host, a request name, an error message) is masked."""
    if isinstance(value, str):
        return mask_url_credentials(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _version() -> str:
    from .. import __version__

    return __version__


def write_json(data: Mapping[str, Any], path: str | Path) -> Path:
    """Write the report document as JSON (UTF-8, strict: no NaN)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def read_json(path: str | Path) -> dict[str, Any]:
    """Load a report document written by :func:`write_json`."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    version = str(data.get("schema_version", ""))
    if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise ValueError(f"{path}: report schema version {version!r} is not supported (expected {SCHEMA_VERSION})")
    return data
