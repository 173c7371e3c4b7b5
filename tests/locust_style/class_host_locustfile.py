"""A class host pointing at a local Locust-style default, overridden by --load-host (Locust's -H)."""

from pytest_loadhooks import HttpUser, between, task


class StorefrontUser(HttpUser):
    host = "http://localhost:8089"
    wait_time = between(0.05, 0.1)

    @task(3)
    def browse(self):
        self.client.get("/page")

    @task
    def cart(self):
        self.client.get("/cart?item=42", name="/cart")
