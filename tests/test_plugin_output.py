"""Terminal output: the live view (plain lines off a TTY, a progress bar on one) and -q."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

from plugin_helpers import SHOP_MODULE, load_args


def test_plain_live_lines_when_not_on_a_terminal(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target, "--load-live-interval=0.5", run_time="2s"))
    result.assert_outcomes(passed=1)
    live = [line for line in result.stdout.lines if line.startswith("load 00:0")]
    assert len(live) >= 2, result.stdout.str()
    assert "/ 00:02 (left" in live[0] and "users" in live[0] and "rps" in live[0] and "p95" in live[0]
    assert "\r" not in result.stdout.str()


def test_quiet_keeps_the_summary_to_a_line(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target, "-q", "--load-threshold", "p95 < 0.001"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*test_shop.py::load_run: FAILED - * requests, 0 failures*",
        "  FAILED threshold 'p95 < 0.001' failed*",
    ])
    result.stdout.no_fnmatch_line("*Aggregated*")


def test_progress_bar_on_a_terminal(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", *load_args(target, run_time="2s")],
        cwd=pytester.path, stdin=slave, stdout=slave, stderr=slave, env=env,
    )
    os.close(slave)
    output = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    process.wait(10)
    os.close(master)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text
    assert "\r" in text and "[#" in text and "] 00:0" in text, text
    assert "load test results" in text


def test_reports_for_session_and_marker_isolated_runs_do_not_overwrite(pytester, target):
    import json

    pytester.makepyfile(
        test_shop=SHOP_MODULE + f'''
import pytest

@pytest.mark.load(users=2, run_time="1s", host="{target}")
def test_isolated(load_result):
    assert load_result.num_requests > 0
'''
    )
    result = pytester.runpytest_subprocess(
        *load_args(target, "--load-html=out/report.html", "--load-json=out/result.json", "--load-csv=out/run")
    )
    result.assert_outcomes(passed=2)
    out = pytester.path / "out"
    names = sorted(p.name for p in out.iterdir())
    assert "report.html" in names and "result.json" in names and "run_stats.csv" in names
    isolated = [n for n in names if "test_isolated" in n]
    assert any(n.endswith(".html") for n in isolated) and any(n.endswith(".json") for n in isolated)
    assert any(n.endswith("_stats_history.csv") for n in isolated)
    session_doc = json.loads((out / "result.json").read_text())
    isolated_doc = json.loads((out / [n for n in isolated if n.endswith(".json")][0]).read_text())
    assert session_doc["run"]["name"] == "test_shop.py::load_run"
    assert isolated_doc["run"]["name"] == "test_shop.py::test_isolated"
    assert isolated_doc["run"]["users"] == 2
    result.stdout.fnmatch_lines(["*wrote *out/report.html*"])


JUDGED_MODULE = SHOP_MODULE + '''
import pytest

pytestmark = pytest.mark.thresholds("failures == 0")

@pytest.mark.thresholds("GET /page: p99 < 60s")
def test_reads(load_result):
    assert load_result.num_requests > 0

@pytest.mark.thresholds("p50 < 0.001")
def test_too_strict(load_result):
    pass
'''


def test_every_threshold_that_judged_a_run_is_in_its_summary_and_report(pytester, target):
    """CLI, ini, module and a test's own thresholds judge the run: each is listed, a test's labelled with it."""
    import json

    pytester.makeini("[pytest]\nload_thresholds =\n    requests > 0\n")
    pytester.makepyfile(test_shop=JUDGED_MODULE)
    result = pytester.runpytest_subprocess(
        *load_args(target, "--load-threshold", "rps > 0.1", "--load-fail-ratio=50%", "--load-json=run.json",
                   "--load-html=report.html", "-v"))
    result.assert_outcomes(passed=1, failed=2)  # test_too_strict, and the run it judged
    result.stdout.fnmatch_lines(["*test_shop.py::load_run FAILED*", "*test_shop.py::test_too_strict FAILED*",
                                 "*load test results*", "*test_shop.py::load_run: FAILED*"])
    summary = result.stdout.str().split("load test results", 1)[1]
    for line in ("PASS threshold 'fail_ratio <= 0.5' passed", "PASS threshold 'rps > 0.1' passed",
                 "PASS threshold 'requests > 0' passed", "PASS threshold 'failures == 0' passed",
                 "PASS threshold 'GET /page: p99 < 60s' (set by test_shop.py::test_reads) passed",
                 "FAIL threshold 'p50 < 0.001' (set by test_shop.py::test_too_strict) failed"):
        assert line in summary, summary
    document = json.loads((pytester.path / "run.json").read_text())
    assert document["run"]["status"] == "failed"
    by_expression = {t["expression"]: t for t in document["thresholds"]}
    assert set(by_expression) == {"fail_ratio <= 0.5", "rps > 0.1", "requests > 0", "failures == 0",
                                  "GET /page: p99 < 60s", "p50 < 0.001"}
    assert by_expression["p50 < 0.001"]["source"] == "test_shop.py::test_too_strict"
    assert not by_expression["p50 < 0.001"]["passed"]
    assert by_expression["GET /page: p99 < 60s"]["source"] == "test_shop.py::test_reads"
    assert "source" not in by_expression["rps > 0.1"]
    assert "(set by test_shop.py::test_too_strict)" in (pytester.path / "report.html").read_text()


def test_a_deselected_test_judges_no_run(pytester, target):
    pytester.makepyfile(test_shop=JUDGED_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target, "-k", "not test_too_strict", "-v"))
    result.assert_outcomes(passed=2, deselected=1)
    assert "p50 < 0.001" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*PASS threshold 'GET /page: p99 < 60s' (set by test_shop.py::test_reads) passed*"])
