"""Open the web UI's dashboard in Debian's chromium (Playwright) and print what it shows as JSON.

    python tests/browser/inspect_dashboard.py URL --screenshot OUT.png [--wait-requests N]

Runs in its own process (Playwright's sync API does not mix with gevent's patching). Waits until the
dashboard has refreshed with at least N requests counted, then reports the numbers twice, a few
seconds apart, so a caller can see them move; any request the page makes off the UI's origin is
blocked and listed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil

from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

READ = """() => ({
  state: document.getElementById('state').textContent,
  users: document.getElementById('kpi-users').textContent,
  rps: document.getElementById('kpi-rps').textContent,
  requests: (document.querySelector('#endpoints tr.total td:nth-child(3)') || {}).textContent || null,
  endpoint_rows: document.querySelectorAll('#endpoints tbody tr').length,
  charts_drawn: document.querySelectorAll('.chart canvas').length,
})"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--screenshot")
    parser.add_argument("--wait-requests", type=int, default=1)
    parser.add_argument("--self-signed", action="store_true",
                        help="accept the UI's self-signed test certificate (the test verifies it apart)")
    args = parser.parse_args()
    blocked: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100}, ignore_https_errors=args.self_signed)
        origin = args.url.rstrip("/")

        def route(request_route):
            if request_route.request.url.startswith(origin):
                request_route.continue_()
            else:
                blocked.append(request_route.request.url)
                request_route.abort()

        page.route("**/*", route)
        page.goto(args.url)
        page.wait_for_function(
            "n => { const c = document.querySelector('#endpoints tr.total td:nth-child(3)');"
            " return c && parseInt(c.textContent.replace(/,/g, '')) >= n && document.querySelectorAll('.chart canvas').length >= 3; }",
            arg=args.wait_requests, timeout=20000)
        first = page.evaluate(READ)
        page.wait_for_timeout(3000)
        second = page.evaluate(READ)
        if args.screenshot:
            page.screenshot(path=args.screenshot, full_page=True)
        browser.close()
    print(json.dumps({"first": first, "second": second, "blocked_requests": blocked}))


if __name__ == "__main__":
    main()
