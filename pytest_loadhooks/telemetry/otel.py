"""OpenTelemetry out of a run: request metrics after the HTTP client semantic conventions, gauges of
users and workers, and a client span per request joined to the target's traces by ``traceparent``.

Configured by the SDK's own ``OTEL_*`` environment variables (endpoint, headers, timeout, export
interval, service name, resource attributes); exported over OTLP/HTTP (protobuf). The SDK's
batching span processor and periodic metric reader export off the request path; on the request
path there is one listener of the ``request`` event (:meth:`OtelExport.on_request`): it records
the duration histogram and, for a sampled request, builds its span from the event's data with the
ids the client already sent (``tracecontext``), through an id generator that hands the SDK those
ids (:class:`PresetIds`).

What fails here never fails the run: export errors are caught from the SDK's log and said once, in
one line (:meth:`OtelExport.problems`).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator

from . import tracecontext
from .durations import DurationHistogram

NAME_CAP = 200
"""Request names given their own ``url.template`` value at most; later names share ``_OTHER`` (the
semantic conventions' word for a value folded away), so that a run with a name per URL cannot blow
up the metrics' cardinality."""

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
"""The semantic conventions' advised boundaries of ``http.client.request.duration`` (seconds)."""

FLUSH_TIMEOUT_MS = 5000
"""How long a run's end waits for its telemetry to be exported, at most (an unreachable collector
does not hold the session longer)."""

SCOPE = "pytest_loadhooks"
DEFAULT_SERVICE_NAME = "pytest-loadhooks"


class PresetIds(IdGenerator):
    """Random ids, except for the span being built from a request: the ids its ``traceparent`` carried."""

    def __init__(self) -> None:
        self._random = RandomIdGenerator()
        self.preset: tuple[int, int] | None = None

    def generate_span_id(self) -> int:
        if self.preset is not None:
            span_id = self.preset[1]
            self.preset = None  # the trace id is asked first, the span id last
            return span_id
        return self._random.generate_span_id()

    def generate_trace_id(self) -> int:
        return self.preset[0] if self.preset is not None else self._random.generate_trace_id()


class ProblemLog(logging.Handler):
    """The SDK's and exporters' warnings and errors, kept (the first of each kind) instead of printed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot format itself still says something
            message = str(record.msg)
        if message not in self.messages and len(self.messages) < 20:
            self.messages.append(message)


def check_environment() -> str | None:
    """Why the ``OTEL_*`` variables cannot configure the export, in one line, or None."""
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "").strip()
    if protocol and protocol != "http/protobuf":
        return (f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: only http/protobuf is supported "
                "(OTLP/HTTP, the collector's port 4318)")
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                 "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"):
        value = os.environ.get(name, "").strip()
        if value and not value.startswith(("http://", "https://")):
            return f"{name}={value!r} is not an http:// or https:// URL"
    for name in ("OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_METRIC_EXPORT_INTERVAL", "OTEL_METRIC_EXPORT_TIMEOUT",
                 "OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                if float(value) < 0:
                    raise ValueError
            except ValueError:
                return f"{name}={value!r} is not a number of 0 or more"
    return None


def sampling_from_environment() -> float | None:
    """The SDK's ratio sampler argument (``OTEL_TRACES_SAMPLER_ARG`` with a ``*traceidratio`` sampler)."""
    sampler = os.environ.get("OTEL_TRACES_SAMPLER", "").strip()
    raw = os.environ.get("OTEL_TRACES_SAMPLER_ARG", "").strip()
    if not raw or not sampler.endswith("traceidratio"):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"OTEL_TRACES_SAMPLER_ARG={raw!r} is not a ratio between 0 and 1") from None
    if not 0 <= value <= 1:
        raise ValueError(f"OTEL_TRACES_SAMPLER_ARG={raw!r} is not a ratio between 0 and 1")
    return value


class OtelExport:
    """The process's OpenTelemetry providers (made once), and the run they currently report."""

    def __init__(self, sampling_ratio: float, traces: bool = True) -> None:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ALWAYS_ON

        self.problem_log = ProblemLog()
        sdk_logger = logging.getLogger("opentelemetry")
        sdk_logger.addHandler(self.problem_log)
        sdk_logger.propagate = False  # said once, in one line, by problems(): not a line per retry (for the
        # process's life: the SDK's exporters may still log after the session, at the interpreter's exit)
        resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME,
                                    "service.instance.id": f"{socket.gethostname()}-{os.getpid()}"})
        self.sampling_ratio = sampling_ratio
        self.traces = traces
        self.ids = PresetIds()
        # The sampling decision is taken when the traceparent is sent (tracecontext): every span
        # built here is one that was sampled.
        self.tracer_provider = TracerProvider(resource=resource, sampler=ALWAYS_ON, id_generator=self.ids)
        self.span_exporter = OTLPSpanExporter()
        self.metric_exporter = OTLPMetricExporter()
        self.endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "http://localhost:4318"
        self.tracer_provider.add_span_processor(BatchSpanProcessor(self.span_exporter))
        self.tracer = self.tracer_provider.get_tracer(SCOPE)
        self.reader = PeriodicExportingMetricReader(self.metric_exporter)
        self.resource = resource
        self.durations = DurationHistogram(DURATION_BUCKETS)
        self.durations_exporter = OTLPMetricExporter()
        self.export_interval = _export_interval_seconds()
        self._durations_loop: Any = None
        self.meter_provider = MeterProvider(resource=resource, metric_readers=[self.reader])
        self._instruments()
        self.environment: Any = None
        self.worker_id: str | None = None
        self.node_attributes: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.dropped_names = 0

    def _instruments(self) -> None:
        from opentelemetry.metrics import CallbackOptions, Observation

        meter = self.meter_provider.get_meter(SCOPE)
        self.failures = meter.create_counter("loadhooks.requests.failed", unit="{request}",
                                             description="Requests the run counted as failed")

        def users(_options: CallbackOptions) -> list[Observation]:
            runner = getattr(self.environment, "runner", None)
            return [] if runner is None else [Observation(runner.user_count, self.node_attributes)]

        def workers(_options: CallbackOptions) -> list[Observation]:
            runner = getattr(self.environment, "runner", None)
            count = getattr(runner, "worker_count", None)
            return [] if count is None else [Observation(count, self.node_attributes)]

        def dropped(_options: CallbackOptions) -> list[Observation]:
            return [Observation(self.dropped_names, self.node_attributes)]

        def iterations(read: Callable[[Any], int]) -> Callable[[CallbackOptions], list[Observation]]:
            def observe(_options: CallbackOptions) -> list[Observation]:
                counts = _own_open_model_counts(self.environment)
                return [] if counts is None else [Observation(read(counts), self.node_attributes)]
            return observe

        meter.create_observable_counter("loadhooks.iterations", [iterations(lambda c: c.iterations)],
                                        unit="{iteration}", description="Iterations started (open-model runs)")
        meter.create_observable_counter("loadhooks.iterations.dropped", [iterations(lambda c: c.dropped_iterations)],
                                        unit="{iteration}",
                                        description="Iterations dropped: due with no free user in the pool (open model)")
        meter.create_observable_gauge("loadhooks.users", [users], unit="{user}", description="Users running")
        meter.create_observable_gauge("loadhooks.workers", [workers], unit="{worker}",
                                      description="Workers connected to the master")
        meter.create_observable_counter("loadhooks.names.dropped", [dropped], unit="{request}",
                                        description=f"Requests whose name was folded into _OTHER (over {NAME_CAP})")

    # -- a run --
    def attach(self, environment: Any, worker_id: str | None) -> None:
        """Report ``environment``'s requests from now on (``worker_id``: labelled as this worker's)."""
        self.environment = environment
        self.node_attributes = {"loadhooks.worker.id": worker_id} if worker_id else {}
        self.worker_id = worker_id
        if self._durations_loop is None:
            import gevent

            self._durations_loop = gevent.spawn(self._export_durations_every_interval)
        environment.events.request.add_listener(self.on_request)
        if self.traces:
            tracecontext.switch_on(self.sampling_ratio)

    def detach(self) -> None:
        """The run is over: no more spans promised; what was recorded exported now, for FLUSH_TIMEOUT_MS at
        most (the SDK's own timeouts apply per attempt, and an unreachable collector is retried)."""
        tracecontext.switch_off()
        environment = self.environment
        if environment is not None:
            environment.events.request.remove_listener(self.on_request)

        def flush() -> None:
            self.export_durations()
            self.tracer_provider.force_flush(FLUSH_TIMEOUT_MS)
            self.meter_provider.force_flush(FLUSH_TIMEOUT_MS)  # the gauges and counters read the run once more
            if self.environment is environment:  # (a flush outlasting its wait must not detach the next run)
                self.environment = None

        if not _within(flush, FLUSH_TIMEOUT_MS / 1000):
            self.problem_log.messages.insert(0, f"the export did not finish within {FLUSH_TIMEOUT_MS / 1000:g} s "
                                                f"of the run's end (is the collector at {self.endpoint} up?)")

    def shutdown(self) -> None:
        """The session is over: retries given up (the exporters first), the rest bounded as the flush."""
        if self._durations_loop is not None:
            self._durations_loop.kill(block=False)
        self.span_exporter.shutdown()
        self.metric_exporter.shutdown()
        self.durations_exporter.shutdown()
        _within(self.tracer_provider.shutdown, FLUSH_TIMEOUT_MS / 1000)
        _within(self.meter_provider.shutdown, FLUSH_TIMEOUT_MS / 1000)

    def export_durations(self) -> None:
        if self.durations.points:
            self.durations_exporter.export(self.durations.metrics_data(self.resource, SCOPE))

    def _export_durations_every_interval(self) -> None:
        import gevent

        while True:
            gevent.sleep(self.export_interval)
            self.export_durations()

    def problems(self) -> list[str]:
        return list(self.problem_log.messages)

    # -- the request path --
    def _template(self, name: str) -> str:
        template = self.names.get(name)
        if template is None:
            if len(self.names) >= NAME_CAP:
                self.dropped_names += 1
                return "_OTHER"
            template = self.names[name] = name
        return template

    def on_request(self, request_type: str, name: str, response_time: float | None, response_length: int,
                   response: Any = None, context: Any = None, exception: Any = None, start_time: float | None = None,
                   url: str | None = None, **_kwargs: Any) -> None:
        pending = tracecontext.take_pending()
        template = self._template(name)
        status = getattr(response, "status_code", None) or None
        error = type(exception).__name__ if exception else None
        if response_time is not None:
            self.durations.record(response_time / 1000, (request_type, template, status, error, self.worker_id))
        if exception:
            self.failures.add(1, _attributes(request_type, template, status, error, self.worker_id))
        if pending is None:  # it left before tracing was on (a worker's first users start as the run is set up)
            pending = tracecontext.unsent_ids()
        if pending[2] and start_time is not None:
            attributes = _attributes(request_type, template, status, error, self.worker_id)
            self._span(pending, request_type, attributes, start_time, response_time or 0.0, exception, url)

    def _span(self, pending: tuple[int, int, bool], method: str, attributes: dict[str, Any], start_time: float,
              response_time: float, exception: Any, url: str | None) -> None:
        from opentelemetry.context import Context
        from opentelemetry.trace import SpanKind, Status, StatusCode

        if url:
            attributes = {**attributes, "url.full": url}
        self.ids.preset = (pending[0], pending[1])
        span = self.tracer.start_span(f"{method} {attributes['url.template']}", kind=SpanKind.CLIENT,
                                      context=Context(), attributes=attributes, start_time=int(start_time * 1e9))
        self.ids.preset = None
        if exception:
            span.set_status(Status(StatusCode.ERROR, str(exception)[:200]))
        span.end(end_time=int((start_time + response_time / 1000) * 1e9))


def _own_open_model_counts(environment: Any) -> Any:
    """The open-model counts this process made itself (None: a closed-model run, or a master, whose figures
    are its workers' own, exported by each of them)."""
    runner = getattr(environment, "runner", None)
    if runner is None or hasattr(runner, "clients"):
        return None
    return getattr(environment.stats, "open_model", None)


def _attributes(method: str, template: str, status: int | None, error: str | None,
                worker_id: str | None) -> dict[str, Any]:
    attributes: dict[str, Any] = {"http.request.method": method, "url.template": template}
    if status:
        attributes["http.response.status_code"] = int(status)
    if error:
        attributes["error.type"] = error
    if worker_id:
        attributes["loadhooks.worker.id"] = worker_id
    return attributes


def _export_interval_seconds() -> float:
    """OTEL_METRIC_EXPORT_INTERVAL (ms, default 60000), as the SDK's periodic reader reads it."""
    try:
        return max(float(os.environ.get("OTEL_METRIC_EXPORT_INTERVAL") or 60000), 100.0) / 1000
    except ValueError:
        return 60.0


def _within(work: Any, seconds: float) -> bool:
    """Run ``work`` in a greenlet of its own and wait ``seconds`` at most: True when it finished. (The
    exporters' sockets are gevent's: a blocked export lets the wait end, and goes on in the background.)"""
    import gevent

    greenlet = gevent.spawn(work)
    greenlet.join(seconds)
    return greenlet.ready()
