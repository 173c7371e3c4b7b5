"""The web UI (``--load-web``): a Flask app served inside the pytest process while the run goes.

Each test runs a real pytest session in a subprocess (the plugin's way: gevent's patching does
not mix with in-process runs) and talks to its UI over HTTP while the run goes, the way a browser
or a script would. The session's ``init`` listener writes the UI's URL to a file (the port is
bound before ``init`` fires, so listeners know it), which the test polls.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from plugin_helpers import SHOP_MODULE

URL_CONFTEST = '''
import os
from pytest_loadhooks import events

@events.init.add_listener
def _record_url(environment, web_ui, **kw):
    with open(os.path.join(os.path.dirname(__file__), "ui_url.txt"), "w") as handle:
        handle.write(web_ui.url)
'''

SEED_ADDED_PAGE = '''
from pytest_loadhooks import events

@events.init.add_listener
def on_locust_init(web_ui, **kw):
    @web_ui.app.route("/added_page")
    def my_added_page():
        return "Another page"
'''


class Session:
    """A pytest session with the plugin, running in a subprocess while the test talks to its UI."""

    def __init__(self, directory: Path, args: list[str], env: dict[str, str] | None = None) -> None:
        self.directory = directory
        environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=directory, env=environment,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.output = ""

    def url(self, timeout: float = 60) -> str:
        path = self.directory / "ui_url.txt"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if path.exists() and path.read_text():
                return path.read_text()
            if self.process.poll() is not None:
                raise AssertionError(f"the session ended before its UI came up:\n{self.finish()}")
            time.sleep(0.05)
        raise AssertionError("the UI's URL was never written")

    def finish(self, timeout: float = 120) -> str:
        out, _ = self.process.communicate(timeout=timeout)
        self.output += out or ""
        return self.output

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def sessions():
    started: list[Session] = []

    def start(directory: Path, args: list[str], env: dict[str, str] | None = None) -> Session:
        session = Session(directory, args, env)
        started.append(session)
        return session

    yield start
    for session in started:
        session.kill()


def poll(get, until, timeout: float = 20):
    """Call ``get()`` until ``until(value)`` holds; returns the value (or fails saying what it last was)."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = get()
        if until(value):
            return value
        time.sleep(0.2)
    raise AssertionError(f"never held; last value: {value!r}")


def web_args(target: str, *extra: str, users: int = 2, run_time: str = "3s") -> list[str]:
    return [f"--load-users={users}", f"--load-run-time={run_time}", f"--load-host={target}", "--load-web",
            "--load-web-port=0", *extra]


# --------------------------------------------------------------------------- step 1: the server
def test_seed_added_page_answers_while_the_run_goes(pytester, target, sessions):
    pytester.makeconftest(URL_CONFTEST + SEED_ADDED_PAGE)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    session = sessions(pytester.path, web_args(target))
    url = session.url()
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")

    page = requests.get(f"{url}/added_page", timeout=5)
    assert page.status_code == 200 and page.text == "Another page"
    stats = poll(lambda: requests.get(f"{url}/stats/requests", timeout=5).json(),
                 lambda data: data["stats"][-1]["num_requests"] > 0 and data["user_count"] == 2)
    assert stats["state"] == "running"
    assert stats["stats"][-1]["name"] == "Aggregated"
    assert {"total_rps", "fail_ratio", "current_response_time_percentiles", "user_count", "errors"} <= set(stats)

    out = session.finish()
    assert session.process.returncode == 0, out
    assert f"web UI of test_shop.py::load_run at {url}" in out
    # The UI is gone with the session.
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/stats/requests", timeout=2)
