"""A first load test: users browse a shop; thresholds and a test judge the run.

    bash scripts/try-it.sh      # .venv, the example target on 127.0.0.1:8080, then this run:
    pytest examples/quickstart --load-users=20 --load-run-time=10s --load-host=http://127.0.0.1:8080

Its pytest.ini only sets thresholds: a plain ``pytest examples/quickstart`` skips the load items
with a hint; any --load-* option runs them.
"""

import pytest

from pytest_loadhooks import HttpUser, between, tag, task


class Shopper(HttpUser):
    wait_time = between(0.05, 0.2)

    def on_start(self):
        self.client.post("/login", json={"username": "shopper"})

    @task(5)
    def browse(self):
        self.client.get("/page")

    @task(2)
    @tag("api")
    def api(self):
        self.client.get("/api/data")

    @task(1)
    def cart(self):
        with self.client.get("/cart", catch_response=True) as response:
            if '"ok": true' not in response.text:
                response.failure("cart did not answer ok")


@pytest.fixture
def slow_requests(load_events):
    """Collect requests slower than a second while the run goes (removed when the test ends)."""
    slow = []

    def on_request(name, response_time, **kwargs):
        if response_time > 1000:
            slow.append((name, response_time))

    load_events.request.add_listener(on_request)
    return slow


@pytest.mark.thresholds("GET /page: p99 < 800")
def test_browsing_stays_fast(load_result, slow_requests):
    assert load_result.num_requests > 0
    assert load_result.percentile(95, name="/page") < 500
    assert len(slow_requests) <= 0.05 * load_result.num_requests, slow_requests[:5]
