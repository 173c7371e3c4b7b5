"""A LoadTestShape that decides when the run ends: three users for two seconds, then None.

It does not set use_common_options, so --load-users and --load-run-time must not change it.
What the shape did is written to shape.jsonl next to this file.
"""

import json
import os

from pytest_loadhooks import HttpUser, LoadTestShape, constant, events, task

LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shape.jsonl")


def record(**entry):
    with open(LOG, "a") as handle:
        handle.write(json.dumps(entry) + "\n")


class Visitor(HttpUser):
    host = "http://localhost:8089"
    wait_time = constant(0.1)

    @task
    def home(self):
        self.client.get("/page")


class TwoSecondBurst(LoadTestShape):
    def tick(self):
        if self.get_run_time() < 2:
            return (3, 10)
        record(event="shape_returned_none")
        return None


@events.spawning_complete.add_listener
def on_spawned(user_count, **kwargs):
    record(event="spawning_complete", user_count=user_count)
