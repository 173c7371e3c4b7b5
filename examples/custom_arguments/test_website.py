"""Users and tests read custom arguments from ``environment.parsed_options``.

    pytest examples/custom_arguments --load-host=http://127.0.0.1:8080 --load-run-time=2s -s \
        --my-argument=hello --env=staging
"""

from pytest_loadhooks import HttpUser, constant, task

PATHS = {"dev": "/page", "staging": "/api/data", "prod": "/"}


class WebsiteUser(HttpUser):
    wait_time = constant(0.1)

    @task
    def my_task(self):
        options = self.environment.parsed_options
        # The --env choice picks what to load; the argument rides along as request context.
        self.client.get(PATHS[options.env], context={"my_argument": options.my_argument})


def test_parsed_options(load_env):
    """load_env is the run's Environment before it starts: the options are already there."""
    options = load_env.parsed_options
    print(f"my_argument={options.my_argument!r} env={options.env!r} "
          f"my_ui_invisible_argument={options.my_ui_invisible_argument!r} "
          f"my_ui_password_argument={options.my_ui_password_argument!r}")
    assert options.env in ("dev", "staging", "prod")


def test_users_loaded_the_chosen_path(load_result):
    options = load_result.environment.parsed_options
    assert [name for _, name in load_result.entries] == [PATHS[options.env]]
    assert load_result.num_requests > 0
