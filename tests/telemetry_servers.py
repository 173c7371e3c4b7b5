"""Real receivers for the telemetry tests (issue 22): Debian's Prometheus server, and an OTLP/HTTP
receiver built from ``opentelemetry-proto`` on a real HTTP server."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SCRAPE_INTERVAL = "500ms"


class PrometheusServer:
    """``prometheus`` on 127.0.0.1 with a temporary data directory; its targets come from a file
    (``file_sd_configs``) that each test rewrites, so one server serves the whole session."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.directory = Path(tempfile.mkdtemp(prefix="loadhooks-prometheus-"))
        self.targets_file = self.directory / "targets.json"
        self.targets_file.write_text("[]")
        config = self.directory / "prometheus.yml"
        config.write_text(
            "global:\n"
            f"  scrape_interval: {SCRAPE_INTERVAL}\n"
            f"  scrape_timeout: 400ms\n"
            "scrape_configs:\n"
            "  - job_name: loadhooks\n"
            "    file_sd_configs:\n"
            f"      - files: ['{self.targets_file}']\n"
            "        refresh_interval: 1s\n")
        self.log = open(self.directory / "prometheus.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={self.directory / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"], stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {(self.directory / 'prometheus.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("prometheus did not become ready")

    def scrape(self, *addresses: str) -> None:
        """Scrape these ``host:port`` targets from now on (instead of the previous ones)."""
        self.targets_file.write_text(json.dumps([{"targets": list(addresses)}]))

    def wait_for_target(self, address: str, timeout: float = 30.0) -> None:
        """Until Prometheus has picked ``address`` up from the targets file."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            targets = self.api("targets")["activeTargets"]
            if any(target["labels"].get("instance") == address for target in targets):
                return
            time.sleep(0.2)
        raise RuntimeError(f"prometheus never picked up {address}")

    def api(self, path: str, **params: str) -> dict:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/{path}?{query}", timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expression: str) -> list[dict]:
        return self.api("query", query=expression)["result"]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)


class OtlpReceiver:
    """An OTLP/HTTP receiver: ``/v1/traces`` and ``/v1/metrics`` decoded with opentelemetry-proto's
    messages and kept, every span and every metric data point, until :meth:`clear`."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
            ExportMetricsServiceRequest,
            ExportMetricsServiceResponse,
        )
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        self.lock = threading.Lock()
        self.trace_requests: list = []
        self.metric_requests: list = []
        receiver = self
        kinds = {"/v1/traces": (ExportTraceServiceRequest, ExportTraceServiceResponse, self.trace_requests),
                 "/v1/metrics": (ExportMetricsServiceRequest, ExportMetricsServiceResponse, self.metric_requests)}

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                kind = kinds.get(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if kind is None or self.headers.get("Content-Type") != "application/x-protobuf":
                    self.send_response(404)
                    self.end_headers()
                    return
                request_type, response_type, kept = kind
                message = request_type()
                message.ParseFromString(body)
                with receiver.lock:
                    kept.append(message)
                answer = response_type().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def clear(self) -> None:
        with self.lock:
            self.trace_requests.clear()
            self.metric_requests.clear()

    def spans(self) -> list[tuple[dict, object]]:
        """Every span received, with its resource's attributes: [(resource attributes, Span)]."""
        found = []
        with self.lock:
            for request in self.trace_requests:
                for resource_spans in request.resource_spans:
                    resource = attributes_of(resource_spans.resource.attributes)
                    for scope_spans in resource_spans.scope_spans:
                        found.extend((resource, span) for span in scope_spans.spans)
        return found

    def metrics(self, name: str) -> list[tuple[dict, object]]:
        """The metric ``name`` as received in each export: [(resource attributes, Metric)]."""
        found = []
        with self.lock:
            for request in self.metric_requests:
                for resource_metrics in request.resource_metrics:
                    resource = attributes_of(resource_metrics.resource.attributes)
                    for scope_metrics in resource_metrics.scope_metrics:
                        found.extend((resource, metric) for metric in scope_metrics.metrics if metric.name == name)
        return found

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def attributes_of(key_values) -> dict:
    """OTLP KeyValues as a dict of plain values."""
    result = {}
    for item in key_values:
        value = item.value
        result[item.key] = getattr(value, value.WhichOneof("value")) if value.WhichOneof("value") else None
    return result
