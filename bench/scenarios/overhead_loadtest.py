"""Scenario 5 (pytest overhead), our side: a load test module as a user would write it.

bench/run.py copies it into an empty directory and runs
``pytest overhead_loadtest.py --load-users=10 --load-spawn-rate=10 --load-run-time=1s --load-host=URL``.
"""

from pytest_loadhooks import HttpUser, constant, task


class OverheadUser(HttpUser):
    wait_time = constant(1)

    @task
    def index(self):
        self.client.get("/")
