"""A run that should fail in CI: about 5 % of checkouts fail, and the limit is 1 %.

    pytest examples/flaky --load-users=10 --load-run-time=5s --load-host=http://127.0.0.1:8080 --load-fail-ratio=1%
"""

from pytest_loadhooks import HttpUser, constant, task


class Buyer(HttpUser):
    wait_time = constant(0.05)

    @task(3)
    def browse(self):
        self.client.get("/page")

    @task(1)
    def checkout(self):
        self.client.post("/flaky?fail=0.2", name="/checkout")
