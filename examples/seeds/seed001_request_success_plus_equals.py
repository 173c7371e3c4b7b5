"""Seed 001 (Locust 0.x "Extending Locust"): ``events.request_success += handler``.

The seed's handler uses a Python 2 print statement; it is a print() call here.
The 0.x argument names (method, path, response) are what the handler receives.
"""

from pytest_loadhooks import events

def my_success_handler(method, path, response_time, response, **kw):
    print("Successfully fetched: %s" % (path))

events.request_success += my_success_handler


# --- not from the seed: a user whose requests the listener sees.
from pytest_loadhooks import HttpUser, constant, task  # noqa: E402


class WebsiteUser(HttpUser):
    wait_time = constant(0.1)

    @task
    def page(self):
        self.client.get("/page")
