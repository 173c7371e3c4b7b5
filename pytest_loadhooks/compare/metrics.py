"""What a comparison measures, read from one entry of a result document.

An entry is an endpoint (or the Aggregated total) as ``report.data.entry_data`` writes it;
every figure here is read from it alone (:attr:`Metric.from_document`), so two saved documents
compare exactly as the run that wrote them would have. The metrics, their names and aliases are
the one table and grammar in ``pytest_loadhooks.verdicts`` (shared with the thresholds); this
module holds what is the comparisons' own: the figures of every table.
"""

from __future__ import annotations

from ..verdicts import grammar
from ..verdicts.metrics import Entry, Metric

__all__ = ["ALIASES", "METRICS_HELP", "TABLE_METRICS", "Entry", "Metric", "metric_named"]

ALIASES = grammar.ALIASES
"""The grammar's aliases (kept here under the old name)."""

TABLE_METRICS = ("requests", "fail_ratio", "p50", "p95", "p99", "rps")
"""The figures every comparison shows, per endpoint (the issue's list)."""

METRICS_HELP = grammar.metrics_help("document")


def metric_named(name: str) -> Metric | None:
    """The metric of a name (case-insensitive; aliases and pNN understood) that a document can be
    compared on, or None."""
    return grammar.metric_named(name, "document")
