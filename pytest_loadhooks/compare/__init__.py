"""Compare a load run with a baseline: per-endpoint changes, warnings, noise, and rules that fail a run.

Pure functions of result documents (what ``--load-json`` and ``--load-save`` write), so a
comparison needs no run: ``python -m pytest_loadhooks.compare BASELINE.json NOW.json``.

    comparison = compare_documents([baseline], current)
    for line in comparison_lines(comparison):
        print(line)
    outcomes = judge(comparison, parse_rules(["p95:+10%"]), [baseline, current])
"""

from __future__ import annotations

from .diff import comparability_warnings, compare_documents
from .metrics import TABLE_METRICS, metric_named
from ..verdicts.rules import Outcome, Rule, RuleError, judge, parse_rule, parse_rules
from .text import comparison_lines

__all__ = [
    "TABLE_METRICS", "Outcome", "Rule", "RuleError", "comparability_warnings", "compare_documents",
    "comparison_lines", "judge", "metric_named", "parse_rule", "parse_rules",
]
