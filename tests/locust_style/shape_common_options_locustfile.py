"""A LoadTestShape with use_common_options = True: it reads users, spawn rate and run time
from the command line, as Locust's documentation shows. What it read goes to shape.jsonl.
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


class CommandLineShape(LoadTestShape):
    use_common_options = True

    def tick(self):
        options = self.runner.environment.parsed_options
        if self.get_run_time() < options.run_time:
            return (options.num_users, options.spawn_rate)
        record(event="shape_returned_none", run_time=options.run_time, num_users=options.num_users)
        return None


@events.spawning_complete.add_listener
def on_spawned(user_count, **kwargs):
    record(event="spawning_complete", user_count=user_count)
