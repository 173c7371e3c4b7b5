"""Seed 003 (Locust 2.x "Run a background greenlet"): stop the run when the fail ratio exceeds 0.2."""

import time

import gevent
from pytest_loadhooks import events
from pytest_loadhooks.runners import STATE_STOPPING, STATE_STOPPED, STATE_CLEANUP, MasterRunner, LocalRunner


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


# --- not from the seed: a user whose requests all fail.
from pytest_loadhooks import HttpUser, constant, task  # noqa: E402


class FailingUser(HttpUser):
    wait_time = constant(0.05)

    @task
    def broken(self):
        self.client.get("/status/500")
