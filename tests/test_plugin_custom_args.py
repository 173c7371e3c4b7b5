"""init_command_line_parser: listeners' arguments become pytest options, ini keys and env variables."""

from __future__ import annotations

import pytest
from plugin_helpers import SHOP_MODULE, load_args

# The seed's custom-arguments example, with `locust` replaced by `pytest_loadhooks`.
SEED_CONFTEST = '''
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

@events.init.add_listener
def _(environment, **kw):
    print(f"Custom argument supplied: {environment.parsed_options.my_argument}")
    print(f"env={environment.parsed_options.env} secret={environment.parsed_options.my_ui_password_argument}")
'''


@pytest.fixture
def seed_project(pytester):
    pytester.makeconftest(SEED_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    return pytester


def test_custom_argument_from_command_line(seed_project, target):
    result = seed_project.runpytest_subprocess(*load_args(target, "-s", "--my-argument=from-cli", "--env=prod"))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*Custom argument supplied: from-cli*", "*env=prod secret=I am a secret*"])


def test_custom_argument_from_its_env_var(seed_project, target, monkeypatch):
    monkeypatch.setenv("LOCUST_MY_ARGUMENT", "from-env")
    result = seed_project.runpytest_subprocess(*load_args(target, "-s"))
    result.stdout.fnmatch_lines(["*Custom argument supplied: from-env*", "*env=dev*"])


def test_custom_argument_from_ini_and_cli_wins(seed_project, target, monkeypatch):
    seed_project.makeini("[pytest]\nmy_argument = from-ini\nenv = staging\n")
    result = seed_project.runpytest_subprocess(*load_args(target, "-s"))
    result.stdout.fnmatch_lines(["*Custom argument supplied: from-ini*", "*env=staging*"])
    monkeypatch.setenv("LOCUST_MY_ARGUMENT", "from-env")
    result = seed_project.runpytest_subprocess(*load_args(target, "-s"))
    result.stdout.fnmatch_lines(["*Custom argument supplied: from-env*"])
    result = seed_project.runpytest_subprocess(*load_args(target, "-s", "--my-argument=from-cli"))
    result.stdout.fnmatch_lines(["*Custom argument supplied: from-cli*"])


def test_custom_argument_choices_are_validated(seed_project, target):
    result = seed_project.runpytest_subprocess(*load_args(target, "--env=moon"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: pytest-loadhooks: --env: invalid choice 'moon' for --env (choose from 'dev',*"])


def test_custom_arguments_show_in_help(seed_project):
    result = seed_project.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines([
        "*--my-argument=MY_ARGUMENT*",
        "*It's working*env: LOCUST_MY_ARGUMENT*",
        "*--env=ENV*choices: dev, staging, prod*",
    ])


def test_listener_in_a_test_module_still_gets_env_ini_and_default(pytester, target, monkeypatch):
    pytester.makeini("[pytest]\nlate_ini = from-ini\n")
    pytester.makepyfile(
        test_late=SHOP_MODULE + '''
from pytest_loadhooks import events

@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--late-env", env_var="LATE_ENV", default="d1")
    parser.add_argument("--late-ini", default="d2")
    parser.add_argument("--late-default", default="3", type=int)

def test_values(load_env):
    options = load_env.parsed_options
    assert (options.late_env, options.late_ini, options.late_default) == ("from-env", "from-ini", 3)
'''
    )
    monkeypatch.setenv("LATE_ENV", "from-env")
    result = pytester.runpytest_subprocess(*load_args(target, "-k", "test_values"))
    result.assert_outcomes(passed=1, deselected=1)
