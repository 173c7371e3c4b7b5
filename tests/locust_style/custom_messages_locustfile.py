"""Custom messages in a local run: what a master would send its workers loops back.

At test_start the runner registers two message types and sends itself the user names; the
handler hands them to the users and acknowledges. Each user then puts its name in its
requests, so the names a request carries show that the message arrived before users started.
"""

import json
import os

from pytest_loadhooks import HttpUser, constant, events, task
from pytest_loadhooks.runners import LocalRunner, WorkerRunner

LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "messages.jsonl")
usernames = []


def record(**entry):
    with open(LOG, "a") as handle:
        handle.write(json.dumps(entry) + "\n")


def on_test_users(environment, msg, **kwargs):
    usernames.extend(user["name"] for user in msg.data)
    record(received=msg.type, data=msg.data)
    environment.runner.send_message("acknowledge_users", f"got {len(msg.data)} users")


def on_acknowledge(msg, **kwargs):
    record(received=msg.type, data=msg.data)


@events.test_start.add_listener
def on_test_start(environment, **kwargs):
    runner = environment.runner
    if not isinstance(runner, WorkerRunner):
        runner.register_message("test_users", on_test_users)
        runner.register_message("acknowledge_users", on_acknowledge)
        users = [{"name": f"shopper{i}"} for i in range(runner.target_user_count)]
        record(worker_count=runner.worker_count, local=isinstance(runner, LocalRunner))
        runner.send_message("test_users", users)


class NamedShopper(HttpUser):
    host = "http://localhost:8089"
    wait_time = constant(0.1)

    def on_start(self):
        self.username = usernames.pop()

    @task
    def page(self):
        self.client.get(f"/page?user={self.username}", name="/page")
