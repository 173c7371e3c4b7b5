"""A Blueprint page of the bytes received per request name (Locust's extend-web-UI example).

A ``request`` listener sums ``response_length`` per name; the Blueprint, with its own
template and static folders, renders those sums at ``/content-length`` and serves them as
JSON at ``/content-length/json``. Registered on ``web_ui.app`` by an ``init`` listener.
"""

from pathlib import Path

from flask import Blueprint, jsonify, render_template

from pytest_loadhooks import events

HERE = Path(__file__).resolve().parent

received: dict[tuple[str, str], dict[str, int]] = {}
"""(method, name) -> requests and bytes received, for the current run."""


@events.test_start.add_listener
def forget_last_run(**kwargs):
    received.clear()


@events.request.add_listener
def count_bytes(request_type, name, response_length, exception, **kwargs):
    if exception is None:  # what successful responses carried, as in Locust's example
        totals = received.setdefault((request_type, name), {"requests": 0, "content_length": 0})
        totals["requests"] += 1
        totals["content_length"] += response_length or 0


def rows() -> list[dict]:
    """The table, largest total first (copied: the request listener keeps adding meanwhile)."""
    table = [{"method": method, "name": name, **totals} for (method, name), totals in list(received.items())]
    return sorted(table, key=lambda row: row["content_length"], reverse=True)


@events.init.add_listener
def add_content_length_page(environment, web_ui, **kwargs):
    if web_ui is None:
        return
    blueprint = Blueprint("content_length", __name__, template_folder=str(HERE / "templates"),
                          static_folder=str(HERE / "static"), static_url_path="/content-length/static")

    @blueprint.route("/content-length")
    @web_ui.auth_required_if_enabled
    def page():
        web_ui.update_template_args()  # the run's state and user count, as the dashboard has them
        return render_template("content_length.html", rows=rows(), ui=web_ui.template_args)

    @blueprint.route("/content-length/json")
    @web_ui.auth_required_if_enabled
    def as_json():
        return jsonify({"rows": rows()})

    web_ui.app.register_blueprint(blueprint)
