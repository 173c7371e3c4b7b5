"""Rebuild an HTML report (or CSV files) from a saved JSON report.

    python -m pytest_loadhooks.report report.json report.html
    python -m pytest_loadhooks.report report.json --csv out/run
"""

from __future__ import annotations

import argparse
import sys

from . import read_json, write_csv_files, write_html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_loadhooks.report", description=__doc__.splitlines()[0])
    parser.add_argument("json", help="a report written by --load-json")
    parser.add_argument("html", nargs="?", help="where to write the HTML report")
    parser.add_argument("--csv", metavar="PREFIX", help="also write PREFIX_stats.csv and the other CSV files")
    args = parser.parse_args(argv)
    if not args.html and not args.csv:
        parser.error("give an HTML path, --csv PREFIX, or both")
    try:
        data = read_json(args.json)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.html:
        print(write_html(data, args.html))
    if args.csv:
        for path in write_csv_files(data, args.csv):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
