"""Event listeners for every load run in this directory.

They attach to the global ``events`` when pytest imports this file, as they would at
the top of a locustfile, so they see every run of the session: the session's run
and each ``@pytest.mark.load`` run. The bodies come from Locust's event-hook
documentation with ``locust`` replaced by ``pytest_loadhooks``; the request listener
records what it was given instead of printing every request.
"""

import time

import gevent
import pytest

from pytest_loadhooks import events
from pytest_loadhooks.runners import STATE_CLEANUP, STATE_STOPPED, STATE_STOPPING, LocalRunner, MasterRunner

SEEN = []  # one dict per request of the current run, as the request event described it


@events.request.add_listener
def my_request_handler(request_type, name, response_time, response_length, response,
                       context, exception, start_time, url, **kwargs):
    SEEN.append({
        "request_type": request_type, "name": name, "response_time": response_time,
        "response_length": response_length, "status_code": getattr(response, "status_code", None),
        "context": context, "exception": exception, "start_time": start_time, "url": url,
    })


@events.test_start.add_listener
def on_test_start(environment, **kwargs):
    SEEN.clear()
    if not isinstance(environment.runner, MasterRunner):
        print(f"Beginning test setup: {environment.runner.target_user_count} users")


@events.test_stop.add_listener
def on_test_stop(environment, **kwargs):
    if not isinstance(environment.runner, MasterRunner):
        total = environment.stats.total
        print(f"Cleaning up test data: {total.num_requests} requests, {total.num_failures} failed")


# Run a background greenlet: stop the run when more than 20 % of requests fail.
def checker(environment):
    while not environment.runner.state in [STATE_STOPPING, STATE_STOPPED, STATE_CLEANUP]:
        time.sleep(1)
        if environment.runner.stats.total.fail_ratio > 0.2:
            print(f"fail ratio was {environment.runner.stats.total.fail_ratio}, quitting")
            environment.runner.quit()
            return


@events.init.add_listener
def on_locust_init(environment, **_kwargs):
    # dont run this on workers, we only care about the aggregated numbers
    if isinstance(environment.runner, MasterRunner) or isinstance(environment.runner, LocalRunner):
        gevent.spawn(checker, environment)


@pytest.fixture
def seen_requests():
    """What the request listener recorded during the current run."""
    return SEEN
