"""Users fetching two pages of different sizes, so the content-length page has something to show.

    python examples/target_app.py --port 8080 &
    pytest examples/web_ui --load-web --load-host=http://127.0.0.1:8080 --load-users=5 --load-run-time=1m
"""

import content_length

from pytest_loadhooks import HttpUser, constant, task


class Reader(HttpUser):
    wait_time = constant(0.05)

    @task(3)
    def home(self):
        self.client.get("/")  # 5 bytes

    @task(1)
    def big(self):
        self.client.get("/big?kb=1", name="/big")  # 1024 bytes


def test_page_counts_what_the_stats_count(load_result):
    # The listener's sums agree with the run's own statistics, request name by request name.
    assert load_result.num_requests > 0
    for row in content_length.rows():
        entry = load_result.environment.stats.get(row["name"], row["method"])
        assert row["content_length"] == entry.total_content_length > 0
