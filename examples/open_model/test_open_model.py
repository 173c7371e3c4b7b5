"""An open-model load test: iterations start at a rate, whatever the target's response times.

    pytest examples/open_model --load-host=http://127.0.0.1:8080 --load-rate=50/s --load-run-time=10s \
        --load-max-users=20 --load-threshold "p95_intended < 500" --load-threshold "dropped_iterations == 0"

or, ramping: ``--load-rate-stages="10/s:5s,50/s:10s,0/s:5s"``. See docs/open-model.md.
"""

from pytest_loadhooks import HttpUser, task


class Shopper(HttpUser):
    # No wait_time: in an open-model run the rate paces the iterations (one task each).
    @task(3)
    def browse(self):
        self.client.get("/page")

    @task
    def slows_down(self):
        # The example target answers this fast for 5 s, then 200 ms late: watch p95 vs p95_intended.
        self.client.get("/slow-after?key=open-model-example&after=5&ms=200", name="/slow-after")
