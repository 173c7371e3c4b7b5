"""Issue #10's req/s benchmark, Locust's side: the same user as distributed_fast_loadtest.py.

bench/distributed.py copies it into an empty directory and runs
``locust -f locustfile.py --headless --processes N -u 50 -r 50 -t ... -H URL --json --skip-log``.
"""

from locust import FastHttpUser, constant, task


class BusyUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def index(self):
        self.client.get("/")
