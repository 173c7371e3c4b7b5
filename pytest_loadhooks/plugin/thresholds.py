"""Moved: thresholds live in :mod:`pytest_loadhooks.verdicts.thresholds`, pytest-free, beside the
comparison rules whose grammar they share (issue 21, "judging in one home"). This re-export shim
keeps the old path (``from pytest_loadhooks.plugin.thresholds import parse`` still works)."""

from __future__ import annotations

from ..verdicts.thresholds import (  # noqa: F401 - re-exported
    HTTP_METHODS, METRIC_ALIASES, METRICS_HELP, OPERATORS, Threshold, ThresholdError, Verdict, flatten_expressions,
    marker_expressions, measure, measure_entry, metric_named, parse, parse_all, select_entry,
)

__all__ = ["HTTP_METHODS", "METRICS_HELP", "METRIC_ALIASES", "OPERATORS", "Threshold", "ThresholdError", "Verdict",
           "flatten_expressions", "marker_expressions", "measure", "measure_entry", "metric_named", "parse",
           "parse_all", "select_entry"]
