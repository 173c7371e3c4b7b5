"""A load shape: the number of users follows a plan over time, and the plan ends the run.

A concrete ``LoadTestShape`` subclass in a test module drives that module's run
(no marker needed). Its ``tick()`` is called about once a second and returns
``(users, spawn_rate)``, or ``None`` to end the run. As in Locust, a shape decides
the users, the spawn rate and the end of its run: --load-users, --load-spawn-rate and
--load-run-time do not apply to it (the session says so in one line when they are
given) unless the shape sets ``use_common_options = True``. A shape that never returns
None runs until pytest-timeout (``--timeout``) stops it.
"""

import pytest

from pytest_loadhooks import HttpUser, LoadTestShape, constant, task


class RampUpAndDown(LoadTestShape):
    # (until this many seconds into the run, users, spawn rate in users per second)
    stages = [
        (1, 2, 10),
        (2, 4, 10),
        (3, 1, 10),
    ]

    def tick(self):
        run_time = self.get_run_time()
        for until, users, spawn_rate in self.stages:
            if run_time < until:
                return users, spawn_rate
        return None  # past the last stage: the run ends here


class Visitor(HttpUser):
    wait_time = constant(0.1)

    @task
    def page(self):
        self.client.get("/page")


@pytest.fixture
def user_counts(load_events):
    """User counts each time a ramp completes (the listener is removed after the test)."""
    counts = []
    load_events.spawning_complete.add_listener(lambda user_count, **kw: counts.append(user_count))
    return counts


def test_users_follow_the_shape(load_result, user_counts):
    print(f"user count after each ramp: {user_counts}")
    assert user_counts == [2, 4, 1]
    assert max(row["user_count"] for row in load_result.history) == 4
    # The shape returned None after its last stage (about 3 s) and so ended the run.
    assert load_result.history[-1]["user_count"] == 0
    assert isinstance(load_result.environment.shape_class, RampUpAndDown)
