"""Custom arguments, as Locust's documentation adds them, with ``locust`` replaced by
``pytest_loadhooks``.

The listener lives in conftest.py so that it runs before pytest parses the command
line: each argument then becomes a real pytest option (``pytest --help`` lists them
under "load testing"), an ini key named after it (``my_argument``) and, when it has
``env_var=``, an environment variable. Values reach the run as
``environment.parsed_options.<name>``.
"""

from pytest_loadhooks import events


@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--my-argument", type=str, env_var="LOCUST_MY_ARGUMENT", default="", help="It's working")
    # Choices will validate command line input and show a dropdown in the web UI
    parser.add_argument("--env", choices=["dev", "staging", "prod"], default="dev", help="Environment")
    # Set `include_in_web_ui` to False if you want to hide from the web UI
    parser.add_argument("--my-ui-invisible-argument", include_in_web_ui=False, default="I am invisible")
    # Set `is_secret` to True if you want the text input to be password masked in the web UI
    parser.add_argument("--my-ui-password-argument", is_secret=True, default="I am a secret")


@events.test_start.add_listener
def _(environment, **kw):
    print(f"Custom argument supplied: {environment.parsed_options.my_argument}")
