"""Open an HTML report in Debian's chromium (Playwright) with the network off, and print what it finds as JSON.

    python tests/browser/inspect_report.py REPORT.html --screenshot OUT.png [--filter TEXT] [--full-page]

Runs in its own process: the test suite is gevent monkey-patched, which
Playwright's sync API does not mix with. Only file:// requests are let through;
any other request the page attempts is blocked and listed under "blocked_requests".
"""

from __future__ import annotations

import argparse
import json
import sys
import os
import shutil
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
"""Debian's chromium (scripts/setup-dev.sh installs it); another build can be named in CHROMIUM_PATH."""
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]

# Everything read from the page in one go, so the findings are a consistent snapshot.
COLLECT = """() => {
  const text = (el) => el ? el.textContent.trim() : null;
  const rows = (selector) => Array.from(document.querySelectorAll(selector));
  // Charts are drawn on a canvas: count the pixels painted in each series colour of the chart module's palette
  // (gridlines, axes and translucent fills are not close to any of them), and the bars along one row.
  const palette = Object.entries((window.LoadhooksCharts || {}).COLORS || {}).map(([name, hex]) => {
    const n = parseInt(hex.slice(1), 16);
    return [name, [n >> 16, (n >> 8) & 255, n & 255]];
  });
  const near = (data, i, rgb) => data[i + 3] > 200 && Math.abs(data[i] - rgb[0]) < 40
    && Math.abs(data[i + 1] - rgb[1]) < 40 && Math.abs(data[i + 2] - rgb[2]) < 40;
  const paint = (canvas) => {
    const found = {series_pixels: {}, bars: 0};
    if (!canvas || !canvas.width || !canvas.height) { return found; }
    const {data, width, height} = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    for (const [name, rgb] of palette) {
      let count = 0;
      for (let i = 0; i < data.length; i += 4) { if (near(data, i, rgb)) { count += 1; } }
      if (count) { found.series_pixels[name] = count; }
    }
    // Bars: runs of bar-coloured pixels along the row just above the x axis.
    const barColors = palette.filter(([name]) => name === 'bars' || name === 'total').map(([, rgb]) => rgb);
    let bestRow = 0;
    for (let y = height - 1; y >= 0 && !bestRow; y -= 1) {
      for (let x = 0; x < width; x += 1) {
        if (barColors.some((rgb) => near(data, (y * width + x) * 4, rgb))) { bestRow = y; break; }
      }
    }
    let inside = false;
    for (let x = 0; x < width; x += 1) {
      const hit = barColors.some((rgb) => near(data, (bestRow * width + x) * 4, rgb));
      if (hit && !inside) { found.bars += 1; }
      inside = hit;
    }
    return found;
  };
  const charts = rows('[data-chart]').map((el) => {
    const canvas = el.querySelector('canvas');
    const box = el.getBoundingClientRect();
    const painted = paint(canvas);
    return {
      id: el.id,
      kind: el.dataset.chart,
      rendered: el.dataset.rendered === 'true',
      canvas_count: el.querySelectorAll('canvas').length,
      canvas_width: canvas ? canvas.width : 0,
      canvas_height: canvas ? canvas.height : 0,
      series_pixels: painted.series_pixels,
      bars: painted.bars,
      legend: Array.from(el.querySelectorAll('.u-legend .u-series th')).map((th) => th.textContent.trim()),
      width: box.width,
      height: box.height,
    };
  });
  return {
    title: document.title,
    charts_state: document.body.dataset.charts || null,
    status: text(document.getElementById('run-status')),
    status_reasons: text(document.getElementById('run-status-reasons')),
    exit_code: text(document.getElementById('run-exit-code')),
    run_name: text(document.getElementById('run-name')),
    host: text(document.getElementById('run-host')),
    summary_text: document.getElementById('summary').innerText,
    kpis: rows('#summary .kpi').map((el) => ({label: text(el.querySelector('.label')), value: text(el.querySelector('.value'))})),
    thresholds: rows('#thresholds-table tbody tr').map((tr) => ({
      result: tr.className, cells: Array.from(tr.cells).map((td) => td.textContent.trim())})),
    endpoint_rows: rows('#endpoints-table tbody tr').length,
    endpoint_rows_sample: rows('#endpoints-table tbody tr').slice(0, 50).map((tr) => Array.from(tr.cells).map((td) => td.textContent)),
    endpoint_headers: rows('#endpoints-table thead th').map((th) => th.textContent.trim()),
    aggregated_row: Array.from(document.querySelectorAll('#aggregated-row td')).map((td) => td.textContent.trim()),
    endpoint_names: rows('#endpoints-table tbody td.name').slice(0, 200).map((td) => td.textContent),
    failure_rows: rows('#failures-table tbody tr').map((tr) => Array.from(tr.cells).map((td) => td.textContent)),
    exceptions: rows('#exceptions details').map((d) => ({summary: d.querySelector('summary').textContent, traceback: text(d.querySelector('pre'))})),
    arguments: rows('#arguments-table tbody tr').map((tr) => Array.from(tr.cells).map((td) => td.textContent.trim())),
    listener_errors: rows('#listener-errors details').map((d) => ({summary: d.querySelector('summary').textContent, traceback: text(d.querySelector('pre'))})),
    charts: charts,
    script_elements: document.scripts.length,
    img_elements: document.images.length,
    body_text_length: document.body.innerText.length,
    xss_marker: window.__xss === undefined ? null : String(window.__xss),
  };
}"""


def visible_rows(page) -> int:
    return page.evaluate("() => Array.from(document.querySelectorAll('#endpoints-table tbody tr')).filter((tr) => !tr.hidden).length")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report")
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--filter", help="type this into the endpoint filter and count the rows left")
    parser.add_argument("--full-page", action="store_true", help="screenshot the whole page, not just the viewport")
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args()

    url = Path(args.report).resolve().as_uri()
    findings: dict = {"url": url, "dialogs": [], "page_errors": [], "console_errors": [], "blocked_requests": []}
    timings = findings["timings"] = {}  # seconds per step, to see where a slow page spends its time
    clock = [time.monotonic()]

    def lap(step: str) -> None:
        now = time.monotonic()
        timings[step] = round(now - clock[0], 3)
        clock[0] = now

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            lap("launch")
            context = browser.new_context(offline=True, viewport={"width": args.width, "height": args.height},
                                          device_scale_factor=1)

            def route(route):
                if route.request.url.startswith("file:"):
                    route.continue_()
                else:
                    findings["blocked_requests"].append(route.request.url)
                    route.abort()

            context.route("**/*", route)
            page = context.new_page()

            def on_dialog(dialog):
                findings["dialogs"].append({"type": dialog.type, "message": dialog.message})
                dialog.dismiss()

            page.on("dialog", on_dialog)
            page.on("pageerror", lambda error: findings["page_errors"].append(str(error)))
            page.on("console", lambda msg: findings["console_errors"].append(msg.text) if msg.type == "error" else None)
            page.goto(url, wait_until="load", timeout=90_000)
            lap("load")
            page.wait_for_function("() => document.body.dataset.charts !== undefined", timeout=60_000)
            lap("charts")
            findings.update(page.evaluate(COLLECT))
            lap("collect")
            page.screenshot(path=args.screenshot, full_page=args.full_page)  # the page as it opened
            findings["screenshot"] = args.screenshot
            lap("screenshot")

            # The table works: sorting by request count puts the busiest endpoint first, filtering narrows it.
            if findings["endpoint_rows"]:
                page.click("#endpoints-table thead th:nth-child(3)")
                findings["first_row_after_sort"] = page.evaluate(
                    "() => Array.from(document.querySelector('#endpoints-table tbody tr').cells).map((td) => td.textContent)")
                lap("sort")
            if args.filter is not None:
                page.fill("#endpoint-filter", args.filter)
                page.wait_for_function(
                    "(needle) => document.getElementById('endpoint-count').textContent.includes(' of ')"
                    " || needle === ''", arg=args.filter, timeout=10_000)
                findings["filtered_rows"] = visible_rows(page)
                findings["filter_count_text"] = page.inner_text("#endpoint-count")
                lap("filter")
        finally:
            browser.close()
    json.dump(findings, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
