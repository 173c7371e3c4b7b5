"""Seed 003 (Locust 2.x "Request context"): context from the request method."""

from pytest_loadhooks import HttpUser, events, task


class MyUser(HttpUser):
    @task
    def t(self):
        self.client.post("/login", json={"username": "foo"})
        self.client.get("/other_request", context={"username": "foo"})

    @events.request.add_listener
    def on_request(context, **kwargs):
        if context:
            print(context["username"])
