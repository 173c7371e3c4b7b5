"""The plugin inside real pytest sessions: plain sessions, load runs, fixtures, markers, lifecycle."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

from plugin_helpers import FAILING_MODULE, RECORDING_CONFTEST, SHOP_MODULE, lifecycle, load_args, read_events


def test_plain_session_is_unaffected(pytester):
    pytester.makepyfile(
        test_plain='''
        import sys

        def test_not_patched():
            from gevent import monkey
            assert not monkey.is_module_patched("socket")
            assert "requests" not in sys.modules
            assert "pytest_loadhooks.env" not in sys.modules
            assert "pytest_loadhooks.stats" not in sys.modules

        def test_fails():
            assert 1 == 2
        '''
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.no_fnmatch_line("*load test results*")


def test_plain_session_imports_neither_gevent_nor_the_events_module(pytester):
    # Listeners' arguments are looked for in every session; with no listener module imported there are
    # none, and importing the events module to find that out would import gevent for every plain session.
    pytester.makepyfile(
        test_plain='''
        import sys

        def test_nothing_heavy_imported():
            assert "gevent" not in sys.modules
            assert "pytest_loadhooks.event" not in sys.modules
        '''
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_plugin_module_imports_nothing_heavy():
    code = (
        "import sys, pytest_loadhooks.plugin\n"
        "heavy = [m for m in ('gevent', 'requests', 'ssl', 'zmq', 'geventhttpclient', 'flask', 'psutil',"
        " 'pytest_loadhooks.env', 'pytest_loadhooks.runners') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_load_items_are_skipped_with_a_hint_in_plain_sessions(pytester):
    pytester.makepyfile(test_shop=SHOP_MODULE + "\ndef test_uses_result(load_result):\n    assert load_result\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*load test: run it with --load-users=N*"])


def test_passing_run_reports_table_and_verdicts(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target, "-v", "--load-threshold", "p95 < 5000"))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        "test_shop.py::load_run PASSED*",
        "*load test results*",
        "*test_shop.py::load_run: PASSED*requests*",
        "*GET*/page*",
        "*GET*/cart*",
        "*Aggregated*",
        "*PASS threshold 'p95 < 5000' passed: p95 of all requests = *",
    ])


def test_failing_fail_ratio_fails_the_run_item(pytester, target):
    pytester.makepyfile(test_unlucky=FAILING_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target, "--load-fail-ratio=0.01"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*threshold 'fail_ratio <= 0.01' failed: fail_ratio of all requests = * (*%), limit <= 0.01 (1.00%)*",
    ])
    assert result.ret == 1


def test_gevent_is_patched_once_and_https_works_after(pytester, tls_target):
    url, ca_file = tls_target
    pytester.makeconftest("import requests  # a realistic conftest imports requests early\n")
    pytester.makepyfile(
        test_tls=f'''
        from gevent import monkey
        from pytest_loadhooks import HttpUser, task, constant

        class TlsUser(HttpUser):
            host = "{url}"
            wait_time = constant(0.05)

            def on_start(self):
                self.client.verify = {ca_file!r}

            @task
            def home(self):
                self.client.get("/page")

        def test_patched_and_https(load_result):
            assert monkey.is_module_patched("socket") and monkey.is_module_patched("ssl")
            assert load_result.num_requests > 0
            assert load_result.num_failures == 0, load_result.failures
        '''
    )
    result = pytester.runpytest_subprocess("--load-users=2", "--load-run-time=1s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_lifecycle_events_fire_once_each_in_order(pytester, target):
    pytester.makeconftest(RECORDING_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target, users=2))
    result.assert_outcomes(passed=1)
    assert lifecycle(pytester.path) == [
        "init", "test_start", "spawning_complete", "test_stopping", "test_stop", "quitting", "quit",
    ]
    events = read_events(pytester.path)
    assert events[0]["runner"] == "LocalRunner"
    assert [e for e in events if e["event"] == "spawning_complete"][0]["user_count"] == 2
    assert [e for e in events if e["event"] == "quit"][0]["exit_code"] == 0
    stop = [e for e in events if e["event"] == "test_stop"][0]
    assert stop["requests"] == len([e for e in events if e["event"] == "request"]) > 0


def test_fixture_listeners_are_registered_before_the_run_and_removed_after(pytester, target):
    pytester.makepyfile(
        test_listen=SHOP_MODULE + '''
import pytest
from pytest_loadhooks import events

@pytest.fixture
def seen(load_events):
    names = []
    load_events.request.add_listener(lambda name, **kw: names.append(name))
    return names

def test_result_first(load_result, seen):
    # load_result is asked for first, yet the listener saw every request of the run.
    assert load_result.num_requests > 0
    assert len(seen) == load_result.num_requests

def test_listener_was_removed():
    assert not any(getattr(l, "__name__", "") == "<lambda>" for l in events.request.listeners)
'''
    )
    result = pytester.runpytest_subprocess(*load_args(target), "-v")
    result.assert_outcomes(passed=3)
    # The first test reading the result triggers the run; the run item follows it.
    result.stdout.fnmatch_lines(["*test_result_first PASSED*", "*load_run PASSED*", "*test_listener_was_removed*"])


def test_marker_isolated_runs_have_their_own_settings(pytester, target):
    pytester.makepyfile(
        test_marked=SHOP_MODULE + f'''
import pytest

@pytest.mark.load(users=2, spawn_rate=10, run_time="1s", host="{target}")
def test_small(load_result):
    assert load_result.environment.parsed_options.num_users == 2
    assert load_result.environment.runner.target_user_count == 2
    assert load_result.num_requests > 0

@pytest.mark.load(users=4, spawn_rate=20, run_time="1s", host="{target}", user_classes=[Shopper])
@pytest.mark.thresholds("requests > 0")
def test_bigger(load_result):
    assert load_result.environment.parsed_options.num_users == 4
    assert load_result.run_id.endswith("test_bigger")

@pytest.mark.load(users=1, run_time="1s", host="{target}")
@pytest.mark.thresholds("GET /page: p95 < 0.001")
def test_marked_threshold_fails(load_result):
    pass
'''
    )
    result = pytester.runpytest_subprocess(
        "--load-users=1", "--load-run-time=1s", f"--load-host={target}", "-p", "no:cacheprovider", "-v"
    )
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines([
        "*test_marked_threshold_fails FAILED*",
        "*threshold 'GET /page: p95 < 0.001' failed: p95 of GET /page = * ms, limit < 0.001 ms*",
    ])


def test_marked_module_gets_its_own_run_item(pytester, target):
    pytester.makepyfile(
        test_mod_a=SHOP_MODULE.replace("Shopper", "ShopperA"),
        test_mod_b=f'import pytest\npytestmark = pytest.mark.load(users=2, run_time="1s", host="{target}")\n'
        + SHOP_MODULE.replace("Shopper", "ShopperB")
        + "\ndef test_users(load_result):\n"
        "    assert [c.__name__ for c in load_result.environment.user_classes] == ['ShopperB']\n",
    )
    result = pytester.runpytest_subprocess(*load_args(target), "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_mod_a.py::load_run PASSED*"])
    result.stdout.fnmatch_lines(["*test_mod_b.py::load_run PASSED*"])


# A task that starts its own request loop (once per user) and keeps it in a module-level list.
LEAKING_MODULE = '''
import gevent, pytest
from pytest_loadhooks import HttpUser, task, constant

pytestmark = pytest.mark.load(users=2, spawn_rate=20, run_time="1s", host="{target}")
LOOPS = []
SENT = []

class Leaker(HttpUser):
    wait_time = constant(0.05)

    def _loop(self):
        while True:
            self.client.get("/page", name="bg-leak")
            SENT.append(1)
            gevent.sleep(0.02)

    @task
    def start_loop(self):
        if not getattr(self, "started", False):
            self.started = True
            LOOPS.append(gevent.spawn(self._loop))
        self.client.get("/page", name="leaker")

def test_the_loops_die_with_their_run(load_result):
    assert load_result.entry("bg-leak").num_requests > 0  # counted while the run ran
    assert LOOPS and all(loop.dead for loop in LOOPS), "a greenlet a task started outlived its run"
    sent = len(SENT)
    gevent.sleep(0.3)
    assert len(SENT) == sent, "the background loop kept sending after its run ended"
'''

NEXT_RUN_MODULE = '''
import pytest
from pytest_loadhooks import HttpUser, task, constant

pytestmark = pytest.mark.load(users=1, spawn_rate=10, run_time="1s", host="{target}")

class Quiet(HttpUser):
    wait_time = constant(0.05)

    @task
    def page(self):
        self.client.get("/page", name="quiet")

def test_only_its_own_requests_count(load_result):
    names = sorted({{name for _method, name in load_result.entries}})
    assert names == ["quiet"], names
'''


def test_greenlets_a_task_starts_die_with_its_run_and_never_count_in_the_next(pytester, target):
    pytester.makepyfile(test_a_leaker=LEAKING_MODULE.replace("{target}", target),
                        test_b_next=NEXT_RUN_MODULE.format(target=target))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v", f"--load-host={target}")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*test_a_leaker.py::load_run PASSED*"])
    result.stdout.fnmatch_lines(["*test_b_next.py::load_run PASSED*"])


# A loop that swallows the kill at its run's end (and gives up after a few seconds, so the session ends).
STUBBORN_MODULE = '''
import time, gevent, pytest
from pytest_loadhooks import HttpUser, task, constant

pytestmark = pytest.mark.load(users=1, spawn_rate=10, run_time="1s", host="{target}")

class Stubborn(HttpUser):
    wait_time = constant(0.05)

    def _loop(self):
        until = time.monotonic() + 6
        while time.monotonic() < until:
            try:
                self.client.get("/page", name="stubborn")
                gevent.sleep(0.02)
            except gevent.GreenletExit:
                pass

    @task
    def start_loop(self):
        if not getattr(self, "started", False):
            self.started = True
            gevent.spawn(self._loop)
        self.client.get("/page", name="own")

def test_first(load_result):
    assert any("1 greenlet started by users did not end" in line for line in load_result.warnings)
'''


def test_a_greenlet_that_swallows_its_kill_is_named_and_its_late_requests_counted_nowhere(pytester, target):
    pytester.makepyfile(test_a_stubborn=STUBBORN_MODULE.replace("{target}", target),
                        test_b_next=NEXT_RUN_MODULE.format(target=target))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v", f"--load-host={target}")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([
        "test_a_stubborn.py::load_run: PASSED*",
        "  WARNING 1 greenlet started by users did not end when killed at the run's end*",
    ])
    first = result.stdout.lines.index(next(line for line in result.stdout.lines
                                           if line.startswith("test_a_stubborn.py::load_run: PASSED")))
    assert "earlier run" not in result.stdout.lines[first + 2]  # its own late requests are not an earlier run's
    result.stdout.fnmatch_lines([
        "test_b_next.py::load_run: PASSED*",
        "  WARNING * requests were sent by greenlets that users of an earlier run started, after it ended: not counted",
    ])


def test_k_deselects_the_run_item_and_strict_markers_accept_ours(pytester, target):
    pytester.makepyfile(
        test_shop=SHOP_MODULE + '''
import pytest

pytestmark = pytest.mark.thresholds("p95 < 10000")  # judges the module's run, which -k deselects

def test_plain():
    pass
'''
    )
    result = pytester.runpytest_subprocess(*load_args(target), "--strict-markers", "-k", "not load_run", "-v")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.no_fnmatch_line("*load test results*")


def test_load_only_runs_only_load_items(pytester, target):
    pytester.makepyfile(
        test_mix=SHOP_MODULE + "\ndef test_functional():\n    pass\n\ndef test_reads(load_result):\n    pass\n"
    )
    result = pytester.runpytest_subprocess(*load_args(target), "--load-only", "-v")
    result.assert_outcomes(passed=2, deselected=1)


def test_junit_xml_records_the_run_and_its_threshold_message(pytester, target):
    pytester.makepyfile(test_unlucky=FAILING_MODULE)
    report = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess(
        *load_args(target, f"--junitxml={report}", "--load-threshold", "fail_ratio < 5%")
    )
    result.assert_outcomes(failed=1)
    case = ET.parse(report).getroot().find(".//testcase[@name='load_run']")
    assert case is not None and case.get("classname") == "test_unlucky"
    failure = case.find("failure")
    assert "threshold 'fail_ratio < 5%' failed" in failure.get("message")
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert int(properties["requests"]) > 0 and int(properties["failures"]) > 0
    assert properties["threshold fail_ratio < 5%"] == "failed"


def test_options_precedence_cli_over_env_over_ini(pytester, target, monkeypatch):
    pytester.makeini(f"[pytest]\nload_users = 2\nload_host = {target}\nload_run_time = 1s\n")
    pytester.makepyfile(
        test_opts=SHOP_MODULE + "\ndef test_users(load_env):\n    print('USERS', load_env.parsed_options.num_users)\n"
    )
    # ini keys configure a run; an option that does not set the users (--load-only) starts it
    ini_only = pytester.runpytest_subprocess("-s", "-k", "test_users", "--load-only", "-p", "no:cacheprovider")
    ini_only.stdout.fnmatch_lines(["*USERS 2*"])
    monkeypatch.setenv("LOADHOOKS_USERS", "3")
    from_env = pytester.runpytest_subprocess("-s", "-k", "test_users", "-p", "no:cacheprovider")
    from_env.stdout.fnmatch_lines(["*USERS 3*"])
    from_cli = pytester.runpytest_subprocess("-s", "-k", "test_users", "--load-users=4", "-p", "no:cacheprovider")
    from_cli.stdout.fnmatch_lines(["*USERS 4*"])


# --------------------------------------------------------------------------- ini keys configure, the invocation runs
MIXED_MODULE = SHOP_MODULE + '''

def test_functional():
    from gevent import monkey
    assert not monkey.is_module_patched("socket")  # a plain session: nothing patched

def test_reads(load_result):
    assert load_result.num_requests > 0
'''


def test_an_ini_that_only_judges_runs_leaves_plain_pytest_plain(pytester):
    """The quickstart's layout: thresholds in pytest.ini, no host anywhere; `pytest` runs the functional tests."""
    pytester.makeini("[pytest]\nload_thresholds =\n    fail_ratio < 1%\n    p95 < 500\nload_html = report.html\n")
    pytester.makepyfile(test_mix=MIXED_MODULE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs")
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["*load test: run it with --load-users=N*"])
    result.stdout.no_fnmatch_line("*has no host*")
    assert not (pytester.path / "report.html").exists()


def test_an_ini_with_run_settings_configures_runs_that_an_option_starts(pytester, target):
    """users, host and run time in pytest.ini: plain `pytest` still skips the load; any --load-* option runs it
    with the ini's settings and thresholds."""
    pytester.makeini(f"[pytest]\nload_users = 2\nload_host = {target}\nload_run_time = 1s\n"
                     "load_thresholds =\n    requests > 0\n")
    pytester.makepyfile(test_mix=MIXED_MODULE.replace("assert load_result.num_requests > 0",
                                                      "print('USERS', load_result.environment.parsed_options.num_users)"))
    plain = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs")
    plain.assert_outcomes(passed=1, skipped=2)
    plain.stdout.fnmatch_lines(["*load test: run it with --load-users=N*"])

    load = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--load-only", "-s", "-v")
    load.assert_outcomes(passed=2, deselected=1)
    load.stdout.fnmatch_lines(["*USERS 2*", "*PASS threshold 'requests > 0' passed*"])


def test_addopts_or_load_only_in_the_ini_make_every_session_a_load_session(pytester, target):
    """Decided before conftests are imported: gevent is patched in time (the conftest imports requests)."""
    pytester.makeconftest("import requests\n")
    pytester.makepyfile(test_mix=MIXED_MODULE.replace("def test_functional", "def _not_collected") + '''

def test_patched(load_env):
    from gevent import monkey
    assert monkey.is_module_patched("socket") and monkey.is_module_patched("ssl")
''')
    pytester.makeini(f"[pytest]\naddopts = --load-host={target}\nload_run_time = 1s\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_mix.py::load_run: PASSED*"])

    pytester.makeini(f"[pytest]\nload_only = true\nload_host = {target}\nload_run_time = 1s\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=3)


def test_help_lists_the_load_testing_group(pytester):
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines([
        "load testing*",
        "*--load-users=N*",
        "*--load-run-time=DURATION*",
        "*--load-threshold=EXPR*",
        "*load_run_time (string)*",
    ])


SHAPE_MODULE = '''
from pytest_loadhooks import LoadTestShape

class Short(LoadTestShape):
    def tick(self):
        return (2, 10) if self.get_run_time() < 1 else None
'''


def test_a_shape_in_another_module_drives_the_session_run(pytester, target):
    pytester.makepyfile(test_a_users=SHOP_MODULE, test_b_shape=SHAPE_MODULE)
    result = pytester.runpytest_subprocess(*load_args(target, run_time="20s"))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_a_users.py::load_run: PASSED*over 1.*s*"])


def test_two_shapes_for_one_run_are_rejected(pytester, target):
    pytester.makepyfile(test_a_users=SHOP_MODULE, test_b_shape=SHAPE_MODULE,
                        test_c_shape=SHAPE_MODULE.replace("Short", "Other"))
    result = pytester.runpytest_subprocess(*load_args(target))
    assert result.ret == 4
    result.stderr.fnmatch_lines(["ERROR: pytest-loadhooks: several LoadTestShape classes for one run*"])


def test_thresholds_on_a_class_and_on_a_module_without_users(pytester, target):
    pytester.makepyfile(
        test_a_users=SHOP_MODULE,
        test_b_checks='''
import pytest

pytestmark = pytest.mark.thresholds("p95 < 0.001")

@pytest.mark.thresholds("p99 < 0.002")
class TestSpeed:
    def test_reads(self, load_result):
        assert load_result.num_requests > 0
''',
    )
    result = pytester.runpytest_subprocess(*load_args(target), "-v")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*threshold 'p99 < 0.002' failed: p99 of all requests = * ms, limit < 0.002 ms*"])
    result.stdout.fnmatch_lines(["*threshold 'p95 < 0.001' failed*"])


# --------------------------------------------------------------------------- the session's notes
def test_ctrl_c_while_a_test_reads_the_run_says_the_session_was_interrupted(pytester, target):
    """The run's item never ran because the session was interrupted, not because it was deselected."""
    pytester.makeconftest(
        "import os\nfrom pytest_loadhooks import events\n\n@events.request.add_listener\n"
        "def _started(**kw):\n    open(os.path.join(os.path.dirname(__file__), 'started'), 'w').close()\n")
    pytester.makepyfile(test_shop=SHOP_MODULE + "\n\ndef test_reads(load_result):\n    pass\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", *load_args(target, run_time="60s")], cwd=pytester.path,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        # A child of a non-interactive shell may inherit an ignored SIGINT: give it Python's default back.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not (pytester.path / "started").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[0]
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 2, output
    assert "deselected" not in output, output
    assert ("pytest-loadhooks: test_shop.py::load_run INTERRUPTED by SIGINT after " in output
            and "its item did not run: the session was interrupted" in output), output


def test_a_session_stopped_by_exitfirst_says_so_for_the_run_whose_item_never_ran(pytester, target):
    pytester.makepyfile(test_shop=SHOP_MODULE + "\n\ndef test_reads(load_result):\n    assert False, 'stop here'\n")
    result = pytester.runpytest_subprocess(*load_args(target, "-x", "--load-threshold", "p95 < 0.001"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["pytest-loadhooks: test_shop.py::load_run FAILED, and its item did not run "
                                 "(the session stopped early: stopping after 1 failures): the session fails"])
    result.stdout.no_fnmatch_line("*deselected*")
