"""Live numbers out of a run: Prometheus exposition (``prometheus``), OpenTelemetry metrics and
traces (``otel``), and the W3C trace context the clients send (``tracecontext``).

Engine-side, no pytest: ``plugin/telemetry.py`` switches these on for a run. The package sits just
below the clients in the layers (they call :func:`tracecontext.outgoing_headers`), so what it knows of
an Environment or a runner it reads through their attributes, never by importing them.
"""
