"""One locustfile, run by real Locust and by pytest-loadhooks against the same target: the CSV files
have the same columns, the failures and exceptions read the same, and each column holds the same kind
of number (an int where Locust writes an int).

The counts differ from one run to the other (two runs, two clocks), so the test compares layouts,
texts and number formats, never values. Locust comes from the ``locust_python`` fixture (tests/conftest.py).
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path

LOCUSTFILE = '''
import json

from locust import HttpUser, constant, events, task
from locust.contrib.fasthttp import FastHttpUser

SEEN = {}


@events.request.add_listener
def keep_the_exception(name, exception=None, **_kwargs):
    if exception is not None and name not in SEEN:
        SEEN[name] = {"repr": repr(exception), "str": str(exception), "type": type(exception).__name__}


@events.test_stop.add_listener
def write_what_listeners_saw(**_kwargs):
    with open("listener_exceptions.json", "w") as handle:
        json.dump(SEEN, handle)


class Shopper(HttpUser):
    wait_time = constant(0.05)

    @task
    def visit(self):
        self.client.get("/page")
        with self.client.get("/page", name="checked", catch_response=True) as response:
            response.failure("price missing")
        self.client.get("/status/500", name="server error")
        raise ValueError("boom in task")


class FastShopper(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def visit(self):
        self.client.get("/status/404", name="fast missing")
        with self.client.get("/page", name="fast checked", catch_response=True) as response:
            response.failure("fast price missing")
'''

KINDS = ("stats", "stats_history", "failures", "exceptions")
INT = re.compile(r"-?\d+")
FLOAT = re.compile(r"-?\d+\.\d+(e-?\d+)?")
SIX_DECIMALS = re.compile(r"\d+\.\d{6}")
UTC_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def read_csvs(prefix: Path) -> dict[str, list[dict[str, str]]]:
    tables = {}
    for kind in KINDS:
        with open(f"{prefix}_{kind}.csv", newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            tables[kind] = [dict(row) for row in reader]
            tables[f"{kind} header"] = reader.fieldnames
    return tables


def kind_of(cell: str) -> str:
    """What a cell holds: int, float, N/A, a UTC time, empty or text."""
    if INT.fullmatch(cell):
        return "int"
    if FLOAT.fullmatch(cell):
        return "float"
    if UTC_TIME.fullmatch(cell):
        return "utc time"
    return {"": "empty", "N/A": "N/A"}.get(cell, "text")


def locust_kind(row: dict[str, str], column: str) -> str:
    """Locust's kind of a cell. Its median is an int, except when it clamps it to the entry's min or
    max response time (its 2-digit histogram bucket fell outside them): then it writes that float."""
    kind = kind_of(row[column])
    if kind == "float" and "Median" in column:
        low = "Total Min Response Time" if column.startswith("Total") else "Min Response Time"
        high = low.replace("Min", "Max")
        if row[column] in (row[low], row[high]):
            return "int"
    return kind


def assert_same_kinds(locust_rows, our_rows, columns, what):
    for locust_row, our_row in zip(locust_rows, our_rows):
        for column in columns:
            expected, got = locust_kind(locust_row, column), kind_of(our_row[column])
            assert got == expected, f"{what} {column!r}: Locust writes {locust_row[column]!r} ({expected}), " \
                                    f"we write {our_row[column]!r} ({got})"


def by_name(rows):
    return {(row["Type"], row["Name"]): row for row in rows}


def run_locust(locust_python: str, directory: Path, target: str) -> Path:
    directory.mkdir()
    (directory / "locustfile.py").write_text(LOCUSTFILE)
    result = subprocess.run(
        [locust_python, "-m", "locust", "-f", "locustfile.py", "--headless", "-u", "2", "-r", "2", "-t", "2s",
         "--csv", "out", "-H", target, "--only-summary"],
        cwd=directory, capture_output=True, text=True, timeout=120,
    )
    assert (directory / "out_stats.csv").exists(), result.stdout + result.stderr
    return directory


def run_ours(pytester, target: str) -> Path:
    pytester.makepyfile(test_locustfile=re.sub(r"\blocust\b", "pytest_loadhooks", LOCUSTFILE))
    result = pytester.runpytest_subprocess(
        "--load-users=2", "--load-spawn-rate=2", "--load-run-time=2s", f"--load-host={target}",
        "--load-csv=out", "-p", "no:cacheprovider",
    )
    assert (pytester.path / "out_stats.csv").exists(), result.stdout.str()
    return pytester.path


def test_the_same_locustfile_writes_the_same_csv_layouts_and_texts(pytester, target, locust_python):
    theirs_dir = run_locust(locust_python, pytester.path / "locust-run", target)
    ours_dir = run_ours(pytester, target)
    theirs, ours = read_csvs(theirs_dir / "out"), read_csvs(ours_dir / "out")

    for kind in KINDS:
        assert ours[f"{kind} header"] == theirs[f"{kind} header"], kind

    # Failures: the same error texts, per request name; times in Locust's UTC form.
    def errors(rows):
        return {(row["Method"], row["Name"]): row["Error"] for row in rows}
    assert errors(ours["failures"]) == errors(theirs["failures"])
    assert_same_kinds(sorted(theirs["failures"], key=lambda r: r["Name"]),
                      sorted(ours["failures"], key=lambda r: r["Name"]),
                      ["Occurrences", "First Seen", "Last Seen"], "failures")

    # Exceptions: Locust's message and node name. The traceback holds the same frames; ours is Python's
    # whole text, whose last line keeps the exception's type (Locust's Message and Traceback lose it).
    assert [row["Message"] for row in ours["exceptions"]] == [row["Message"] for row in theirs["exceptions"]]
    assert ours["exceptions"] and len(ours["exceptions"]) == len(theirs["exceptions"])
    for ours_row, theirs_row in zip(ours["exceptions"], theirs["exceptions"]):
        assert ours_row["Nodes"] == theirs_row["Nodes"]
        assert theirs_row["Traceback"].startswith('  File "') and "raise ValueError" in theirs_row["Traceback"]
        assert ours_row["Traceback"].startswith("Traceback (most recent call last):\n  File \"")
        assert 'raise ValueError("boom in task")' in ours_row["Traceback"]
        assert ours_row["Traceback"].endswith("ValueError: boom in task\n")
        assert kind_of(ours_row["Count"]) == kind_of(theirs_row["Count"]) == "int"

    # What request listeners were handed: the same exception types, reprs and messages.
    seen_theirs = json.loads((theirs_dir / "listener_exceptions.json").read_text())
    seen_ours = json.loads((ours_dir / "listener_exceptions.json").read_text())
    assert {n: (e["type"], e["repr"]) for n, e in seen_ours.items()} == \
        {n: (e["type"], e["repr"]) for n, e in seen_theirs.items()}
    for name, seen in seen_theirs.items():
        # str() of FastHttpUser's bad status names the full URL: the same target, the same text.
        assert seen_ours[name]["str"] == seen["str"], name

    # Stats: the same rows, and in each column the same kind of number.
    theirs_stats, ours_stats = by_name(theirs["stats"]), by_name(ours["stats"])
    assert set(ours_stats) == set(theirs_stats)
    keys = sorted(theirs_stats)
    assert_same_kinds([theirs_stats[k] for k in keys], [ours_stats[k] for k in keys],
                      theirs["stats header"][2:], "stats")

    # History: rows after the first requests, column by column; Locust's rates have six decimals.
    def busy(rows):
        return [row for row in rows if int(row["Total Request Count"]) > 0]
    theirs_history, ours_history = busy(theirs["stats_history"]), busy(ours["stats_history"])
    assert theirs_history and ours_history
    assert_same_kinds(theirs_history[:1] * len(ours_history), ours_history,
                      theirs["stats_history header"], "stats_history")
    for row in ours_history:
        assert SIX_DECIMALS.fullmatch(row["Requests/s"]) and SIX_DECIMALS.fullmatch(row["Failures/s"]), row
