"""Bad input is rejected at start-up with one clear line, before any traffic is sent."""

from __future__ import annotations

import pytest
from plugin_helpers import RECORDING_CONFTEST, SHOP_MODULE, read_events

from pytest_loadhooks.plugin import thresholds


def _usage_error(pytester, *args) -> str:
    pytester.makeconftest(RECORDING_CONFTEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1, result.stderr.str()
    assert not [e for e in read_events(pytester.path) if e["event"] in ("request", "test_start")]
    return errors[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--load-users=-1"], "ERROR: pytest-loadhooks: --load-users: invalid user count '-1': must be a whole number >= 0"),
        (["--load-users=lots"], "ERROR: pytest-loadhooks: --load-users: invalid user count 'lots'*"),
        (["--load-run-time=abc"], "ERROR: pytest-loadhooks: --load-run-time: invalid duration 'abc': use e.g. 30s, 5m*"),
        (["--load-spawn-rate=0"], "ERROR: pytest-loadhooks: --load-spawn-rate: invalid spawn rate '0'*"),
        (["--load-host=localhost:8080"], "ERROR: pytest-loadhooks: --load-host: host 'localhost:8080' is not a URL*"),
        (["--load-fail-ratio=2"], "ERROR: pytest-loadhooks: --load-fail-ratio: invalid fail ratio '2'*"),
        (["--load-threshold", "p95 <"], "ERROR: pytest-loadhooks: invalid threshold 'p95 <': expected*"),
        (["--load-threshold", "latency < 3"], "ERROR: pytest-loadhooks: unknown threshold metric 'latency'*use fail_ratio*"),
    ],
)
def test_bad_options_are_one_line_usage_errors(pytester, target, args, expected):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    line = _usage_error(pytester, f"--load-host={target}", "--load-run-time=1s", *args)
    from fnmatch import fnmatch

    assert fnmatch(line, expected), line


def test_bad_environment_variable_names_its_source(pytester, target, monkeypatch):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    monkeypatch.setenv("LOADHOOKS_RUN_TIME", "soon")
    line = _usage_error(pytester, f"--load-host={target}")
    assert line.startswith("ERROR: pytest-loadhooks: LOADHOOKS_RUN_TIME: invalid duration 'soon'")


def test_all_abstract_users_are_rejected(pytester, target):
    pytester.makepyfile(
        test_abstract='''
        from pytest_loadhooks import HttpUser, task

        class Base(HttpUser):
            abstract = True

            @task
            def home(self):
                self.client.get("/")
        '''
    )
    line = _usage_error(pytester, f"--load-host={target}", "--load-run-time=1s")
    assert "no concrete User classes collected" in line and "test_abstract.py::Base" in line


def test_no_users_with_load_options_on_the_command_line_is_rejected(pytester, target):
    pytester.makepyfile(test_plain="def test_x():\n    pass\n")
    line = _usage_error(pytester, f"--load-host={target}", "--load-users=2")
    assert "no concrete User classes collected: define a User subclass" in line


def test_functional_tests_alone_run_in_a_project_with_load_ini_keys(pytester):
    pytester.makeini("[pytest]\nload_run_time = 30s\nload_thresholds =\n    p95 < 300\n")
    pytester.makepyfile(test_plain="def test_x():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_no_host_anywhere_is_rejected(pytester):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    line = _usage_error(pytester, "--load-users=1", "--load-run-time=1s")
    assert "Shopper has no host" in line and "--load-host" in line


def test_user_without_tasks_is_rejected(pytester, target):
    pytester.makepyfile(
        test_idle='''
        from pytest_loadhooks import HttpUser

        class Idle(HttpUser):
            pass
        '''
    )
    line = _usage_error(pytester, f"--load-host={target}", "--load-run-time=1s")
    assert "Idle has no tasks" in line


def test_bad_marker_arguments_are_rejected(pytester, target):
    pytester.makepyfile(
        test_marked=SHOP_MODULE + '''
import pytest

@pytest.mark.load(users=-3)
def test_x(load_result):
    pass
'''
    )
    line = _usage_error(pytester, f"--load-host={target}", "--load-run-time=1s")
    assert "test_marked.py::test_x" in line and "invalid user count '-3'" in line


def test_bad_threshold_marker_is_rejected(pytester, target):
    pytester.makepyfile(
        test_marked='import pytest\npytestmark = pytest.mark.thresholds("p95 << 3")\n' + SHOP_MODULE
    )
    line = _usage_error(pytester, f"--load-host={target}", "--load-run-time=1s")
    assert "invalid threshold 'p95 << 3'" in line


def test_listener_that_raises_errors_the_run_but_loses_nothing(pytester, target):
    pytester.makepyfile(
        test_raises=SHOP_MODULE + '''
from pytest_loadhooks import events

@events.request.add_listener
def broken(**kw):
    raise RuntimeError("listener bug")
'''
    )
    result = pytester.runpytest_subprocess("--load-users=2", "--load-run-time=1s", f"--load-host={target}",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*listener broken of event 'request' raised RuntimeError: listener bug (* times)*",
        "*test_raises.py::load_run: ERRORED - * requests*",
    ])
    # The traceback is logged (pytest shows it in the failed item's captured log).
    assert "Uncaught exception in listener broken of event 'request'" in result.stdout.str()


def test_refused_connections_and_hanging_target_are_recorded_failures(pytester, target, refused_url):
    pytester.makepyfile(
        test_bad_target=f'''
        from pytest_loadhooks import HttpUser, task, constant

        class Refused(HttpUser):
            host = "{refused_url}"
            wait_time = constant(0.1)

            @task
            def home(self):
                self.client.get("/")

        class Hanging(HttpUser):
            host = "{target}"
            timeout = 0.3
            wait_time = constant(0.1)

            @task
            def hang(self):
                self.client.get("/hang?s=5")

        def test_failures(load_result):
            names = {{(r["name"], r["error"].split("(")[0]) for r in load_result.failures}}
            assert ("/", "ConnectionRefusedError") in names  # the root of requests' error chain, as Locust records it
            assert ("/hang?s=5", "ReadTimeout") in names
            assert load_result.fail_ratio == 1.0
        '''
    )
    result = pytester.runpytest_subprocess("--load-users=2", "--load-run-time=1.5s", "-p", "no:cacheprovider",
                                           "--load-fail-ratio=0.5")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*fail_ratio of all requests = 1 (100.00%), limit <= 0.5*"])


@pytest.mark.parametrize(
    ("expression", "metric", "op", "limit", "method", "name"),
    [
        ("p95 < 300", "p95", "<", 300, None, None),
        ("GET /cart: p99 < 500", "p99", "<", 500, "GET", "/cart"),
        ("/search?q=x: median <= 0.5s", "median", "<=", 500, None, "/search?q=x"),
        ("rps > 50", "rps", ">", 50, None, None),
        ("fail_ratio < 1%", "fail_ratio", "<", 0.01, None, None),
        ("failures == 0", "failures", "==", 0, None, None),
        ("POST /login: p99.9 < 2000ms", "p99.9", "<", 2000, "POST", "/login"),
    ],
)
def test_threshold_grammar(expression, metric, op, limit, method, name):
    parsed = thresholds.parse(expression)
    assert (parsed.metric, parsed.op, parsed.limit, parsed.method, parsed.name) == (metric, op, limit, method, name)


@pytest.mark.parametrize("expression", ["", "p95", "p95 < ", "< 3", "p95 < fast", "rps < 5ms", "avg < 3%", "p101 < 3"])
def test_threshold_grammar_rejects(expression):
    with pytest.raises(thresholds.ThresholdError):
        thresholds.parse(expression)


def test_raising_init_command_line_parser_listener_is_a_usage_error(pytester, target):
    pytester.makeconftest(
        '''
from pytest_loadhooks import events

@events.init_command_line_parser.add_listener
def broken(parser):
    raise KeyError("oops")
'''
    )
    pytester.makepyfile(test_shop=SHOP_MODULE)
    result = pytester.runpytest_subprocess(f"--load-host={target}", "--load-run-time=1s", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: pytest-loadhooks: init_command_line_parser listener broken raised KeyError*"])


def test_raising_quit_listener_fails_the_session_visibly(pytester, target):
    pytester.makepyfile(
        test_shop=SHOP_MODULE + '''
from pytest_loadhooks import events

@events.quit.add_listener
def broken_quit(exit_code, **kw):
    raise RuntimeError("cleanup failed")
'''
    )
    result = pytester.runpytest_subprocess(f"--load-host={target}", "--load-run-time=1s", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*ERROR listener broken_quit of event 'quit' raised RuntimeError: cleanup failed*"])
