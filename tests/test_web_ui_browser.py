"""The web UI driven in a real browser (Debian's chromium through Playwright), and the seeds' added routes.

Each test runs a pytest session with the UI in a subprocess (see test_web_ui.py's ``Session``) and
hands its URL to tests/browser/drive_web_ui.py, which clicks the dashboard's buttons and fills its
forms in its own process (Playwright's sync API does not mix with gevent's patching). Screenshots
of every step land in the test's tmp_path.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from plugin_helpers import SHOP_MODULE
from test_report import chromium_available
from test_web_ui import URL_CONFTEST, WARNING_CONFTEST, poll, sessions, web_args
from test_web_ui_examples import EXAMPLE, FAST_SPAWN, PASSWORD

DRIVER = Path(__file__).resolve().parent / "browser" / "drive_web_ui.py"
SEEDS = Path(__file__).resolve().parent.parent / "examples" / "seeds"

__all__ = ["sessions"]  # the fixture, shared with test_web_ui.py


def drive(scenario: str, url: str, shots: Path, *extra: str) -> dict:
    """Run one browser scenario against ``url``; what the page showed, step by step."""
    if not chromium_available():
        pytest.skip("no chromium to open the report in: run scripts/setup-dev.sh (installs Debian's chromium) "
                    "or name a build in CHROMIUM_PATH")
    result = subprocess.run([sys.executable, str(DRIVER), scenario, url, "--shots", str(shots), *extra],
                            check=False, capture_output=True, text=True, timeout=150)
    assert result.returncode == 0, f"browser script failed:\n{result.stderr[-4000:]}"
    found = json.loads(result.stdout)
    assert found["page_errors"] == []
    assert sorted(shots.glob("*.png")), "no screenshots taken"
    return found["seen"]


@pytest.fixture
def example(tmp_path) -> Path:
    """A copy of examples/web_ui with the plugin that records the UI's URL."""
    directory = tmp_path / "web_ui"
    shutil.copytree(EXAMPLE, directory, ignore=shutil.ignore_patterns("__pycache__"))
    (directory / "record_url.py").write_text(URL_CONFTEST)
    return directory


# --------------------------------------------------------------------------- the dashboard's controls
def test_start_stop_reset_edit_and_restart_from_the_dashboard(pytester, target, sessions, tmp_path):
    pytester.makeconftest(URL_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    session = sessions(pytester.path, ["--load-web-wait", "--load-web-port=0", f"--load-host={target}"])
    seen = drive("controls", session.url(), tmp_path / "shots")

    assert seen["ready"]["state"] == "ready" and seen["ready"]["requests"] == 0
    assert seen["started"]["users"] == 2 and seen["started"]["requests"] > 0
    assert seen["stopped"]["state"] == "stopped" and seen["stopped"]["requests"] >= seen["started"]["requests"]
    assert seen["reset"]["requests"] == 0  # the reset button emptied the table
    assert seen["restarted"]["users"] == 3 and seen["restarted"]["requests"] > 0
    assert seen["edited"]["users"] == 1 and seen["edited"]["state"] == "running"
    assert seen["finish_message"]

    out = session.finish(timeout=60)  # "End run" handed the last run to pytest, before its run time: stopped
    assert session.process.returncode == 1, out
    assert "STOPPED ended from the web UI at" in out


def test_stop_clicked_in_the_browser_ends_the_run_on_time_as_stopped(pytester, target, sessions, tmp_path):
    """Started from the form, then the dashboard's Stop: the session ends by itself at the run time
    (no End run), and the dashboard shows the verdict the terminal gives (stopped, with its sentence,
    and the result's warnings)."""
    pytester.makeconftest(URL_CONFTEST + WARNING_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    session = sessions(pytester.path, ["--load-web-wait", "--load-web-port=0", f"--load-host={target}",
                                       "--load-run-time=8s", "--load-json=report.json"])
    seen = drive("stop", session.url(), tmp_path / "shots")

    assert seen["running"]["requests"] > 0 and seen["stopped"]["users"] == 0
    verdict = seen["verdict"]
    assert verdict["status"] == "stopped" and verdict["label"] == "Stopped early"
    assert len(verdict["lines"]) == 2 and verdict["warnings"] == ["a warning <b>from</b> the conftest"], verdict
    assert verdict["lines"][0].startswith("stopped from the web UI at 00:0"), verdict
    assert verdict["lines"][0].endswith("of a 00:08 run"), verdict  # the sentence, then the warning (as text)
    out = session.finish(timeout=60)  # nobody clicked End run: the run time ended the session
    assert session.process.returncode == 1, out
    run = json.loads((pytester.path / "report.json").read_text())["run"]
    assert run["status"] == "stopped" and run["stopped"] in verdict["lines"]


# --------------------------------------------------------------------------- a custom argument from the form
ARGUMENT_CONFTEST = '''
import json, os
from pytest_loadhooks import events

@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--my-argument", type=str, default="", include_in_web_ui=True, help="It's working")
    parser.add_argument("--env", choices=["dev", "staging", "prod"], default="dev", include_in_web_ui=True)

@events.test_start.add_listener
def _started(environment, **kw):
    options = environment.parsed_options
    with open(os.path.join(os.path.dirname(__file__), "started.json"), "w") as handle:
        json.dump({"my_argument": options.my_argument, "env": options.env}, handle)
'''


def test_run_started_from_the_browser_form_sees_the_custom_argument(pytester, target, sessions, tmp_path):
    pytester.makeconftest(URL_CONFTEST + ARGUMENT_CONFTEST)
    pytester.makepyfile(test_shop=SHOP_MODULE)
    session = sessions(pytester.path, ["--load-web-wait", "--load-web-port=0", f"--load-host={target}"])
    seen = drive("start", session.url(), tmp_path / "shots",
                 "--field", "my_argument=typed <b>in</b> the browser", "--field", "env=staging")
    assert seen["running"]["requests"] > 0

    out = session.finish(timeout=60)
    assert session.process.returncode == 1 and "STOPPED ended from the web UI at" in out, out  # End run, early
    assert json.loads((pytester.path / "started.json").read_text()) == {
        "my_argument": "typed <b>in</b> the browser", "env": "staging"}


# --------------------------------------------------------------------------- examples/web_ui in the browser
def test_login_flow_of_the_auth_example_in_the_browser(example, target, sessions, tmp_path):
    # A run time long enough for the login steps on a busy machine: the UI goes with the session.
    session = sessions(example, ["-p", "record_url", *web_args(target, FAST_SPAWN, "--load-web-login", run_time="15s")],
                       env={"WEB_UI_PASSWORD": PASSWORD})
    seen = drive("login", session.url(), tmp_path / "shots", "--username", "admin", "--password", PASSWORD)

    assert seen["before_login"]["path"].startswith("/login") and not seen["before_login"]["has_dashboard"]
    assert seen["wrong_password"]["path"].startswith("/login")
    assert "Wrong username or password" in seen["wrong_password"]["error"]
    assert seen["after_login"]["path"] in ("", "/") and seen["after_login"]["has_logout"]
    assert seen["after_login"]["state"] in ("spawning", "running", "stopped")
    assert seen["added_page_logged_in"] == "Another page"
    session.finish()


def test_added_route_and_blueprint_page_render_in_the_browser(example, target, sessions, tmp_path):
    # A run time long enough for chromium to come up on a busy machine: the UI goes with the session.
    session = sessions(example, ["-p", "record_url", *web_args(target, FAST_SPAWN, run_time="12s")])
    seen = drive("pages", session.url(), tmp_path / "shots")

    assert seen["added_page"] == "Another page"
    page = seen["content_length"]
    assert page["title"].startswith("Content length")
    assert page["headers"] == ["Method", "Name", "Requests", "Total content length (bytes)"]
    rows = {row[1]: (int(row[2]), int(row[3])) for row in page["rows"]}
    assert set(rows) == {"/", "/big"}
    assert rows["/big"][0] > 0 and rows["/big"][1] == 1024 * rows["/big"][0]
    assert page["styled"], "the Blueprint's own stylesheet did not load"
    extended = seen["extended_table"]  # Locust's extended_tabs / extended_tables, on the dashboard
    assert extended["title"] == "Status codes"
    assert extended["headers"] == ["Name", "2xx", "3xx", "4xx", "5xx", "No response"]
    codes = {row[0]: row[1:] for row in extended["rows"]}
    assert set(codes) == {"/", "/big"} and all(int(row[0].replace(",", "")) > 0 for row in codes.values())
    assert extended["csv_link"] == "/status-codes/csv"
    out = session.finish()
    assert session.process.returncode == 0, out


# --------------------------------------------------------------------------- the seeds' added routes
@pytest.mark.parametrize("seed", ["seed000_added_page", "seed001_added_page", "seed003_added_page"])
def test_seed_added_page_answers_while_the_run_goes(seed, pytester, target, sessions):
    shutil.copy(SEEDS / f"{seed}.py", pytester.path / f"{seed}.py")
    pytester.makeconftest(URL_CONFTEST + f"\nimport {seed}  # noqa: F401\n")
    pytester.makepyfile(test_shop=SHOP_MODULE)
    session = sessions(pytester.path, web_args(target, run_time="3s"))
    url = session.url()
    poll(lambda: requests.get(f"{url}/stats/requests", timeout=5).json(),
         lambda stats: stats["state"] == "running" and stats["stats"][-1]["num_requests"] > 0)
    page = requests.get(f"{url}/added_page", timeout=5)
    assert page.status_code == 200 and page.text == "Another page"
    out = session.finish()
    assert session.process.returncode == 0, out
