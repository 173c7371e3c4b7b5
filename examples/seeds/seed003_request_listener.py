"""Seed 003 (Locust 2.x "Event hooks"): a request listener with every argument, and
test_start / test_stop listeners that skip the master."""

from pytest_loadhooks import events
from pytest_loadhooks.runners import MasterRunner


@events.request.add_listener
def my_request_handler(request_type, name, response_time, response_length, response,
                       context, exception, start_time, url, **kwargs):
    if exception:
        print(f"Request to {name} failed with exception {exception}")
    else:
        print(f"Successfully made a request to: {name}")
        print(f"The response was {response.text}")


@events.test_start.add_listener
def on_test_start(environment, **kwargs):
    if not isinstance(environment.runner, MasterRunner):
        print("Beginning test setup")
    else:
        print("Started test from Master node")


@events.test_stop.add_listener
def on_test_stop(environment, **kwargs):
    if not isinstance(environment.runner, MasterRunner):
        print("Cleaning up test data")
    else:
        print("Stopped test from Master node")


# --- not from the seed: a user with one request that succeeds and one that fails.
from pytest_loadhooks import HttpUser, constant, task  # noqa: E402


class WebsiteUser(HttpUser):
    wait_time = constant(0.1)

    @task
    def both(self):
        self.client.get("/")
        self.client.get("/status/500")
