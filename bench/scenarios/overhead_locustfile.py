"""Scenario 5 (pytest overhead), Locust's side: the same user as overhead_loadtest.py.

bench/run.py copies it into an empty directory and runs
``locust -f overhead_locustfile.py --headless -t 1s -u 10 -r 10 -H URL``.
"""

from locust import HttpUser, constant, task


class OverheadUser(HttpUser):
    wait_time = constant(1)

    @task
    def index(self):
        self.client.get("/")
