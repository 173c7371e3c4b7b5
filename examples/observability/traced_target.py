"""A target that traces itself with OpenTelemetry's own WSGI instrumentation, to see a load test's
client spans and the target's server spans in one trace.

    OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_SERVICE_NAME=shop \\
        python examples/observability/traced_target.py --port 8080

Every request it answers becomes a server span (``OpenTelemetryMiddleware``); a request that
carries a W3C ``traceparent`` header (pytest-loadhooks sends one with ``--load-otel``) becomes a
child of the load test's client span, in the same trace. Needs ``pytest-loadhooks[otel]`` and
``opentelemetry-instrumentation-wsgi``.

  /page          200 with a small JSON body
  /status/NNN    responds with that status code
"""

from __future__ import annotations

import argparse
import json
import time
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def shop(environ: dict, start_response) -> list[bytes]:
    path = environ.get("PATH_INFO", "/")
    if path.startswith("/status/") and path[len("/status/"):].isdigit():
        status = int(path[len("/status/"):])
        start_response(f"{status} Status", [("Content-Type", "text/plain"), ("Content-Length", "0")])
        return [b""]
    if path == "/page":
        body = json.dumps({"page": 1, "items": list(range(10))}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "0")])
    return [b""]


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--max-seconds", type=float, default=3600, help="exit after this long")
    args = parser.parse_args()
    provider = TracerProvider(resource=Resource.create({"service.name": "traced-target"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # OTEL_EXPORTER_OTLP_* configure it
    trace.set_tracer_provider(provider)
    server = make_server("127.0.0.1", args.port, OpenTelemetryMiddleware(shop), server_class=ThreadingWSGIServer,
                         handler_class=QuietHandler)
    server.timeout = 0.5
    deadline = time.monotonic() + args.max_seconds
    try:
        while time.monotonic() < deadline:
            server.handle_request()
    finally:
        provider.shutdown()  # the last spans exported


if __name__ == "__main__":
    main()
