"""Helpers for tests that run real pytest sessions with the plugin (in subprocesses)."""

from __future__ import annotations

import json
from pathlib import Path

SHOP_MODULE = '''
from pytest_loadhooks import HttpUser, task, constant

class Shopper(HttpUser):
    wait_time = constant(0.02)

    @task(3)
    def page(self):
        self.client.get("/page")

    @task
    def cart(self):
        self.client.get("/cart")
'''

FAILING_MODULE = '''
from pytest_loadhooks import HttpUser, task, constant

class Unlucky(HttpUser):
    wait_time = constant(0.02)

    @task
    def broken(self):
        self.client.get("/status/500")

    @task
    def fine(self):
        self.client.get("/page")
'''

# A conftest that records every lifecycle event (and each request count) into events.jsonl.
RECORDING_CONFTEST = '''
import json, os
from pytest_loadhooks import events

LOG = os.path.join(os.path.dirname(__file__), "events.jsonl")

def record(event, **data):
    with open(LOG, "a") as handle:
        handle.write(json.dumps({"event": event, **data}) + "\\n")

@events.init.add_listener
def _init(environment, runner, web_ui, **kw):
    record("init", runner=type(runner).__name__, web_ui=web_ui is None)

@events.test_start.add_listener
def _start(environment, **kw):
    record("test_start")

@events.spawning_complete.add_listener
def _spawned(user_count, **kw):
    record("spawning_complete", user_count=user_count)

@events.test_stopping.add_listener
def _stopping(environment, **kw):
    record("test_stopping")

@events.test_stop.add_listener
def _stop(environment, **kw):
    record("test_stop", requests=environment.stats.total.num_requests)

@events.quitting.add_listener
def _quitting(environment, **kw):
    record("quitting")

@events.quit.add_listener
def _quit(exit_code, **kw):
    record("quit", exit_code=exit_code)

@events.request.add_listener
def _request(**kw):
    record("request", name=kw["name"])
'''


def load_args(target: str, *extra: str, users: int = 3, run_time: str = "1s") -> list[str]:
    return [f"--load-users={users}", f"--load-run-time={run_time}", f"--load-host={target}", "-p", "no:cacheprovider",
            *extra]


def read_events(directory: Path) -> list[dict]:
    path = directory / "events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def lifecycle(directory: Path) -> list[str]:
    return [e["event"] for e in read_events(directory) if e["event"] != "request"]
