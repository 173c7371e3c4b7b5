"""Compare saved results: ``python -m pytest_loadhooks.compare BASELINE.json [OLDER.json ...] NOW.json``.

The last file is the run to judge, the first the baseline it is compared with; any files in
between are older baselines that only widen the spread (a change inside it is called noise).
``--fail EXPR`` (repeatable) applies ``--load-compare-fail`` rules: exit status 1 when one is
breached, 0 otherwise; 2 for a file that cannot be read or a rule that cannot be parsed.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import compare_documents, comparison_lines, judge, parse_rules
from .rules import RuleError
from .validate import ResultError, load_result


def _read(path: str) -> dict[str, Any]:
    """A saved result checked by value; ValueError naming the file (and the field at fault) otherwise."""
    try:
        return load_result(path)
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
    except ResultError as error:
        raise ValueError(f"cannot read {path}: {error}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_loadhooks.compare",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", metavar="FILE.json",
                        help="the baseline first, the run to judge last (older baselines in between)")
    parser.add_argument("--fail", action="append", default=[], metavar="EXPR",
                        help="a regression rule, e.g. 'p95:+10%%' or 'GET /cart: p99:+20%%' (repeatable)")
    parser.add_argument("--color", choices=("auto", "yes", "no"), default="auto", help="colour the changes")
    args = parser.parse_args(argv)
    if len(args.files) < 2:
        parser.error("give at least two files: the baseline and the run to compare with it")
    try:
        rules = parse_rules(args.fail)
        documents = [_read(path) for path in args.files]
    except (RuleError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    *baselines, current = documents
    comparison = compare_documents(baselines, current, labels=[args.files[0]])
    colour = args.color == "yes" or (args.color == "auto" and sys.stdout.isatty())
    for line in comparison_lines(comparison, colour=colour):
        print(line)
    outcomes = judge(comparison, rules, [baselines[0], current])
    for outcome in outcomes:
        print(("PASS " if outcome.passed else "FAIL ") + outcome.message)
    return 0 if all(outcome.passed for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
