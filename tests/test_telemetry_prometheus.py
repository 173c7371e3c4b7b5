"""Prometheus metrics of a run (issue 22), scraped by a real Prometheus server: the counts it stores
are the run's own, exactly, both from ``--load-metrics-port`` and from the web UI's ``/metrics``."""

from __future__ import annotations

import json
import socket

from conftest import free_port
from plugin_helpers import load_args

MIXED_MODULE = '''
import time
from pytest_loadhooks import HttpUser, task, constant

class Mixed(HttpUser):
    wait_time = constant(0.05)

    @task(3)
    def page(self):
        self.client.get("/page")

    @task
    def broken(self):
        self.client.get("/status/500", name="broken")


def test_zz_ui_lingers():
    time.sleep(2)  # the web UI stays up until the session ends: Prometheus scrapes its final numbers too
'''


def _by_name(results: list[dict]) -> dict[tuple[str, str], float]:
    return {(r["metric"]["method"], r["metric"]["name"]): float(r["value"][1]) for r in results}


def test_prometheus_stores_the_runs_exact_counts(pytester, target, prometheus_server):
    metrics_port, web_port = free_port(), free_port()
    metrics_at, web_at = f"127.0.0.1:{metrics_port}", f"127.0.0.1:{web_port}"
    prometheus_server.scrape(metrics_at, web_at)
    prometheus_server.wait_for_target(metrics_at)  # scraped from the run's start: its users seen while it runs
    pytester.makepyfile(test_mixed=MIXED_MODULE)
    result = pytester.runpytest_subprocess(*load_args(
        target, f"--load-metrics-port={metrics_port}", "--load-web", f"--load-web-port={web_port}",
        "--load-json=result.json", users=2, run_time="2s"))
    result.assert_outcomes(passed=2)
    document = json.loads((pytester.path / "result.json").read_text())
    expected = {(row["method"], row["name"]): row for row in document["stats"]}
    assert set(expected) == {("GET", "/page"), ("GET", "broken")}
    for instance in (metrics_at, web_at):
        selector = f'{{instance="{instance}"}}'
        requests = _by_name(prometheus_server.query(f"last_over_time(loadhooks_requests_total{selector}[10m])"))
        failures = _by_name(prometheus_server.query(
            f"last_over_time(loadhooks_request_failures_total{selector}[10m])"))
        counts = _by_name(prometheus_server.query(
            f"last_over_time(loadhooks_response_time_seconds_count{selector}[10m])"))
        assert requests == {key: row["num_requests"] for key, row in expected.items()}, instance
        assert failures == {key: row["num_failures"] for key, row in expected.items()}, instance
        assert counts == {key: row["num_requests"] for key, row in expected.items()}, instance
    assert expected[("GET", "broken")]["num_failures"] == expected[("GET", "broken")]["num_requests"] > 0
    users = prometheus_server.query(f'max_over_time(loadhooks_users{{instance="{metrics_at}"}}[10m])')
    assert float(users[0]["value"][1]) == 2


def test_a_metrics_port_in_use_refuses_the_session_before_traffic(pytester, target):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        pytester.makepyfile(test_mixed=MIXED_MODULE)
        result = pytester.runpytest_subprocess(*load_args(target, f"--load-metrics-port={port}"))
    assert result.ret == 4
    errors = [line for line in result.stderr.lines if "pytest-loadhooks" in line]
    assert errors == [f"ERROR: pytest-loadhooks: the Prometheus metrics cannot listen on 127.0.0.1:{port}: the "
                      "port is in use (choose another with --load-metrics-port, or 0 for any free port)"], \
        result.stderr.str()
