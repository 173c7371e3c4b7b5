"""Open an HTML report in Debian's chromium (Playwright), network off, and print what its header says as JSON:
the status, and each line under it (the run's failed checks, its warnings), with whether it is visible on the
first screen and its colours.

    python tests/browser/inspect_verdict_notes.py REPORT.html

Runs in its own process: the test suite is gevent monkey-patched, which Playwright's sync API does not mix with.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from inspect_report import CHROMIUM, CHROMIUM_ARGS
from playwright.sync_api import sync_playwright

COLLECT = """() => {
  const lines = (id) => Array.from(document.querySelectorAll('#' + id + ' li')).map((li) => {
    const box = li.getBoundingClientRect();
    const style = getComputedStyle(li);
    return {text: li.textContent.trim(), top: box.top, bottom: box.bottom, width: box.width,
            on_first_screen: box.top >= 0 && box.bottom <= window.innerHeight && box.width > 0,
            color: style.color, background: style.backgroundColor};
  });
  const status = document.getElementById('run-status');
  return {status: status.textContent.trim(), status_bottom: status.getBoundingClientRect().bottom,
          failures: lines('run-failures'), warnings: lines('run-warnings')};
}"""


def main() -> int:
    report = Path(sys.argv[1]).resolve()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        blocked: list[str] = []

        def route(request_route):
            if request_route.request.url.startswith("file://"):
                request_route.continue_()
            else:
                blocked.append(request_route.request.url)
                request_route.abort()

        page.route("**/*", route)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(report.as_uri())
        found = page.evaluate(COLLECT)
        browser.close()
    print(json.dumps({**found, "page_errors": errors, "blocked_requests": blocked}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
