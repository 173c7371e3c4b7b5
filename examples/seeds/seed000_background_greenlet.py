"""Seed 000 (Locust 1.x): a background greenlet that quits the run when the fail ratio exceeds 0.2.

The seed shows a fragment: the imports of ``time``, ``gevent`` and ``events`` are added.
"""

import time

import gevent

from pytest_loadhooks import events
from pytest_loadhooks.runners import STATE_STOPPING, STATE_STOPPED, STATE_CLEANUP, WorkerRunner


def checker(environment):
    while not environment.runner.state in [STATE_STOPPING, STATE_STOPPED, STATE_CLEANUP]:
        time.sleep(1)
        if environment.runner.stats.total.fail_ratio > 0.2:
            print(f"fail ratio was {environment.runner.stats.total.fail_ratio}, quitting")
            environment.runner.quit()
            return


@events.init.add_listener
def on_locust_init(environment, **_kwargs):
    # only run this on master & standalone
    if not isinstance(environment.runner, WorkerRunner):
        gevent.spawn(checker, environment)


# --- not from the seed: a user that fails half of its requests.
from pytest_loadhooks import HttpUser, constant, task  # noqa: E402


class FailingUser(HttpUser):
    wait_time = constant(0.05)

    @task
    def flaky(self):
        self.client.get("/flaky?fail=0.5", name="/flaky")
