"""Make docs/report-screenshot.png: a real report of a real run, photographed in chromium.

    python tests/browser/make_docs_screenshot.py [--seconds 30] [--out docs/report-screenshot.png] [--keep-html PATH]

Starts examples/target_app.py on 127.0.0.1, ramps users up against it (in a
gevent-patched child process, since Playwright does not mix with gevent), writes
the HTML report, and screenshots its top part with the network off.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

THRESHOLDS = ["p95 < 300", "fail_ratio < 0.05", "GET /search: p99 < 400"]


def generate(host: str, html: str, seconds: float) -> None:
    """The load run (this runs in the child process)."""
    from gevent import monkey

    monkey.patch_all()

    import gevent  # noqa: F401 - patched above

    from pytest_loadhooks import Environment, Events, HttpUser, between, task
    from pytest_loadhooks.report import ReportWriter

    class Shopper(HttpUser):
        wait_time = between(0.1, 0.4)

        @task(6)
        def home(self):
            self.client.get("/")

        @task(4)
        def catalog(self):
            self.client.get("/big?kb=24", name="/catalog")

        @task(3)
        def search(self):
            self.client.get("/slow?ms=60", name="/search")

        @task(2)
        def product(self):
            self.client.get("/api/data", name="/api/product/[id]")

        @task(2)
        def cart(self):
            self.client.post("/cart", json={"sku": "A-1", "qty": 1})

        @task(1)
        def checkout(self):
            self.client.post("/flaky?fail=0.04", name="/checkout")

        def on_start(self):
            self.client.post("/login", json={"user": "demo"})

    environment = Environment(user_classes=[Shopper], host=host, events=Events())
    runner = environment.create_local_runner()
    writer = ReportWriter(html=html)
    writer.attach(runner)
    users, rate = 40, 4
    runner.run(users, rate, seconds)
    stats = environment.stats
    search = stats.entries[("/search", "GET")]
    measured = [stats.total.exact_percentile(0.95), stats.total.fail_ratio,
                search.exact_percentile(0.99)]
    limits = [300.0, 0.05, 400.0]
    thresholds = [
        {"expression": expression, "passed": value < limit, "measured": value, "limit": limit,
         "message": f"{expression.split(': ')[-1].split(' <')[0]} = {value:.4g} (limit {limit:g})"}
        for expression, value, limit in zip(THRESHOLDS, measured, limits)
    ]
    failed = not all(t["passed"] for t in thresholds)
    writer.finish(environment, {
        "name": "tests/load/test_shop.py::load_run",
        "host": host,
        "started_at": runner.start_time,
        "ended_at": runner.stop_time,
        "duration": runner.stop_time - runner.start_time,
        "users": users,
        "spawn_rate": rate,
        "run_time": seconds,
        "status": "errored" if runner.exit_code else ("failed" if failed else "passed"),
        "exit_code": runner.exit_code or int(failed),
        "thresholds": thresholds,
        "custom_arguments": [
            {"name": "environment", "value": "staging", "is_secret": False},
            {"name": "api_key", "value": "sk-live-0123456789", "is_secret": True},
        ],
        "listener_errors": [],
    })


def screenshot(html: str, out: str, height: int) -> None:
    from inspect_report import CHROMIUM, CHROMIUM_ARGS  # same launch as the tests
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True, viewport={"width": 1360, "height": 900}, device_scale_factor=1)
            context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                          else route.abort())
            page = context.new_page()
            page.goto(Path(html).resolve().as_uri(), wait_until="load", timeout=90_000)
            page.wait_for_function("() => document.body.dataset.charts === 'done'", timeout=60_000)
            if not height:  # down to the end of the endpoint table
                height = int(page.evaluate("() => document.getElementById('endpoints').getBoundingClientRect().bottom")) + 24
            page.screenshot(path=out, full_page=True, clip={"x": 0, "y": 0, "width": 1360, "height": height})
        finally:
            browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--out", default=str(ROOT / "docs" / "report-screenshot.png"))
    parser.add_argument("--height", type=int, default=0,
                        help="pixels of the page, from the top, to keep (default: down to the endpoint table)")
    parser.add_argument("--keep-html", help="also keep the report here")
    parser.add_argument("--generate", nargs=2, metavar=("HOST", "HTML"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(args.generate[0], args.generate[1], args.seconds)
        return 0

    from conftest import Target

    target = Target()
    try:
        with tempfile.TemporaryDirectory() as directory:
            html = args.keep_html or str(Path(directory) / "report.html")
            subprocess.run([sys.executable, __file__, "--seconds", str(args.seconds), "--generate", target.url, html],
                           check=True)
            screenshot(html, args.out, args.height)
    finally:
        target.stop()
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
