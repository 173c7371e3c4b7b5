"""The W3C ``traceparent`` a client sends when tracing is on, and the span ids it promised.

Both clients call :func:`outgoing_headers` at the entry of their public ``request()`` only when
:data:`ON` is true (one module attribute read when tracing is off). The trace and span ids are
made here, before the request leaves, so the target's server span can name the load test's client
span as its parent; the span itself is built later, from the ``request`` event's own data, by
``telemetry.otel`` (:func:`take_pending` hands it the ids). The sampling decision is made here too,
with the rule of OpenTelemetry's ``TraceIdRatioBased`` sampler (the trace id's low 64 bits below
ratio * 2**64), and carried in the header's flags so that a target sampling by its parent agrees.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

ON = False
"""Tracing is on for the current run: the clients call :func:`outgoing_headers`."""

_TRACE_ID_LIMIT = (1 << 64) - 1
_bound = 1 << 64  # sampled when trace_id & _TRACE_ID_LIMIT < _bound: every trace at ratio 1
_random = random.Random()
# A greenlet has its own context (greenlet >= 1.0), so each user's pending ids are its own.
_pending: ContextVar[tuple[int, int, bool] | None] = ContextVar("loadhooks_pending_span", default=None)


def switch_on(sampling_ratio: float) -> None:
    """Send ``traceparent`` from now on, sampling this share of the traces (0..1)."""
    global ON, _bound
    _bound = round(min(max(sampling_ratio, 0.0), 1.0) * (_TRACE_ID_LIMIT + 1))
    ON = True


def switch_off() -> None:
    global ON
    ON = False
    _pending.set(None)


def is_sampled(trace_id: int) -> bool:
    return (trace_id & _TRACE_ID_LIMIT) < _bound


def traceparent(trace_id: int, span_id: int, sampled: bool) -> str:
    return f"00-{trace_id:032x}-{span_id:016x}-{'01' if sampled else '00'}"


def outgoing_headers(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    """The request's headers with a new ``traceparent`` (a user's own ``traceparent`` is kept, and
    then no span of ours is promised: the trace is the user's)."""
    new = dict(headers) if headers else {}
    if any(key.lower() == "traceparent" for key in new):
        _pending.set(USERS_OWN)
        return new
    trace_id = _random.getrandbits(128) or 1  # an all-zero id is invalid
    span_id = _random.getrandbits(64) or 1
    sampled = is_sampled(trace_id)
    _pending.set((trace_id, span_id, sampled))
    new["traceparent"] = traceparent(trace_id, span_id, sampled)
    return new


USERS_OWN = (0, 0, False)
"""What a request that carries its user's own ``traceparent`` promised: no span of ours."""


def unsent_ids() -> tuple[int, int, bool]:
    """Ids for the span of a request that sent no ``traceparent`` (it left before tracing was on)."""
    trace_id = _random.getrandbits(128) or 1
    return trace_id, _random.getrandbits(64) or 1, is_sampled(trace_id)


def take_pending() -> tuple[int, int, bool] | None:
    """The (trace id, span id, sampled) the current greenlet's latest request sent, once."""
    pending = _pending.get()
    if pending is not None:
        _pending.set(None)
    return pending
