"""Seed 003 (Locust 2.x "Request context"): context from the User instance."""

from pytest_loadhooks import HttpUser, events, task


class MyUser(HttpUser):
    def context(self):
        return {"username": self.username}

    @task
    def t(self):
        self.username = "foo"
        self.client.post("/login", json={"username": self.username})

    @events.request.add_listener
    def on_request(context, **kwargs):
        print(context["username"])
