"""A run's history (users, RPS, percentiles over time), bounded in memory for any run length.

Runners sample one history row a second. Kept one by one, an 8-hour soak holds 28,800 rows
(and a master the same), all of it only for charts that draw at most a couple of thousand
points. :class:`History` keeps the newest ``recent_rows`` rows as they were sampled and folds
older ones into summary rows of equal width: each summary carries the average of the rows it
stands for under the usual keys, their ``min`` and ``max`` (so a spike of one second is still
there, hours later) and how many rows it holds (``samples``). When the summaries reach
``max_summaries``, neighbours are merged pairwise and the width doubles, so memory stays within
``recent_rows + max_summaries + 1`` rows however long the run goes, while the rows still span
it from its first second to its last.

Only memory is summarised: the history CSV streamed during a run gets every row as it is
sampled (``report.HistoryCsvWriter``, a ``runner.history_listeners`` entry), and totals,
histograms and percentiles of the run are the stats' own, exact whatever happens here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

RECENT_ROWS = 600
"""Rows kept exactly as sampled: the last ten minutes at the runners' one-second interval."""
MAX_SUMMARIES = 1200
"""Summary rows kept for the rest of the run (recent + summaries stay under the report's 2,000 chart points)."""

CUMULATIVE_KEYS = frozenset(("time", "num_requests", "num_failures", "total_avg_response_time"))
"""Figures "so far": a summary takes them from its last row (they are exact there)."""
SUMMARY_KEYS = frozenset(("samples", "min", "max"))
"""What a summary row adds to a sampled row's keys."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One summary row standing for ``rows`` (sampled rows or summaries, oldest first).

    Levels (users, rates, percentiles) are averaged, weighted by the samples each row stands
    for (users too: an average of 2.5 users stays 2.5 here), with their ``min`` and ``max``; ``time`` and the run-so-far figures are the last row's,
    and ``min["time"]`` / ``max["time"]`` give the span the summary covers.
    """
    last = rows[-1]
    weights = [int(row.get("samples", 1)) for row in rows]
    samples = sum(weights)
    summary: dict[str, Any] = {}
    low: dict[str, Any] = {}
    high: dict[str, Any] = {}
    for key, value in last.items():
        if key in SUMMARY_KEYS:
            continue
        if not _is_number(value):
            summary[key] = value
            continue
        low[key] = min(row.get("min", row).get(key, row.get(key, value)) for row in rows)
        high[key] = max(row.get("max", row).get(key, row.get(key, value)) for row in rows)
        if key in CUMULATIVE_KEYS:
            summary[key] = value
        else:
            summary[key] = sum(row.get(key, 0) * weight for row, weight in zip(rows, weights)) / samples
    summary["samples"] = samples
    summary["min"] = low
    summary["max"] = high
    return summary


class History(Sequence):
    """The history rows of a run, oldest first: a sequence of dicts, like the list it replaces.

    ``append(row)`` adds a sampled row; reading gives summaries (older part) then the recent
    rows as they were sampled. Compares equal to a list of the same rows.
    """

    def __init__(self, rows: Iterable[Mapping[str, Any]] = (), recent_rows: int = RECENT_ROWS,
                 max_summaries: int = MAX_SUMMARIES) -> None:
        if recent_rows < 1 or max_summaries < 2:
            raise ValueError("a history keeps at least one recent row and two summaries")
        self.recent_rows = recent_rows
        self.max_summaries = max_summaries
        self.clear()
        for row in rows:
            self.append(row)

    def clear(self) -> None:
        self._recent: deque[dict[str, Any]] = deque()
        self._summaries: list[dict[str, Any]] = []
        self._pending: dict[str, Any] | None = None  # the summary being filled, one row at a time
        self.width = 1  # sampled rows per summary
        self.sampled = 0  # rows appended since the last clear: the run's whole history

    # -- writing --
    def append(self, row: dict[str, Any]) -> None:
        self.sampled += 1
        self._recent.append(row)
        if len(self._recent) > self.recent_rows:
            self._fold(self._recent.popleft())

    def _fold(self, row: dict[str, Any]) -> None:
        """An old row leaves the recent part: into the summary being filled (kept as one row, so
        filling a wide summary holds no more than a narrow one)."""
        pending = summarize([row] if self._pending is None else [self._pending, row])
        if pending["samples"] < self.width:
            self._pending = pending
            return
        self._pending = None
        self._summaries.append(pending)
        if len(self._summaries) >= self.max_summaries:
            self._halve()

    def _halve(self) -> None:
        """Merge neighbouring summaries pairwise: half as many, twice as wide."""
        summaries = self._summaries
        self._summaries = [summarize(summaries[i:i + 2]) for i in range(0, len(summaries) - 1, 2)]
        if len(summaries) % 2:
            self._pending = summaries[-1]  # half the new width: filled on by the next rows
        self.width *= 2

    # -- reading --
    def _rows(self) -> Iterator[dict[str, Any]]:
        yield from self._summaries
        if self._pending is not None:
            yield self._pending
        yield from self._recent

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self._rows()

    def __len__(self) -> int:
        return len(self._summaries) + (self._pending is not None) + len(self._recent)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, int) and -len(self._recent) <= index < 0:
            return self._recent[index]  # the newest rows, read often (the live view): no copy
        return list(self._rows())[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (History, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # mutable, like the list it replaces

    def __repr__(self) -> str:
        return f"<History {len(self)} rows for {self.sampled} samples (summaries {self.width} wide)>"
