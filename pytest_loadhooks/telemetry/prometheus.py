"""A run's numbers in Prometheus' exposition format, read from its stats at each scrape.

Nothing is recorded on the request path: :class:`RunCollector` is a prometheus_client *custom
collector* that reads the Environment's ``RequestStats`` when it is scraped, so the counts are the
run's own (on a master, its merged view of every worker's). It serves ``/metrics`` on the web UI
and, without the UI, on ``--load-metrics-port`` (:class:`MetricsServer`).

A scrape that comes after the run's last request sees its final numbers: the server stays up for
the session, keeps the last run's numbers until the next run starts, and at a run's end waits
(:meth:`MetricsServer.wait_for_final_scrape`) for one more scrape when a scraper has been seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

BUCKETS_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""The response-time histogram's upper bounds (seconds), +Inf added."""

FINAL_SCRAPE_WAIT_MAX = 65.0
"""Seconds a run's end waits for a scraper's next scrape at most (Prometheus' default interval is 1m)."""


def _labels(entry: Any) -> list[str]:
    return [str(entry.method), str(entry.name)]


def _histogram_buckets(entry: Any) -> list[tuple[str, float]]:
    """Cumulative counts by upper bound (seconds) from the entry's response-time histogram (ms)."""
    counts = [0] * (len(BUCKETS_SECONDS) + 1)
    bounds_ms = [bound * 1000 for bound in BUCKETS_SECONDS]
    for value, count in entry.response_times.items():
        index = next((i for i, bound in enumerate(bounds_ms) if value <= bound), len(bounds_ms))
        counts[index] += count
    cumulative, running = [], 0
    for bound, count in zip((*map(str, BUCKETS_SECONDS), "+Inf"), counts):
        running += count
        cumulative.append((bound, running))
    return cumulative


class RunCollector:
    """prometheus_client collector of one Environment's numbers (``environment()`` may give None:
    nothing to show yet)."""

    def __init__(self, environment: Callable[[], Any]) -> None:
        self._environment = environment

    def describe(self) -> list:
        return []  # no fixed set: names come and go with the run (prometheus_client then calls collect)

    def collect(self) -> Iterator[Any]:
        environment = self._environment()
        if environment is None:
            return
        yield from request_families(environment.stats)
        yield from runner_families(environment.runner, environment.stats)


def request_families(stats: Any) -> Iterator[Any]:
    """Requests, failures and response times by (method, name)."""
    requests = CounterMetricFamily("loadhooks_requests", "Requests counted by the run (failures included)",
                                   labels=["method", "name"])
    failures = CounterMetricFamily("loadhooks_request_failures", "Requests counted as failed",
                                   labels=["method", "name"])
    times = HistogramMetricFamily("loadhooks_response_time_seconds", "Response times of the timed requests",
                                  labels=["method", "name"])
    for entry in list(stats.entries.values()):
        labels = _labels(entry)
        requests.add_metric(labels, entry.num_requests)
        failures.add_metric(labels, entry.num_failures)
        times.add_metric(labels, _histogram_buckets(entry), entry.total_response_time / 1000)
    yield from (requests, failures, times)


def runner_families(runner: Any, stats: Any) -> Iterator[Any]:
    """Users, current rate, the generator's CPU and, on a master, its workers by state."""
    if runner is None:
        return
    yield GaugeMetricFamily("loadhooks_users", "Users running", value=runner.user_count)
    yield GaugeMetricFamily("loadhooks_current_rps", "Requests per second over the last seconds",
                            value=stats.total.current_rps)
    cpu = GaugeMetricFamily("loadhooks_cpu_percent", "CPU use of each load-generating process (percent)",
                            labels=["node"])
    cpu.add_metric(["local" if not hasattr(runner, "clients") else "master"], runner.current_cpu_usage)
    workers = getattr(runner, "clients", None)
    if workers is not None:
        by_state: dict[str, int] = {}
        for node in list(workers.values()):
            by_state[node.state] = by_state.get(node.state, 0) + 1
            cpu.add_metric([str(node.id)], node.cpu_usage)
        states = GaugeMetricFamily("loadhooks_workers", "Workers known to the master, by state", labels=["state"])
        for state, count in sorted(by_state.items()):
            states.add_metric([state], count)
        yield states
    yield cpu


def registry_for(environment: Callable[[], Any]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunCollector(environment))  # type: ignore[arg-type]
    return registry


def render(environment: Any) -> tuple[bytes, str]:
    """One exposition of ``environment``'s numbers and its content type (the web UI's ``/metrics``)."""
    return generate_latest(registry_for(lambda: environment)), CONTENT_TYPE_LATEST


class MetricsServer:
    """``/metrics`` on its own port for the whole session, showing the current (or last) run."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.environment: Any = None
        self.scrapes: list[float] = []  # monotonic times of the latest scrapes (a few kept)
        self._server: Any = None

    def start(self) -> None:
        """Listen now (raises OSError when the port cannot be had)."""
        from gevent.pywsgi import WSGIServer
        from prometheus_client import make_wsgi_app

        app = make_wsgi_app(registry_for(lambda: self.environment))

        def scraped(environ: dict, start_response: Callable) -> Any:
            self.scrapes = [*self.scrapes[-3:], time.monotonic()]
            return app(environ, start_response)

        self._server = WSGIServer((self.host, self.port), scraped, log=None, error_log=None)
        self._server.start()
        self.port = self._server.server_port

    def show(self, environment: Any) -> None:
        self.environment = environment

    def wait_for_final_scrape(self, ended_at: float | None = None) -> bool:
        """Wait until a scrape comes after ``ended_at`` (monotonic; now by default), when a scraper has
        been seen: at most twice the interval seen between its scrapes (FINAL_SCRAPE_WAIT_MAX at most).
        True when that scrape came (or nobody scrapes), False when it did not come in time."""
        import gevent

        ended_at = time.monotonic() if ended_at is None else ended_at
        if not self.scrapes:
            return True
        seen = self.scrapes
        interval = seen[-1] - seen[-2] if len(seen) >= 2 else 15.0
        deadline = ended_at + min(max(2 * interval, 1.0), FINAL_SCRAPE_WAIT_MAX)
        while self.scrapes[-1] <= ended_at:
            if time.monotonic() >= deadline:
                return False
            gevent.sleep(0.05)
        gevent.sleep(0.2)  # its answer (made when it came) on its way out before the session may close the port
        return True

    def close(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=1)
            self._server = None
