"""A load test watched from outside while it runs: Prometheus scrapes its numbers, OpenTelemetry
receives its metrics and a span per request (both clients send ``traceparent``)."""

from pytest_loadhooks import FastHttpUser, HttpUser, constant, task


class Browser(HttpUser):
    wait_time = constant(0.05)

    @task(3)
    def page(self):
        self.client.get("/page", name="page (requests)")

    @task
    def missing(self):
        self.client.get("/status/503", name="unavailable")


class Api(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def page(self):
        self.client.get("/page", name="page (fasthttp)")
