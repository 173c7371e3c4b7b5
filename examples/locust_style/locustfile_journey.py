"""A locustfile as Locust users write them, with only `locust` rewritten to `pytest_loadhooks`.

- the class `host` points at Locust's default port; --load-host overrides it, as `-H` does;
- a MarkovTaskSet chains the pages a shopper visits;
- events.request.measure times a piece of work that is not an HTTP call;
- a custom message from test_start reaches the runner's own listener (it loops back in a
  local run, as in Locust), and hands each user a coupon code;
- run_single_user under the __main__ guard runs one user with `python locustfile_journey.py`.
"""

import time

from pytest_loadhooks import HttpUser, MarkovTaskSet, constant, events, run_single_user, transition, transitions
from pytest_loadhooks.runners import WorkerRunner

COUPONS: list[str] = []


@events.init.add_listener
def register_coupon_message(environment, **kwargs):
    if not isinstance(environment.runner, WorkerRunner):
        environment.runner.register_message("coupons", lambda environment, msg, **kw: COUPONS.extend(msg.data))


@events.test_start.add_listener
def send_coupons(environment, **kwargs):
    environment.runner.send_message("coupons", ["SPRING", "SUMMER", "AUTUMN"])


class Journey(MarkovTaskSet):
    @transition("cart", weight=3)
    @transition("home")
    def home(self):
        self.client.get("/page", name="home")

    @transitions({"home": 1, "checkout": 1})
    def cart(self):
        self.client.get("/cart", name="cart")

    @transition("home")
    def checkout(self):
        with self.user.environment.events.request.measure("COMPUTE", "price") as meta:
            time.sleep(0.001)  # stands in for work of your own, timed as a request
            meta["response_length"] = len(self.user.coupon)
        self.client.post("/cart", json={"coupon": self.user.coupon}, name="checkout")


class Shopper(HttpUser):
    host = "http://localhost:8080"
    wait_time = constant(0.05)
    tasks = [Journey]

    def on_start(self):
        self.coupon = COUPONS[0] if COUPONS else "NONE"


if __name__ == "__main__":
    run_single_user(Shopper)
