"""Telemetry of a distributed run (issue 22): each worker exports its own OpenTelemetry, labelled with
its worker id; the master's Prometheus metrics are the merged view, equal to the run's counts."""

from __future__ import annotations

import json
import time

from conftest import free_port
from plugin_helpers import SHOP_MODULE
from telemetry_servers import attributes_of


def test_workers_export_their_own_labelled_and_the_master_serves_the_merged_counts(
        pytester, target, otlp_receiver, prometheus_server, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_receiver.url)
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "500")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "200")
    otlp_receiver.clear()
    metrics_port = free_port()
    prometheus_server.scrape(f"127.0.0.1:{metrics_port}")
    prometheus_server.wait_for_target(f"127.0.0.1:{metrics_port}")
    pytester.makepyfile(test_shop=SHOP_MODULE)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--load-processes=2", "--load-users=4", "--load-run-time=2s",
        f"--load-host={target}", "--load-otel", f"--load-metrics-port={metrics_port}", "--load-json=result.json")
    result.assert_outcomes(passed=1)
    stats = {(row["method"], row["name"]): row["num_requests"]
             for row in json.loads((pytester.path / "result.json").read_text())["stats"]}
    total = sum(stats.values())

    # the master's merged view, as Prometheus stored it
    stored = prometheus_server.query(
        f'last_over_time(loadhooks_requests_total{{instance="127.0.0.1:{metrics_port}"}}[10m])')
    assert {(r["metric"]["method"], r["metric"]["name"]): float(r["value"][1]) for r in stored} == stats

    # each worker's spans, labelled with its worker id; together, every request
    spans = [span for resource, span in otlp_receiver.spans() if resource["service.name"] == "pytest-loadhooks"]
    by_worker: dict[str, int] = {}
    for span in spans:
        worker = attributes_of(span.attributes).get("loadhooks.worker.id")
        by_worker[worker] = by_worker.get(worker, 0) + 1
    assert len(by_worker) == 2 and None not in by_worker, by_worker

    # each worker's duration histogram (its last export, cumulative), under its own worker id
    last_by_instance: dict[str, object] = {}
    for resource, metric in otlp_receiver.metrics("http.client.request.duration"):
        last_by_instance[resource["service.instance.id"]] = metric
    counted: dict[str, int] = {}
    for metric in last_by_instance.values():
        for point in metric.histogram.data_points:
            worker = attributes_of(point.attributes)["loadhooks.worker.id"]
            counted[worker] = counted.get(worker, 0) + point.count
    assert sum(counted.values()) == total, (counted, by_worker)
    assert counted == by_worker
