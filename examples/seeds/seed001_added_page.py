"""Seed 001 ("Adding Web Routes", Locust 0.x): a route added to the module-level ``web.app``.

The page is declared when the module is imported, before any web UI exists; every run's web
UI (``--load-web``) then serves it. Browse to http://127.0.0.1:8089/added_page while the run goes.
"""

from pytest_loadhooks import web


@web.app.route("/added_page")
def my_added_page():
    return "Another page"
