"""What a comparison measures, read from one entry of a result document.

An entry is an endpoint (or the Aggregated total) as ``report.data.entry_data`` writes it;
every figure here is read from it alone (:attr:`Metric.from_document`), so two saved documents
compare exactly as the run that wrote them would have. Percentiles the entry does not list are
recomputed from its histogram (``response_times``), which is what makes any pNN comparable.
The metrics themselves are the one table in ``pytest_loadhooks.verdicts.metrics``; this module
holds what is the comparisons' own: their names' aliases and the figures of every table.
"""

from __future__ import annotations

from ..verdicts.metrics import Entry, Metric, lookup

__all__ = ["ALIASES", "METRICS_HELP", "TABLE_METRICS", "Entry", "Metric", "metric_named"]

ALIASES = {"fail-ratio": "fail_ratio", "fail%": "fail_ratio", "error_rate": "fail_ratio", "reqs": "requests"}

TABLE_METRICS = ("requests", "fail_ratio", "p50", "p95", "p99", "rps")
"""The figures every comparison shows, per endpoint (the issue's list)."""

METRICS_HELP = "requests, failures, fail_ratio, rps, avg, median, max, pNN (e.g. p95, p99.9)"

def metric_named(name: str) -> Metric | None:
    """The metric of a name (case-insensitive; aliases and pNN understood) that a document can be
    compared on, or None."""
    metric = lookup(ALIASES.get(name.lower(), name.lower()))
    if metric is None or metric.from_document is None:
        return None
    return metric
