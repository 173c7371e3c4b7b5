"""The report's picture of an open-model run (docs/open-model.md): the rate and the latency over time.

Two charts for charts.js's ``overlay`` kind, from the document's ``open_model.per_second`` rows:
iterations started and dropped per second (a rate held is a flat line), and, second by second, the
average response time of the same requests from their actual and from their intended start (the
gap between the two is the time the generator lost: coordinated omission, made visible).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def open_model_charts(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Overlay chart data for an open-model run; [] for a closed-model one."""
    counts = data.get("open_model")
    if not counts:
        return []
    rows = counts.get("per_second") or []
    started_at = float(data["run"]["started_at"])
    x = [round(float(row[0]) - int(started_at), 1) for row in rows]

    def column(index: int) -> list[Any]:
        return [row[index] if len(row) > index else None for row in rows]

    return [
        {"id": "open-model-rate", "x": x, "x_label": "seconds from the start", "unit": "it/s",
         "title": "Iterations per second", "series": [
             {"label": "started", "color": "rps", "values": column(1)},
             {"label": "dropped", "color": "fails", "values": column(2)}]},
        {"id": "open-model-latency", "x": x, "x_label": "seconds from the start", "unit": "ms",
         "title": "Average latency per second", "series": [
             {"label": "from the actual start", "color": "p50", "values": column(3)},
             {"label": "from the intended start", "color": "p95", "values": column(4)}]},
    ]
