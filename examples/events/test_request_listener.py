"""A healthy run: the request listener sees every request with every argument."""

import itertools

from pytest_loadhooks import HttpUser, constant, task

_ids = itertools.count(1)


class Reader(HttpUser):
    wait_time = constant(0.1)

    def on_start(self):
        self.user_id = next(_ids)

    def context(self):
        # Merged into the context of every request this user makes.
        return {"user_id": self.user_id}

    @task(2)
    def home(self):
        self.client.get("/")

    @task(1)
    def item(self):
        self.client.get(f"/api/data?id={self.user_id}", name="/api/data?id=[id]", context={"kind": "item"})


def test_listener_saw_every_request(load_result, seen_requests):
    assert len(seen_requests) == load_result.num_requests > 0
    host = load_result.environment.host
    for request in seen_requests:
        assert request["request_type"] == "GET" and request["exception"] is None
        assert request["status_code"] == 200 and request["response_length"] > 0
        assert request["response_time"] >= 0 and request["start_time"] > 1e9  # a Unix timestamp
        assert request["url"].startswith(host + "/")
        assert isinstance(request["context"]["user_id"], int)
    items = [r for r in seen_requests if r["name"] == "/api/data?id=[id]"]
    assert items and all(r["context"]["kind"] == "item" for r in items)
    assert all("?id=" in r["url"] for r in items)  # name groups the stats, url is what was fetched
