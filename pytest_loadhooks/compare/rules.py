"""Moved: the comparison rules live in :mod:`pytest_loadhooks.verdicts.rules`, beside the thresholds
whose grammar they share (issue 21, "judging in one home"). This re-export shim keeps the old path."""

from __future__ import annotations

from ..verdicts.rules import (  # noqa: F401 - re-exported
    EXAMPLES, HTTP_METHODS, METRICS_HELP, TOTAL_SCOPES, Outcome, Rule, RuleError, judge, parse_rule, parse_rules,
)

__all__ = ["EXAMPLES", "HTTP_METHODS", "METRICS_HELP", "TOTAL_SCOPES", "Outcome", "Rule", "RuleError", "judge",
           "parse_rule", "parse_rules"]
