"""The web UI: a Flask app served by gevent inside the load process (``environment.web_ui``).

A dashboard that follows the run (the report's charts, live), a start form, and Locust's JSON
endpoints (``/swarm``, ``/stop``, ``/stats/reset``, ``/stats/requests``, the CSV downloads). The
plugin layer creates it with ``--load-web``; a script can too::

    from pytest_loadhooks.web import WebUI
    environment.web_ui = WebUI(environment, "127.0.0.1", 8089)
    environment.fire_init()
    environment.web_ui.start()

Flask is imported only when this package's names are first used.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FormArgument", "RunControl", "StartSettings", "WebUI", "app"]

_EXPORTS = {"WebUI": "ui", "RunControl": "control", "StartSettings": "control", "FormArgument": "forms",
            "app": "module_app"}  # app: Locust 0.x's module-level ``web.app.route`` (recorded, no Flask)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)
