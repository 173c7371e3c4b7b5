"""Live metrics and traces out of the session's runs (``--load-otel``, ``--load-metrics-port``).

:func:`configure` resolves the options when the session starts: a metrics port that cannot be had
refuses the session before any traffic (one line, exit status 4, as the web UI's port); an
OpenTelemetry set-up that cannot work (the extra not installed, a bad ``OTEL_*`` value) is said in
one line and the runs go on without it. The session's :class:`TelemetrySession` then joins every
run as a participant (``plugin.lifecycle``): it points the exporters at the run's Environment once
it exists, at the run's end flushes them (OpenTelemetry), and once the result is final waits for a
scraper's last scrape (Prometheus, see ``telemetry.prometheus``). What went wrong with the export is a warning of the run.

On a worker only OpenTelemetry applies (each worker exports its own, labelled with its worker id);
the Prometheus port is the master's, which shows the merged view.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import pytest

from . import options as opts
from .lifecycle import Participant

if TYPE_CHECKING:
    from ..env import Environment
    from .run import LoadResult, LoadRun

TELEMETRY_KEY = pytest.StashKey["TelemetrySession"]()


def configure(config: pytest.Config, is_worker: bool) -> None:
    """The session's TelemetrySession, when it exports anything."""
    try:
        otel = bool(opts.value_of(config, "otel"))
        sampling = opts.value_of(config, "otel_sampling")
        address = None if is_worker else opts.value_of(config, "metrics_port")
    except ValueError as error:
        raise pytest.UsageError(f"pytest-loadhooks: {error}") from None
    if not otel and address is None:
        return
    session = TelemetrySession()
    if address is not None:
        session.serve_metrics(*address)
    if otel:
        session.start_otel(sampling)
    config.stash[TELEMETRY_KEY] = session
    config.add_cleanup(session.close)


class TelemetrySession(Participant):
    """The session's exporters: Prometheus' metrics server and OpenTelemetry's providers, either or both."""

    def __init__(self) -> None:
        self.metrics: Any = None  # telemetry.prometheus.MetricsServer
        self.otel: Any = None  # telemetry.otel.OtelExport
        self.otel_ratio: float | None = None  # the sampling ratio, when OpenTelemetry is on
        self.notices: list[str] = []  # said once, as a warning of the next run

    def serve_metrics(self, host: str, port: int) -> None:
        from ..telemetry.prometheus import MetricsServer
        from ..web.port import bind_problem

        problem = bind_problem(host, port) if port else None
        if problem is not None:
            problem = problem.replace("--load-web-port", "--load-metrics-port").replace("--load-web-host",
                                                                                       "--load-metrics-port")
            raise pytest.UsageError(f"pytest-loadhooks: the Prometheus metrics cannot listen on {host}:{port}: "
                                    f"{problem}")
        self.metrics = MetricsServer(host, port)
        try:
            self.metrics.start()
        except OSError as error:
            raise pytest.UsageError(f"pytest-loadhooks: the Prometheus metrics cannot listen on {host}:{port}: "
                                    f"{error.strerror or error}") from None
        if port == 0:
            sys.stderr.write(f"pytest-loadhooks: Prometheus metrics at http://{host}:{self.metrics.port}/metrics\n")

    def start_otel(self, sampling: float | None) -> None:
        """Checked now; the SDK's providers are made at the first run (see :meth:`_otel_for_run`)."""
        why_not = _otel_problem()
        if why_not is None:
            from ..telemetry import otel

            try:
                ratio = sampling if sampling is not None else otel.sampling_from_environment()
            except ValueError as error:
                why_not = str(error)
            else:
                self.otel_ratio = 1.0 if ratio is None else ratio
        if why_not is not None:
            self.say(f"OpenTelemetry is off: {why_not}")

    def _otel_for_run(self) -> Any:
        """The process's OtelExport, made at its first run: after a master started its local workers. (The
        SDK's batching threads register fork handlers that hang a child forked later, before its exec.)"""
        if self.otel is None and self.otel_ratio is not None:
            from ..telemetry.otel import OtelExport

            try:
                self.otel = OtelExport(self.otel_ratio)
            except Exception as error:  # noqa: BLE001 - an SDK that cannot start never stops the run
                self.otel_ratio = None
                self.say(f"OpenTelemetry is off: {type(error).__name__}: {error}")
        return self.otel

    def say(self, line: str) -> None:
        sys.stderr.write(f"pytest-loadhooks: {line}\n")
        self.notices.append(line)

    # -- the moments of a run (plugin.lifecycle) --
    def environment_created(self, run: LoadRun, environment: Environment) -> None:
        if self.metrics is not None:
            self.metrics.show(environment)
        if self._otel_for_run() is not None:
            self.otel.attach(environment, getattr(environment.runner, "client_id", None))

    def run_ended(self, run: LoadRun, runner: Any, ended_early: bool) -> None:
        if self.otel is not None:
            self.otel.detach()

    def judge(self, run: LoadRun, result: LoadResult) -> None:
        notices, self.notices = self.notices, []
        if self.otel is not None:
            problems = self.otel.problems()
            self.otel.problem_log.messages.clear()
            if problems:
                notices.append(f"OpenTelemetry export: {problems[0]}"
                               + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
        result.warnings.extend(notices)

    def outputs(self, run: LoadRun, result: LoadResult, forced: bool) -> None:
        """The numbers are final here (a master has its workers' last counts): a scraper gets one more scrape."""
        if self.metrics is not None and not forced and not self.metrics.wait_for_final_scrape():
            sys.stderr.write("pytest-loadhooks: Prometheus: no scrape came after the run's end: the last scrape "
                             "missed its final numbers (scrape more often, or read the run's report)\n")

    def close(self) -> None:
        if self.otel is not None:
            self.otel.shutdown()
            self.otel = None
        if self.metrics is not None:
            self.metrics.close()
            self.metrics = None


def _otel_problem() -> str | None:
    """Why OpenTelemetry cannot export from this process, in one line, or None."""
    try:
        import opentelemetry.exporter.otlp.proto.http  # noqa: F401
        import opentelemetry.sdk  # noqa: F401
    except ImportError:
        return "its packages are not installed: pip install 'pytest-loadhooks[otel]'"
    from ..telemetry.otel import check_environment

    return check_environment()
