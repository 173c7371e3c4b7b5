"""The examples under examples/custom_arguments, marked_runs, shape and events, run for real.

Each example is a standalone pytest project (its own pytest.ini, so the repository's
root conftest does not apply). Every test here runs one of them in a subprocess,
exactly as the docs tell users to, against the real target from tests/conftest.py,
and checks outcomes and output. The last tests keep docs/options.md and
docs/events.md in step with the code.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_loadhooks.event import EVENT_ARGUMENTS
from pytest_loadhooks.plugin.options import OPTIONS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def run_example(directory: str, target: str, *extra: str, env: dict[str, str] | None = None):
    """``python -m pytest examples/<directory> --load-host=<target> ...`` from the repository root."""
    # Only what the test sets may make it a load session (or change a custom argument).
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOADHOOKS_") and k != "LOCUST_MY_ARGUMENT"}
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pytest", f"examples/{directory}", f"--load-host={target}", "-p", "no:cacheprovider",
         *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=150, env=clean,
    )


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


# -- examples/custom_arguments ----------------------------------------------------------------------------------

def test_custom_arguments_from_the_command_line(target):
    result = run_example("custom_arguments", target, "--load-users=2", "--load-run-time=1s", "-s", "-v",
                         "--my-argument=hello", "--env=staging")
    assert result.returncode == 0, output(result)
    assert "3 passed" in result.stdout
    # The seed's test_start listener, and the test that reads environment.parsed_options.
    assert "Custom argument supplied: hello" in result.stdout
    assert ("my_argument='hello' env='staging' my_ui_invisible_argument='set in pytest.ini' "
            "my_ui_password_argument='I am a secret'") in result.stdout
    # --env=staging made the users load /api/data.
    assert re.search(r"^GET\s+/api/data\s+\d+\s+0\s", result.stdout, re.MULTILINE), result.stdout


def test_custom_arguments_from_the_env_var_and_defaults(target):
    result = run_example("custom_arguments", target, "--load-users=2", "--load-run-time=1s", "-s",
                         env={"LOCUST_MY_ARGUMENT": "from the environment"})
    assert result.returncode == 0, output(result)
    assert "Custom argument supplied: from the environment" in result.stdout
    assert "env='dev'" in result.stdout  # the default choice
    assert re.search(r"^GET\s+/page\s+\d+\s+0\s", result.stdout, re.MULTILINE), result.stdout


def test_custom_argument_choices_are_checked_before_any_traffic(target):
    result = run_example("custom_arguments", target, "--load-run-time=1s", "--env=moon")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, output(result)
    assert ("ERROR: pytest-loadhooks: --env: invalid choice 'moon' for --env (choose from 'dev', 'staging', 'prod')"
            in result.stderr)
    assert "load test results" not in result.stdout


# -- examples/marked_runs ---------------------------------------------------------------------------------------

def test_marked_runs_each_get_their_own_settings_and_verdict(target, tmp_path):
    junit = tmp_path / "junit.xml"
    result = run_example("marked_runs", target, "--load-users=3", "--load-run-time=1s", "-s", "-v",
                         f"--junitxml={junit}")
    assert result.returncode == 0, output(result)
    assert "5 passed" in result.stdout
    out = result.stdout
    # Three runs: the session's (CLI settings), the marked module's, the marked test's.
    assert re.search(r"session run: \d+ requests with 3 users", out), out
    assert re.search(r"isolated run: \d+ requests with 1 user", out), out
    assert re.search(r"checkout run: \d+ requests, p95", out), out
    for head in ("test_browse.py::load_run: PASSED", "test_checkout.py::load_run: PASSED",
                 "test_browse.py::test_api_only: PASSED"):
        assert head in out, out
    assert "PASS threshold 'POST /checkout: p95 < 2s' passed: p95 of POST /checkout = " in out
    assert "PASS threshold 'GET /api/data: fail_ratio == 0' passed" in out
    # The module's run is a test case of its own in junit XML, with its numbers as properties.
    cases = {(c.get("classname"), c.get("name")): c for c in ET.parse(junit).getroot().iter("testcase")}
    checkout = cases[("test_checkout", "load_run")]
    properties = {p.get("name"): p.get("value") for p in checkout.iter("property")}
    assert int(properties["requests"]) > 0 and properties["status"] == "passed"
    assert properties["threshold fail_ratio < 1%"] == "passed"


def test_marked_runs_k_runs_just_one_isolated_run(target):
    result = run_example("marked_runs", target, "--load-run-time=1s", "-k", "test_api_only")
    assert result.returncode == 0, output(result)
    assert "1 passed, 4 deselected" in result.stdout
    assert "test_browse.py::test_api_only: PASSED" in result.stdout
    assert "::load_run:" not in result.stdout  # neither the session's nor the module's run happened


def test_marked_runs_are_skipped_in_a_plain_session(target):
    # No --load-* option at all (run_example's --load-host is left out): nothing is loaded.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "examples/marked_runs", "-p", "no:cacheprovider", "-rs"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("LOADHOOKS_")},
    )
    assert result.returncode == 0, output(result)
    assert "5 skipped" in result.stdout
    assert "load test: run it with --load-users=N" in result.stdout


# -- examples/shape ---------------------------------------------------------------------------------------------

def test_shape_ramps_up_and_down_and_ends_the_run(target):
    # The shape drives the run: --load-users and --load-run-time do not apply, and the session says so.
    result = run_example("shape", target, "--load-users=50", "--load-run-time=60s", "-s")
    assert result.returncode == 0, output(result)
    assert "the shape RampUpAndDown sets the users, spawn rate and end of the run" in result.stdout
    assert "2 passed" in result.stdout
    assert "user count after each ramp: [2, 4, 1]" in result.stdout
    assert "test_ramp.py::load_run: PASSED" in result.stdout


# -- examples/locust_style ---------------------------------------------------------------------------------------

def test_locust_style_locustfile_runs_against_the_given_host(target):
    # The class host points at Locust's default port: --load-host must override it.
    result = run_example("locust_style", target, "--load-users=4", "--load-run-time=2s", "-v")
    assert result.returncode == 0, output(result)
    assert "4 passed" in result.stdout
    assert re.search(r"COMPUTE\s+price\s+[1-9]", result.stdout)  # events.request.measure counted its work


# -- examples/events --------------------------------------------------------------------------------------------

def test_event_listeners_and_the_fail_ratio_guard(target):
    result = run_example("events", target, "--load-users=3", "--load-run-time=2s", "-s", "-v")
    assert result.returncode == 0, output(result)
    assert "4 passed" in result.stdout
    out = result.stdout
    # test_start / test_stop listeners ran once for each of the two runs.
    assert "Beginning test setup: 2 users" in out and "Beginning test setup: 3 users" in out
    assert len(re.findall(r"Cleaning up test data: \d+ requests, \d+ failed", out)) == 2
    # The background greenlet quit the failing run (and only that one).
    assert len(re.findall(r"fail ratio was 0\.\d+, quitting", out)) == 1
    assert re.search(r"test_fail_ratio_guard.py::load_run: PASSED - \d+ requests, \d+ failures", out)
    assert "test_request_listener.py::load_run: PASSED" in out


# -- docs kept in step with the code ----------------------------------------------------------------------------

def options_table() -> str:
    """The table of docs/options.md, generated from pytest_loadhooks.plugin.options.OPTIONS."""
    from pytest_loadhooks.plugin.options import parse_duration

    rows = ["| option | ini key | environment variable | default | `pytest --help` says |", "| --- | --- | --- | --- | --- |"]
    for option in OPTIONS:
        cli = f"`{option.cli}`" if option.flag else f"`{option.cli}={option.metavar}`"
        if option.repeatable:
            cli += " (repeatable)"
        ini = option.ini  # a repeatable option: one key holds every expression, a line each
        if option.flag:
            default = "off"
        elif option.default is None:
            default = "-"
        elif option.parse is parse_duration:
            default = f"{option.default:g}s"
        else:
            default = str(option.default)
        rows.append(f"| {cli} | `{ini}` | `{option.env_var}` | {default} | {option.help} |")
    return "\n".join(rows)


def test_options_doc_lists_every_option_as_the_code_defines_it():
    text = (DOCS / "options.md").read_text()
    assert options_table() in text, "docs/options.md is out of date; paste this table:\n" + options_table()


def test_events_doc_covers_every_event_and_argument():
    text = (DOCS / "events.md").read_text()
    for name, arguments in EVENT_ARGUMENTS.items():
        section = re.search(rf"^### `{name}`\n(.*?)(?=^### |\Z)", text, re.MULTILINE | re.DOTALL)
        assert section, f"docs/events.md has no section for {name}"
        for argument in arguments:
            assert f"`{argument}`" in section.group(1), f"docs/events.md: {name} does not mention {argument}"
    for old in ("request_success", "request_failure", "hatch_complete"):
        assert f"`{old}`" in text
