"""One record of every `request` event a pytester run fires, for tests that compare it with a server's.

`REQUEST_RECORDER` is written as the pytester session's conftest.py: a listener that appends one JSON
line per request to requests.jsonl beside it. `read_requests` reads them back. The two overlap helpers
answer the question the concurrency tests ask: did other users go on while one waited on a slow server?
"""

from __future__ import annotations

import json
from pathlib import Path

REQUEST_RECORDER = '''
import json, os, time
from pytest_loadhooks import events

_LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "requests.jsonl")


@events.request.add_listener
def _record(request_type, name, response_time, response_length=0, exception=None, start_time=None, url=None,
            response=None, **kwargs):
    end = time.time()
    with open(_LOG, "a") as handle:
        handle.write(json.dumps({"type": request_type, "name": name, "url": url,
                                 "status": getattr(response, "status_code", None),
                                 "failed": exception is not None,
                                 "exception": None if exception is None else f"{exception!r} {exception}"[:400],
                                 "start_time": start_time, "start": end - response_time / 1000, "end": end,
                                 "response_time": response_time, "length": response_length}) + "\\n")
'''


def read_requests(directory: Path) -> list[dict]:
    path = directory / "requests.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def started_during(slow: dict, requests: list[dict]) -> list[dict]:
    """The requests other than ``slow`` that started (by their own `start_time`) while it was under way."""
    begin = slow["start_time"]
    end = begin + slow["response_time"] / 1000
    return [r for r in requests if r is not slow and r["start_time"] is not None and begin < r["start_time"] < end]


def ended_during(slow: dict, requests: list[dict]) -> list[dict]:
    """The requests other than ``slow`` that ended while it was waiting for its answer."""
    return [r for r in requests if r is not slow and slow["start"] < r["end"] < slow["end"]]
