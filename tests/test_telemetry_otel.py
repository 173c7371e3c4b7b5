"""OpenTelemetry out of a run (issue 22), received by a real OTLP/HTTP receiver (opentelemetry-proto's
messages): the duration histogram counts the run's requests exactly, each request of HttpUser and
FastHttpUser has a client span, and the example target, traced by OpenTelemetry's own WSGI
instrumentation, puts its server spans in the same traces as children of those client spans."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import free_port, wait_for_port
from plugin_helpers import load_args

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "observability"


@pytest.fixture(scope="module")
def traced_target(otlp_receiver):
    """examples/observability/traced_target.py, exporting its server spans to the receiver."""
    port = free_port()
    env = {**__import__("os").environ, "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.url,
           "OTEL_BSP_SCHEDULE_DELAY": "200"}
    process = subprocess.Popen([sys.executable, str(EXAMPLE / "traced_target.py"), "--port", str(port),
                                "--max-seconds", "900"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    wait_for_port(port)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


def _otel_env(monkeypatch, endpoint: str) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "500")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "200")


def _wait_for(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def _histogram_counts(receiver) -> dict[str, int]:
    """Requests per url.template in the last export of http.client.request.duration (cumulative)."""
    exports = receiver.metrics("http.client.request.duration")
    if not exports:
        return {}
    from telemetry_servers import attributes_of

    counts: dict[str, int] = {}
    for point in exports[-1][1].histogram.data_points:
        name = attributes_of(point.attributes)["url.template"]
        counts[name] = counts.get(name, 0) + point.count
    return counts


def test_client_spans_and_metrics_reach_a_real_receiver_and_join_the_targets_traces(
        pytester, otlp_receiver, traced_target, monkeypatch):
    _otel_env(monkeypatch, otlp_receiver.url)
    otlp_receiver.clear()
    pytester.makepyfile(test_observed=(EXAMPLE / "test_observed.py").read_text())
    result = pytester.runpytest_subprocess(*load_args(traced_target, "--load-otel", "--load-json=result.json",
                                                      users=2, run_time="2s"))
    result.assert_outcomes(passed=1)
    assert "OpenTelemetry" not in result.stdout.str() + result.stderr.str()  # no problem to say
    stats = {row["name"]: row for row in json.loads((pytester.path / "result.json").read_text())["stats"]}
    assert set(stats) == {"page (requests)", "unavailable", "page (fasthttp)"}

    # the metrics: every request in the duration histogram, by its name
    assert _histogram_counts(otlp_receiver) == {name: row["num_requests"] for name, row in stats.items()}
    failed = otlp_receiver.metrics("loadhooks.requests.failed")
    assert sum(point.as_int for point in failed[-1][1].sum.data_points) == stats["unavailable"]["num_failures"] > 0

    # the traces: one client span per request, of both clients
    client_spans = [span for resource, span in otlp_receiver.spans() if resource["service.name"] == "pytest-loadhooks"]
    by_name: dict[str, int] = {}
    for span in client_spans:
        by_name[span.name] = by_name.get(span.name, 0) + 1
    assert by_name == {f"GET {name}": row["num_requests"] for name, row in stats.items()}
    clients = {(span.trace_id, span.span_id) for span in client_spans}

    # the target's server spans: in the load test's traces, children of its client spans
    def server_spans():
        found = [span for resource, span in otlp_receiver.spans() if resource["service.name"] == "traced-target"]
        return found if len(found) >= len(client_spans) else None

    served = _wait_for(server_spans)
    assert served, "the target's spans did not arrive"
    assert len(served) == len(client_spans)
    assert {(span.trace_id, span.parent_span_id) for span in served} == clients


def test_one_percent_sampling_traces_few_requests_but_counts_them_all(pytester, otlp_receiver, target, monkeypatch):
    _otel_env(monkeypatch, otlp_receiver.url)
    otlp_receiver.clear()
    pytester.makepyfile(test_observed=(EXAMPLE / "test_observed.py").read_text())
    result = pytester.runpytest_subprocess(*load_args(target, "--load-otel", "--load-otel-sampling=1%",
                                                      "--load-json=result.json", users=2, run_time="2s"))
    result.assert_outcomes(passed=1)
    stats = json.loads((pytester.path / "result.json").read_text())["stats"]
    total = sum(row["num_requests"] for row in stats)
    assert sum(_histogram_counts(otlp_receiver).values()) == total
    spans = [span for resource, span in otlp_receiver.spans() if resource["service.name"] == "pytest-loadhooks"]
    assert len(spans) < total / 4  # ~1 %: a few at most in a couple of hundred requests


def test_an_unreachable_collector_or_a_bad_otel_value_is_one_line_and_the_run_goes_on(
        pytester, target, refused_url, monkeypatch):
    _otel_env(monkeypatch, refused_url)
    pytester.makepyfile(test_observed=(EXAMPLE / "test_observed.py").read_text())
    result = pytester.runpytest_subprocess(*load_args(target, "--load-otel", users=2, run_time="1s"))
    result.assert_outcomes(passed=1)
    output = result.stdout.str() + result.stderr.str()
    said = [line for line in output.splitlines() if "OpenTelemetry export" in line]
    assert len(said) == 1 and "export did not finish within 5 s" in said[0], output
    assert "Traceback" not in output

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318")
    result = pytester.runpytest_subprocess(*load_args(target, "--load-otel", users=2, run_time="1s"))
    result.assert_outcomes(passed=1)
    output = result.stdout.str() + result.stderr.str()
    said = [line for line in output.splitlines() if "OpenTelemetry is off" in line]
    assert said and all("OTEL_EXPORTER_OTLP_ENDPOINT='localhost:4318' is not an http:// or https:// URL" in line
                        for line in said), output


def test_an_open_model_run_exports_its_iterations_and_the_dropped_ones(pytester, otlp_receiver, target, monkeypatch):
    """Issue 22's dropped counts: an arrival-rate run (issue 21) whose pool is too small for a slow endpoint
    exports the iterations it started and dropped, equal to its own JSON's."""
    _otel_env(monkeypatch, otlp_receiver.url)
    otlp_receiver.clear()
    pytester.makepyfile(test_slow="""
from pytest_loadhooks import HttpUser, task

class Slow(HttpUser):
    @task
    def slow(self):
        self.client.get("/slow?ms=300")
""")
    result = pytester.runpytest_subprocess(*load_args(target, "--load-otel", "--load-otel-sampling=0",
                                                      "--load-rate=20/s", "--load-max-users=2",
                                                      "--load-json=result.json", users=1, run_time="2s"))
    result.assert_outcomes(passed=1)
    counts = json.loads((pytester.path / "result.json").read_text())["open_model"]
    assert counts["dropped_iterations"] > 0

    def exported(name: str) -> int:
        points = otlp_receiver.metrics(name)[-1][1].sum.data_points
        return sum(point.as_int for point in points)

    assert exported("loadhooks.iterations") == counts["iterations"]
    assert exported("loadhooks.iterations.dropped") == counts["dropped_iterations"]
