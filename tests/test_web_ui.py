"""The web UI (``--load-web``): a Flask app served inside the pytest process while the run goes.

Each test runs a real pytest session in a subprocess (the plugin's way: gevent's patching does
not mix with in-process runs) and talks to its UI over HTTP while the run goes, the way a browser
or a script would. The session's ``init`` listener writes the UI's URL to a file (the port is
bound before ``init`` fires, so listeners know it), which the test polls.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from plugin_helpers import RECORDING_CONFTEST, SHOP_MODULE, read_events

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


# --------------------------------------------------------------------------- step 2: controls, safety
ARGUMENTS_CONFTEST = '''
import json, os
from pytest_loadhooks import events

@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--my-argument", type=str, env_var="LOCUST_MY_ARGUMENT", default="", help="It's working")
    parser.add_argument("--env", choices=["dev", "staging", "prod"], default="dev", help="Environment")
    parser.add_argument("--my-ui-invisible-argument", include_in_web_ui=False, default="I am invisible")
    parser.add_argument("--my-ui-password-argument", is_secret=True, default="I am a secret")

@events.test_start.add_listener
def _started(environment, **kw):
    options = environment.parsed_options
    with open(os.path.join(os.path.dirname(__file__), "started.json"), "w") as handle:
        json.dump({"my_argument": options.my_argument, "env": options.env,
                   "secret_kept": options.my_ui_password_argument == "I am a secret"}, handle)
'''


def test_waiting_run_started_from_the_form_safely(pytester, target, sessions):
    pytester.makeconftest(URL_CONFTEST + ARGUMENTS_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    session = sessions(pytester.path, ["--load-web-wait", "--load-web-port=0", f"--load-host={target}",
                                       "--load-users=1"])
    url = session.url()
    stats = requests.get(f"{url}/stats/requests", timeout=5).json()
    assert stats["state"] == "ready" and stats["stats"][-1]["num_requests"] == 0

    page = requests.get(url, timeout=5).text
    assert 'name="my_argument"' in page and 'type="password" name="my_ui_password_argument"' in page
    assert '<option value="staging"' in page and "my_ui_invisible_argument" not in page
    status = requests.get(f"{url}/loadhooks/status", timeout=5).text
    assert "I am a secret" not in page and "I am a secret" not in status

    # A page of another origin cannot start a run through the browser; bad numbers start nothing.
    form = {"user_count": "2", "spawn_rate": "10", "run_time": "2s", "my_argument": "from the form", "env": "staging"}
    foreign = requests.post(f"{url}/swarm", data=form, headers={"Origin": "http://evil.example"}, timeout=5)
    assert foreign.status_code == 403 and foreign.json()["success"] is False
    cross_site = requests.post(f"{url}/swarm", data=form, headers={"Sec-Fetch-Site": "cross-site"}, timeout=5)
    assert cross_site.status_code == 403
    for users, says in (("-1", "negative"), ("abc", "not a whole number")):
        bad = requests.post(f"{url}/swarm", data={**form, "user_count": users}, timeout=5)
        assert bad.status_code == 400 and says in bad.json()["message"]
    bad_choice = requests.post(f"{url}/swarm", data={**form, "env": "moon"}, timeout=5)
    assert bad_choice.status_code == 400 and "invalid choice" in bad_choice.json()["message"]
    time.sleep(0.5)
    assert requests.get(f"{url}/stats/requests", timeout=5).json()["state"] == "ready"
    assert not (pytester.path / "started.json").exists()

    started = requests.post(f"{url}/swarm", data=form, headers={"Origin": url}, timeout=5)
    assert started.status_code == 200 and started.json()["success"] is True, started.text
    running = poll(lambda: requests.get(f"{url}/stats/requests", timeout=5).json(),
                   lambda data: data["state"] == "running" and data["stats"][-1]["num_requests"] > 0)
    assert running["user_count"] == 2
    assert json.loads((pytester.path / "started.json").read_text()) == {
        "my_argument": "from the form", "env": "staging", "secret_kept": True}
    document = requests.get(f"{url}/stats/report/json", timeout=5)
    assert document.status_code == 200 and "I am a secret" not in document.text
    assert document.json()["total"]["num_requests"] > 0
    csv_text = requests.get(f"{url}/stats/requests/csv", timeout=5).text
    assert csv_text.startswith("Type,Name,Request Count") and "Aggregated" in csv_text
    assert requests.get(f"{url}/stats/failures/csv", timeout=5).text.startswith("Method,Name,Error,Occurrences")
    assert "exceptions" in requests.get(f"{url}/exceptions", timeout=5).json()

    out = session.finish()  # the form's run time (2s) ends the run and the session judges it
    assert session.process.returncode == 0, out
    assert "waiting for a start from its form" in out and "1 passed" in out
    assert "I am a secret" not in out


def test_stop_reset_and_finish_from_the_ui(pytester, target, sessions):
    pytester.makeconftest(URL_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    session = sessions(pytester.path, ["--load-web-wait", "--load-web-port=0", f"--load-host={target}",
                                       "--load-users=2", "--load-spawn-rate=20"])
    url = session.url()
    assert requests.post(f"{url}/swarm", data={}, timeout=5).json()["success"] is True
    poll(lambda: requests.get(f"{url}/stats/requests", timeout=5).json(),
         lambda data: data["stats"][-1]["num_requests"] > 0)
    assert requests.get(f"{url}/stop", timeout=5).json()["success"] is True
    stopped = poll(lambda: requests.get(f"{url}/stats/requests", timeout=5).json(),
                   lambda data: data["state"] == "stopped")
    assert stopped["user_count"] == 0 and stopped["stats"][-1]["num_requests"] > 0
    assert requests.get(f"{url}/stats/reset", timeout=5).status_code == 200
    assert requests.get(f"{url}/stats/requests", timeout=5).json()["stats"][-1]["num_requests"] == 0
    # Started again with another load, then ended from the UI: the session judges that last run.
    again = requests.post(f"{url}/swarm", data={"user_count": "1", "spawn_rate": "5"}, timeout=5)
    assert again.json()["success"] is True
    poll(lambda: requests.get(f"{url}/stats/requests", timeout=5).json(),
         lambda data: data["user_count"] == 1 and data["stats"][-1]["num_requests"] > 0)
    assert requests.post(f"{url}/finish", headers={"Origin": "http://evil.example"}, timeout=5).status_code == 403
    assert requests.post(f"{url}/finish", timeout=5).json()["success"] is True
    out = session.finish(timeout=END_TIMEOUT)
    # Ended before its run time (the default 10s, from the latest start): judged, and stopped.
    assert session.process.returncode == 1, out
    assert "STOPPED ended from the web UI at 00:0" in out and "of a 00:10 run: its results are partial" in out


# --------------------------------------------------------------------------- step 3: the dashboard in a browser
BROWSER_SCRIPT = Path(__file__).resolve().parent / "browser" / "inspect_dashboard.py"


def test_dashboard_shows_the_numbers_moving_in_a_browser(pytester, target, sessions, tmp_path):
    pytester.makeconftest(URL_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    session = sessions(pytester.path, web_args(target, "--load-threshold", "p95 < 5000", users=3, run_time="12s"))
    url = session.url()
    shot = tmp_path / "dashboard.png"
    seen = subprocess.run([sys.executable, str(BROWSER_SCRIPT), url, "--screenshot", str(shot), "--wait-requests", "5"],
                          capture_output=True, text=True, timeout=90)
    assert seen.returncode == 0, seen.stderr
    found = json.loads(seen.stdout)
    first, second = found["first"], found["second"]
    assert first["state"] == "running" and first["charts_drawn"] == 3 and first["endpoint_rows"] == 3
    count = lambda text: int(text.replace(",", ""))  # noqa: E731
    assert count(second["requests"]) > count(first["requests"]) >= 5  # refreshed from the JSON endpoints
    assert found["blocked_requests"] == []  # everything served by the UI itself: no CDN
    assert shot.stat().st_size > 10_000
    session.kill()


# --------------------------------------------------------------------------- HTTPS
@pytest.fixture
def certificate(tmp_path) -> tuple[str, str]:
    """(certificate, key) files for 127.0.0.1, self-signed by openssl (as tls_target's)."""
    cert, key = tmp_path / "ui-cert.pem", tmp_path / "ui-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return str(cert), str(key)


@pytest.mark.parametrize("given_by", ["options", "environment"])
def test_dashboard_over_https(pytester, target, sessions, certificate, given_by):
    cert, key = certificate
    pytester.makeconftest(URL_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    if given_by == "options":
        session = sessions(pytester.path, web_args(target, f"--load-tls-cert={cert}", f"--load-tls-key={key}",
                                                   run_time="8s"))
    else:  # the seeds' variables
        session = sessions(pytester.path, web_args(target, run_time="8s"), env={"SSL_CERT": cert, "SSL_KEY": key})
    url = session.url()
    assert url.startswith("https://127.0.0.1:")

    # Verified against the test's certificate: the UI really speaks TLS with it.
    dashboard = requests.get(url, verify=cert, timeout=5)
    assert dashboard.status_code == 200 and 'id="kpi-users"' in dashboard.text
    stats = poll(lambda: requests.get(f"{url}/stats/requests", verify=cert, timeout=5).json(),
                 lambda data: data["stats"][-1]["num_requests"] > 0)
    assert stats["state"] in ("spawning", "running")
    # Plain HTTP on the same port gets no page.
    with pytest.raises(requests.ConnectionError):
        requests.get(url.replace("https://", "http://"), timeout=5)
    # And in a browser, the dashboard over HTTPS draws and refreshes as over HTTP.
    seen = subprocess.run([sys.executable, str(BROWSER_SCRIPT), url, "--self-signed", "--wait-requests", "1"],
                          capture_output=True, text=True, timeout=90)
    assert seen.returncode == 0, seen.stderr
    assert json.loads(seen.stdout)["first"]["charts_drawn"] == 3

    out = session.finish()
    assert session.process.returncode == 0, out
    assert f"at {url}" in out


# --------------------------------------------------------------------------- Locust's custom login form
CUSTOM_FORM_CONFTEST = '''
from flask import Blueprint, redirect, request, session, url_for
from flask_login import UserMixin, login_user
from pytest_loadhooks import events

class Person(UserMixin):
    def __init__(self, name):
        self.name = name
    def get_id(self):
        return self.name

@events.init.add_listener
def _(environment, web_ui, **kwargs):
    web_ui.login_manager.user_loader(Person)
    web_ui.auth_args = {"custom_form": {
        "inputs": [
            {"label": "Username", "name": "username", "is_required": True, "type": "email"},
            {"label": "Admin", "name": "is_admin", "default_value": False},
            {"label": "User group", "name": "user_group", "choices": ["developer", "manager"]},
            {"label": "Password", "name": "password", "is_secret": True},
            {"label": "Confirm password", "name": "confirm_password", "is_secret": True},
        ],
        "callback_url": "/login_submit", "submit_button_text": "Enter",
    }}
    auth = Blueprint("auth", __name__)

    @auth.route("/login_submit", methods=["POST"])
    def login_submit():
        form = request.form
        if not form.get("password") or form.get("password") != form.get("confirm_password"):
            session["auth_error"] = "Passwords do not match!"
            return redirect(url_for("locust.login"))
        login_user(Person(form["username"] + ("/admin" if form.get("is_admin") == "on" else "")
                          + "/" + form["user_group"]))
        return redirect(url_for("locust.index"))

    web_ui.app.register_blueprint(auth)
'''


def test_locust_custom_login_form_renders_and_logs_in(pytester, target, sessions):
    """Locust's ``auth_args["custom_form"]``: its inputs on the login page, posted to its callback."""
    pytester.makeconftest(URL_CONFTEST + CUSTOM_FORM_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    session = sessions(pytester.path, web_args(target, "--load-web-login"))
    url = session.url()
    browser = requests.Session()

    page = browser.get(f"{url}/", timeout=5)  # sent to the login page
    assert page.url.endswith("/login")
    html = page.text
    assert '<form method="post" action="/login_submit" id="login-form">' in html
    assert '<input type="email" name="username" value="" required>' in html
    assert '<input type="checkbox" name="is_admin" > Admin' in html
    assert '<option value="manager" >manager</option>' in html
    assert '<input type="password" name="confirm_password" value="" >' in html
    assert ">Enter</button>" in html and "No way to log in" not in html

    refused = browser.post(f"{url}/login_submit", data={"username": "me@example.com", "user_group": "manager",
                                                        "password": "a", "confirm_password": "b"}, timeout=5)
    assert refused.url.endswith("/login") and "Passwords do not match!" in refused.text
    assert browser.get(f"{url}/stats/requests", timeout=5).status_code == 401

    entered = browser.post(f"{url}/login_submit", data={"username": "me@example.com", "is_admin": "on",
                                                        "user_group": "manager", "password": "a",
                                                        "confirm_password": "a"}, timeout=5)
    assert entered.status_code == 200 and "<h2>Endpoints</h2>" in entered.text
    assert browser.get(f"{url}/stats/requests", timeout=5).json()["state"] in ("spawning", "running", "stopped")
    out = session.finish()
    assert session.process.returncode == 0, out


# --------------------------------------------------------------------------- the run's end, whatever the UI did
# A run driven through the UI ends at its run time or when it is ended ("End run"); one ended early
# from the UI (Stop, then its run time; End run before its run time) is *stopped*: its item fails
# with the sentence, the JSON and HTML reports say stopped, junit shows a failure. The sessions
# below must all exit by themselves: a hang fails the test at finish()'s timeout.
END_TIMEOUT = 60


def judged(directory: Path) -> dict:
    """The run's part of the JSON report the session wrote (``--load-json=report.json``)."""
    return json.loads((directory / "report.json").read_text())["run"]


def verdict_of(url: str) -> dict:
    """The verdict the dashboard shows once the run is judged (``/loadhooks/status``'s ``run.verdict``)."""
    return poll(lambda: requests.get(f"{url}/loadhooks/status", timeout=5).json()["run"],
                lambda run: run.get("verdict") is not None, timeout=30)["verdict"]


def first_requests(url: str) -> None:
    poll(lambda: requests.get(f"{url}/stats/requests", timeout=5).json(),
         lambda data: data["state"] == "running" and data["stats"][-1]["num_requests"] > 0)


OUTPUTS = ("--load-json=report.json", "--load-html=report.html", "--junitxml=junit.xml")


def test_stop_from_the_ui_then_the_run_time_ends_the_run_as_stopped(pytester, target, sessions):
    """The issue's case: --load-web --load-run-time, Stop at once: the session ends at the run time, stopped."""
    pytester.makeconftest(URL_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    session = sessions(pytester.path, web_args(target, *OUTPUTS, run_time="4s"))
    url = session.url()
    first_requests(url)
    assert requests.post(f"{url}/stop", timeout=5).json()["success"] is True
    verdict = verdict_of(url)  # the dashboard says what the terminal says
    assert verdict["status"] == "stopped"
    assert verdict["stopped"].startswith("stopped from the web UI at 00:0") and "of a 00:04 run" in verdict["stopped"]

    out = session.finish(timeout=END_TIMEOUT)
    assert session.process.returncode == 1, out
    assert "1 failed" in out and "stopped from the web UI at 00:0" in out and "its results are partial" in out
    run = judged(pytester.path)
    assert run["status"] == "stopped" and run["stopped"] == verdict["stopped"]
    assert "stopped from the web UI" in (pytester.path / "report.html").read_text()
    junit = (pytester.path / "junit.xml").read_text()
    assert "<failure" in junit and "stopped from the web UI" in junit


def test_stop_then_end_run_before_the_run_time_is_stopped(pytester, target, sessions):
    """--load-web-wait, a start from the form, Stop, then End run long before the run time."""
    pytester.makeconftest(URL_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    session = sessions(pytester.path, ["--load-web-wait", "--load-web-port=0", f"--load-host={target}",
                                       "--load-users=2", "--load-spawn-rate=20", "--load-run-time=20s", *OUTPUTS])
    url = session.url()
    assert requests.post(f"{url}/swarm", data={}, timeout=5).json()["success"] is True
    first_requests(url)
    assert requests.post(f"{url}/stop", timeout=5).json()["success"] is True
    poll(lambda: requests.get(f"{url}/stats/requests", timeout=5).json(), lambda data: data["state"] == "stopped")
    assert requests.post(f"{url}/finish", timeout=5).json()["success"] is True

    out = session.finish(timeout=END_TIMEOUT)
    assert session.process.returncode == 1, out
    run = judged(pytester.path)
    assert run["status"] == "stopped", run
    assert run["stopped"].startswith("stopped from the web UI at 00:0") and run["stopped"].endswith("of a 00:20 run")
    assert f"{run['stopped']}: its results are partial" in out and "1 failed" in out


def test_end_run_in_a_followed_run_before_its_run_time_is_stopped(pytester, target, sessions):
    """--load-web (no wait): End run is there too, and ending before the run time is not a pass."""
    pytester.makeconftest(URL_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    session = sessions(pytester.path, web_args(target, *OUTPUTS, run_time="30s"))
    url = session.url()
    assert 'id="finish"' in requests.get(url, timeout=5).text
    first_requests(url)
    assert requests.post(f"{url}/finish", timeout=5).json()["success"] is True
    out = session.finish(timeout=END_TIMEOUT)
    assert session.process.returncode == 1, out
    run = judged(pytester.path)
    assert run["status"] == "stopped" and run["stopped"].startswith("ended from the web UI at 00:0"), run
    assert run["stopped"].endswith("of a 00:30 run")


def test_restarted_run_that_ran_its_full_run_time_is_judged_normally(pytester, target, sessions):
    """Stop, then a new start from the form: judged from the latest start, which ran its whole run time."""
    pytester.makeconftest(URL_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    session = sessions(pytester.path, web_args(target, *OUTPUTS, run_time="3s"))
    url = session.url()
    first_requests(url)
    assert requests.post(f"{url}/stop", timeout=5).json()["success"] is True
    poll(lambda: requests.get(f"{url}/stats/requests", timeout=5).json(), lambda data: data["state"] == "stopped")
    restarted = requests.post(f"{url}/swarm", data={}, timeout=5).json()
    assert restarted["success"] is True, restarted
    assert verdict_of(url)["status"] == "passed"
    out = session.finish(timeout=END_TIMEOUT)
    assert session.process.returncode == 0, out
    run = judged(pytester.path)
    assert run["status"] == "passed" and run["stopped"] is None
    assert run["duration"] >= 2.5  # the latest start's run time, not the first start's


SHAPE_MODULE = SHOP_MODULE + '''
from pytest_loadhooks import LoadTestShape

class Long(LoadTestShape):
    def tick(self):
        return (2, 20) if self.get_run_time() < 60 else None
'''


def test_end_run_of_a_shape_run_before_the_shape_ended_it_is_stopped(pytester, target, sessions):
    pytester.makeconftest(URL_CONFTEST)
    pytester.makepyfile(test_shop=SHAPE_MODULE)
    session = sessions(pytester.path, ["--load-web", "--load-web-port=0", f"--load-host={target}", *OUTPUTS])
    url = session.url()
    first_requests(url)
    assert requests.post(f"{url}/finish", timeout=5).json()["success"] is True
    out = session.finish(timeout=END_TIMEOUT)
    assert session.process.returncode == 1, out
    run = judged(pytester.path)
    assert run["status"] == "stopped", run
    assert run["stopped"].startswith("ended from the web UI at 00:0"), run
    assert run["stopped"].endswith(", before its shape Long ended it")


# Nothing in a short test run makes a warning (a saturated generator takes a busy CPU for a while):
# this conftest gives every result one, as the code that finds one would, to see it reach the page.
WARNING_CONFTEST = '''
from pytest_loadhooks.plugin import run as _run

_init = _run.LoadResult.__init__

def _with_a_warning(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self.warnings.append("a warning <b>from</b> the conftest")

_run.LoadResult.__init__ = _with_a_warning
'''


def test_every_request_failed_and_warnings_show_on_the_dashboard(pytester, refused_url, sessions):
    """The run's own checks (run_failures) and its warnings reach the dashboard's verdict, as they
    reach the terminal."""
    pytester.makeconftest(URL_CONFTEST + WARNING_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    session = sessions(pytester.path, web_args(refused_url, *OUTPUTS, run_time="2s"))
    url = session.url()
    verdict = verdict_of(url)
    assert verdict["status"] == "failed"
    assert any(line.startswith("every request failed: ") for line in verdict["run_failures"]), verdict
    assert verdict["warnings"] == ["a warning <b>from</b> the conftest"] and verdict["stopped"] is None
    out = session.finish(timeout=END_TIMEOUT)
    assert session.process.returncode == 1, out
    assert "WARNING a warning <b>from</b> the conftest" in out


def test_waiting_session_whose_form_is_never_sent_ends_on_ctrl_c(pytester, target, sessions):
    """--load-web-wait waits for the form without a time limit; Ctrl-C ends it at once, interrupted."""
    pytester.makeconftest(URL_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    session = sessions(pytester.path, ["--load-web-wait", "--load-web-port=0", f"--load-host={target}",
                                       "--load-run-time=2s", *OUTPUTS])
    url = session.url()
    assert requests.get(f"{url}/loadhooks/status", timeout=5).json()["run"]["waiting_for_start"] is True
    time.sleep(3)  # longer than the run time: it bounds a started run only
    assert session.process.poll() is None
    session.process.send_signal(signal.SIGINT)
    out = session.finish(timeout=END_TIMEOUT)
    assert session.process.returncode == 2, out
    assert "Traceback" not in out
    assert judged(pytester.path)["status"] == "interrupted"


def test_end_run_before_any_start_is_stopped(pytester, target, sessions):
    pytester.makeconftest(URL_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    session = sessions(pytester.path, ["--load-web-wait", "--load-web-port=0", f"--load-host={target}", *OUTPUTS])
    url = session.url()
    assert requests.post(f"{url}/finish", timeout=5).json()["success"] is True
    out = session.finish(timeout=END_TIMEOUT)
    assert session.process.returncode == 1, out
    assert judged(pytester.path)["stopped"] == "ended from the web UI before the run was started"


# --------------------------------------------------------------------------- the UI's port, checked up front
def test_web_port_in_use_is_one_usage_error_before_any_run(pytester, target):
    pytester.makeconftest(RECORDING_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *web_args(target, run_time="1s")[:-1],
                                               f"--load-web-port={port}", timeout=60)
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert errors == [f"ERROR: pytest-loadhooks: the web UI cannot listen on 127.0.0.1:{port}: "
                      "the port is in use (choose another with --load-web-port, or 0 for any free port)"], output
    assert "Traceback" not in output and "AttributeError" not in output
    assert len(output.splitlines()) < 5, output
    assert not [event for event in read_events(pytester.path) if event["event"] in ("init", "request", "test_start")]


TAKES_THE_PORT_CONFTEST = RECORDING_CONFTEST + '''
import socket

HELD = []

def pytest_sessionstart(session):
    # After the plugin checked the port (at configure): taken before the run sets up its UI.
    port = session.config.getoption("load_web_port")
    sock = socket.socket()
    sock.bind(("127.0.0.1", int(port)))
    sock.listen()
    HELD.append(sock)
'''


def test_web_port_taken_after_the_check_fails_the_run_in_one_line(pytester, target):
    """The port taken between the session's check and the run: the run is not started, said in one
    line by its item (no AttributeError from a run driven without its UI)."""
    pytester.makeconftest(TAKES_THE_PORT_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *web_args(target, run_time="1s")[:-1],
                                           f"--load-web-port={port}", timeout=60)
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    assert (f"load run not started: the web UI cannot listen on 127.0.0.1:{port}: the port is in use" in output), output
    assert "Traceback" not in output and "AttributeError" not in output, output
    assert not [event for event in read_events(pytester.path) if event["event"] in ("request", "test_start")]


@pytest.mark.parametrize("mode", ["--load-web", "--load-web-wait"])
def test_run_time_zero_ends_a_run_driven_through_the_ui_at_once(pytester, target, mode):
    """A run time of 0 ends the run as soon as it starts, with the UI as without it (it ran for ever)."""
    pytester.makepyfile(test_shop=SHOP_MODULE)
    args = ["-p", "no:cacheprovider", mode, "--load-web-port=0", f"--load-host={target}", "--load-run-time=0"]
    if mode == "--load-web-wait":  # started from the form by a script, right after the UI comes up
        pytester.makeconftest(URL_CONFTEST + '''
import threading, time, urllib.request

@events.init.add_listener
def _start_from_the_form(web_ui, **kw):
    def post():
        time.sleep(0.5)
        urllib.request.urlopen(urllib.request.Request(web_ui.url + "/swarm", data=b"user_count=1", method="POST"))
    threading.Thread(target=post, daemon=True).start()
''')
    result = pytester.runpytest_subprocess(*args, timeout=60)
    output = result.stdout.str()
    assert result.ret == 0, output
    assert "load_run: PASSED" in output


def test_stop_in_a_distributed_run_ends_it_at_its_run_time_as_stopped(pytester, target, sessions):
    """The master's UI (--load-processes: a master and its local worker): Stop tells the worker to stop
    its users, the master keeps the run's clock, the session ends at the run time, stopped."""
    pytester.makeconftest(URL_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    session = sessions(pytester.path, web_args(target, "--load-processes=1", *OUTPUTS, run_time="5s"))
    url = session.url(timeout=90)
    first_requests(url)
    assert requests.post(f"{url}/stop", timeout=30).json()["success"] is True
    stopped = poll(lambda: requests.get(f"{url}/stats/requests", timeout=5).json(),
                   lambda data: data["state"] == "stopped")
    assert stopped["user_count"] == 0
    assert verdict_of(url)["status"] == "stopped"
    out = session.finish(timeout=END_TIMEOUT)
    assert session.process.returncode == 1, out
    run = judged(pytester.path)
    assert run["status"] == "stopped" and run["stopped"].endswith("of a 00:05 run"), run
