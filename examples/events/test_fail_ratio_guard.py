"""A run the background greenlet stops early: most of its requests fail.

The module is marked, so it gets a run of its own with a long run time; the checker
spawned at ``init`` (conftest.py) quits it about a second after it starts.
"""

import pytest

from pytest_loadhooks import HttpUser, constant, task

pytestmark = pytest.mark.load(users=2, spawn_rate=20, run_time="60s")


class Unlucky(HttpUser):
    wait_time = constant(0.05)

    @task(3)
    def broken(self):
        self.client.get("/status/500")

    @task(1)
    def fine(self):
        self.client.get("/page")


def test_checker_stopped_the_run(load_result, seen_requests):
    assert load_result.fail_ratio > 0.2
    assert load_result.duration < load_result.environment.parsed_options.run_time  # quit, not timed out
    failed = [r for r in seen_requests if r["exception"] is not None]
    assert failed and all(r["status_code"] == 500 and r["name"] == "/status/500" for r in failed)
    assert len(failed) == load_result.num_failures
