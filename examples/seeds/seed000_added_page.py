"""Seed 000 ("Adding Web Routes"): an ``init`` listener adds a route to the web UI's Flask app.

Run with ``--load-web`` and browse to http://127.0.0.1:8089/added_page while the run goes.
The seed's listener is unchanged: without ``--load-web`` it would fail on ``web_ui.app``
(``web_ui`` is None then), as Locust's does with ``--headless``.
"""

from pytest_loadhooks import events


@events.init.add_listener
def on_locust_init(web_ui, **kw):
    @web_ui.app.route("/added_page")
    def my_added_page():
        return "Another page"
