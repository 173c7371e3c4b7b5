"""Open an HTML report with a comparison section (--load-compare) in chromium, offline; print what it shows as JSON.

    python tests/browser/inspect_comparison.py REPORT.html --screenshot OUT.png

Everything inspect_report.py reads (charts and their painted series among it), plus the
comparison section: its table, warnings, endpoints on one side only and the overlaid charts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from inspect_report import CHROMIUM, CHROMIUM_ARGS, COLLECT
from playwright.sync_api import sync_playwright

COMPARISON = """() => {
  const section = document.getElementById('comparison');
  if (!section) { return {present: false}; }
  const all = (selector) => Array.from(section.querySelectorAll(selector));
  return {
    present: true,
    baseline: section.querySelector('#comparison-baseline').textContent.trim(),
    nav_link: !!document.querySelector('nav.toc a[href="#comparison"]'),
    headers: all('#comparison-table thead th').map((th) => th.textContent.trim()),
    rows: all('#comparison-table tbody tr').map((tr) => ({
      side: tr.className,
      cells: Array.from(tr.cells).map((td) => ({text: td.innerText.trim(), tone: td.className.replace('num', '').trim()})),
    })),
    warnings: all('#comparison-warnings li').map((li) => li.textContent.trim()),
    one_side: section.querySelector('#comparison-one-side') ? section.querySelector('#comparison-one-side').innerText : '',
    visible: section.getBoundingClientRect().height > 0,
  };
}"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report")
    parser.add_argument("--screenshot", required=True)
    args = parser.parse_args()
    findings: dict = {"page_errors": [], "console_errors": [], "blocked_requests": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True, viewport={"width": 1440, "height": 1000},
                                          device_scale_factor=1)

            def route(route):
                if route.request.url.startswith("file:"):
                    route.continue_()
                else:
                    findings["blocked_requests"].append(route.request.url)
                    route.abort()

            context.route("**/*", route)
            page = context.new_page()
            page.on("pageerror", lambda error: findings["page_errors"].append(str(error)))
            page.on("console", lambda msg: findings["console_errors"].append(msg.text) if msg.type == "error" else None)
            page.goto(Path(args.report).resolve().as_uri(), wait_until="load", timeout=90_000)
            page.wait_for_function("() => document.body.dataset.charts !== undefined", timeout=60_000)
            findings.update(page.evaluate(COLLECT))
            findings["comparison"] = page.evaluate(COMPARISON)
            page.locator("#comparison").screenshot(path=args.screenshot)
        finally:
            browser.close()
    json.dump(findings, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
