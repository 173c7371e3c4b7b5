"""run_single_user imported at module level, as Locust's debugging examples do.

Run with pytest it is an ordinary load test; run directly (`python single_user_locustfile.py`)
it runs one user in this process so that a debugger can step through the tasks.
"""

import os

from pytest_loadhooks import HttpUser, constant, run_single_user, task
from pytest_loadhooks.exception import StopUser


class CheckoutUser(HttpUser):
    host = os.environ.get("SHOP_HOST", "http://localhost:8089")
    wait_time = constant(0.05)
    checkouts_before_stop = int(os.environ.get("CHECKOUTS_BEFORE_STOP", "0"))  # 0: never stop

    def on_start(self):
        self.checkouts = 0

    @task
    def checkout(self):
        with self.client.get("/cart", catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"cart answered {resp.status_code}")
        self.client.post("/login", json={"user": "debugger"})
        self.checkouts += 1
        if self.checkouts == self.checkouts_before_stop:
            raise StopUser()


if __name__ == "__main__":
    run_single_user(CheckoutUser)
