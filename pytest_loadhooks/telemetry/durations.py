"""``http.client.request.duration`` aggregated here, exported through the SDK's OTLP exporter.

The SDK's ``Histogram.record`` cleans and hashes the attributes at every call (several µs of Python
per request); a load generator records one measurement per request, with a handful of distinct
attribute sets. So a request costs a dict lookup, a ``bisect`` and three additions here
(:meth:`DurationHistogram.record`), and the cumulative points are handed to the exporter as the
SDK's own data classes (:meth:`DurationHistogram.metrics_data`), every export interval and at the
run's end, by a greenlet of its own: off the request path.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

ATTRIBUTE_NAMES = ("http.request.method", "url.template", "http.response.status_code", "error.type",
                   "loadhooks.worker.id")
"""The attributes of a point, in the order of its key (None: not set)."""


class DurationHistogram:
    """Cumulative explicit-bucket histograms of request durations (seconds), one per attribute set."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = list(bounds)
        self.start_ns = time.time_ns()
        # key (see ATTRIBUTE_NAMES) -> [bucket counts, sum, count, min, max]
        self.points: dict[tuple, list] = {}

    def record(self, seconds: float, key: tuple) -> None:
        point = self.points.get(key)
        if point is None:
            point = self.points[key] = [[0] * (len(self.bounds) + 1), 0.0, 0, seconds, seconds]
        point[0][bisect_left(self.bounds, seconds)] += 1  # bucket i: bounds[i-1] < value <= bounds[i]
        point[1] += seconds
        point[2] += 1
        if seconds < point[3]:
            point[3] = seconds
        elif seconds > point[4]:
            point[4] = seconds

    def metrics_data(self, resource: Any, scope_name: str) -> Any:
        """Every point so far as the SDK's ``MetricsData`` (what its OTLP metric exporter takes)."""
        from opentelemetry.sdk.metrics.export import (
            AggregationTemporality,
            Histogram,
            HistogramDataPoint,
            Metric,
            MetricsData,
            ResourceMetrics,
            ScopeMetrics,
        )
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope

        now = time.time_ns()
        data_points = [
            HistogramDataPoint(attributes={name: value for name, value in zip(ATTRIBUTE_NAMES, key) if value is not None},
                               start_time_unix_nano=self.start_ns, time_unix_nano=now, count=count, sum=total,
                               bucket_counts=list(buckets), explicit_bounds=self.bounds, min=low, max=high)
            for key, (buckets, total, count, low, high) in self.points.items()]
        metric = Metric(name="http.client.request.duration", description="Duration of the load test's HTTP requests",
                        unit="s", data=Histogram(data_points=data_points,
                                                 aggregation_temporality=AggregationTemporality.CUMULATIVE))
        scope = ScopeMetrics(scope=InstrumentationScope(scope_name), metrics=[metric], schema_url="")
        return MetricsData(resource_metrics=[ResourceMetrics(resource=resource, scope_metrics=[scope], schema_url="")])
