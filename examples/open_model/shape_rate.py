"""A LoadTestShape that drives an open-model run: tick() returns a RateTick (or {"rate": ...}).

    pytest examples/open_model/shape_rate.py --load-host=http://127.0.0.1:8080
"""

from pytest_loadhooks import HttpUser, LoadTestShape, RateTick, task


class Reader(HttpUser):
    @task
    def read(self):
        self.client.get("/api/data")


class StepRate(LoadTestShape):
    """10/s, then 30/s, then 60/s, ten seconds each, from a pool of at most 20 users."""

    def tick(self):
        run_time = self.get_run_time()
        if run_time >= 30:
            return None
        return RateTick(rate=(10, 30, 60)[int(run_time // 10)], max_users=20)
