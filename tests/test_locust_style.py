"""Locustfiles written in Locust's style (tests/locust_style/), run unchanged under pytest.

Each file is copied into a pytester directory beside a conftest that records every request
(URL, name, status), and run with ``--load-host`` pointing at the ``target`` app while its
class says ``host = "http://localhost:8089"``: the recorded URLs show where the traffic went,
and the ``--load-json`` document shows what the run counted. What each file is for, and the
Locust behaviour it checks, is in its docstring and in the test below.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from plugin_helpers import load_args
from request_log import REQUEST_RECORDER, read_requests

LOCUST_STYLE = Path(__file__).resolve().parent / "locust_style"

def copy_locustfile(pytester, name: str) -> str:
    (pytester.path / name).write_text((LOCUST_STYLE / name).read_text())
    (pytester.path / "conftest.py").write_text(REQUEST_RECORDER)
    return name


def run_locustfile(pytester, target: str, name: str, *extra: str, users: int = 2, run_time: str = "2s"):
    copy_locustfile(pytester, name)
    return pytester.runpytest_subprocess(name, *load_args(target, "--load-json=result.json", *extra,
                                                          users=users, run_time=run_time))


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def recorded_requests(pytester) -> list[dict]:
    return read_requests(pytester.path)


def counted(pytester) -> dict[str, int]:
    """Requests per stats entry name, from the run's --load-json document."""
    document = json.loads((pytester.path / "result.json").read_text())
    return {entry["name"]: entry["num_requests"] for entry in document["stats"]}


def assert_all_traffic_went_to(pytester, target: str) -> list[dict]:
    requests = recorded_requests(pytester)
    assert requests, "no request was made"
    elsewhere = {r["url"] for r in requests if not r["url"].startswith(target + "/")}
    assert not elsewhere, f"requests went elsewhere than {target}: {sorted(elsewhere)[:5]}"
    assert sum(counted(pytester).values()) == len(requests)
    return requests


def notice_lines(result, *options: str) -> list[str]:
    """Output lines (stdout or stderr) that name all these options and say they are ignored."""
    lines = result.stdout.lines + result.stderr.lines
    return [line for line in lines if all(o in line for o in options) and "ignor" in line.lower()]


# -- host override ----------------------------------------------------------------------------------------

def test_load_host_overrides_the_class_host(pytester, target):
    result = run_locustfile(pytester, target, "class_host_locustfile.py")
    result.assert_outcomes(passed=1)
    requests = assert_all_traffic_went_to(pytester, target)
    assert {r["status"] for r in requests} == {200}
    assert set(counted(pytester)) == {"/page", "/cart"}  # name= groups the query-string variants


# -- run_single_user --------------------------------------------------------------------------------------

def test_module_importing_run_single_user_runs_as_a_load_test(pytester, target):
    result = run_locustfile(pytester, target, "single_user_locustfile.py")
    result.assert_outcomes(passed=1)
    requests = assert_all_traffic_went_to(pytester, target)
    assert {r["name"] for r in requests} == {"/cart", "/login"}


def test_run_single_user_runs_one_user_when_the_file_is_run_directly(tmp_path, target):
    script = tmp_path / "single_user_locustfile.py"
    script.write_text((LOCUST_STYLE / script.name).read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOADHOOKS_")}
    env.update(SHOP_HOST=target, CHECKOUTS_BEFORE_STOP="3")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    # Like Locust's, it prints one line per request: 3 checkouts of GET /cart and POST /login, no failure.
    request_lines = [line for line in done.stdout.splitlines() if "/cart" in line or "/login" in line]
    assert len(request_lines) == 6, done.stdout
    assert sum("/cart" in line for line in request_lines) == 3


# -- MarkovTaskSet ----------------------------------------------------------------------------------------

def test_markov_taskset_walks_its_chain(pytester, target):
    result = run_locustfile(pytester, target, "markov_locustfile.py")
    result.assert_outcomes(passed=1)
    assert_all_traffic_went_to(pytester, target)
    names = counted(pytester)
    assert set(names) == {"browse", "cart", "checkout"}
    # Every user starts at the first task and follows browse -> cart -> checkout -> browse,
    # so each step is taken at most once more than the next (once per user).
    assert names["browse"] >= names["cart"] >= names["checkout"] >= names["browse"] - 2


# -- shapes -----------------------------------------------------------------------------------------------

def test_shape_without_common_options_runs_to_its_own_end(pytester, target):
    result = run_locustfile(pytester, target, "shape_own_end_locustfile.py", users=7, run_time="1s")
    result.assert_outcomes(passed=1)
    assert_all_traffic_went_to(pytester, target)
    shape_log = read_jsonl(pytester.path / "shape.jsonl")
    # The 1 s run time did not cut it short: the shape itself ended the run, with its 3 users, not 7.
    assert {"event": "shape_returned_none"} in shape_log
    assert [e["user_count"] for e in shape_log if e["event"] == "spawning_complete"] == [3]
    # As Locust does, the session says which of the given options the shape ignores.
    assert notice_lines(result, "--load-run-time", "--load-users"), result.stdout.str()


def test_shape_with_use_common_options_reads_the_command_line(pytester, target):
    result = run_locustfile(pytester, target, "shape_common_options_locustfile.py", "--load-spawn-rate=20",
                            users=3, run_time="1s")
    result.assert_outcomes(passed=1)
    assert_all_traffic_went_to(pytester, target)
    shape_log = read_jsonl(pytester.path / "shape.jsonl")
    assert [e["user_count"] for e in shape_log if e["event"] == "spawning_complete"] == [3]
    ended = [e for e in shape_log if e["event"] == "shape_returned_none"]
    assert all(e["run_time"] == 1 and e["num_users"] == 3 for e in ended)
    assert not notice_lines(result, "--load-run-time"), "nothing is ignored, so no notice"


# -- custom messages --------------------------------------------------------------------------------------

def test_custom_messages_loop_back_in_a_local_run(pytester, target):
    result = run_locustfile(pytester, target, "custom_messages_locustfile.py")
    result.assert_outcomes(passed=1)
    requests = assert_all_traffic_went_to(pytester, target)
    messages = read_jsonl(pytester.path / "messages.jsonl")
    assert messages[0] == {"worker_count": 1, "local": True}
    assert messages[1] == {"received": "test_users", "data": [{"name": "shopper0"}, {"name": "shopper1"}]}
    assert messages[2] == {"received": "acknowledge_users", "data": "got 2 users"}
    # The users took the names the message delivered before they started.
    users_seen = {parse_qs(urlsplit(r["url"]).query)["user"][0] for r in requests}
    assert users_seen == {"shopper0", "shopper1"}


# -- scripts/locust_examples.py: the rewrite it applies to Locust's examples ------------------------------

def test_example_rewrite_touches_import_statements_only():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    try:
        from locust_examples import rewrite_imports
    finally:
        sys.path.pop(0)
    source = (
        "from locust import HttpUser, task\n"
        "from locust.runners import (\n    MasterRunner,\n)\n"
        "import locust\n"
        "import locust.stats\n"
        "HOST = 'http://locust.example'  # locust stays in strings and comments\n"
        "if __name__ == '__main__':\n"
        "    from locust import run_single_user\n"
        "    locust.events.init.fire()\n"
    )
    assert rewrite_imports(source) == (
        "from pytest_loadhooks import HttpUser, task\n"
        "from pytest_loadhooks.runners import (\n    MasterRunner,\n)\n"
        "import pytest_loadhooks as locust\n"
        "import pytest_loadhooks.stats\n"
        "HOST = 'http://locust.example'  # locust stays in strings and comments\n"
        "if __name__ == '__main__':\n"
        "    from pytest_loadhooks import run_single_user\n"
        "    locust.events.init.fire()\n"
    )
