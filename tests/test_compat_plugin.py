"""Locust drop-in behaviour of the pytest layer: shapes and the common options, custom arguments
left in test modules, the run status, LoadResult's names, and options/metrics defined once."""

from __future__ import annotations

import json

from plugin_helpers import SHOP_MODULE, load_args

# A two-second shape that leaves a mark when it ends the run itself (tick() -> None), and
# records the common options it could read, as Locust's docs show for use_common_options.
SHAPE_MODULE = '''
import json, os
from pytest_loadhooks import LoadTestShape

HERE = os.path.dirname(__file__)

class TwoSeconds(LoadTestShape):
    use_common_options = {use_common_options}

    def tick(self):
        options = self.runner.environment.parsed_options
        with open(os.path.join(HERE, "options.json"), "w") as handle:
            json.dump({{"run_time": options.run_time, "users": options.users}}, handle)
        if self.get_run_time() < 2:
            return (2, 10)
        open(os.path.join(HERE, "shape-ended"), "w").close()
        return None
'''


def shape_project(pytester, use_common_options: bool = False):
    pytester.makepyfile(test_shop=SHOP_MODULE, test_shape=SHAPE_MODULE.format(use_common_options=use_common_options))
    return pytester


def shape_notices(result) -> list[str]:
    return [line for line in result.outlines if line.startswith("pytest-loadhooks:") and "the shape" in line]


def shop_args(target: str, *extra: str) -> list[str]:
    """Load options without --load-run-time (load_args always gives one)."""
    return ["--load-users=3", f"--load-host={target}", "-p", "no:cacheprovider", *extra]


def test_a_shape_runs_to_its_end_without_a_run_time(pytester, target):
    project = shape_project(pytester)
    result = project.runpytest_subprocess(*shop_args(target))
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    assert (project.path / "shape-ended").exists(), "the default run time cut the shape short"
    result.stdout.fnmatch_lines(["*test_shop.py::load_run: PASSED*"])
    # --load-users was given explicitly, so the session says it does not apply.
    result.stdout.fnmatch_lines(["pytest-loadhooks: test_shop.py::load_run: the shape TwoSeconds sets the users, "
                                 "spawn rate and end of the run, so --load-users=3 is ignored *use_common_options*"])


def test_a_given_run_time_does_not_cut_a_shape_short_and_says_so_once(pytester, target):
    project = shape_project(pytester)
    result = project.runpytest_subprocess(*load_args(target, run_time="1s"))
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    assert (project.path / "shape-ended").exists(), "--load-run-time=1s cut the shape short"
    assert shape_notices(result) == ["pytest-loadhooks: test_shop.py::load_run: the shape TwoSeconds sets the users, spawn rate "
                       "and end of the run, so --load-users=3, --load-run-time=1s are ignored "
                       "(set use_common_options = True on the shape to apply them)"]


def test_without_given_options_nothing_is_said(pytester, target):
    project = shape_project(pytester)
    result = project.runpytest_subprocess(f"--load-host={target}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert (project.path / "shape-ended").exists()
    assert not shape_notices(result)


def test_use_common_options_applies_the_run_time_and_lets_the_shape_read_them(pytester, target):
    project = shape_project(pytester, use_common_options=True)
    result = project.runpytest_subprocess(*load_args(target, run_time="1s"))
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    assert not (project.path / "shape-ended").exists(), "the run time did not end the run"
    assert json.loads((project.path / "options.json").read_text()) == {"run_time": 1.0, "users": 3}
    assert not shape_notices(result)


def test_a_marker_run_time_is_named_as_the_marker_gave_it(pytester, target):
    pytester.makepyfile(test_marked=SHAPE_MODULE.format(use_common_options=False) + '''
import pytest
from pytest_loadhooks import HttpUser, task, constant

pytestmark = pytest.mark.load(run_time="1s")

class Visitor(HttpUser):
    wait_time = constant(0.05)

    @task
    def page(self):
        self.client.get("/page")
''')
    result = pytester.runpytest_subprocess(f"--load-host={target}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert (pytester.path / "shape-ended").exists()
    result.stdout.fnmatch_lines(["*test_marked.py::load_run: the shape TwoSeconds * so load(run_time='1s') is ignored*"])


def test_a_shape_that_never_ends_is_bounded_by_pytest_timeout(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE, test_shape='''
from pytest_loadhooks import LoadTestShape

class Forever(LoadTestShape):
    def tick(self):
        return (2, 10)
''')
    result = pytester.runpytest_subprocess(*shop_args(target, "--timeout=2", "--timeout-method=signal"))
    result.assert_outcomes(failed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["FAILED test_shop.py::load_run - Failed: Timeout (>2.0s) from pytest-timeout."])


# -- init_command_line_parser in a test module --------------------------------------------------------------------

LATE_LISTENER_MODULE = SHOP_MODULE + '''
from pytest_loadhooks import events

@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--late-flag", env_var="LATE_FLAG", default="d")
'''


def test_a_test_module_listener_given_on_the_command_line_says_where_to_move_it(pytester, target):
    pytester.makepyfile(test_late=LATE_LISTENER_MODULE)
    for given in (["--late-flag=x"], ["--late-flag", "x"]):
        result = pytester.runpytest_subprocess(*load_args(target, *given))
        assert result.ret == 4
        errors = [line for line in result.errlines if line.startswith("ERROR:")]
        assert errors == [
            "ERROR: pytest-loadhooks: --late-flag is added by an init_command_line_parser listener in test_late.py, "
            "but pytest parses the command line before it imports test modules (and conftest.py files below the "
            "paths given): move that listener to the conftest.py at the top of your tests, or to a plugin (left "
            "where it is, its argument can be set only through its env_var or ini key)"]
        assert "unrecognized arguments" not in result.stderr.str()
        assert "load test results" not in result.stdout.str()  # stopped before any run


def test_the_hint_names_the_module_under_a_given_directory_and_moving_it_fixes_the_run(pytester, target):
    tests = pytester.mkpydir("load")
    (tests / "test_late.py").write_text(LATE_LISTENER_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target, "load", "--late-flag=x"))
    assert result.ret == 4
    result.stderr.fnmatch_lines(["ERROR: pytest-loadhooks: --late-flag is added * listener in load/test_late.py, *"])
    # Moved to conftest.py, the same listener makes --late-flag an option.
    (tests / "test_late.py").write_text(SHOP_MODULE)
    (tests / "conftest.py").write_text(LATE_LISTENER_MODULE.replace(SHOP_MODULE, ""))
    result = pytester.runpytest_subprocess(*load_args(target, "load", "--late-flag=x"))
    result.assert_outcomes(passed=1)
    assert result.ret == 0


def test_other_unknown_options_keep_pytests_own_error(pytester, target):
    pytester.makepyfile(test_late=LATE_LISTENER_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target, "--no-such-flag"))
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*unrecognized arguments: --no-such-flag*"])
    assert "init_command_line_parser" not in result.stderr.str()


# -- one run status, read by every output -----------------------------------------------------------------------------

STATUS_CHECK = '''
import json, pathlib

def test_status(load_result):
    document = json.loads(pathlib.Path("result.json").read_text())
    assert document["run"]["status"] == load_result.status == "{expected}"
    assert load_result.passed is ({expected!r} == "passed")
    assert load_result.errored is ({expected!r} == "errored")
'''


def test_the_report_and_load_result_agree_on_a_failed_run(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE, test_status=STATUS_CHECK.format(expected="failed"))
    result = pytester.runpytest_subprocess(*load_args(target, "--load-json=result.json", "--load-threshold=rps > 1e9"))
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*test_shop.py::load_run: FAILED - *"])


def test_the_report_and_load_result_agree_on_an_errored_run(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE + '''
from pytest_loadhooks import events

@events.request.add_listener
def broken(**kwargs):
    raise KeyError("user_id")
''', test_status=STATUS_CHECK.format(expected="errored"))
    result = pytester.runpytest_subprocess(*load_args(target, "--load-json=result.json"))
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*test_shop.py::load_run: ERRORED - *"])


def test_the_report_and_load_result_agree_on_a_passed_run(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE, test_status=STATUS_CHECK.format(expected="passed"))
    result = pytester.runpytest_subprocess(*load_args(target, "--load-json=result.json", "--load-threshold=rps > 0"))
    result.assert_outcomes(passed=2)
    assert result.ret == 0


# -- LoadResult's names ---------------------------------------------------------------------------------------------

def test_failures_are_request_failures_and_exceptions_are_user_exceptions(pytester, target):
    pytester.makepyfile(test_names='''
import warnings
import pytest
from pytest_loadhooks import HttpUser, task, constant

class Clumsy(HttpUser):
    wait_time = constant(0.05)

    @task
    def missing(self):
        self.client.get("/status/404", name="missing page")

    @task
    def crash(self):
        raise ValueError("boom in a task")

    @task
    def fine(self):  # some requests succeed: a run whose every request failed fails by itself
        self.client.get("/page")

def test_names(load_result):
    failure = load_result.failures[0]
    assert (failure.method, failure.name, failure["name"]) == ("GET", "missing page", "missing page")
    assert "404" in failure["error"] and failure.occurrences == load_result.num_failures
    exception = load_result.exceptions[0]
    assert "ValueError: boom in a task" in exception["traceback"] and exception["count"] >= 1
    with pytest.warns(DeprecationWarning, match="use LoadResult.exceptions"):
        old = load_result.errors
    assert old == load_result.exceptions
''')
    # The new names warn about nothing.
    result = pytester.runpytest_subprocess(*load_args(target, "-W", "error::DeprecationWarning:test_names"))
    result.assert_outcomes(passed=2)
    assert result.ret == 0


# -- options and metrics defined once -----------------------------------------------------------------------------

def test_every_threshold_metric_is_measured_and_the_usage_error_lists_them(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    thresholds = ["fail_ratio < 1%", "failures == 0", "requests > 0", "rps > 0", "avg < 5s", "min < 5s",
                  "max < 5s", "median < 5000", "p99.9 < 5s", "GET /page: p95 < 5s"]
    result = pytester.runpytest_subprocess(*load_args(target, *(f"--load-threshold={t}" for t in thresholds)))
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"  PASS threshold '{t}' passed: *" for t in thresholds])
    result = pytester.runpytest_subprocess(*load_args(target, "--load-threshold=p95ish < 3"))
    assert result.ret == 4
    result.stderr.fnmatch_lines(["ERROR: pytest-loadhooks: unknown threshold metric 'p95ish' in 'p95ish < 3': use "
                                 "fail_ratio, failures, requests, rps, avg, min, max, median, dropped_iterations, "
                                 "iterations, iteration_rate, avg_intended, median_intended, max_intended, "
                                 "pNN (e.g. p95, p99.9), pNN_intended"])


def test_the_load_marker_takes_every_run_setting_and_its_help_lists_them(pytester, target):
    result = pytester.runpytest_subprocess("--markers", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["@pytest.mark.load(users=, spawn_rate=, run_time=, host=, tags=, exclude_tags=, "
                                 "stop_timeout=, rate=, rate_stages=, max_users=, user_classes=, shape=): "
                                 "run this test or module as its own *"])
    pytester.makepyfile(test_marked=SHOP_MODULE + f'''
import pytest

pytestmark = pytest.mark.load(users=2, spawn_rate=20, run_time="1s", host="{target}", tags=[], exclude_tags=[],
                              stop_timeout="0s")

def test_marked(load_env, load_result):
    options = load_env.parsed_options
    assert (options.users, options.spawn_rate, options.run_time, options.host) == (2, 20.0, 1.0, "{target}")
    assert load_result.num_requests > 0
''')
    result = pytester.runpytest_subprocess("--load-users=1", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert result.ret == 0


def test_a_taskless_base_class_is_left_out_and_said_so(pytester, target):
    # Locust's x-forwarded-for example: the base sets a header, only the subclass has tasks.
    pytester.makepyfile(test_forwarded='''
        from pytest_loadhooks import HttpUser, task, constant

        class ForwardedForUser(HttpUser):
            wait_time = constant(0.05)

            def __init__(self, environment):
                super().__init__(environment)
                self.client.headers["X-Forwarded-For"] = "10.10.0.1"

        class WebsiteUser(ForwardedForUser):
            @task
            def index(self):
                self.client.get("/page")

        def test_only_the_subclass_ran(load_result):
            assert load_result.num_requests > 0
            assert [cls.__name__ for cls in load_result.environment.user_classes] == ["WebsiteUser"]
        ''')
    result = pytester.runpytest_subprocess(f"--load-host={target}", "--load-users=2", "--load-run-time=1s",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*ForwardedForUser has no tasks and is extended by other User classes of the run:*"])


def test_a_taskless_class_nothing_extends_is_still_refused(pytester, target):
    pytester.makepyfile(test_empty='''
        from pytest_loadhooks import HttpUser

        class Empty(HttpUser):
            pass
        ''')
    result = pytester.runpytest_subprocess(f"--load-host={target}", "--load-users=1", "--load-run-time=1s",
                                           "-p", "no:cacheprovider")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*Empty has no tasks*"])
