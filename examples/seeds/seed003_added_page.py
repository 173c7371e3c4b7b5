"""Seed 003 ("Adding Web Routes"): the same route, reached through ``environment.web_ui``.

The seed's text lost its decorators when it was copied from the web page; they are put back
here (``@events.init.add_listener`` and ``@environment.web_ui.app.route("/added_page")``).
Run with ``--load-web`` and browse to http://127.0.0.1:8089/added_page.
"""

from pytest_loadhooks import events


@events.init.add_listener
def on_locust_init(environment, **kw):
    @environment.web_ui.app.route("/added_page")
    def my_added_page():
        return "Another page"
