"""A hostile user's probes of the open model (issue #21): edge rates and option combinations, through real
pytest sessions against the session's local target. Each test here was a defect first."""

from __future__ import annotations

import json

import pytest

pytest_plugins = ["pytester"]

FAST_MODULE = """
from pytest_loadhooks import HttpUser, task

class Fast(HttpUser):
    @task
    def get(self):
        self.client.get("/")
"""

SESSION_TIMEOUT = 90
"""Seconds a probe session may take before it counts as hung (each one asks for a 1 s run)."""


def test_a_rate_beyond_what_the_machine_can_start_still_ends_on_time(pytester, target):
    # At a million iterations per second the scheduler is always behind: it used to launch (or drop)
    # iterations without ever yielding to gevent's hub, so the run-time timer never fired, nothing else
    # ran, and even SIGTERM was never handled: the session hung for good.
    pytester.makepyfile(test_fast=FAST_MODULE)
    result = pytester.runpytest_subprocess(f"--load-host={target}", "--load-rate=1000000/s", "--load-run-time=1s",
                                           "--load-max-users=1", "--load-json=result.json", timeout=SESSION_TIMEOUT)
    output = result.stdout.str()
    assert result.ret == 0, output
    counts = json.loads((pytester.path / "result.json").read_text())["open_model"]
    assert counts["iterations"] >= 1 and counts["dropped_iterations"] > counts["iterations"], counts
