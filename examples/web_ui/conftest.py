"""Extending the web UI from ``init`` listeners, as Locust's documentation shows.

Three extensions, one module each:

* here, an added route (``/added_page``), the smallest extension there is;
* ``content_length.py``: a Blueprint with its own template and static file, showing the
  bytes received per request name (a ``request`` listener sums them);
* ``status_codes.py``: an extra table on the dashboard, Locust's ``extended_tabs`` way
  (status classes per request name), with a CSV download;
* ``login.py``: a username/password login, used when the session runs with
  ``--load-web-login``.

Every listener checks ``web_ui`` first: it is None when the session runs without the UI.
"""

# Imported for their listeners, which attach to the global events as these modules load.
import content_length  # noqa: F401
import login  # noqa: F401
import status_codes  # noqa: F401

from pytest_loadhooks import events


@events.init.add_listener
def add_page(environment, web_ui, **kwargs):
    if web_ui is None:
        return

    @web_ui.app.route("/added_page")
    @web_ui.auth_required_if_enabled  # behind the login too, when the session asks for one
    def added_page():
        return "Another page"

