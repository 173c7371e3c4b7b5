"""Seed 003 (Locust 2.x "Request context"): context from a value in the response,
using catch_response. The seed shows the ``with`` block alone; it sits in a task here,
with a listener that prints the context."""

from pytest_loadhooks import HttpUser, events, task


class MyUser(HttpUser):
    @task
    def t(self):
        with self.client.get("/json", catch_response=True) as resp:
            resp.request_meta["context"]["requestId"] = resp.json()["requestId"]

    @events.request.add_listener
    def on_request(context, **kwargs):
        print(f"requestId {context['requestId']}")
