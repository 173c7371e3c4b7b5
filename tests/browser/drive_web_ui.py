"""Drive the web UI in Debian's chromium (Playwright) the way a person would, and print what it saw as JSON.

    python tests/browser/drive_web_ui.py controls URL --shots DIR
    python tests/browser/drive_web_ui.py login URL --shots DIR --username U --password P
    python tests/browser/drive_web_ui.py pages URL --shots DIR
    python tests/browser/drive_web_ui.py start URL --shots DIR --field NAME=VALUE ...
    python tests/browser/drive_web_ui.py stop URL --shots DIR
    python tests/browser/drive_web_ui.py thresholds URL --shots DIR

Each scenario clicks the dashboard's own buttons and fills its own forms; nothing is posted behind the
page's back. Runs in its own process (Playwright's sync API does not mix with gevent's patching) and
launches chromium with inspect_dashboard.py's settings. Screenshots go to DIR, one per step.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inspect_dashboard import CHROMIUM, CHROMIUM_ARGS

READ = """() => {
  const total = document.querySelector('#endpoints tr.total td:nth-child(3)');
  return {
    state: document.getElementById('state').textContent,
    users: parseInt(document.getElementById('kpi-users').textContent.replace(/,/g, '')),
    requests: total ? parseInt(total.textContent.replace(/,/g, '')) : 0,
    message: document.getElementById('message').textContent,
  };
}"""

TIMEOUT_MS = 30000


class Steps:
    """What the page showed after each step, with a screenshot of it."""

    def __init__(self, page: Page, shots: Path) -> None:
        self.page = page
        self.shots = shots
        self.seen: dict[str, object] = {}

    def wait_until(self, condition: str) -> None:
        """Wait until the dashboard's numbers satisfy ``condition`` (a JS expression over ``d``, what READ gives)."""
        self.page.wait_for_function(f"() => {{ const d = ({READ})(); return {condition}; }}", timeout=TIMEOUT_MS)

    def record(self, name: str) -> None:
        self.seen[name] = self.page.evaluate(READ)
        self.page.screenshot(path=str(self.shots / f"{len(self.seen):02d}-{name}.png"), full_page=True)


def set_users(page: Page, users: int, spawn_rate: int = 20) -> None:
    page.fill("#user_count", str(users))
    page.fill("#spawn_rate", str(spawn_rate))


def controls(page: Page, url: str, shots: Path) -> dict:
    """Start, stop, reset, start again with more users, edit down while running, then end the session."""
    steps = Steps(page, shots)
    page.goto(url)
    steps.wait_until("d.state === 'ready'")
    steps.record("ready")

    set_users(page, 2)
    page.click("#start")
    steps.wait_until("d.state === 'running' && d.users === 2 && d.requests > 0")
    steps.record("started")

    page.click("#stop")
    steps.wait_until("d.state === 'stopped' && d.users === 0")
    steps.record("stopped")

    page.click("#reset")
    steps.wait_until("d.requests === 0")
    steps.record("reset")

    set_users(page, 3)  # edited in the form, then started again
    page.click("#start")
    steps.wait_until("d.state === 'running' && d.users === 3 && d.requests > 0")
    steps.record("restarted")

    set_users(page, 1)  # the running load edited from the form
    page.click("#start")
    steps.wait_until("d.state === 'running' && d.users === 1")
    steps.record("edited")

    page.click("#finish")
    page.wait_for_function("() => document.getElementById('message').textContent !== ''", timeout=TIMEOUT_MS)
    steps.seen["finish_message"] = page.text_content("#message")
    return steps.seen


def login(page: Page, url: str, shots: Path, username: str, password: str) -> dict:
    """Open the dashboard logged out, try a wrong password, then log in through the form."""
    seen: dict[str, object] = {}
    page.goto(url)
    page.wait_for_selector("#login-form")
    seen["before_login"] = {"path": page.url[len(url):], "has_dashboard": page.query_selector("#swarm-form") is not None}
    page.screenshot(path=str(shots / "01-login-page.png"), full_page=True)

    page.fill("#username", username)
    page.fill("#password", password + "-wrong")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error")
    seen["wrong_password"] = {"path": page.url[len(url):], "error": page.text_content("#login-error")}
    page.screenshot(path=str(shots / "02-wrong-password.png"), full_page=True)

    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#swarm-form")
    page.wait_for_function("() => document.body.hasAttribute('data-refreshed')", timeout=TIMEOUT_MS)
    seen["after_login"] = {"path": page.url[len(url):], "state": page.text_content("#state"),
                           "has_logout": page.query_selector("form.logout") is not None}
    page.screenshot(path=str(shots / "03-dashboard.png"), full_page=True)
    page.goto(url + "/added_page")
    seen["added_page_logged_in"] = page.text_content("body")
    return seen


def pages(page: Page, url: str, shots: Path) -> dict:
    """The example's added route and its Blueprint page, as the browser renders them."""
    seen: dict[str, object] = {}
    page.goto(url + "/added_page")
    seen["added_page"] = page.text_content("body")
    page.screenshot(path=str(shots / "01-added-page.png"), full_page=True)

    page.goto(url + "/content-length")
    for _ in range(50):  # server-rendered: reload until both request names have rows
        names = page.eval_on_selector_all("#content-length tbody tr td:nth-child(2)", "cells => cells.length")
        if names >= 2:
            break
        page.wait_for_timeout(200)
        page.reload()
    seen["content_length"] = {
        "title": page.title(),
        "headers": page.eval_on_selector_all("table th", "cells => cells.map(c => c.textContent.trim())"),
        "rows": page.eval_on_selector_all(
            "table tbody tr", "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent.trim()))"),
        "stylesheets": page.evaluate("() => Array.from(document.styleSheets).map(s => s.href)"),
        "styled": page.evaluate("() => Array.from(document.styleSheets).some(s => s.href && s.cssRules.length > 0)"),
    }
    page.screenshot(path=str(shots / "02-content-length.png"), full_page=True)

    # The dashboard's extended table (status_codes.py): filled by its own refresh from extended_stats.
    page.goto(url + "/")
    table = 'table.extended-table[data-key="status-codes"]'
    page.wait_for_function(f"() => document.querySelectorAll('{table} tbody tr').length >= 2", timeout=TIMEOUT_MS)
    seen["extended_table"] = {
        "title": page.text_content("section.extended h2"),
        "headers": page.eval_on_selector_all(f"{table} th", "cells => cells.map(c => c.textContent.trim())"),
        "rows": page.eval_on_selector_all(
            f"{table} tbody tr", "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent.trim()))"),
        "csv_link": page.get_attribute("a[href='/status-codes/csv']", "href"),
    }
    page.screenshot(path=str(shots / "03-extended-table.png"), full_page=True)
    return seen


def start(page: Page, url: str, shots: Path, fields: list[str]) -> dict:
    """Fill the start form (users and the custom arguments given as NAME=VALUE) and start the run."""
    steps = Steps(page, shots)
    page.goto(url)
    steps.wait_until("d.state === 'ready'")
    set_users(page, 1)
    for field in fields:
        name, value = field.split("=", 1)
        selector = f"#arg-{name}"
        if page.eval_on_selector(selector, "e => e.tagName") == "SELECT":
            page.select_option(selector, value)
        else:
            page.fill(selector, value)
    steps.record("filled")
    page.click("#start")
    steps.wait_until("d.state === 'running' && d.requests > 0")
    steps.record("running")
    page.click("#finish")
    page.wait_for_function("() => document.getElementById('message').textContent !== ''", timeout=TIMEOUT_MS)
    return steps.seen


VERDICT = """() => {
  const box = document.getElementById('verdict');
  if (!box || box.hidden) { return null; }
  return {
    status: box.getAttribute('data-status'),
    label: document.getElementById('verdict-status').textContent,
    lines: Array.from(document.querySelectorAll('#verdict-lines li')).map(li => li.textContent),
    warnings: Array.from(document.querySelectorAll('#verdict-lines li.warn')).map(li => li.textContent),
  };
}"""


def stop(page: Page, url: str, shots: Path) -> dict:
    """Start the run from the form (its run time counts from this click, however long the browser took
    to come up), click Stop while it goes, then wait, with no other click, for the dashboard to show
    the run's verdict."""
    steps = Steps(page, shots)
    page.goto(url)
    steps.wait_until("d.state === 'ready'")
    set_users(page, 2)
    page.click("#start")
    steps.wait_until("d.state === 'running' && d.requests > 0")
    steps.record("running")
    page.click("#stop")
    steps.wait_until("d.state === 'stopped' && d.users === 0")
    steps.record("stopped")
    page.wait_for_function(f"() => ({VERDICT})() !== null", timeout=TIMEOUT_MS)
    steps.seen["verdict"] = page.evaluate(VERDICT)
    page.screenshot(path=str(shots / f"{len(steps.seen):02d}-verdict.png"), full_page=True)
    return steps.seen


THRESHOLDS = """() => Array.from(document.querySelectorAll('#thresholds li')).map(li => ({
  state: li.getAttribute('data-state'), cls: li.className, text: li.textContent,
}))"""


def thresholds(page: Page, url: str, shots: Path) -> dict:
    """The thresholds card as the run goes: waiting before the form's start, then each threshold's live
    state (one passing, one failing and counting its breach), then the verdict the abort gave."""
    steps = Steps(page, shots)
    page.goto(url)
    steps.wait_until("d.state === 'ready'")
    page.wait_for_function(f"() => ({THRESHOLDS})().length > 0", timeout=TIMEOUT_MS)
    steps.seen["before"] = page.evaluate(THRESHOLDS)
    set_users(page, 2)
    page.click("#start")
    page.wait_for_function(f"() => ({THRESHOLDS})().some(t => t.state === 'failing' && /failing for [1-9]/.test(t.text))"
                           f" && ({THRESHOLDS})().some(t => t.state === 'passing')", timeout=TIMEOUT_MS)
    steps.seen["live"] = page.evaluate(THRESHOLDS)
    page.screenshot(path=str(shots / "01-live-thresholds.png"), full_page=True)
    page.wait_for_function(f"() => ({VERDICT})() !== null", timeout=TIMEOUT_MS)
    steps.seen["verdict"] = page.evaluate(VERDICT)
    steps.seen["after"] = page.evaluate(THRESHOLDS)
    page.screenshot(path=str(shots / "02-verdict.png"), full_page=True)
    return steps.seen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["controls", "login", "pages", "start", "stop", "thresholds"])
    parser.add_argument("url")
    parser.add_argument("--shots", required=True, type=Path)
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="")
    parser.add_argument("--field", action="append", default=[])
    args = parser.parse_args()
    args.shots.mkdir(parents=True, exist_ok=True)
    url = args.url.rstrip("/")
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.on("pageerror", lambda error: errors.append(str(error)))
        if args.scenario == "controls":
            seen = controls(page, url, args.shots)
        elif args.scenario == "login":
            seen = login(page, url, args.shots, args.username, args.password)
        elif args.scenario == "pages":
            seen = pages(page, url, args.shots)
        elif args.scenario == "stop":
            seen = stop(page, url, args.shots)
        elif args.scenario == "thresholds":
            seen = thresholds(page, url, args.shots)
        else:
            seen = start(page, url, args.shots, args.field)
        browser.close()
    print(json.dumps({"seen": seen, "page_errors": errors}))


if __name__ == "__main__":
    main()
