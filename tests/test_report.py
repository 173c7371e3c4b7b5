"""Reports from real runs: CSV and JSON numbers against the run's stats, the JSON schema,
and the HTML page opened in a real browser (Debian's chromium, driven by Playwright) with the network off.

The browser runs in a subprocess (tests/browser/inspect_report.py): this suite is gevent
monkey-patched, which Playwright's sync API does not mix with.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import gevent
import jsonschema
import pytest

from pytest_loadhooks import Environment, Events, HttpUser, StopUser, User, constant, task
from pytest_loadhooks.report import SECRET_MASK, ReportWriter, build_report_data, load_schema, write_html
from pytest_loadhooks.report.csv_output import FORMULA_TRIGGERS, spreadsheet_safe
from pytest_loadhooks.report.data import REPORT_PERCENTILES, exit_code_of
from pytest_loadhooks.report.format import TIMELINE_MAX_POINTS, timeline
from pytest_loadhooks.report.html import DISTRIBUTION_TOP_N, distribution_bins
from pytest_loadhooks.report.redact import mask_url_credentials
from pytest_loadhooks.stats import percentile_label

INSPECT = Path(__file__).parent / "browser" / "inspect_report.py"
SECRET = "hunter2-do-not-leak"
REPORT_SIZE_BUDGET = 300_000
"""Bytes an HTML report of a short run may take. Locust's report of a 2 s run is about 950 KB;
ours was 4.8 MB while plotly.js was inlined, and is under 100 KB with uPlot."""


# -- helpers --

def load_run(user_classes, host, *, users=3, spawn_rate=20, run_time=1.5, writer=None, setup=None):
    """A real run of ``user_classes`` against ``host``; returns the Environment."""
    environment = Environment(user_classes=user_classes, host=host, events=Events())
    runner = environment.create_local_runner()
    if writer is not None:
        writer.attach(runner)
    if setup is not None:
        setup(environment)
    runner.run(users, spawn_rate, run_time)
    return environment


def run_info(environment, *, name, users, spawn_rate, run_time, thresholds=(), custom_arguments=()):
    """What the plugin hands the report writer at the end of a run."""
    runner = environment.runner
    thresholds = list(thresholds)
    exit_code = runner.exit_code
    status = "errored" if exit_code else ("failed" if any(not t["passed"] for t in thresholds) else "passed")
    return {
        "name": name,
        "host": environment.host,
        "started_at": runner.start_time,
        "ended_at": runner.stop_time,
        "duration": runner.stop_time - runner.start_time,
        "users": users,
        "spawn_rate": spawn_rate,
        "run_time": run_time,
        "status": status,
        "exit_code": exit_code,
        "thresholds": thresholds,
        "custom_arguments": list(custom_arguments),
        "listener_errors": [
            {"event": e.event, "listener": e.listener, "error": e.error, "traceback": e.traceback}
            for e in environment.listener_errors
        ],
    }


def inspect_in_browser(report: Path, screenshot: Path, *extra: str) -> dict:
    if not chromium_available():
        pytest.skip("no chromium to open the report in: run scripts/setup-dev.sh (installs Debian's chromium) "
                    "or name a build in CHROMIUM_PATH")
    result = subprocess.run(
        [sys.executable, str(INSPECT), str(report), "--screenshot", str(screenshot), *extra],
        check=False, capture_output=True, text=True, timeout=150,
    )
    assert result.returncode == 0, f"browser script failed:\n{result.stderr[-4000:]}"
    return json.loads(result.stdout)


def chromium_available() -> bool:
    named = os.environ.get("CHROMIUM_PATH")
    return Path(named).is_file() if named else bool(shutil.which("chromium") or Path("/usr/bin/chromium").is_file())


def assert_page_clean(findings: dict) -> None:
    assert findings["page_errors"] == []
    assert findings["console_errors"] == []
    assert findings["dialogs"] == []
    assert findings["blocked_requests"] == [], "the report tried to reach the network"
    assert findings["charts_state"] == "done"


LINE_SERIES = {"users": ["users"], "rps": ["rps", "fails"], "response-times": ["p50", "p95"]}
"""The series colours (names in charts.js's palette) each chart over time draws its lines in."""


def lines_drawn(chart: dict) -> list[str]:
    """The series of a chart over time whose colour covers more than a few pixels of its canvas."""
    return [name for name in LINE_SERIES[chart["kind"]] if chart["series_pixels"].get(name, 0) > 20]


def assert_charts_rendered(findings: dict) -> None:
    for chart in findings["charts"]:
        assert chart["rendered"], chart
        assert chart["canvas_count"] == 1 and chart["canvas_width"] > 100 and chart["canvas_height"] > 100, chart
        assert chart["width"] > 100 and chart["height"] > 100, chart
        if chart["kind"] == "distribution":
            assert chart["bars"] > 0, chart
            assert chart["legend"] == ["Range", "Requests"], chart
        else:
            # Lines can lie on top of each other (all zero in a run without requests): at least one shows.
            assert lines_drawn(chart), chart
            assert len(chart["legend"]) == 1 + len(LINE_SERIES[chart["kind"]]), chart


def assert_png(path: Path) -> None:
    assert path.is_file()
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000


def validate(data: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(load_schema())
    jsonschema.Draft202012Validator(load_schema()).validate(data)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# -- the main run --
# (User classes are made by functions: a module-level concrete User would become a load item of its own.)

def shop_user():
    """A small shop with fast, slow and failing endpoints, and a task that raises."""

    class ShopUser(HttpUser):
        wait_time = constant(0.02)

        @task(4)
        def home(self):
            self.client.get("/")

        @task(2)
        def data(self):
            self.client.get("/api/data")

        @task
        def slow(self):
            self.client.get("/slow?ms=25", name="/slow")

        @task
        def broken(self):
            self.client.get("/status/500")

        @task
        def checkout(self):
            with self.client.post("/cart", catch_response=True) as response:
                response.failure("cart rejected the order")

        @task
        def out_of_stock(self):
            raise RuntimeError("out of stock")

    return ShopUser


THRESHOLDS = [
    {"expression": "p95 < 500", "passed": True, "measured": None, "limit": 500.0, "message": "p95 within 500 ms"},
    {"expression": "rps > 100000", "passed": False, "measured": None, "limit": 100000.0,
     "message": "throughput below 100000 req/s"},
]
CUSTOM_ARGUMENTS = [
    {"name": "api_token", "value": SECRET, "is_secret": True},
    {"name": "region", "value": "eu-west", "is_secret": False},
]


@pytest.fixture(scope="module")
def shop_run(target, tmp_path_factory):
    """One real run writing every output, shared by the tests that check them."""
    directory = tmp_path_factory.mktemp("shop")
    writer = ReportWriter(html=directory / "report.html", csv_prefix=directory / "csv" / "shop",
                          json_path=directory / "report.json")
    history_path = directory / "csv" / "shop_stats_history.csv"
    rows_on_disk = []  # lines in the history CSV each time a row was sampled, read from disk at once

    def watch_history(environment):
        environment.runner.history_listeners.append(
            lambda row: rows_on_disk.append(len(history_path.read_text(encoding="utf-8").splitlines())))

    with pytest.MonkeyPatch.context() as patch:  # module scope: the autouse _no_proxy fixture is not active yet
        for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            patch.delenv(name, raising=False)
        patch.setenv("NO_PROXY", "127.0.0.1,localhost")
        environment = load_run([shop_user()], target, users=4, run_time=1.5, writer=writer, setup=watch_history)
    stats = environment.stats
    thresholds = [dict(THRESHOLDS[0], measured=stats.total.exact_percentile(0.95)),
                  dict(THRESHOLDS[1], measured=stats.total.total_rps)]
    info = run_info(environment, name="tests/test_report.py::shop", users=4, spawn_rate=20, run_time=1.5,
                    thresholds=thresholds, custom_arguments=CUSTOM_ARGUMENTS)
    paths = writer.finish(environment, info)
    environment.close()
    return {"environment": environment, "paths": paths, "dir": directory, "info": info, "rows_on_disk": rows_on_disk}


def test_writer_returns_every_requested_file(shop_run):
    directory = shop_run["dir"]
    assert shop_run["paths"] == [
        directory / "csv" / "shop_stats.csv", directory / "csv" / "shop_stats_history.csv",
        directory / "csv" / "shop_failures.csv", directory / "csv" / "shop_exceptions.csv",
        directory / "report.json", directory / "report.html",
    ]
    assert all(path.stat().st_size > 0 for path in shop_run["paths"])


def test_json_matches_the_run_stats_and_validates(shop_run):
    environment = shop_run["environment"]
    stats = environment.stats
    data = json.loads((shop_run["dir"] / "report.json").read_text(encoding="utf-8"))
    validate(data)

    assert data["schema_version"] == "1.3"
    run = data["run"]
    assert run["name"] == "tests/test_report.py::shop"
    assert run["host"] == environment.host
    assert run["started_at"] == environment.runner.start_time and run["ended_at"] == environment.runner.stop_time
    assert (run["users"], run["spawn_rate"], run["run_time"]) == (4, 20.0, 1.5)
    # A missed threshold fails the run; its exit code says so too (the runner itself finished cleanly: 0).
    assert environment.runner.exit_code == 0
    assert (run["status"], run["exit_code"]) == ("failed", 1)
    assert run["user_classes"] == ["ShopUser"]
    assert [t["passed"] for t in data["thresholds"]] == [True, False]
    assert data["thresholds"][0]["measured"] == stats.total.exact_percentile(0.95)

    assert {(e["name"], e["method"]) for e in data["stats"]} == set(stats.entries) == {
        ("/", "GET"), ("/api/data", "GET"), ("/slow", "GET"), ("/status/500", "GET"), ("/cart", "POST")}
    for item in [*data["stats"], data["total"]]:
        entry = stats.total if item["name"] == "Aggregated" else stats.entries[(item["name"], item["method"])]
        assert entry.num_requests > 0
        assert item["num_requests"] == entry.num_requests
        assert item["num_failures"] == entry.num_failures
        assert item["avg_response_time"] == entry.avg_response_time
        assert item["min_response_time"] == entry.min_response_time
        assert item["max_response_time"] == entry.max_response_time
        # The document keeps the figures as measured, not rounded to Locust's whole milliseconds.
        assert item["median_response_time"] == entry.exact_median_response_time
        assert item["avg_content_length"] == entry.avg_content_length
        # Every rate is spread over the run's duration (stats.per_second), not the entry's own span.
        assert item["total_rps"] == entry.rps_over(run["duration"]) == item["num_requests"] / run["duration"]
        for q in REPORT_PERCENTILES:
            assert item["percentiles"][percentile_label(q)] == entry.exact_percentile(q)
        assert {ms: count for ms, count in item["response_times"]} == entry.response_times
    assert data["total"]["num_requests"] == sum(e.num_requests for e in stats.entries.values())
    assert stats.entries[("/status/500", "GET")].num_failures == stats.entries[("/status/500", "GET")].num_requests
    assert stats.entries[("/", "GET")].num_failures == 0

    assert sorted((f["method"], f["name"], f["error"], f["occurrences"]) for f in data["failures"]) == sorted(
        (r["method"], r["name"], r["error"], r["occurrences"]) for r in stats.errors.values())
    # (the exact wording of a response.failure() error is the stats module's: checked there)
    assert any("cart rejected the order" in f["error"] for f in data["failures"])
    assert [(e["count"], e["traceback"]) for e in data["exceptions"]] == [
        (r["count"], r["traceback"]) for r in stats.exceptions.values()]
    assert "RuntimeError: out of stock" in data["exceptions"][0]["traceback"]
    assert data["history"] == stats.history and len(data["history"]) >= 2


def test_csv_files_match_the_run_stats(shop_run):
    stats = shop_run["environment"].stats
    directory = shop_run["dir"] / "csv"

    rows = read_csv(directory / "shop_stats.csv")
    assert list(rows[0]) == [
        "Type", "Name", "Request Count", "Failure Count", "Median Response Time", "Average Response Time",
        "Min Response Time", "Max Response Time", "Average Content Size", "Requests/s", "Failures/s",
        "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"]
    assert rows[-1]["Name"] == "Aggregated" and rows[-1]["Type"] == ""
    assert len(rows) == len(stats.entries) + 1
    for row in rows:
        entry = stats.total if row["Name"] == "Aggregated" else stats.entries[(row["Name"], row["Type"])]
        assert int(row["Request Count"]) == entry.num_requests
        assert int(row["Failure Count"]) == entry.num_failures
        assert float(row["Average Response Time"]) == entry.avg_response_time
        # Locust's formats: the median and percentiles in whole milliseconds, the rest as measured.
        assert row["Median Response Time"] == str(round(entry.exact_median_response_time))
        assert float(row["Min Response Time"]) == entry.min_response_time
        assert float(row["Max Response Time"]) == entry.max_response_time
        assert float(row["Average Content Size"]) == entry.avg_content_length
        assert float(row["Requests/s"]) == entry.rps_over(shop_run["info"]["duration"])
        for q in REPORT_PERCENTILES:
            assert row[f"{percentile_label(q)}%"] == str(round(entry.exact_percentile(q)))

    failures = read_csv(directory / "shop_failures.csv")
    assert list(failures[0]) == ["Method", "Name", "Error", "Occurrences", "First Seen", "Last Seen"]
    assert sorted((r["Method"], r["Name"], r["Error"], int(r["Occurrences"])) for r in failures) == sorted(
        (r["method"], r["name"], r["error"], r["occurrences"]) for r in stats.errors.values())
    assert any(r["Error"] == "CatchResponseError('cart rejected the order')" for r in failures)
    utc = "%Y-%m-%dT%H:%M:%SZ"
    for row in failures:
        record = next(r for r in stats.errors.values() if (r["name"], r["error"]) == (row["Name"], row["Error"]))
        for column, seen in (("First Seen", record.first_seen), ("Last Seen", record.last_seen)):
            assert row[column] == time.strftime(utc, time.gmtime(int(seen)))

    exceptions = read_csv(directory / "shop_exceptions.csv")
    assert [(int(r["Count"]), r["Message"], r["Traceback"], r["Nodes"]) for r in exceptions] == [
        (r["count"], r["message"], r["traceback"], "local") for r in stats.exceptions.values()]
    assert exceptions[0]["Message"] == "out of stock"  # Locust's str(exception); the traceback names the type
    assert exceptions[0]["Traceback"].endswith("RuntimeError: out of stock\n")

    history = read_csv(directory / "shop_stats_history.csv")
    assert list(history[0]) == [
        "Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s",
        "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%",
        "Total Request Count", "Total Failure Count", "Total Median Response Time", "Total Average Response Time",
        "Total Min Response Time", "Total Max Response Time", "Total Average Content Size"]
    assert len(history) == len(stats.history)
    for row, sample in zip(history, stats.history):
        assert int(row["Timestamp"]) == int(sample["time"])
        assert int(row["User Count"]) == sample["user_count"]
        # Locust's six decimals for the rates of the last seconds
        assert row["Requests/s"] == f"{sample['current_rps']:.6f}"
        assert row["Failures/s"] == f"{sample['current_fail_per_sec']:.6f}"
        assert int(row["Total Request Count"]) == sample["num_requests"]
        assert int(row["Total Failure Count"]) == sample["num_failures"]
        assert float(row["Total Average Response Time"]) == sample["total_avg_response_time"]
        # Percentiles of the last seconds (the document's), the Total median so far: whole milliseconds.
        assert all(row[f"{percentile_label(q)}%"].isdigit() for q in REPORT_PERCENTILES), row
        assert row["50%"] == str(round(sample["response_time_percentile_0.5"]))
        assert row["95%"] == str(round(sample["response_time_percentile_0.95"]))
        assert row["Total Median Response Time"].isdigit()
    last = history[-1]
    assert int(last["Total Request Count"]) == stats.total.num_requests
    assert last["Total Median Response Time"] == str(stats.total.median_response_time)
    assert float(last["Total Min Response Time"]) == stats.total.min_response_time
    assert float(last["Total Max Response Time"]) == stats.total.max_response_time
    assert float(last["Total Average Content Size"]) == stats.total.avg_content_length


def test_history_csv_rows_reach_disk_as_they_are_sampled(shop_run):
    # Read from disk inside the run, right after each sample: header + every row so far is already there,
    # so a run that dies half-way keeps them.
    seen = shop_run["rows_on_disk"]
    assert len(seen) >= 2
    assert seen == [1 + n for n in range(1, len(seen) + 1)]


def test_secret_arguments_never_reach_any_output(shop_run):
    for path in shop_run["paths"]:
        assert SECRET not in path.read_text(encoding="utf-8"), path
    data = json.loads((shop_run["dir"] / "report.json").read_text(encoding="utf-8"))
    assert data["custom_arguments"] == [
        {"name": "api_token", "value": SECRET_MASK, "is_secret": True},
        {"name": "region", "value": "eu-west", "is_secret": False},
    ]


def test_html_is_rebuilt_from_the_json_alone(shop_run, tmp_path):
    rebuilt = tmp_path / "rebuilt.html"
    result = subprocess.run(
        [sys.executable, "-m", "pytest_loadhooks.report", str(shop_run["dir"] / "report.json"), str(rebuilt),
         "--csv", str(tmp_path / "again")],
        check=False, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert rebuilt.read_text(encoding="utf-8") == (shop_run["dir"] / "report.html").read_text(encoding="utf-8")
    assert (tmp_path / "again_stats.csv").read_text(encoding="utf-8") == (
        shop_run["dir"] / "csv" / "shop_stats.csv").read_text(encoding="utf-8")
    # What the document does not keep stays empty or as the document has it: the failures' first and
    # last times, the exceptions' Locust message (the document's repr instead), the history's percentiles
    # other than its 50 %/95 % and its totals beyond the counts and the average.
    def both(kind):
        return read_csv(tmp_path / f"again_{kind}.csv"), read_csv(shop_run["dir"] / "csv" / f"shop_{kind}.csv")

    again, first = both("failures")
    assert [{**row, "First Seen": "", "Last Seen": ""} for row in first] == again
    again, first = both("exceptions")
    assert [{**row, "Message": "RuntimeError('out of stock')"} for row in first] == again
    again, first = both("stats_history")
    assert list(again[0]) == list(first[0]) and len(again) == len(first)
    kept = ["Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s", "50%", "95%",
            "Total Request Count", "Total Failure Count", "Total Average Response Time"]
    assert [[row[k] for k in kept] for row in again] == [[row[k] for k in kept] for row in first]
    assert {row["66%"] + row["Total Median Response Time"] for row in again} == {""}


def test_html_is_self_contained_and_runs_only_its_own_scripts(shop_run):
    page = (shop_run["dir"] / "report.html").read_text(encoding="utf-8")
    assert "<script src" not in page and "<link" not in page
    assert page.count("<script") == 4  # chart data, uPlot, the chart module, the report's own script
    # A Content-Security-Policy lets exactly the three inline scripts run and fetches nothing:
    # a second line of defence behind escaping.
    policy = html.unescape(re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page).group(1))
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.DOTALL)
    assert len(scripts) == 3
    assert scripts[0].startswith("/*! https://github.com/leeoniya/uPlot (v")  # vendored, its licence header kept
    assert "window.LoadhooksCharts" in scripts[1]
    for source in scripts:
        digest = base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode()
        assert f"'sha256-{digest}'" in policy


def test_report_in_a_real_browser_offline(shop_run, tmp_path):
    environment = shop_run["environment"]
    stats = environment.stats
    screenshot = tmp_path / "report.png"
    findings = inspect_in_browser(shop_run["dir"] / "report.html", screenshot, "--filter", "api", "--full-page")
    assert_page_clean(findings)

    # Summary: the status the caller gave, the exit code that goes with it, and what missed
    assert findings["status"] == "Failed"
    assert findings["exit_code"] == "1"
    assert findings["status_reasons"] == "1 of 2 thresholds missed"
    assert findings["run_name"] == "tests/test_report.py::shop"
    assert findings["host"] == environment.host
    kpis = {k["label"]: k["value"] for k in findings["kpis"]}
    assert kpis["Requests"] == f"{stats.total.num_requests:,}"
    assert kpis["Failures"].startswith(f"{stats.total.num_failures:,} ")
    assert kpis["Peak users"] == "4"
    for text in ("Target host", "Started", "Ended", "Duration", "Spawn rate", "20.0 users/s", "Exit code",
                 "1 of 2 passed"):
        assert text in findings["summary_text"]
    assert [(t["result"], t["cells"][1]) for t in findings["thresholds"]] == [
        ("passed", "p95 < 500"), ("failed", "rps > 100000")]

    # The endpoint table: every endpoint, the columns asked for, the Aggregated row
    assert findings["endpoint_headers"] == ["Method", "Name", "Requests", "Failures", "Fail %", "Avg", "Min", "Max",
                                            "Median", "p90", "p95", "p99", "Avg size", "RPS"]
    assert findings["endpoint_rows"] == len(stats.entries)
    table = {(row[1], row[0]): row for row in findings["endpoint_rows_sample"]}
    for key, entry in stats.entries.items():
        assert table[key][2] == f"{entry.num_requests:,}"
        assert table[key][3] == f"{entry.num_failures:,}"
    assert table[("/status/500", "GET")][4] == "100.00"
    assert findings["aggregated_row"][1:4] == ["Aggregated", f"{stats.total.num_requests:,}",
                                               f"{stats.total.num_failures:,}"]
    busiest = max(stats.entries.values(), key=lambda e: e.num_requests)
    assert findings["first_row_after_sort"][1] == busiest.name
    assert findings["filtered_rows"] == 1 and findings["filter_count_text"] == "1 of 5 endpoints"

    # Charts: three over time, and a distribution for all requests plus each endpoint
    kinds = [c["kind"] for c in findings["charts"]]
    assert kinds[:3] == ["users", "rps", "response-times"]
    assert kinds.count("distribution") == 1 + len(stats.entries)
    assert_charts_rendered(findings)
    charts = {c["kind"]: c for c in findings["charts"] if c["kind"] != "distribution"}
    # Requests and failures both flowed, and the median and p95 differ (the /slow endpoint): every line shows.
    for kind in ("rps", "response-times"):
        assert lines_drawn(charts[kind]) == LINE_SERIES[kind], charts[kind]

    # Failures, exceptions, arguments
    assert len(findings["failure_rows"]) == len(stats.errors)
    assert any("cart rejected the order" in row[3] for row in findings["failure_rows"])
    (exception,) = findings["exceptions"]
    assert exception["summary"].startswith(f"{next(iter(stats.exceptions.values()))['count']}×")
    assert "RuntimeError: out of stock" in exception["traceback"]
    assert findings["arguments"] == [["api_token", f"{SECRET_MASK} (secret)"], ["region", "eu-west"]]
    assert findings["listener_errors"] == []
    assert_png(screenshot)


# -- escaping: text from the target or the user is text, wherever it shows --

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror="window.__xss=1;alert(2)">',
    "</script><script>window.__xss=3;alert(3)</script>",
    "<!--<script>alert(4)</script>",
    "<svg onload=alert(5)>",
    "<a href=javascript:alert(6)>click</a> &amp; <b>bold</b>",
]


def hostile_user():
    class HostileUser(HttpUser):
        wait_time = constant(0.05)

        @task
        def names(self):
            for payload in PAYLOADS:
                self.client.get("/", name=payload)

        @task
        def failures(self):
            with self.client.get("/", name=PAYLOADS[1], catch_response=True) as response:
                response.failure(PAYLOADS[2])

        @task
        def raises(self):
            raise ValueError(PAYLOADS[3])

    return HostileUser


def test_text_from_target_or_user_is_escaped_in_the_browser(target, tmp_path):
    def hostile_listener(environment):
        def on_request(name, **_kwargs):
            if name == PAYLOADS[4] and not getattr(on_request, "done", False):
                on_request.done = True
                raise RuntimeError(PAYLOADS[5])
        environment.events.request.add_listener(on_request)

    # 2 s: history rows a second apart, so every chart has a line to draw even on a busy machine.
    environment = load_run([hostile_user()], target, users=2, run_time=2.0, setup=hostile_listener)
    info = run_info(
        environment, name=PAYLOADS[0], users=2, spawn_rate=20, run_time=2.0,
        thresholds=[{"expression": PAYLOADS[1], "passed": False, "measured": 1.0, "limit": 0.5, "message": PAYLOADS[2]}],
        custom_arguments=[{"name": PAYLOADS[3], "value": PAYLOADS[4], "is_secret": False}],
    )
    environment.close()
    report = tmp_path / "hostile.html"
    ReportWriter(html=report).finish(environment, info)

    page = report.read_text(encoding="utf-8")
    for payload in PAYLOADS:
        assert payload not in page, f"unescaped: {payload}"

    findings = inspect_in_browser(report, tmp_path / "hostile.png")
    assert findings["dialogs"] == []
    assert findings["xss_marker"] is None
    assert findings["img_elements"] == 0
    assert findings["script_elements"] == 4
    assert_page_clean(findings)
    assert_charts_rendered(findings)

    # Every payload shows as the text it is
    assert sorted(findings["endpoint_names"]) == sorted(PAYLOADS)
    assert findings["run_name"] == PAYLOADS[0]
    assert findings["thresholds"][0]["cells"][1] == PAYLOADS[1] and findings["thresholds"][0]["cells"][4] == PAYLOADS[2]
    (recorded,) = environment.stats.errors.values()
    assert PAYLOADS[2] in recorded["error"]
    assert [row[2:] for row in findings["failure_rows"]] == [[PAYLOADS[1], recorded["error"]]]
    assert PAYLOADS[3] in findings["exceptions"][0]["summary"]
    assert findings["arguments"] == [[PAYLOADS[3], PAYLOADS[4]]]
    assert PAYLOADS[5] in findings["listener_errors"][0]["summary"]


# -- edge cases: no requests, 10,000 endpoints, a run stopped by a listener --

def idle_user():
    class IdleUser(User):
        wait_time = constant(0.05)

        @task
        def think(self):
            gevent.sleep(0.05)

    return IdleUser


def test_report_of_a_run_without_requests(tmp_path):
    writer = ReportWriter(html=tmp_path / "idle.html", csv_prefix=tmp_path / "idle", json_path=tmp_path / "idle.json")
    environment = load_run([idle_user()], None, users=2, run_time=1.2, writer=writer)
    info = run_info(environment, name="idle", users=2, spawn_rate=20, run_time=1.2)
    environment.close()
    writer.finish(environment, info)

    data = json.loads((tmp_path / "idle.json").read_text(encoding="utf-8"))
    validate(data)
    assert data["stats"] == [] and data["total"]["num_requests"] == 0 and data["failures"] == []
    assert data["run"]["host"] is None and data["run"]["status"] == "passed"
    assert [r["Name"] for r in read_csv(tmp_path / "idle_stats.csv")] == ["Aggregated"]
    assert read_csv(tmp_path / "idle_failures.csv") == []

    findings = inspect_in_browser(tmp_path / "idle.html", tmp_path / "idle.png")
    assert_page_clean(findings)
    assert (findings["status"], findings["exit_code"], findings["status_reasons"]) == ("Passed", "0", None)
    assert findings["endpoint_rows"] == 0
    assert findings["aggregated_row"][2] == "0"
    assert [c["kind"] for c in findings["charts"]] == ["users", "rps", "response-times"]
    assert_charts_rendered(findings)


def many_names_user():
    class ManyNamesUser(User):
        """Reports 10,000 distinct request names through the ``request`` event, as a custom client does."""

        wait_time = constant(0)

        @task
        def burst(self):
            fire = self.environment.events.request.fire
            for i in range(10_000):
                repeats = 30 - i if i < 20 else 1  # a few busy endpoints on top of a long tail
                for _ in range(repeats):
                    fire(request_type="GET", name=f"/items/{i}", response_time=1 + (i % 97) * 0.5,
                         response_length=100 + i % 7, response=None, context={}, exception=None,
                         start_time=time.time(), url=f"http://example.invalid/items/{i}")
            raise StopUser()

    return ManyNamesUser


def test_report_with_ten_thousand_request_names(tmp_path):
    writer = ReportWriter(html=tmp_path / "many.html", json_path=tmp_path / "many.json")
    environment = load_run([many_names_user()], None, users=1, run_time=1.0, writer=writer)
    info = run_info(environment, name="many", users=1, spawn_rate=20, run_time=1.0)
    environment.close()
    writer.finish(environment, info)
    data = json.loads((tmp_path / "many.json").read_text(encoding="utf-8"))
    assert len(data["stats"]) == 10_000
    assert {e["name"] for e in data["stats"]} == {f"/items/{i}" for i in range(10_000)}
    # Entries all have one shape; validating 200 of them keeps pure-Python jsonschema from taking seconds.
    validate(dict(data, stats=data["stats"][:100] + data["stats"][-100:]))

    findings = inspect_in_browser(tmp_path / "many.html", tmp_path / "many.png", "--filter", "/items/9999")
    assert_page_clean(findings)
    assert findings["endpoint_rows"] == 10_000  # the table stays complete
    kinds = [c["kind"] for c in findings["charts"]]
    assert kinds.count("distribution") == 1 + DISTRIBUTION_TOP_N  # charts only for the busiest endpoints
    assert_charts_rendered(findings)
    assert findings["first_row_after_sort"][1] == "/items/0"
    assert findings["filtered_rows"] == 1


def steady_user():
    class SteadyUser(HttpUser):
        wait_time = constant(0.02)

        @task
        def home(self):
            self.client.get("/")

    return SteadyUser


def test_report_of_a_run_stopped_by_a_listener(target, tmp_path):
    def stop_after_ten(environment):
        def on_request(**_kwargs):
            if environment.stats.total.num_requests >= 10 and not getattr(on_request, "fired", False):
                on_request.fired = True
                gevent.spawn(environment.runner.quit)
                raise RuntimeError("listener gave up after 10 requests")
        environment.events.request.add_listener(on_request)

    writer = ReportWriter(html=tmp_path / "stopped.html", json_path=tmp_path / "stopped.json")
    # No run time: the run ends only because the listener quits it.
    environment = load_run([steady_user()], target, users=2, run_time=None, writer=writer, setup=stop_after_ten)
    info = run_info(environment, name="stopped", users=2, spawn_rate=20, run_time=None)
    environment.close()
    writer.finish(environment, info)

    data = json.loads((tmp_path / "stopped.json").read_text(encoding="utf-8"))
    validate(data)
    assert data["run"]["status"] == "errored" and data["run"]["exit_code"] == 2 and data["run"]["run_time"] is None
    assert [(e["event"], e["error"]) for e in data["listener_errors"]] == [
        ("request", "RuntimeError: listener gave up after 10 requests")]
    assert data["total"]["num_requests"] == environment.stats.total.num_requests >= 10

    findings = inspect_in_browser(tmp_path / "stopped.html", tmp_path / "stopped.png")
    assert_page_clean(findings)
    assert (findings["status"], findings["exit_code"], findings["status_reasons"]) == (
        "Errored", "2", "1 listener error")
    assert "Run time requested\nuntil stopped" in findings["summary_text"]
    assert "listener gave up after 10 requests" in findings["listener_errors"][0]["summary"]
    assert "RuntimeError" in findings["listener_errors"][0]["traceback"]
    assert_charts_rendered(findings)


# -- the distribution's bins --

def test_distribution_bins_keep_every_request_in_few_unique_bins():
    wide = [[round(0.5 * 1.01 ** i, 3), i % 5 + 1] for i in range(900)]  # 0.5 ms .. ~3.9 s, 900 buckets
    bins = distribution_bins(wide)
    assert 2 <= len(bins["counts"]) <= 20
    assert sum(bins["counts"]) == sum(count for _, count in wide)
    assert len(set(bins["labels"])) == len(bins["labels"])
    assert bins["low"][0] == wide[0][0] and bins["high"][-1] == wide[-1][0]

    few = [[2.5, 3], [10.0, 1], [250.0, 2]]
    assert distribution_bins(few)["counts"] == [3, 1, 2]
    assert distribution_bins(few)["labels"] == ["2.5", "10", "250"]

    narrow = [[100.0 + i, 1] for i in range(50)]
    assert sum(distribution_bins(narrow)["counts"]) == 50
    assert distribution_bins([]) == {"labels": [], "ranges": [], "counts": [], "low": [], "high": []}


def test_charts_of_a_day_long_run_stay_small_and_keep_spikes():
    day = [{"time": 1.8e9 + i, "user_count": 100, "current_rps": 50.0, "current_fail_per_sec": 0.0,
            "response_time_percentile_0.5": 10.0, "response_time_percentile_0.95": 900.0 if i == 43_210 else 20.0}
           for i in range(86_400)]
    series = timeline(day)
    assert len(series["time"]) <= TIMELINE_MAX_POINTS
    assert max(series["p95"]) == 900.0 and set(series["rps"]) == {50.0} and set(series["users"]) == {100}


def test_build_report_data_fills_in_what_run_info_leaves_out(target, tmp_path):
    environment = load_run([steady_user()], target, users=1, run_time=1.0)
    environment.close()
    data = build_report_data(environment, {})
    validate(data)
    runner = environment.runner
    assert data["run"]["started_at"] == runner.start_time and data["run"]["ended_at"] == runner.stop_time
    assert data["run"]["users"] == 1 and data["run"]["host"] == target
    assert data["run"]["status"] == "passed" and data["run"]["exit_code"] == 0
    assert write_html(data, tmp_path / "bare.html").stat().st_size < REPORT_SIZE_BUDGET


# -- size: the report of a short run stays small --

def test_report_of_a_short_run_stays_within_its_size_budget(shop_run):
    page = shop_run["dir"] / "report.html"
    assert page.stat().st_size < REPORT_SIZE_BUDGET, f"{page.stat().st_size:,} bytes"
    assert "plotly" not in page.read_text(encoding="utf-8").lower()


# -- CSV injection: text a spreadsheet would run as a formula is neutralised in every CSV --

FORMULA_NAMES = ['=HYPERLINK("http://x","y")', "@SUM(1,1)", "+1", "-cmd", "\tTAB", "\r=1"]


class FormulaError(Exception):
    """An exception whose str (the exceptions CSV's Message, as Locust's) is a formula."""

    def __str__(self):
        return "=cmd|' /C calc'!A0"


def formula_user():
    class FormulaUser(User):
        """Reports requests under formula-like names and methods through the ``request`` event,
        as a custom client does, with failures whose error text is a formula too."""

        wait_time = constant(0.05)

        @task
        def report(self):
            fire = self.environment.events.request.fire
            for name in [*FORMULA_NAMES, "/safe"]:
                fire(request_type="GET", name=name, response_time=12.5, response_length=10, response=None,
                     context={}, exception=None, start_time=time.time(), url=None)
            fire(request_type="@POST", name="-cmd", response_time=3.0, response_length=0, response=None,
                 context={}, exception="=1+1", start_time=time.time(), url=None)
            raise FormulaError("formula in a task")

    return FormulaUser


def test_csv_cells_that_spreadsheets_would_run_are_neutralised(tmp_path):
    writer = ReportWriter(csv_prefix=tmp_path / "formula", json_path=tmp_path / "formula.json")
    environment = load_run([formula_user()], None, users=2, run_time=1.2, writer=writer)
    info = run_info(environment, name="=formula", users=2, spawn_rate=20, run_time=1.2)
    environment.close()
    writer.finish(environment, info)
    stats = environment.stats

    # Every cell of every CSV: none starts with a formula trigger, unless it is a number.
    for kind in ("stats", "stats_history", "failures", "exceptions"):
        with open(tmp_path / f"formula_{kind}.csv", newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                for cell in row:
                    if cell.startswith(FORMULA_TRIGGERS):
                        float(cell)  # a negative number is fine; text is not

    rows = {(r["Type"], r["Name"]): r for r in read_csv(tmp_path / "formula_stats.csv")}
    for name in FORMULA_NAMES:
        row = rows[("GET", "'" + name)]  # shown in a spreadsheet as the text it is
        entry = stats.entries[(name, "GET")]
        assert int(row["Request Count"]) == entry.num_requests > 0  # numeric columns intact
        assert float(row["Average Response Time"]) == entry.avg_response_time == 12.5
        assert float(row["Requests/s"]) == entry.rps_over(info["duration"])
    assert ("GET", "/safe") in rows  # ordinary text is left alone
    assert rows[("'@POST", "'-cmd")]["Failure Count"] == str(stats.entries[("-cmd", "@POST")].num_failures)

    failures = read_csv(tmp_path / "formula_failures.csv")
    assert [(f["Method"], f["Name"], f["Error"]) for f in failures] == [("'@POST", "'-cmd", "'=1+1")]
    (recorded,) = stats.errors.values()
    assert int(failures[0]["Occurrences"]) == recorded["occurrences"] > 0
    (exception,) = read_csv(tmp_path / "formula_exceptions.csv")
    assert exception["Message"] == "'=cmd|' /C calc'!A0" and int(exception["Count"]) > 0

    # Only the CSV files change: the JSON keeps every name as it was reported.
    data = json.loads((tmp_path / "formula.json").read_text(encoding="utf-8"))
    assert {e["name"] for e in data["stats"]} == {*FORMULA_NAMES, "/safe", "-cmd"}
    assert data["run"]["name"] == "=formula"


def test_spreadsheet_safe_changes_text_only():
    assert [spreadsheet_safe(c) for c in ("=1+1", "+1", "-1", "@A1", "\t=1", "\r=1")] == [
        "'=1+1", "'+1", "'-1", "'@A1", "'\t=1", "'\r=1"]
    assert [spreadsheet_safe(c) for c in (-1, -2.5, 0, 3.25, "", "/cart", "a=b", "GET")] == [
        -1, -2.5, 0, 3.25, "", "/cart", "a=b", "GET"]


# -- credentials in URLs are masked in every output --

def test_url_passwords_are_masked():
    assert mask_url_credentials("http://user:secret@127.0.0.1:8089") == "http://user:***@127.0.0.1:8089"
    assert mask_url_credentials("https://u:p%40ss@example.com/path?q=1#f") == "https://u:***@example.com/path?q=1#f"
    assert mask_url_credentials("ConnectionError('http://u:pa@ss@h:1/x')") == "ConnectionError('http://u:***@h:1/x')"
    assert mask_url_credentials("from http://a:1@x to https://b:2@y") == "from http://a:***@x to https://b:***@y"
    for untouched in ("http://127.0.0.1:8089", "http://token@host/", "mailto:me@example.com", "a:b@c", "",
                      "https://u:@host"):
        assert mask_url_credentials(untouched) == untouched


def credentials_user():
    class CredentialsUser(HttpUser):
        wait_time = constant(0.05)

        @task
        def page(self):
            self.client.get("/page")

        @task
        def quoted(self):  # test code quoting its host in a failure: the password must not show there either
            with self.client.get("/api/data", catch_response=True) as response:
                response.failure(f"{self.host} answered {response.status_code}")

    return CredentialsUser


def test_host_credentials_are_masked_in_json_html_and_csv(target, tmp_path):
    host = target.replace("http://", f"http://loadtester:{SECRET}@")
    masked = target.replace("http://", "http://loadtester:***@")
    writer = ReportWriter(html=tmp_path / "creds.html", csv_prefix=tmp_path / "creds", json_path=tmp_path / "creds.json")
    environment = load_run([credentials_user()], host, users=2, run_time=1.0, writer=writer)
    info = run_info(environment, name="credentials", users=2, spawn_rate=20, run_time=1.0)
    environment.close()
    paths = writer.finish(environment, info)
    assert environment.stats.total.num_requests > environment.stats.total.num_failures > 0

    for path in paths:
        assert SECRET not in path.read_text(encoding="utf-8"), path
    data = json.loads((tmp_path / "creds.json").read_text(encoding="utf-8"))
    assert data["run"]["host"] == masked
    (failure,) = data["failures"]
    assert f"{masked} answered 200" in failure["error"]
    page = (tmp_path / "creds.html").read_text(encoding="utf-8")
    assert f">{masked}<" in page and f"{masked} answered 200" in page
    (row,) = read_csv(tmp_path / "creds_failures.csv")
    assert f"{masked} answered 200" in row["Error"]


def test_exit_code_goes_with_the_status():
    assert exit_code_of("passed", 0) == 0
    assert exit_code_of("failed", 0) == 1  # a missed threshold: the runner was fine, the run was not
    assert exit_code_of("failed", 1) == 1
    assert exit_code_of("errored", 2) == 2
