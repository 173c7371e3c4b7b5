"""An extra table on the dashboard, Locust's way: ``extended_tabs`` and ``extended_tables``.

A ``request`` listener counts the HTTP status classes (2xx, 3xx, 4xx, 5xx, and no response)
per request name. The ``init`` listener

* names the table in ``web_ui.template_args``: ``extended_tabs`` (title and key) and
  ``extended_tables`` (the same key, and its columns: the row fields and their titles);
* adds the rows to every ``/stats/requests`` answer as ``extended_stats``,
  ``[{"key": ..., "data": [row, ...]}]``, which the dashboard reads each refresh;
* offers the table as CSV (``extended_csv_files``, a link among the downloads).

The same code runs under Locust (with ``locust`` in the import), whose example
``web_ui_cache_stats.py`` does this for cache hits.
"""

import csv
import io
import json

from flask import Response, request

from pytest_loadhooks import events

KEY = "status-codes"
COLUMNS = [("name", "Name"), ("2xx", "2xx"), ("3xx", "3xx"), ("4xx", "4xx"), ("5xx", "5xx"), ("none", "No response")]

counts: dict[str, dict[str, int]] = {}
"""Request name -> status class -> count, for the current run."""


@events.test_start.add_listener
def forget_last_run(**kwargs):
    counts.clear()


@events.request.add_listener
def count_status(name, response, **kwargs):
    status = getattr(response, "status_code", 0) or 0
    status_class = f"{status // 100}xx" if 200 <= status < 600 else "none"
    row = counts.setdefault(name, {key: 0 for key, _title in COLUMNS[1:]})
    row[status_class] += 1


def rows() -> list[dict]:
    return [{"name": name, **row} for name, row in sorted(list(counts.items()))]


@events.init.add_listener
def add_status_code_table(environment, web_ui, **kwargs):
    if web_ui is None:
        return
    web_ui.template_args["extended_tabs"] = [{"title": "Status codes", "key": KEY}]
    web_ui.template_args["extended_tables"] = [
        {"key": KEY, "structure": [{"key": key, "title": title} for key, title in COLUMNS]},
    ]
    web_ui.template_args["extended_csv_files"] = [{"href": "/status-codes/csv", "title": "status codes CSV"}]

    @web_ui.app.after_request
    def add_rows(response):
        if request.path == "/stats/requests" and response.is_json:
            data = response.get_json()
            data["extended_stats"] = [{"key": KEY, "data": rows()}]
            response.set_data(json.dumps(data))
        return response

    @web_ui.app.route("/status-codes/csv")
    @web_ui.auth_required_if_enabled
    def status_codes_csv():
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([title for _key, title in COLUMNS])
        writer.writerows([row[key] for key, _title in COLUMNS] for row in rows())
        return Response(out.getvalue(), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=status_codes.csv"})
