"""Bad input, tried the way a careful user would: every option, ini key, environment variable,
marker argument and User class attribute is checked with its type and range before any
traffic, and a bad one stops pytest with ONE line that names it and the value.

Each refusal also proves that nothing was sent: the conftest's ``request`` and ``test_start``
listeners write every event to a file, and it must hold neither.
"""

from __future__ import annotations

import pytest
from plugin_helpers import RECORDING_CONFTEST, SHOP_MODULE, load_args, read_events

BASIC_MODULE = '''
import pytest
from pytest_loadhooks import HttpUser, LoadTestShape, task, constant

class Basic(HttpUser):
    wait_time = constant(0.05)

    @task
    def page(self):
        self.client.get("/page")

class Other(HttpUser):
    wait_time = constant(0.05)

    @task
    def cart(self):
        self.client.get("/cart")
'''


def refused(pytester: pytest.Pytester, *args: str) -> str:
    """Run pytest, expect a usage error: return its one ERROR line, after checking no traffic was sent."""
    pytester.makeconftest(RECORDING_CONFTEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1, output
    assert "Traceback" not in output and "INTERNALERROR" not in output, output
    assert_no_traffic(pytester)
    return errors[0]


def assert_no_traffic(pytester: pytest.Pytester) -> None:
    sent = [event for event in read_events(pytester.path) if event["event"] in ("request", "test_start")]
    assert not sent, sent


def requested_names(pytester: pytest.Pytester) -> set[str]:
    return {event["name"] for event in read_events(pytester.path) if event["event"] == "request"}


# --------------------------------------------------------------------------- 1. numbers: finite, in range
@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--load-run-time", "inf", "must be finite"),
        ("--load-run-time", "nan", "not a number"),
        ("--load-run-time", "1e400", "must be finite"),
        ("--load-run-time", "-0", "must not be negative"),
        ("--load-run-time", "9000h", "at most 366 days"),
        ("--load-stop-timeout", "nan", "not a number"),
        ("--load-stop-timeout", "-inf", "must not be negative"),
        ("--load-spawn-rate", "nan", "finite number of users per second > 0"),
        ("--load-spawn-rate", "inf", "finite number of users per second > 0"),
        ("--load-spawn-rate", "-0", "> 0"),
        ("--load-users", "99999999999999999999999", "must be at most 10,000,000"),
        ("--load-users", "-0", "whole number >= 0"),
        ("--load-fail-ratio", "nan", "between 0 and 1"),
        ("--load-fail-ratio", "-0", "between 0 and 1"),
        ("--load-live-interval", "0", "must be more than 0"),
        ("--load-live-interval", "inf", "must be finite"),
    ],
)
def test_numeric_options_must_be_finite_and_in_range(pytester, target, option, value, says):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    line = refused(pytester, *load_args(target, f"{option}={value}"))
    assert line.startswith(f"ERROR: pytest-loadhooks: {option}: "), line
    assert f"'{value}'" in line and says in line, line


def test_threshold_limit_must_be_finite(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    line = refused(pytester, *load_args(target, "--load-threshold", "p95 < 1e400"))
    assert "'p95 < 1e400'" in line and "not a finite number" in line, line


def test_numeric_marker_arguments_are_checked_too(pytester, target):
    pytester.makepyfile(test_marked=SHOP_MODULE + '''
import pytest

@pytest.mark.load(run_time=float("inf"))
def test_forever(load_result):
    pass
''')
    line = refused(pytester, *load_args(target))
    assert "test_marked.py::test_forever" in line and "invalid duration 'inf'" in line, line


# --------------------------------------------------------------------------- 2. hosts
@pytest.mark.parametrize(
    ("host", "says"),
    [
        ("http://127.0.0.1:99999", "the port must be a number from 1 to 65535"),
        ("http://127.0.0.1:0", "the port must be a number from 1 to 65535"),
        ("http://127.0.0.1:-1", "the port must be a number from 1 to 65535"),
        ("http://my host:8080", "'my host' is not a valid host name"),
        ("http://exa<mple.com", "is not a valid host name"),
        ("ftp://127.0.0.1:21", "the scheme 'ftp' is not http or https"),
    ],
)
def test_bad_host_on_the_command_line(pytester, host, says):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    line = refused(pytester, f"--load-host={host}", "--load-run-time=1s")
    assert line.startswith("ERROR: pytest-loadhooks: --load-host: ") and repr(host) in line and says in line, line


def test_bad_host_in_the_ini_file(pytester):
    pytester.makeini("[pytest]\nload_host = http://127.0.0.1:99999\n")
    pytester.makepyfile(test_shop=SHOP_MODULE)
    line = refused(pytester, "--load-run-time=1s")
    assert "ini load_host" in line and "'http://127.0.0.1:99999'" in line and "port" in line, line


def test_bad_host_in_the_environment(pytester, monkeypatch):
    monkeypatch.setenv("LOADHOOKS_HOST", "http://bad host")
    pytester.makepyfile(test_shop=SHOP_MODULE)
    line = refused(pytester, "--load-run-time=1s")
    assert "LOADHOOKS_HOST" in line and "'bad host' is not a valid host name" in line, line


def test_bad_host_in_a_load_marker(pytester, target):
    pytester.makepyfile(test_marked=SHOP_MODULE + '''
import pytest

@pytest.mark.load(host="http://127.0.0.1:0")
def test_x(load_result):
    pass
''')
    line = refused(pytester, *load_args(target))
    assert "test_marked.py::test_x" in line and "'http://127.0.0.1:0'" in line and "port" in line, line


def test_bad_host_attribute_of_a_user_class(pytester):
    pytester.makepyfile(test_class_host='''
from pytest_loadhooks import HttpUser, task, constant

class Mistyped(HttpUser):
    host = "http://127.0.0.1:99999"
    wait_time = constant(0.05)

    @task
    def page(self):
        self.client.get("/page")
''')
    line = refused(pytester, "--load-run-time=1s")
    assert "Mistyped.host" in line and "'http://127.0.0.1:99999'" in line and "port" in line, line


def test_a_password_in_a_bad_host_is_not_echoed(pytester):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    line = refused(pytester, "--load-host=http://admin:hunter2@127.0.0.1:99999", "--load-run-time=1s")
    assert "hunter2" not in line and "admin:***@" in line, line


# --------------------------------------------------------------------------- 3. booleans
def test_an_unknown_boolean_in_the_environment_is_refused(pytester, target, monkeypatch):
    monkeypatch.setenv("LOADHOOKS_ONLY", "maybe")
    pytester.makepyfile(test_shop=SHOP_MODULE)
    line = refused(pytester, *load_args(target))
    assert line == ("ERROR: pytest-loadhooks: LOADHOOKS_ONLY: invalid boolean 'maybe': "
                    "use 1/0, true/false, yes/no or on/off"), line


def test_an_unknown_boolean_in_the_ini_file_is_refused(pytester, target):
    pytester.makeini("[pytest]\nload_only = sometimes\n")
    pytester.makepyfile(test_shop=SHOP_MODULE)
    line = refused(pytester, *load_args(target))
    assert "ini load_only" in line and "invalid boolean 'sometimes'" in line, line


@pytest.mark.parametrize(("spelling", "only"), [("Yes", True), ("off", False)])
def test_usual_boolean_spellings_are_understood(pytester, target, monkeypatch, spelling, only):
    monkeypatch.setenv("LOADHOOKS_ONLY", spelling)
    pytester.makepyfile(test_shop=SHOP_MODULE + "\ndef test_functional():\n    pass\n")
    result = pytester.runpytest_subprocess(*load_args(target, users=1))
    if only:
        result.assert_outcomes(passed=1, deselected=1)
    else:
        result.assert_outcomes(passed=2)


def test_native_toml_values_are_read_and_checked(pytester, target):
    """pytest 9's [tool.pytest] keeps TOML types: a number is a fine duration, a fractional user count is not."""
    pytester.makepyprojecttoml(f'[tool.pytest]\nload_users = 2.5\nload_host = "{target}"\n')
    pytester.makepyfile(test_shop=SHOP_MODULE)
    line = refused(pytester)
    assert line == "ERROR: pytest-loadhooks: ini load_users: invalid user count '2.5': must be a whole number >= 0"


def test_native_toml_numbers_booleans_and_lists_are_accepted(pytester, target):
    pytester.makepyprojecttoml(f'[tool.pytest]\nload_users = 1\nload_run_time = 1\nload_only = true\n'
                               f'load_host = "{target}"\nload_thresholds = ["requests > 0"]\n')
    pytester.makepyfile(test_shop=SHOP_MODULE + "\ndef test_functional():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["*threshold 'requests > 0' passed*"])


# --------------------------------------------------------------------------- 4. User classes
@pytest.mark.parametrize(
    ("attributes", "says"),
    [
        ("weight = -1", "Bad.weight = -1: must be a whole number >= 0"),
        ("weight = 0.5", "Bad.weight = 0.5: must be a whole number >= 0"),
        ("fixed_count = -2", "Bad.fixed_count = -2: must be a whole number >= 0"),
        ("wait_time = 1", "Bad.wait_time = 1 is not a function"),
        ("wait_time = between", "Bad.wait_time = between is the helper itself: call it"),
        ("wait_time = staticmethod(lambda: 1)", "Bad.wait_time must take the user as its one argument"),
        ("weight = 0", "no User class with weight > 0 or fixed_count > 0 (Bad)"),
    ],
)
def test_bad_user_class_attributes_are_refused_naming_the_class(pytester, target, attributes, says):
    pytester.makepyfile(test_bad_user=f'''
from pytest_loadhooks import HttpUser, task, between

class Bad(HttpUser):
    {attributes}

    @task
    def page(self):
        self.client.get("/page")
''')
    line = refused(pytester, *load_args(target))
    assert says in line, line


def test_a_weight_zero_class_beside_others_is_never_started(pytester, target):
    """Locust's rule: weight-0 classes are left out unless they have a fixed_count; only all-zero is an error."""
    pytester.makeconftest(RECORDING_CONFTEST)
    pytester.makepyfile(test_weights=BASIC_MODULE.replace("class Other(HttpUser):", "class Other(HttpUser):\n"
                                                          "    weight = 0"))
    result = pytester.runpytest_subprocess(*load_args(target, users=3))
    result.assert_outcomes(passed=1)
    assert requested_names(pytester) == {"/page"}


@pytest.mark.parametrize(
    ("wait_time", "says"),
    [
        ("between(2, 1)", "between() needs min_wait <= max_wait, got 2, 1"),
        ("constant(-1)", "constant() needs a finite wait >= 0 seconds, got -1"),
        ("constant(float('nan'))", "constant() needs a finite wait >= 0 seconds, got nan"),
        ("between(0, float('inf'))", "between() needs a finite max_wait >= 0 seconds, got inf"),
        ("constant_throughput(0)", "constant_throughput() needs a finite rate > 0"),
        ("constant_pacing('1')", "constant_pacing() needs a number of seconds for interval, got '1'"),
    ],
)
def test_wait_time_helpers_refuse_bad_arguments_at_import(pytester, target, wait_time, says):
    pytester.makeconftest(RECORDING_CONFTEST)
    pytester.makepyfile(test_waits=f'''
from pytest_loadhooks import HttpUser, task, between, constant, constant_pacing, constant_throughput

class Waiter(HttpUser):
    wait_time = {wait_time}

    @task
    def page(self):
        self.client.get("/page")
''')
    result = pytester.runpytest_subprocess(*load_args(target))
    # A collection error (the module cannot be imported), one line says why, and nothing else is blamed.
    assert result.ret == pytest.ExitCode.INTERRUPTED, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["*ERROR collecting test_waits.py*", f"E   ValueError: {says}*"])
    assert "no concrete User classes" not in result.stderr.str()
    assert_no_traffic(pytester)


# --------------------------------------------------------------------------- 5. markers
@pytest.mark.parametrize("given", ["Basic", "[Basic]", "'Basic'", "['Basic']", "(Basic,)"])
def test_marker_user_classes_take_a_class_a_list_or_names(pytester, target, given):
    pytester.makeconftest(RECORDING_CONFTEST)
    pytester.makepyfile(test_marked=BASIC_MODULE + f'''
@pytest.mark.load(user_classes={given})
def test_only_basic(load_result):
    assert load_result.num_requests > 0
''')
    result = pytester.runpytest_subprocess(*load_args(target, "-k", "test_only_basic", users=2))
    result.assert_outcomes(passed=1, deselected=1)
    assert requested_names(pytester) == {"/page"}


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("['Nobody']", "no User class named 'Nobody' in the test module (it has: Basic, Other)"),
        ("42", "42 is not a User class"),
        ("[Basic, 'x'.upper]", "is not a User class"),
        ("[]", "load(user_classes=[]) selects no users"),
        ("[HttpUser]", "HttpUser is abstract"),
    ],
)
def test_bad_marker_user_classes_are_refused(pytester, target, given, says):
    pytester.makepyfile(test_marked=BASIC_MODULE + f'''
from pytest_loadhooks import HttpUser

@pytest.mark.load(user_classes={given})
def test_x(load_result):
    pass
''')
    line = refused(pytester, *load_args(target))
    assert "test_marked.py::test_x" in line and says in line, line


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ('"ramp"', "load(shape='ramp'): not a LoadTestShape"),
        ("Basic", "load(shape=<class 'test_marked.Basic'>): not a LoadTestShape"),
        ("3", "load(shape=3): not a LoadTestShape"),
    ],
)
def test_bad_marker_shape_is_refused(pytester, target, given, says):
    pytester.makepyfile(test_marked=BASIC_MODULE + f'''
@pytest.mark.load(shape={given})
def test_x(load_result):
    pass
''')
    line = refused(pytester, *load_args(target))
    assert "test_marked.py::test_x" in line and says in line, line


def test_a_module_marker_with_bad_user_classes_is_refused(pytester, target):
    pytester.makepyfile(test_marked=BASIC_MODULE + "\npytestmark = pytest.mark.load(user_classes=['Basc'])\n")
    line = refused(pytester, *load_args(target))
    assert "test_marked.py" in line and "no User class named 'Basc'" in line, line


@pytest.mark.parametrize(
    ("marker", "says"),
    [
        ("pytest.mark.thresholds(42)", "a threshold must be a string like 'p95 < 300' (or a list of them), got 42"),
        ("pytest.mark.thresholds(['p95 < 1', 7])", "got ['p95 < 1', 7]"),
        ("pytest.mark.thresholds(expr='p95 < 1')", "takes expressions as positional arguments, not keywords (expr=)"),
    ],
)
def test_bad_thresholds_markers_are_refused(pytester, target, marker, says):
    pytester.makepyfile(test_marked=BASIC_MODULE + f"\npytestmark = {marker}\n")
    line = refused(pytester, *load_args(target))
    assert "test_marked.py" in line and says in line, line


def test_bad_thresholds_on_a_test_with_its_own_run_are_refused(pytester, target):
    pytester.makepyfile(test_marked=BASIC_MODULE + '''
@pytest.mark.load(users=1)
@pytest.mark.thresholds(expr="p95 < 1")
def test_x(load_result):
    pass
''')
    line = refused(pytester, *load_args(target))
    assert "test_marked.py::test_x" in line and "not keywords (expr=)" in line, line


def test_a_list_of_thresholds_is_accepted(pytester, target):
    pytester.makepyfile(test_marked=BASIC_MODULE + "\npytestmark = pytest.mark.thresholds(['requests > 0', "
                                                   "'p95 < 60s'])\n")
    result = pytester.runpytest_subprocess(*load_args(target, "-v", users=2))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*threshold 'requests > 0' passed*", "*threshold 'p95 < 60s' passed*"])


def test_thresholds_on_a_test_reading_the_shared_run_are_parsed_before_the_run(pytester, target):
    pytester.makepyfile(test_reads=BASIC_MODULE + '''
@pytest.mark.thresholds("p95 <<< 3")
def test_reads(load_result):
    pass
''')
    line = refused(pytester, *load_args(target))
    assert "test_reads.py::test_reads" in line and "invalid threshold 'p95 <<< 3'" in line, line


def test_a_list_of_thresholds_on_a_test_reading_the_shared_run_is_judged(pytester, target):
    pytester.makepyfile(test_reads=BASIC_MODULE + '''
@pytest.mark.thresholds(["requests > 0", "requests > 1000000"])
def test_reads(load_result):
    pass
''')
    result = pytester.runpytest_subprocess(*load_args(target, users=2))
    result.assert_outcomes(failed=2)  # the test, and the shared run its thresholds judged
    result.stdout.fnmatch_lines(["*threshold 'requests > 1000000' failed: requests of all requests = *"])


def test_thresholds_on_a_test_that_reads_no_run_are_refused(pytester, target):
    pytester.makepyfile(test_reads=BASIC_MODULE + '''
@pytest.mark.thresholds("p95 < 300")
def test_functional():
    pass
''')
    line = refused(pytester, *load_args(target))
    assert "test_reads.py::test_functional" in line and "reads no load run" in line, line


# --------------------------------------------------------------------------- 6. output paths
@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--load-html", "somefile.txt/report.html", "somefile.txt is a file, not a directory"),
        ("--load-html", "existing_dir", "'existing_dir': it is a directory"),
        ("--load-json", "somefile.txt/deeper/result.json", "somefile.txt is a file, not a directory"),
        ("--load-json", "existing_dir/", "it is a directory"),
        ("--load-csv", "somefile.txt/sub/run", "somefile.txt is a file, not a directory"),
        ("--load-csv", "existing_dir", "invalid file prefix 'existing_dir'"),
    ],
)
def test_unwritable_output_paths_are_refused_before_traffic(pytester, target, option, value, says):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    pytester.path.joinpath("somefile.txt").write_text("not a directory\n")
    pytester.path.joinpath("existing_dir").mkdir()
    line = refused(pytester, *load_args(target, f"{option}={value}"))
    assert line.startswith(f"ERROR: pytest-loadhooks: {option}: ") and says in line, line


def test_output_path_from_the_environment_is_checked_too(pytester, target, monkeypatch):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    pytester.path.joinpath("somefile.txt").write_text("x")
    monkeypatch.setenv("LOADHOOKS_HTML", "somefile.txt/report.html")
    line = refused(pytester, *load_args(target))
    assert "LOADHOOKS_HTML" in line and "somefile.txt is a file" in line, line


def test_output_directories_that_do_not_exist_yet_are_fine(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target, "--load-json=out/deeper/result.json",
                                                      "--load-csv=out/csv/run", users=1))
    result.assert_outcomes(passed=1)
    assert (pytester.path / "out/deeper/result.json").is_file()
    assert (pytester.path / "out/csv/run_stats.csv").is_file()


# --------------------------------------------------------------------------- 7. secrets
SECRET_CONFTEST = RECORDING_CONFTEST + '''

@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--api-token", is_secret=True, choices=["token-a", "token-b"], env_var="API_TOKEN")
    parser.add_argument("--pin", is_secret=True, type=int, default="0")
    parser.add_argument("--debug-calls", is_secret=True, action="store_true", env_var="DEBUG_CALLS")
'''


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["--api-token=hunter2"], {}, "--api-token: invalid choice '***' (secret, not shown) for --api-token"),
        ([], {"API_TOKEN": "hunter2"}, "API_TOKEN: invalid choice '***' (secret, not shown) for --api-token"),
        (["--pin=hunter2"], {}, "--pin: invalid value '***' (secret, not shown) for --pin"),
        ([], {"DEBUG_CALLS": "hunter2"}, "DEBUG_CALLS: invalid boolean '***' (secret, not shown) for --debug-calls"),
    ],
)
def test_a_secret_value_is_never_echoed_in_its_validation_error(pytester, target, monkeypatch, args, env, says):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    pytester.makeconftest(SECRET_CONFTEST)
    result = pytester.runpytest_subprocess(*load_args(target, *args))
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    assert "hunter2" not in output
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1 and errors[0].startswith(f"ERROR: pytest-loadhooks: {says}"), errors
    assert_no_traffic(pytester)


def test_a_bad_secret_default_is_not_echoed_either(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    pytester.makeconftest('''
from pytest_loadhooks import events

@events.init_command_line_parser.add_listener
def add_pin(parser):
    parser.add_argument("--pin", is_secret=True, type=int, default="hunter2")
''')
    result = pytester.runpytest_subprocess(*load_args(target))
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR and "hunter2" not in output, output
    result.stderr.fnmatch_lines(["ERROR: pytest-loadhooks: init_command_line_parser listener add_pin raised "
                                 "ValueError: the default of --pin: invalid value '***' (secret, not shown) for --pin"])
