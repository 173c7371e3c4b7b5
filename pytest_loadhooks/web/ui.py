"""The web UI object: a Flask app served by gevent's WSGI server inside the load process.

``environment.web_ui`` is one of these. It exists before ``init`` fires, so listeners add
routes and Blueprints to :attr:`WebUI.app` (as Locust's documentation shows), set
:attr:`WebUI.auth_args` and the :attr:`WebUI.login_manager`'s ``user_loader``; the server
starts accepting once ``init`` has fired (:meth:`WebUI.start`).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask
from flask_login import LoginManager, login_required

from .control import RunControl
from .forms import FormArgument

if TYPE_CHECKING:
    from ..env import Environment

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
WATCHED_WITHIN = 5.0
"""A dashboard that asked for the status this recently (it refreshes every 1.5 s) is still open."""


class WebUI:
    """The web UI of one Environment (Locust's ``environment.web_ui``)."""

    def __init__(
        self,
        environment: Environment,
        host: str = "127.0.0.1",
        port: int = 8089,
        *,
        control: RunControl | None = None,
        web_login: bool = False,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        arguments: Sequence[FormArgument] = (),
        thresholds: Callable[[], list[dict[str, Any]]] | None = None,
        run_info: Callable[[], dict[str, Any]] | None = None,
        run_name: str = "load run",
    ) -> None:
        self.environment = environment
        self.host = host
        self.port = port
        self.control = control
        self.web_login = web_login
        self.tls_cert = tls_cert
        self.tls_key = tls_key
        self.arguments = list(arguments)
        self.thresholds = thresholds
        """The run's thresholds judged on its numbers so far (``[{"expression", "passed", "message"}]``)."""
        self.run_info = run_info
        """What the report document says about the run beyond its stats (see ``build_report_data``)."""
        self.run_name = run_name
        self.auth_args: dict[str, Any] = {}
        """``username_password_callback`` (the URL the login form posts to) and ``auth_providers``
        (``[{"label", "callback_url", "icon_url"}]``), shown on the login page."""
        self.template_args: dict[str, Any] = {}
        self.last_watched: float | None = None
        """When a dashboard last asked for the run's status (``time.monotonic()``), or None."""
        self.verdict_delivered = False
        """Whether a dashboard has been sent the run's verdict (``/loadhooks/status``'s ``run.verdict``)."""
        self.greenlet: Any = None
        self.server: Any = None
        self.app = Flask("pytest_loadhooks.web", template_folder=str(HERE / "templates"),
                         static_folder=None)
        # A fresh key per UI: session cookies (the login, the CSRF token) die with the process.
        self.app.config["SECRET_KEY"] = secrets.token_hex(32)
        self.app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
        self.app.config["SESSION_COOKIE_HTTPONLY"] = True
        if tls_cert:
            self.app.config["SESSION_COOKIE_SECURE"] = True
        self._login_manager = LoginManager(self.app)
        self._login_manager.login_view = "locust.login"
        self._login_manager.user_loader(lambda _user_id: None)  # nobody, until a listener says otherwise
        from .views import register_views

        register_views(self)
        from .module_app import app as module_app

        module_app.replay_on(self.app)  # routes old locustfiles added with ``web.app.route`` at import
        self.update_template_args()

    # -- what listeners use --
    @property
    def login_manager(self) -> LoginManager:
        """Flask-Login's manager: give it a ``user_loader`` (with ``--load-web-login``)."""
        return self._login_manager

    @login_manager.setter
    def login_manager(self, value: LoginManager) -> None:
        self._login_manager = value

    def auth_required_if_enabled(self, view: Callable) -> Callable:
        """Decorate an added route so that, with ``--load-web-login``, it needs a logged-in user too."""
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if self.web_login:
                return login_required(view)(*args, **kwargs)
            return view(*args, **kwargs)

        return wrapper

    def update_template_args(self) -> None:
        """Refresh :attr:`template_args` (what a page about the run is rendered with)."""
        runner = self.environment.runner
        self.template_args.update({
            "state": getattr(runner, "state", "missing"),
            "user_count": getattr(runner, "user_count", 0),
            "host": self.environment.host or "",
            "is_distributed": hasattr(runner, "clients"),
            "extra_options": [argument.public() for argument in self.arguments],
            "run_name": self.run_name,
        })

    def watched_recently(self, within: float = WATCHED_WITHIN) -> bool:
        """Whether a dashboard asked for the run's status in the last ``within`` seconds."""
        return self.last_watched is not None and time.monotonic() - self.last_watched <= within

    # -- the server --
    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    @property
    def url(self) -> str:
        host = self.host if self.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{self.port}"

    def bind(self) -> None:
        """Take the port now (port 0: any free one, then in :attr:`port`); requests wait for :meth:`start`."""
        from gevent.pywsgi import WSGIServer

        tls: dict[str, Any] = {}
        if self.tls_cert:
            import ssl

            # A server context of today's defaults (gevent's certfile=/keyfile= path uses a deprecated protocol).
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.tls_cert, self.tls_key)
            tls["ssl_context"] = context
        self.server = WSGIServer((self.host, self.port), self.app, log=None, error_log=logger, **tls)
        self.server.init_socket()
        self.port = self.server.server_port

    def start(self) -> None:
        """Serve requests (binding first if :meth:`bind` was not called)."""
        if self.server is None:
            self.bind()
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(timeout=1)
            self.server = None
