"""What the vector-database users (contrib.milvus, contrib.qdrant) share: a timed call's result
dict, in the shape Locust's wrappers return, and the ``request`` event fired from it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def timed_call(call: Callable[[], Any], empty: Callable[[Any], bool] | None = None) -> dict[str, Any]:
    """Run ``call``: ``{"success", "response_time" (ms), "result"}`` or ``{..., "exception"}``.

    With ``empty``, a result it calls empty is marked ``"empty": True`` and not a success, as in
    Locust's search and query results (the request event still counts it as answered: only an
    exception makes a failure, as in Locust).
    """
    start_time = time.time()
    start = time.perf_counter()
    try:
        result = call()
    except Exception as error:  # noqa: BLE001 - any client error is the request's failure, as in Locust
        return {"success": False, "response_time": (time.perf_counter() - start) * 1000, "exception": error,
                "start_time": start_time}
    outcome = {"success": True, "response_time": (time.perf_counter() - start) * 1000, "result": result,
               "start_time": start_time}
    if empty is not None:
        outcome["empty"] = empty(result)
        outcome["success"] = not outcome["empty"]
    return outcome


def fire_result(request_event: Any, request_type: str, name: str, result: dict[str, Any]) -> None:
    """Fire ``request`` for one result dict of :func:`timed_call`."""
    request_event.fire(request_type=request_type, name=name, response_time=result.get("response_time", 0),
                       response_length=0, response=result.get("result"), context={},
                       exception=result.get("exception"),
                       start_time=result.get("start_time"), url=None)
