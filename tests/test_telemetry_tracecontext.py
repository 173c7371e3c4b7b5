"""The W3C trace context both clients send with --load-otel (issue 22): its format, and a sampling
decision that agrees with OpenTelemetry's own TraceIdRatioBased sampler, id for id."""

from __future__ import annotations

import random
import re

from opentelemetry.sdk.trace.sampling import Decision, TraceIdRatioBased

from pytest_loadhooks.telemetry import tracecontext

TRACEPARENT = re.compile(r"^00-(?P<trace>[0-9a-f]{32})-(?P<span>[0-9a-f]{16})-(?P<flags>0[01])$")


def test_the_header_is_w3c_and_the_promised_ids_are_the_sent_ones():
    tracecontext.switch_on(1.0)
    try:
        headers = tracecontext.outgoing_headers({"Accept": "text/html"})
        pending = tracecontext.take_pending()
    finally:
        tracecontext.switch_off()
    assert headers["Accept"] == "text/html"
    match = TRACEPARENT.match(headers["traceparent"])
    assert match, headers
    assert pending == (int(match["trace"], 16), int(match["span"], 16), True) and match["flags"] == "01"
    assert tracecontext.take_pending() is None  # handed out once


def test_a_users_own_traceparent_is_kept_and_promises_no_span():
    tracecontext.switch_on(1.0)
    try:
        own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        headers = tracecontext.outgoing_headers({"TraceParent": own})
        pending = tracecontext.take_pending()
    finally:
        tracecontext.switch_off()
    assert headers == {"TraceParent": own}
    assert pending == tracecontext.USERS_OWN and not pending[2]


def test_the_sampling_decision_is_opentelemetrys_trace_id_ratio():
    ids = random.Random(22)
    for ratio in (0.0, 0.01, 0.5, 1.0):
        sampler = TraceIdRatioBased(ratio)
        tracecontext.switch_on(ratio)
        try:
            for _ in range(2000):
                trace_id = ids.getrandbits(128)
                ours = tracecontext.is_sampled(trace_id)
                theirs = sampler.should_sample(None, trace_id, "GET /").decision == Decision.RECORD_AND_SAMPLE
                assert ours == theirs, (ratio, hex(trace_id))
        finally:
            tracecontext.switch_off()
