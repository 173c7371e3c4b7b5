"""Seed 000 (Locust 1.x "Extending Locust"): an old-style request_success listener."""

from pytest_loadhooks import events


@events.request_success.add_listener
def my_success_handler(request_type, name, response_time, response_length, **kw):
    print("Successfully made a request to: %s" % name)


# --- not from the seed: a user whose requests the listener sees.
from pytest_loadhooks import HttpUser, constant, task  # noqa: E402


class WebsiteUser(HttpUser):
    wait_time = constant(0.1)

    @task
    def index(self):
        self.client.get("/")
