"""The CsvRequestLogger example writes a row per request of an HTTP run (the DNS test covers it
with a non-HTTP user, against that server's own count)."""

from __future__ import annotations

import csv

from other_systems import run_example


def test_csv_request_logger_example_runs(target, tmp_path):
    csv_path = tmp_path / "requests.csv"
    result = run_example("csv_request_logger", {"REQUESTS_CSV": str(csv_path)}, f"--load-host={target}",
                         tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    with csv_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and {row["request_type"] for row in rows} == {"GET"}
    assert {row["status_code"] for row in rows if row["name"] == "/page"} == {"200"}
    assert all(row["exception"] for row in rows if row["name"] == "/status/404")
