"""examples/web_ui over HTTP while its run goes: an added route, a Blueprint page, a login.

The example is copied as it is into a temporary directory and run as its own pytest project
(its own pytest.ini and conftest.py) with the UI on a free port; a small plugin given with
``-p`` writes the UI's URL to a file for the test (see test_web_ui.py's ``Session``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import requests
from test_web_ui import URL_CONFTEST, poll, sessions, web_args

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "web_ui"
PASSWORD = "correct horse battery staple"
FAST_SPAWN = "--load-spawn-rate=50"  # both users at once: the pages then show a running run

__all__ = ["sessions"]  # the fixture, shared with test_web_ui.py


@pytest.fixture
def example(tmp_path) -> Path:
    """A copy of examples/web_ui with the plugin that records the UI's URL."""
    directory = tmp_path / "web_ui"
    shutil.copytree(EXAMPLE, directory, ignore=shutil.ignore_patterns("__pycache__"))
    (directory / "record_url.py").write_text(URL_CONFTEST)
    return directory


def content_length_rows(page: str) -> dict[str, tuple[int, int]]:
    """Name -> (requests, bytes) from the rows of the Blueprint page's table."""
    cells = re.findall(r"<tr><td>GET</td><td>([^<]+)</td><td class=\"number\">(\d+)</td>"
                       r"<td class=\"number\">(\d+)</td></tr>", page)
    return {name: (int(count), int(length)) for name, count, length in cells}


def test_added_route_and_blueprint_page_answer_while_the_run_goes(example, target, sessions):
    session = sessions(example, ["-p", "record_url", *web_args(target, FAST_SPAWN, run_time="3s")])
    url = session.url()

    added = requests.get(f"{url}/added_page", timeout=5)
    assert added.status_code == 200 and added.text == "Another page"
    # The Blueprint's JSON and page: bytes per request name, summed by the example's request listener.
    poll(lambda: requests.get(f"{url}/content-length/json", timeout=5).json()["rows"],
         lambda rows: {row["name"] for row in rows} == {"/", "/big"})
    poll(lambda: requests.get(f"{url}/stats/requests", timeout=5).json(),
         lambda stats: stats["state"] == "running" and stats["user_count"] == 2)
    page = requests.get(f"{url}/content-length", timeout=5)
    assert page.status_code == 200 and "Content length per request" in page.text
    assert "running, 2 users" in page.text  # the run's template_args, as the dashboard has them
    rows = content_length_rows(page.text)
    assert set(rows) == {"/", "/big"}
    big_requests, big_bytes = rows["/big"]
    home_requests, home_bytes = rows["/"]
    assert big_requests > 0 and big_bytes == 1024 * big_requests  # /big?kb=1 answers 1024 bytes
    assert home_requests > 0 and home_bytes == 5 * home_requests  # / answers "hello"
    # The Blueprint's own static folder.
    css = requests.get(f"{url}/content-length/static/content_length.css", timeout=5)
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    assert "tabular-nums" in css.text

    out = session.finish()  # the example's own test checks the sums against the run's stats
    assert session.process.returncode == 0, out
    assert "2 passed" in out


def test_login_example_guards_every_page_until_the_form_logs_in(example, target, sessions):
    session = sessions(example, ["-p", "record_url", *web_args(target, FAST_SPAWN, "--load-web-login", run_time="3s")],
                       env={"WEB_UI_PASSWORD": PASSWORD})
    url = session.url()

    # Not logged in: JSON answers 401, pages (built-in and added) send the browser to the login page.
    refused = requests.get(f"{url}/stats/requests", timeout=5)
    assert refused.status_code == 401 and refused.json()["success"] is False
    for path in ("/", "/added_page", "/content-length"):
        page = requests.get(f"{url}{path}", allow_redirects=False, timeout=5)
        assert page.status_code == 302 and page.headers["Location"].split("?")[0].endswith("/login"), path
    assert requests.post(f"{url}/swarm", data={"user_count": "1"}, timeout=5).status_code == 401

    browser = requests.Session()
    login_page = browser.get(f"{url}/login", timeout=5)
    assert login_page.status_code == 200
    assert 'method="post" action="/login_submit"' in login_page.text and 'name="password"' in login_page.text
    assert PASSWORD not in login_page.text

    # A wrong password: back to the login page, which says so; still locked out.
    wrong = browser.post(f"{url}/login_submit", data={"username": "admin", "password": "guess"}, timeout=5)
    assert wrong.url.endswith("/login") and "Wrong username or password" in wrong.text
    assert browser.get(f"{url}/stats/requests", timeout=5).status_code == 401
    # A form posted by another site's page is refused, even with the right password.
    foreign = browser.post(f"{url}/login_submit", data={"username": "admin", "password": PASSWORD},
                           headers={"Origin": "http://evil.example"}, timeout=5)
    assert foreign.status_code == 403

    # Logged in through the form (posted as the browser would, from the login page).
    logged_in = browser.post(f"{url}/login_submit", data={"username": "admin", "password": PASSWORD},
                             headers={"Origin": url, "Referer": f"{url}/login"}, allow_redirects=False, timeout=5)
    assert logged_in.status_code == 302 and logged_in.headers["Location"] == "/"
    stats = poll(lambda: browser.get(f"{url}/stats/requests", timeout=5),
                 lambda answer: answer.status_code == 200 and answer.json()["stats"][-1]["num_requests"] > 0)
    assert stats.json()["state"] in ("spawning", "running")
    dashboard = browser.get(url, timeout=5)
    assert dashboard.status_code == 200 and dashboard.url.rstrip("/") == url
    assert browser.get(f"{url}/added_page", timeout=5).text == "Another page"
    assert "Content length per request" in browser.get(f"{url}/content-length", timeout=5).text

    out = session.finish()
    assert session.process.returncode == 0, out
    assert PASSWORD not in out


def test_extended_table_rows_reach_the_dashboard_json_and_its_csv(example, target, sessions):
    """status_codes.py: Locust's extended_tabs / extended_tables / extended_csv_files on the dashboard."""
    session = sessions(example, ["-p", "record_url", *web_args(target, FAST_SPAWN, run_time="3s")])
    url = session.url()

    stats = poll(lambda: requests.get(f"{url}/stats/requests", timeout=5).json(),
                 lambda data: any(row["name"] == "/big" and row["2xx"] > 0
                                  for block in data.get("extended_stats", []) for row in block["data"]))
    (block,) = stats["extended_stats"]
    assert block["key"] == "status-codes"
    rows = {row["name"]: row for row in block["data"]}
    assert set(rows) == {"/", "/big"}
    assert all(row["4xx"] == row["5xx"] == row["none"] == 0 for row in rows.values())
    dashboard = requests.get(f"{url}/", timeout=5).text
    assert "<h2>Status codes</h2>" in dashboard and 'data-key="status-codes"' in dashboard
    assert '<th data-key="2xx">2xx</th>' in dashboard and '<th data-key="none">No response</th>' in dashboard
    assert 'href="/status-codes/csv"' in dashboard
    table = requests.get(f"{url}/status-codes/csv", timeout=5)
    assert table.status_code == 200 and table.headers["Content-Type"].startswith("text/csv")
    lines = table.text.splitlines()
    assert lines[0] == "Name,2xx,3xx,4xx,5xx,No response" and {line.split(",")[0] for line in lines[1:]} == {"/", "/big"}

    out = session.finish()
    assert session.process.returncode == 0, out
