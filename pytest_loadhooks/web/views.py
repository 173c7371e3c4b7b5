"""The web UI's pages and Locust-compatible JSON endpoints, on a Blueprint named ``locust``
(so ``url_for("locust.index")`` and ``url_for("locust.login")`` work as in Locust's examples).

Paths and JSON shapes follow Locust's web UI where scripts drive it (``/swarm``, ``/stop``,
``/stats/reset``, ``/stats/requests``, the CSV downloads, ``/exceptions``). Three rules hold
for every route here:

* state-changing requests from another origin are refused (:func:`cross_origin`): a page on
  another site must not start a load test through the browser of the person running it;
* secrets (``is_secret`` custom arguments, the distributed secret) are never sent: the form gets
  no secret's value and the downloads are built from the report document, which masks them;
* text from the run (request names, errors, argument values) reaches pages through Jinja2's
  autoescaping or the browser's ``textContent`` only.
"""

from __future__ import annotations

import itertools
import json
import math
import tempfile
import time
from collections.abc import Callable
from functools import wraps
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from ..exception import ConfigurationError
from ..net import is_loopback
from ..stats import HISTORY_PERCENTILES
from .forms import FormError, parse_swarm_form

if TYPE_CHECKING:
    from .ui import WebUI

MAX_ROWS = 500
"""Rows of a table sent to the page at most (the aggregate always comes too): a page with a
hundred thousand names would render for minutes."""

ASSETS = {
    "uPlot.iife.min.js": ("report", "vendor/uplot/uPlot.iife.min.js", "text/javascript"),
    "uPlot.min.css": ("report", "vendor/uplot/uPlot.min.css", "text/css"),
    "charts.js": ("report", "charts.js", "text/javascript"),
    "dashboard.js": ("web", "static/dashboard.js", "text/javascript"),
    "dashboard.css": ("web", "static/dashboard.css", "text/css"),
}
"""What ``/assets/<name>`` serves, from the package itself (no CDN: the UI works offline)."""

OPEN_ENDPOINTS = {"locust.login", "locust.logout", "locust.assets"}
"""What a visitor who is not logged in may reach with ``--load-web-login``."""

PAGE_ENDPOINTS = {"locust.index"}
"""Pages: without a login they redirect to the login page (everything else answers 401)."""

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data: https:; connect-src 'self'; base-uri 'none'; "
                           "frame-ancestors 'none'")


WEB_UI_KEY = "pytest_loadhooks.web_ui"
"""Where a WebUI's Flask app keeps the WebUI itself (``app.extensions``), for the views to read."""

blueprint = Blueprint("locust", __name__)
"""The UI's own pages and endpoints; every WebUI's app registers it (:func:`register_views`)."""


def register_views(web_ui: WebUI) -> None:
    """Serve the UI's pages and Locust's endpoints on ``web_ui.app``; the views find ``web_ui`` again
    through :func:`current_web_ui`."""
    web_ui.app.extensions[WEB_UI_KEY] = web_ui
    web_ui.app.register_blueprint(blueprint)


def current_web_ui() -> WebUI:
    """The WebUI whose app is handling the current request."""
    return current_app.extensions[WEB_UI_KEY]


def same_origin(view: Callable[..., Any]) -> Callable[..., Any]:
    """For a view that changes state: a request sent by a page of another origin is refused (403,
    :func:`cross_origin`) before the view runs."""
    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        refused = cross_origin()
        if refused is not None:
            return refused
        return view(*args, **kwargs)

    return checked


@blueprint.before_request
def guard() -> Any:
    """Every request to these views: a loopback UI answers loopback names only; with ``--load-web-login``,
    a visitor who is not logged in reaches only the login page and the assets."""
    web_ui = current_web_ui()
    refused = wrong_host(web_ui)
    if refused is not None:
        return refused
    if web_ui.web_login and request.endpoint not in OPEN_ENDPOINTS and not current_user.is_authenticated:
        if request.endpoint in PAGE_ENDPOINTS:
            return redirect(url_for("locust.login"))
        return jsonify({"success": False, "message": "login required"}), 401
    return None


@blueprint.after_request
def headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@blueprint.app_context_processor
def dashboard_context() -> dict[str, Any]:
    """What index.html needs besides ``template_args``, for every view of the app: a Locust-style
    extension renders ``index.html`` itself, with its own ``template_args`` (its extended tabs)."""
    web_ui = current_web_ui()
    return {"settings": _form_settings(web_ui), "web_login": web_ui.web_login,
            "wait_for_start": bool(web_ui.control and web_ui.control.wait_for_start)}


# --------------------------------------------------------------------------- pages
@blueprint.route("/")
def index() -> str:
    web_ui = current_web_ui()
    web_ui.update_template_args()
    return render_template("index.html", template_args=web_ui.template_args)


@blueprint.route("/login")
def login() -> Any:
    web_ui = current_web_ui()
    if not web_ui.web_login:
        return redirect(url_for("locust.index"))
    return render_template("login.html", auth=web_ui.auth_args, error=session.pop("auth_error", None),
                           info=session.pop("auth_info", None), title=web_ui.auth_args.get("title", "Log in"))


@blueprint.route("/logout", methods=["POST"])
@same_origin
def logout() -> Any:
    logout_user()
    return redirect(url_for("locust.login"))


@blueprint.route("/assets/<name>")
def assets(name: str) -> Any:
    if name not in ASSETS:
        return Response("not found", status=404, mimetype="text/plain")
    package, path, mimetype = ASSETS[name]
    text = resources.files(f"pytest_loadhooks.{package}").joinpath(*path.split("/")).read_text(encoding="utf-8")
    return Response(text, mimetype=mimetype, headers={"Cache-Control": "no-cache"})


# --------------------------------------------------------------------------- controls (Locust's paths)
@blueprint.route("/swarm", methods=["POST"])
@same_origin
def swarm() -> Any:
    web_ui = current_web_ui()
    if web_ui.control is None:
        return _failure("this run is not controlled from the web UI", 409)
    try:
        asked = parse_swarm_form(request.form, web_ui.arguments)
        message = web_ui.control.swarm(asked)
    except (FormError, ConfigurationError) as error:
        return _failure(str(error), 400)
    return jsonify({"success": True, "message": message, "host": web_ui.environment.host})


@blueprint.route("/stop", methods=["GET", "POST"])
@same_origin
def stop() -> Any:
    control = current_web_ui().control
    if control is not None:
        control.stop()
    return jsonify({"success": True, "message": "Test stopped"})


@blueprint.route("/stats/reset", methods=["GET", "POST"])
@same_origin
def reset_stats() -> Any:
    current_web_ui().environment.runner.reset_stats()
    return "ok"


@blueprint.route("/finish", methods=["POST"])
@same_origin
def finish() -> Any:
    control = current_web_ui().control
    if control is None:
        return _failure("this run is not controlled from the web UI", 409)
    control.finish()
    return jsonify({"success": True, "message": "The run ends: the session goes on to judge it"})


# --------------------------------------------------------------------------- numbers
@blueprint.route("/stats/requests")
def request_stats() -> Any:
    return _json(stats_report(current_web_ui()))


@blueprint.route("/exceptions")
def exceptions() -> Any:
    stats = current_web_ui().environment.stats
    rows = sorted(stats.exceptions.values(), key=lambda r: -r["count"])[:MAX_ROWS]
    return _json({"exceptions": [{"count": r["count"], "msg": str(r["msg"]), "traceback": str(r["traceback"]),
                                  "nodes": ", ".join(str(n) for n in r.get("nodes", []))} for r in rows]})


@blueprint.route("/metrics")
def prometheus_metrics() -> Any:
    """The run's numbers in Prometheus' exposition format (issue 22; the same as ``--load-metrics-port``)."""
    from ..telemetry.prometheus import render

    body, content_type = render(current_web_ui().environment)
    return Response(body, content_type=content_type)


@blueprint.route("/loadhooks/status")
def status() -> Any:
    return _json(status_report(current_web_ui()))


# --------------------------------------------------------------------------- downloads: one report document
@blueprint.route("/stats/requests/csv")
def stats_csv() -> Any:
    return _csv_download(current_web_ui(), "stats")


@blueprint.route("/stats/failures/csv")
def failures_csv() -> Any:
    return _csv_download(current_web_ui(), "failures")


@blueprint.route("/exceptions/csv")
def exceptions_csv() -> Any:
    return _csv_download(current_web_ui(), "exceptions")


@blueprint.route("/stats/report")
def html_report() -> Any:
    from ..report.html import render_html

    web_ui = current_web_ui()
    page = render_html(report_document(web_ui))
    headers = {"Content-Disposition": f"attachment;filename={_file_name(web_ui, 'html')}"} \
        if request.args.get("download") else {}
    # The report carries its own policy (hashed inline scripts); the UI's must not replace it.
    return Response(page, mimetype="text/html", headers={**headers, "Content-Security-Policy": ""})


@blueprint.route("/stats/report/json")
def json_report() -> Any:
    web_ui = current_web_ui()
    body = json.dumps(report_document(web_ui), indent=2, allow_nan=False)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f"attachment;filename={_file_name(web_ui, 'json')}"})


# --------------------------------------------------------------------------- safety
def cross_origin() -> Response | None:
    """A 403 for a state-changing request sent by a page of another origin; None when it may go on.

    Browsers say where a request comes from (``Origin`` on POSTs and fetches, ``Sec-Fetch-Site`` on
    every request of a current browser, ``Referer`` on most); each one given must name this UI.
    A script (curl, requests) sends none of them and is let through: it is not a browser that a
    foreign page could drive.
    """
    own = f"{request.scheme}://{request.host}".lower()
    origin = request.headers.get("Origin")
    if origin is not None and origin.lower() != own:
        return _refused(f"cross-origin request from {origin} refused")
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return _refused(f"{fetch_site} request refused")
    referer = request.headers.get("Referer")
    if origin is None and fetch_site is None and referer is not None:
        parts = urlsplit(referer)
        if f"{parts.scheme}://{parts.netloc}".lower() != own:
            return _refused("cross-origin request refused")
    return None


def wrong_host(web_ui: WebUI) -> Response | None:
    """A UI listening on loopback answers only to loopback names: a foreign site's name pointed at
    127.0.0.1 (DNS rebinding) would otherwise make its pages same-origin with the UI."""
    if not is_loopback(web_ui.host):
        return None
    name = (urlsplit(f"//{request.host}").hostname or "").lower()
    if name == "localhost" or is_loopback(name):
        return None
    return Response("unknown host name", status=421, mimetype="text/plain")


def _refused(message: str) -> Response:
    response = jsonify({"success": False, "message": message})
    response.status_code = 403
    return response


def _failure(message: str, status: int) -> Response:
    response = jsonify({"success": False, "message": message})
    response.status_code = status
    return response


# --------------------------------------------------------------------------- documents
def stats_report(web_ui: WebUI) -> dict[str, Any]:
    """``/stats/requests``: Locust's shape (rows, aggregate last, errors, rates, state, users, workers)."""
    environment = web_ui.environment
    stats = environment.stats
    runner = environment.runner
    rows = [entry.to_dict() for entry in itertools.islice(stats.sorted_entries(), MAX_ROWS)]
    total = stats.total.to_dict()
    errors = [error.to_dict() for error in itertools.islice(stats.errors.values(), MAX_ROWS)]
    report: dict[str, Any] = {
        "stats": [*rows, total],
        "errors": errors,
        "current_rps": total["current_rps"],
        "current_fail_per_sec": total["current_fail_per_sec"],
        "total_rps": total["total_rps"],
        "total_fail_per_sec": total["total_fail_per_sec"],
        "fail_ratio": stats.total.fail_ratio,
        "current_response_time_percentiles": {
            f"response_time_percentile_{q}": stats.windowed_percentile(q) for q in HISTORY_PERCENTILES
        },
        "state": getattr(runner, "state", "missing"),
        "user_count": getattr(runner, "user_count", 0),
    }
    clients = getattr(runner, "clients", None)
    if clients is not None:
        report["workers"] = [{"id": node.id, "state": node.state, "user_count": node.user_count,
                              "cpu_usage": node.cpu_usage, "memory_usage": node.memory_usage}
                             for node in clients.values()]
        report["worker_count"] = runner.worker_count
    return report


def status_report(web_ui: WebUI) -> dict[str, Any]:
    """``/loadhooks/status``: what the dashboard shows beyond Locust's numbers (charts, thresholds, the run)."""
    from ..report.format import timeline  # the report's own chart series: one chart code for both

    environment = web_ui.environment
    control = web_ui.control
    history = list(environment.stats.history)
    web_ui.last_watched = time.monotonic()
    judged = verdict(web_ui)
    if judged is not None:
        web_ui.verdict_delivered = True
    return {
        "run": {"name": web_ui.run_name, "host": environment.host or "",
                "state": getattr(environment.runner, "state", "missing"),
                "time_left": control.time_left if control is not None else None,
                "waiting_for_start": bool(control and control.wait_for_start),
                "controlled": control is not None and control.driving,
                "ended": bool(control is not None and control.over),
                "verdict": judged},
        "timeline": timeline(history) if history else None,
        "thresholds": web_ui.thresholds() if web_ui.thresholds is not None else [],
        "arguments": [argument.public() for argument in web_ui.arguments],
    }


def verdict(web_ui: WebUI) -> dict[str, Any] | None:
    """The judged run's verdict, as the terminal gives it (None until the session has judged the run):
    its status, why it was stopped, the run's own failed checks and the warnings that come with it."""
    from ..report.redact import mask_url_credentials

    info = web_ui.run_info() if web_ui.run_info is not None else {}
    if "status" not in info:
        return None
    stopped = info.get("stopped")
    return {"status": info["status"],
            "stopped": None if stopped is None else mask_url_credentials(str(stopped)),
            "run_failures": [mask_url_credentials(str(line)) for line in info.get("run_failures") or []],
            "warnings": [mask_url_credentials(str(line)) for line in info.get("warnings") or []]}


def report_document(web_ui: WebUI) -> dict[str, Any]:
    from ..report import build_report_data

    info = dict(web_ui.run_info()) if web_ui.run_info is not None else {}
    return build_report_data(web_ui.environment, info)


def _csv_download(web_ui: WebUI, kind: str) -> Response:
    from ..report import csv_output

    document = csv_output.with_run_details(report_document(web_ui), web_ui.environment.stats)
    writers = {"stats": csv_output.write_stats_csv, "failures": csv_output.write_failures_csv,
               "exceptions": csv_output.write_exceptions_csv}
    with tempfile.TemporaryDirectory() as directory:
        path = writers[kind](document, Path(directory) / f"{kind}.csv")
        body = path.read_text(encoding="utf-8")
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment;filename={_file_name(web_ui, 'csv', kind)}"})


def _file_name(web_ui: WebUI, extension: str, kind: str = "report") -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return f"loadhooks_{kind}_{stamp}.{extension}"


def _form_settings(web_ui: WebUI) -> dict[str, Any]:
    control = web_ui.control
    settings = control.settings if control is not None else None
    return {
        "user_count": settings.user_count if settings else getattr(web_ui.environment.runner, "target_user_count", 0),
        "spawn_rate": settings.spawn_rate if settings else 1,
        "run_time": "" if settings is None or settings.run_time is None else f"{settings.run_time:g}s",
        "host": web_ui.environment.host or "",
        "shape": settings.shape_decides if settings else False,
    }


def _json(data: dict[str, Any]) -> Response:
    """JSON without NaN or infinities (which JSON has no words for): they go out as null."""
    return Response(json.dumps(_finite(data)), mimetype="application/json")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


__all__ = [
    "blueprint", "cross_origin", "current_web_ui", "register_views", "report_document", "same_origin", "stats_report",
    "status_report", "verdict",
]
