"""Functional tests as load tasks (issue 20): the load_task marker, --load-tests, fixtures per iteration,
per-test statistics, failures, weights, bad input. Each session is a real pytest subprocess; the runs
are short (1-2 s, few users) and each session checks several behaviours."""

from __future__ import annotations

import json

import pytest

COUNTING_CONFTEST = '''
import json, os, pytest

COUNTS = {}

def bump(key):
    COUNTS[key] = COUNTS.get(key, 0) + 1

@pytest.fixture(scope="session")
def per_session():
    bump("session_setup")
    yield
    bump("session_teardown")

def pytest_sessionfinish(session):
    with open(os.path.join(str(session.config.rootpath), "counts.json"), "w") as out:
        json.dump(COUNTS, out)
'''

COUNTING_TESTS = '''
import gevent
import pytest
from conftest import bump

@pytest.fixture(scope="module")
def per_module(per_session):
    gevent.sleep(0.05)  # users starting together all want it while it is being set up: still set up once
    bump("module_setup")
    yield
    bump("module_teardown")

@pytest.fixture
def per_test(per_module):
    bump("function_setup")
    yield
    bump("function_teardown")

@pytest.fixture
def finalized(request):
    bump("finalizer_setup")
    request.addfinalizer(lambda: bump("finalizer_run"))

@pytest.mark.load_task(weight=3)
def test_heavy(per_test, finalized):
    bump("heavy_calls")

@pytest.mark.load_task(weight=1)
def test_light(per_test):
    bump("light_calls")

@pytest.mark.load_task
def test_broken(per_test):
    status = 500
    assert status == 200

@pytest.mark.load_task
@pytest.mark.parametrize("size", [1, 2])
def test_sizes(size):
    assert size in (1, 2)

@pytest.fixture
def broken_setup():
    raise RuntimeError("no database")

@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("could not clean up")

@pytest.mark.load_task
def test_fixture_errors(broken_setup):
    pass

@pytest.mark.load_task
def test_teardown_errors(broken_teardown):
    pass

@pytest.mark.load_task
def test_sometimes_skips():
    pytest.skip("not today")

@pytest.mark.load_task
@pytest.mark.skip(reason="switched off")
def test_switched_off():
    raise AssertionError("never called")

@pytest.fixture(scope="class")
def per_class():
    bump("class_setup")
    yield
    bump("class_teardown")

@pytest.mark.load_task
class TestInAClass:
    def test_method(self, per_class, tmp_path):
        assert tmp_path.exists()  # a directory per iteration
        assert not hasattr(self, "seen")  # a new instance per iteration, as per test
        self.seen = True
'''


def stats_by_name(report: dict) -> dict[str, dict]:
    return {(entry["method"], entry["name"]): entry for entry in report["stats"]}


def test_tests_run_as_load_tasks_with_their_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(COUNTING_CONFTEST)
    pytester.makepyfile(test_api=COUNTING_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--load-users=3", "--load-run-time=2s",
                                           "--load-only", "--load-json=out.json", "--load-threshold=fail_ratio < 0.9")
    report = json.loads((pytester.path / "out.json").read_text())
    counts = json.loads((pytester.path / "counts.json").read_text())
    stats = stats_by_name(report)
    heavy = stats[("TEST", "test_api.py::test_heavy")]["num_requests"]
    light = stats[("TEST", "test_api.py::test_light")]["num_requests"]
    broken = stats[("TEST", "test_api.py::test_broken")]
    method = stats[("TEST", "test_api.py::TestInAClass::test_method")]

    # Every iteration ran the test through its fixtures: one setup and one teardown per iteration for
    # function scope, once per process for class, module and session scope (torn down when the run ends).
    assert counts["heavy_calls"] == heavy and counts["light_calls"] == light
    iterations_with_per_test = heavy + light + broken["num_requests"]
    assert counts["function_setup"] == counts["function_teardown"] == iterations_with_per_test
    assert counts["finalizer_setup"] == counts["finalizer_run"] == heavy
    assert counts["module_setup"] == counts["module_teardown"] == 1
    assert counts["session_setup"] == counts["session_teardown"] == 1
    assert counts["class_setup"] == counts["class_teardown"] == 1
    assert method["num_failures"] == 0  # a fresh instance of the test class per iteration

    # Weights: heavy (3) against light (1). A user picks by weight whatever a test costs, so the counts follow
    # the weights. Tolerance: the ratio within 2 to 4.5 once light ran 60 times or more (a quiet machine runs
    # it thousands of times; at 60, 4 standard deviations of the binomial stay inside).
    assert light >= 60
    assert 2.0 <= heavy / light <= 4.5, (heavy, light)

    # A failing assertion is a failure of that test, with pytest's rewritten message.
    assert broken["num_failures"] == broken["num_requests"] > 0
    assert stats[("TEST", "test_api.py::test_heavy")]["num_failures"] == 0
    errors = [failure["error"] for failure in report["failures"] if failure["name"] == "test_api.py::test_broken"]
    assert errors and "assert 500 == 200" in errors[0]
    result.stdout.fnmatch_lines(["*TEST test_api.py::test_broken: AssertionError('assert 500 == 200')*"])
    # An error in a fixture's setup or teardown fails the iteration, with its message.
    for name, message in (("test_fixture_errors", "no database"), ("test_teardown_errors", "could not clean up")):
        entry = stats[("TEST", f"test_api.py::{name}")]
        assert entry["num_failures"] == entry["num_requests"] > 0
        assert any(message in failure["error"] for failure in report["failures"] if failure["name"].endswith(name))

    # One task per parameter set; a skipped iteration is no failure and no iteration; a skip marker leaves
    # the test out (said before the run).
    assert stats[("TEST", "test_api.py::test_sizes[1]")]["num_requests"] > 0
    assert stats[("TEST", "test_api.py::test_sizes[2]")]["num_failures"] == 0
    assert ("TEST", "test_api.py::test_sometimes_skips") not in stats
    assert ("TEST", "test_api.py::test_switched_off") not in stats
    result.stdout.fnmatch_lines(["*test_api.py::test_switched_off is skipped (switched off): not a load task*"])
    result.assert_outcomes(passed=1, deselected=10)


SELECTION_TESTS = '''
import pytest

@pytest.mark.api
def test_api_orders(load_client):
    assert load_client.get("/api/data").status_code == 200

def test_api_cart(fast_load_client):
    assert fast_load_client.get("/cart").status_code == 200

def test_home(load_client):
    assert load_client.get("/").status_code == 200
'''


def test_load_tests_chooses_by_keyword_and_marker_and_the_file_stays_functional(pytester, target) -> None:
    pytester.makeini(f"[pytest]\nmarkers = api: api tests\nload_host = {target}\n")
    pytester.makepyfile(test_shop=SELECTION_TESTS)
    # Without --load-*: plain functional tests, the client a plain session on the ini's load_host.
    # The plugin's own load_base_url is no deprecated kind of fixture (pytest 9.2 warns of session-scoped
    # fixture methods): a warning would fail the functional tests, and every iteration under load.
    no_deprecations = ("-W", "error::pytest.PytestDeprecationWarning")
    pytester.runpytest_subprocess("-p", "no:cacheprovider", *no_deprecations).assert_outcomes(passed=3)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", *no_deprecations, "--load-users=2", "--load-run-time=1s", "--load-only", "--load-json=out.json",
        "--load-tests=api or cart", "--load-threshold=TEST test_shop.py::test_api_orders: fail_ratio == 0")
    result.assert_outcomes(passed=1, deselected=3)
    stats = stats_by_name(json.loads((pytester.path / "out.json").read_text()))
    assert stats[("TEST", "test_shop.py::test_api_orders")]["num_requests"] > 0
    assert stats[("TEST", "test_shop.py::test_api_cart")]["num_failures"] == 0
    assert ("TEST", "test_shop.py::test_home") not in stats
    # The clients' requests are counted beside the tests' entries.
    orders = stats[("TEST", "test_shop.py::test_api_orders")]
    assert stats[("GET", "/api/data")]["num_requests"] == orders["num_requests"]
    assert stats[("GET", "/cart")]["num_failures"] == 0
    result.stdout.fnmatch_lines(["*TEST test_shop.py::test_api_orders: fail_ratio == 0*passed*"])


@pytest.mark.parametrize(("source", "args", "message"), [
    ("import pytest\n@pytest.mark.load_task\ndef test_out(capsys):\n    pass\n", (),
     "*test_bad.py::test_out cannot be a load task: it uses the fixture 'capsys' (output capture*"),
    ("import pytest\n@pytest.mark.load_task(weight=0)\ndef test_zero():\n    pass\n", (),
     "*test_bad.py::test_zero: load_task(weight=0): the weight must be a whole number >= 1"),
    ("import pytest\n@pytest.mark.load_task(weight='3')\ndef test_text():\n    pass\n", (),
     "*test_bad.py::test_text: load_task(weight='3'): the weight must be a whole number >= 1"),
    ("def test_one():\n    pass\n", ("--load-tests=nothing_like_this",),
     "*--load-tests=nothing_like_this matches no collected test*"),
    ("def test_one():\n    pass\n", ("--load-tests=(unclosed",), "*invalid --load-tests expression '(unclosed'*"),
], ids=["capsys", "weight-zero", "weight-text", "matches-nothing", "bad-expression"])
def test_bad_input_is_one_line_before_any_traffic(pytester, source, args, message) -> None:
    pytester.makepyfile(test_bad=source)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--load-run-time=1s", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


MIXED_USERS = '''
from pytest_loadhooks import HttpUser, task, constant

class Shopper(HttpUser):
    wait_time = constant(0.05)

    @task
    def page(self):
        self.client.get("/page")
'''

MIXED_TESTS = '''
import gevent
import pytest

@pytest.fixture(scope="module")
def shared_resource():
    yield
    raise RuntimeError("the shared resource would not close")

@pytest.mark.load_task(weight=20)
def test_json(load_client, shared_resource):
    assert load_client.get("/json").status_code == 200

@pytest.mark.load_task
def test_never_returns():
    while True:
        gevent.sleep(0.1)
'''


def test_mixes_with_user_classes_a_test_that_never_returns_is_bounded_a_shared_teardown_error_fails(
        pytester, target) -> None:
    pytester.makepyfile(test_mixed=MIXED_USERS, test_more=MIXED_TESTS)  # the run's item is test_mixed.py's
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--load-host={target}", "--load-users=6",
                                           "--load-run-time=2s", "--load-only", "--load-json=out.json", timeout=120)
    report = json.loads((pytester.path / "out.json").read_text())
    stats = stats_by_name(report)
    assert stats[("GET", "/page")]["num_requests"] > 0  # the User class's
    assert stats[("GET", "/json")]["num_requests"] > 0  # the test's client
    hung = stats[("TEST", "test_more.py::test_never_returns")]
    assert hung["num_failures"] == hung["num_requests"] >= 1
    errors = [failure["error"] for failure in report["failures"] if failure["name"].endswith("test_never_returns")]
    assert "did not return before the run ended" in errors[0]
    # A shared fixture's teardown at the end of the run that fails fails the run, saying so.
    result.stdout.fnmatch_lines(["*a fixture shared by the load tasks failed its teardown: RuntimeError: "
                                 "the shared resource would not close*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_the_example_passes_both_ways(target) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {key: value for key, value in os.environ.items() if not key.startswith("LOADHOOKS_")}
    env["TARGET_URL"] = target
    command = [sys.executable, "-m", "pytest", "examples/functional_as_load", "-p", "no:cacheprovider"]
    functional = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120, env=env)
    assert functional.returncode == 0 and "6 passed" in functional.stdout, functional.stdout + functional.stderr
    load = subprocess.run([*command, f"--load-host={target}", "--load-users=3", "--load-run-time=1s", "--load-only"],
                          cwd=root, capture_output=True, text=True, timeout=120, env=env)
    assert load.returncode == 0, load.stdout + load.stderr
    for line in ("TEST  test_api.py::test_browse_catalog", "TEST  test_api.py::test_item_details[2]",
                 "TEST  test_api.py::test_protected_resource_needs_login", "GET   /protected/resource",
                 "PASS threshold 'TEST test_api.py::test_browse_catalog: p95 < 500'"):
        assert line in load.stdout, load.stdout


DISTRIBUTED_TESTS = '''
import json
import pytest
import requests
from pytest_loadhooks import events

@events.test_stop.add_listener
def read_the_web_ui(environment, **kw):
    # The master's web UI, asked while the run stops: the TEST entries are there, merged from the workers.
    if environment.web_ui is not None:
        rows = requests.get(f"http://127.0.0.1:{environment.web_ui.port}/stats/requests", timeout=10).json()["stats"]
        with open("web_stats.json", "w") as out:
            json.dump([[row["method"], row["name"], row["num_requests"]] for row in rows], out)

@pytest.fixture(scope="session")
def per_process():
    with open("setups.txt", "a") as out:
        out.write("x")  # one line per process that set the session fixture up

@pytest.mark.load_task
def test_orders(load_client, per_process):
    assert load_client.get("/json").status_code == 200
'''


def test_processes_merge_the_test_entries_and_the_web_ui_shows_them(pytester, target) -> None:
    pytester.makepyfile(test_dist=DISTRIBUTED_TESTS)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--load-host={target}", "--load-users=4", "--load-run-time=2s", "--load-only",
        "--load-processes=2", "--load-web", "--load-web-port=0", "--load-json=out.json", timeout=180)
    result.assert_outcomes(passed=1, deselected=1)
    stats = stats_by_name(json.loads((pytester.path / "out.json").read_text()))
    orders = stats[("TEST", "test_dist.py::test_orders")]
    assert orders["num_requests"] == stats[("GET", "/json")]["num_requests"] > 0
    assert (pytester.path / "setups.txt").read_text() == "xx"  # session scope: once per worker process
    web = {(method, name): count for method, name, count in json.loads((pytester.path / "web_stats.json").read_text())}
    assert web[("TEST", "test_dist.py::test_orders")] > 0


def test_baselines_compare_the_test_entries(pytester, monkeypatch) -> None:
    pytester.makepyfile(test_timed='''
        import os, time, pytest

        @pytest.mark.load_task
        def test_timed():
            time.sleep(float(os.environ["ITERATION_S"]))
        ''')
    common = ("-p", "no:cacheprovider", "--load-users=2", "--load-run-time=1s", "--load-only",
              f"--load-storage={pytester.path / 'baselines'}")
    monkeypatch.setenv("ITERATION_S", "0.005")
    pytester.runpytest_subprocess(*common, "--load-save=before").assert_outcomes(passed=1, deselected=1)
    monkeypatch.setenv("ITERATION_S", "0.05")  # ten times slower: beyond the rule's +100%
    result = pytester.runpytest_subprocess(*common, "--load-compare=before",
                                           "--load-compare-fail=TEST test_timed.py::test_timed: p50:+100%")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(["*FAIL*TEST test_timed.py::test_timed: p50:+100%*"])


def test_master_and_worker_as_separate_commands_collect_the_same_tests(pytester, target) -> None:
    import os
    import socket
    import subprocess
    import sys

    pytester.makepyfile(test_remote='''
        def test_remote_json(load_client):
            assert load_client.get("/json").status_code == 200
        ''')
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if not key.startswith("LOADHOOKS_")}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--load-tests=remote"]

    def start(*args: str) -> subprocess.Popen:
        return subprocess.Popen([*command, *args], cwd=pytester.path, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    master = start("--load-master", "--load-expect-workers=1", f"--load-master-bind-port={port}", "--load-users=2",
                   "--load-run-time=1s", f"--load-host={target}", "--load-json=out.json")
    worker = start("--load-worker", f"--load-master-port={port}")
    worker_output, _ = worker.communicate(timeout=120)
    master_output, _ = master.communicate(timeout=120)
    assert worker.returncode == 0, worker_output
    assert master.returncode == 0, master_output
    stats = stats_by_name(json.loads((pytester.path / "out.json").read_text()))
    remote = stats[("TEST", "test_remote.py::test_remote_json")]
    assert remote["num_requests"] == stats[("GET", "/json")]["num_requests"] > 0  # counted on the worker, merged
