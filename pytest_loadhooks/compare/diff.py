"""The comparison of a run with its baseline: a JSON-able document of its own.

``compare_documents(baselines, current)`` takes result documents (as ``--load-json`` and
``--load-save`` write them) and returns, per endpoint, each figure of ``TABLE_METRICS`` on
both sides with its absolute and relative change; the endpoints found on one side only;
warnings about what makes the two runs less comparable; and, when several baselines are
given, their spread, so that a change inside it can be called noise. The first baseline
is the reference; the others only widen the spread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..verdicts import grammar
from .metrics import TABLE_METRICS, Entry, metric_named

Document = Mapping[str, Any]
TOTAL_NAME = "Aggregated"

COMPARED_OPTIONS = ("users", "spawn_rate", "run_time", "host", "tags", "exclude_tags", "stop_timeout", "shape",
                    "processes")
"""Settings that change what a run measures: a baseline taken with others is flagged."""


def endpoint_key(entry: Entry) -> tuple[str, str]:
    return (str(entry.get("method") or ""), str(entry.get("name") or ""))


endpoint_label = grammar.endpoint_label
"""``GET /cart``: the grammar's (``verdicts.grammar``), kept under this name."""


def _entries(document: Document) -> dict[tuple[str, str], Entry]:
    return {endpoint_key(entry): entry for entry in document.get("stats") or ()}


def _figure(metric_name: str, entry: Entry | None) -> float | None:
    if entry is None:
        return None
    metric = metric_named(metric_name)
    assert metric is not None and metric.from_document is not None  # TABLE_METRICS are all known, and comparable
    return metric.from_document(entry)


def relative_change(baseline: float | None, current: float | None) -> float | None:
    """(now - baseline) / baseline; None when either is missing or the baseline is 0 (no ratio to speak of)."""
    if baseline is None or current is None or baseline == 0:
        return None
    return (current - baseline) / baseline


def _cell(metric_name: str, reference: Entry | None, current: Entry | None,
          others: Sequence[Entry | None]) -> dict[str, Any]:
    base = _figure(metric_name, reference)
    now = _figure(metric_name, current)
    cell: dict[str, Any] = {
        "baseline": base, "current": now,
        "change": None if base is None or now is None else now - base,
        "relative": relative_change(base, now),
        "spread": None, "noise": False,
    }
    seen = [value for value in (_figure(metric_name, e) for e in (reference, *others)) if value is not None]
    if len(seen) >= 2:
        low, high = min(seen), max(seen)
        cell["spread"] = [low, high]
        cell["noise"] = now is not None and low <= now <= high and cell["change"] != 0
    return cell


def _row(method: str, name: str, reference: Entry | None, current: Entry | None,
         others: Sequence[Entry | None]) -> dict[str, Any]:
    side = "both" if reference is not None and current is not None else ("baseline" if current is None else "current")
    return {"method": method, "name": name, "side": side,
            "metrics": {metric: _cell(metric, reference, current, others) for metric in TABLE_METRICS}}


def compare_documents(baselines: Sequence[Document], current: Document, *,
                      labels: Sequence[str] | None = None, current_meta: Mapping[str, Any] | None = None,
                      ) -> dict[str, Any]:
    """The comparison of ``current`` with ``baselines[0]`` (the others widen the spread); see the module doc."""
    if not baselines:
        raise ValueError("no baseline to compare with")
    reference, others = baselines[0], list(baselines[1:])
    ours, theirs = _entries(current), _entries(reference)
    older = [_entries(document) for document in others]
    keys = sorted(set(ours) | set(theirs), key=lambda key: (key[1], key[0]))
    rows = [_row(method, name, theirs.get((method, name)), ours.get((method, name)),
                 [entries.get((method, name)) for entries in older]) for method, name in keys]
    rows.append(_row("", TOTAL_NAME, reference.get("total"), current.get("total"),
                     [document.get("total") for document in others]))
    rows[-1]["side"] = "total"
    return {
        "baseline": describe_baseline(reference, labels[0] if labels else None),
        "baselines": len(baselines),
        "metrics": list(TABLE_METRICS),
        "warnings": comparability_warnings(reference, current, current_meta),
        "only_baseline": [endpoint_label(*key) for key in keys if key not in ours],
        "only_current": [endpoint_label(*key) for key in keys if key not in theirs],
        "rows": rows,
        "baseline_timeline": _timeline(reference),
        "baseline_percentiles": dict((reference.get("total") or {}).get("percentiles") or {}),
    }


def describe_baseline(document: Document, label: str | None) -> dict[str, Any]:
    """Who the baseline is: its file, run, commit and time, as a person wants to read them."""
    saved = document.get("saved") or {}
    run = document.get("run") or {}
    return {
        "label": label or saved.get("file") or str(run.get("name") or "baseline"),
        "run": str(run.get("name") or ""),
        "status": str(run.get("status") or ""),
        "started_at": run.get("started_at"),
        "duration": run.get("duration"),
        "commit": saved.get("commit"),
        "machine_id": saved.get("machine_id"),
    }


def _timeline(document: Document) -> dict[str, list]:
    """The baseline's history as offsets from its start: enough to overlay it on this run's charts."""
    history = document.get("history") or ()
    start = (document.get("run") or {}).get("started_at") or (history[0]["time"] if history else 0)
    return {
        "offset": [round(float(row["time"]) - float(start), 3) for row in history],
        "rps": [row.get("current_rps", 0.0) for row in history],
        "p50": [row.get("response_time_percentile_0.5", 0.0) for row in history],
        "p95": [row.get("response_time_percentile_0.95", 0.0) for row in history],
    }


def _meta(document: Document, given: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return given if given is not None else (document.get("saved") or {})


def comparability_warnings(baseline: Document, current: Document,
                           current_meta: Mapping[str, Any] | None = None) -> list[str]:
    """What makes the two runs less comparable: another machine, other options, other user classes."""
    theirs, ours = _meta(baseline, None), _meta(current, current_meta)
    warnings: list[str] = []
    if theirs.get("machine") and ours.get("machine"):
        differs = [f"{key} {theirs['machine'].get(key)} -> {ours['machine'].get(key)}"
                   for key in ("node", "cpu_count", "system", "python")
                   if theirs["machine"].get(key) != ours["machine"].get(key)]
        if differs:
            warnings.append("the baseline was taken on another machine (" + ", ".join(differs)
                            + "): differences may come from the machine, not the code")
    options = _options_differences(baseline, current, theirs, ours)
    if options:
        warnings.append("the baseline ran with other options (" + ", ".join(options) + ")")
    # Qualified names (module.Class) when both sides kept them; else the class names every result has.
    qualified = bool(theirs.get("user_classes")) and bool(ours.get("user_classes"))
    classes_then = (theirs["user_classes"] if qualified else (baseline.get("run") or {}).get("user_classes")) or []
    classes_now = (ours["user_classes"] if qualified else (current.get("run") or {}).get("user_classes")) or []
    if sorted(classes_then) != sorted(classes_now):
        warnings.append(f"the baseline ran other user classes ({', '.join(classes_then) or 'none'} -> "
                        f"{', '.join(classes_now) or 'none'})")
    if (baseline.get("run") or {}).get("status") not in (None, "passed"):
        warnings.append(f"the baseline run itself did not pass (status {baseline['run']['status']})")
    return warnings


def _options_differences(baseline: Document, current: Document, theirs: Mapping[str, Any],
                         ours: Mapping[str, Any]) -> list[str]:
    """``name then -> now`` for each compared setting that differs (the saved options, else the run's own)."""
    then = {**_run_options(baseline), **(theirs.get("options") or {})}
    now = {**_run_options(current), **(ours.get("options") or {})}
    return [f"{key} {_shown(then.get(key))} -> {_shown(now.get(key))}" for key in COMPARED_OPTIONS
            if key in then and key in now and then[key] != now[key]]


def _run_options(document: Document) -> dict[str, Any]:
    run = document.get("run") or {}
    return {key: run[key] for key in ("users", "spawn_rate", "run_time", "host") if key in run}


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"
    return "none" if value is None else str(value)
