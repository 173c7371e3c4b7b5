"""A module marked as a whole: its User classes form a run of their own.

``pytestmark`` applies ``load`` to the module, so ``Buyer`` does not join the
session's run: it gets the item ``test_checkout.py::load_run`` with 2 users for
1 second, whatever --load-users says. The module's ``thresholds`` belong to that
run and decide whether ``load_run`` passes.
"""

import pytest

from pytest_loadhooks import HttpUser, constant, task

pytestmark = [
    pytest.mark.load(users=2, spawn_rate=20, run_time="1s"),
    pytest.mark.thresholds("fail_ratio < 1%", "POST /checkout: p95 < 2s"),
]


class Buyer(HttpUser):
    wait_time = constant(0.05)

    def on_start(self):
        self.client.post("/login", json={"username": "buyer"})

    @task
    def checkout(self):
        self.client.post("/cart", json={"item": 42}, name="/checkout")


def test_checkout_run(load_result):
    assert [cls.__name__ for cls in load_result.environment.user_classes] == ["Buyer"]
    assert load_result.environment.runner.target_user_count == 2
    assert load_result.entry("/login", method="POST").num_requests == 2  # on_start runs once per user
    assert load_result.entry("/checkout").num_requests > 0
    print(f"checkout run: {load_result.num_requests} requests, p95 {load_result.percentile(95):.1f} ms")
