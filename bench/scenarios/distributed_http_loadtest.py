"""Issue #10's req/s benchmark, our side: 50 HttpUsers with constant(0) wait, as bench/run.py's rps scenario.

bench/distributed.py copies it into an empty directory and runs
``pytest distributed_http_loadtest.py --load-processes=N --load-users=50 --load-spawn-rate=50
--load-run-time=... --load-host=URL --load-json=...``.
"""

from pytest_loadhooks import HttpUser, constant, task


class BusyUser(HttpUser):
    wait_time = constant(0)

    @task
    def index(self):
        self.client.get("/")
