"""The session's run, plus one test that gets an isolated run of its own.

``Browser`` is not marked, so it joins the session's load run: the item
``test_browse.py::load_run``, with the settings from the command line
(--load-users, --load-run-time, ...).

``test_api_only`` is marked ``@pytest.mark.load(...)``: it gets a run of its own,
with its own Environment, 1 user, only the tasks tagged "api", and a threshold
that applies to that run alone. Its verdict is the test's own pass/fail.
"""

import pytest

from pytest_loadhooks import HttpUser, constant, tag, task


class Browser(HttpUser):
    wait_time = constant(0.05)

    @task(3)
    def page(self):
        self.client.get("/page")

    @task(1)
    @tag("api")
    def api(self):
        self.client.get("/api/data")


# Checked against the session's run (the run this test reads), after the test body.
@pytest.mark.thresholds("GET /page: p95 < 2s", "requests > 0")
def test_session_run(load_result):
    assert set(load_result.entries) == {("GET", "/page"), ("GET", "/api/data")}
    assert load_result.environment.parsed_options.num_users == load_result.environment.runner.target_user_count
    print(f"session run: {load_result.num_requests} requests with "
          f"{load_result.environment.parsed_options.num_users} users")


@pytest.mark.load(users=1, spawn_rate=10, run_time="1s", tags=["api"])
@pytest.mark.thresholds("GET /api/data: fail_ratio == 0")
def test_api_only(load_result):
    assert load_result.run_id.endswith("test_browse.py::test_api_only")
    assert set(load_result.entries) == {("GET", "/api/data")}  # the untagged /page task was left out
    assert load_result.environment.parsed_options.num_users == 1
    print(f"isolated run: {load_result.num_requests} requests with 1 user")
