"""``web.app`` at module level: Locust 0.x's way to add pages (``from locust import web``).

Old locustfiles (the 1.x seeds) decorate views with ``@web.app.route("/added_page")`` when the
module is imported, before any web UI exists. Here each run has a web UI of its own, so
``web.app`` records the routes and every :class:`~pytest_loadhooks.web.ui.WebUI` adds them to its
Flask app when it is created. Recording needs no Flask: importing the locustfile stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ModuleApp:
    """Records ``route`` / ``add_url_rule`` calls and replays them on each web UI's Flask app."""

    def __init__(self) -> None:
        self._rules: list[tuple[str, str | None, Callable[..., Any] | None, dict[str, Any]]] = []

    def route(self, rule: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(view: Callable[..., Any]) -> Callable[..., Any]:
            self.add_url_rule(rule, options.pop("endpoint", None), view, **options)
            return view

        return register

    def add_url_rule(self, rule: str, endpoint: str | None = None, view_func: Callable[..., Any] | None = None,
                     **options: Any) -> None:
        self._rules.append((rule, endpoint, view_func, options))

    def replay_on(self, flask_app: Any) -> None:
        for rule, endpoint, view_func, options in self._rules:
            flask_app.add_url_rule(rule, endpoint, view_func, **options)


app = ModuleApp()
