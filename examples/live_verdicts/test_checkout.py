"""Live verdicts: a checkout that gets slow mid-run aborts the run within a second of its 'for' time.

    pytest examples/live_verdicts --load-users=4 --load-run-time=60s --load-host=http://127.0.0.1:8080

The thresholds are in pytest.ini. The first seconds pass (the checkout answers in 20 ms); after
``SLOW_AFTER`` seconds it takes 400 ms, the window's p95 breaks 200 ms, and 3 s later the run stops
with ``aborted at 00:0N: p95 of POST /checkout over 5 s 4xx.x ms > 200.0 ms for 3 s``, long
before its 60 s. Watch it in the web UI with ``--load-web``: the Thresholds card goes from
passing to failing, counting its breach. ``--load-abort-after=10s`` gives every threshold
without a ``for`` of its own the same.
"""

import time

from pytest_loadhooks import HttpUser, constant, events, task

SLOW_AFTER = 3.0
started = [0.0]


@events.test_start.add_listener
def _remember_the_start(**_kwargs):
    started[0] = time.monotonic()


class Buyer(HttpUser):
    wait_time = constant(0.05)

    @task(3)
    def browse(self):
        self.client.get("/page")

    @task(1)
    def checkout(self):
        slow = time.monotonic() - started[0] > SLOW_AFTER  # the target "slows down" mid-run
        self.client.post(f"/slow?ms={400 if slow else 20}", name="/checkout")
