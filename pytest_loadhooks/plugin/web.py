"""The web UI in a pytest session (``--load-web``): one UI per load run, on the same address.

The session's :class:`WebSession` joins every run as a participant (``plugin.lifecycle``). When
a run creates its Environment, :meth:`WebSession.attach` builds the run's
:class:`~pytest_loadhooks.web.WebUI` and binds its port *before* ``init`` fires (listeners add
routes and set up the login), and :meth:`WebSession.serve` starts answering right after. The run
is then driven through the UI's :class:`~pytest_loadhooks.web.RunControl`: started at once and
followed, or, with ``--load-web-wait``, started from the form; either way it ends at its run time
or End run (see ``web.control``), and one ended early from the UI is *stopped*
(:meth:`WebSession.stopped_reason`), judged from its latest start.
A run's UI stays up after its run (its final numbers, its verdict and downloads) until the next
run takes the port or the session ends; a dashboard watching it gets the verdict first (at most
``VERDICT_WAIT`` seconds more). The port is checked when the session is configured (:func:`check_port`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from . import options as opts
from .lifecycle import Participant

if TYPE_CHECKING:
    from ..env import Environment
    from ..web import WebUI
    from .custom_args import ArgumentRegistry
    from .run import LoadResult, LoadRun

WEB_KEY = pytest.StashKey["WebSession"]()
_BY_NAME = {option.key: option for option in opts.OPTIONS}
VERDICT_WAIT = 3.0
"""Seconds the UI stays up after its run, at most, for a dashboard watching it to get the verdict."""


@dataclass
class WebSettings:
    host: str
    port: int
    wait_for_start: bool
    login: bool
    tls_cert: str | None
    tls_key: str | None


def settings_from_config(config: pytest.Config) -> WebSettings | None:
    """The session's web UI settings, or None when it has no web UI. Raises ValueError on bad values."""
    values = {key: opts.resolve(config, _BY_NAME[key])
              for key in ("web", "web_host", "web_port", "web_wait", "web_login", "tls_cert", "tls_key")}
    if not (values["web"] or values["web_wait"] or values["web_login"]):
        return None
    cert = values["tls_cert"] or _file_from_env("SSL_CERT")
    key = values["tls_key"] or _file_from_env("SSL_KEY")
    if bool(cert) != bool(key):
        raise ValueError("the web UI's HTTPS needs both a certificate and its key: give --load-tls-cert and "
                         "--load-tls-key (or SSL_CERT and SSL_KEY)")
    return WebSettings(values["web_host"], values["web_port"], bool(values["web_wait"]), bool(values["web_login"]),
                       cert, key)


def _file_from_env(name: str) -> str | None:
    """The seeds' SSL_CERT / SSL_KEY variables, checked as the options are."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        return opts.parse_readable_file(value)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


def configure(config: pytest.Config, registry: ArgumentRegistry) -> None:
    """In a load session (not a worker's): the session's WebSession, when it has a web UI."""
    try:
        settings = settings_from_config(config)
    except ValueError as error:
        raise pytest.UsageError(f"pytest-loadhooks: {error}") from None
    if settings is not None:
        check_port(settings)
        session = WebSession(config, settings, registry)
        config.stash[WEB_KEY] = session
        config.add_cleanup(session.close)


def check_port(settings: WebSettings) -> None:
    """The UI's port, proven free before any run or traffic: one line and exit status 4 if it is not.
    (Taken later, between this check and a run, that run is not started: see :meth:`WebSession.attach`.)"""
    from ..web.port import bind_problem

    if settings.port == 0:
        return  # any free port: the session prints the one it got
    problem = bind_problem(settings.host, settings.port)
    if problem is not None:
        raise pytest.UsageError(f"pytest-loadhooks: the web UI cannot listen on {settings.host}:{settings.port}: "
                                f"{problem}")


def for_run(config: pytest.Config) -> WebSession | None:
    return config.stash.get(WEB_KEY, None)


class WebSession(Participant):
    """The session's web UI: the current run's UI, and how runs are driven through it."""

    def __init__(self, config: pytest.Config, settings: WebSettings, registry: ArgumentRegistry) -> None:
        self.config = config
        self.settings = settings
        self.registry = registry
        self.ui: WebUI | None = None
        self._run: LoadRun | None = None
        self.attach_error: str | None = None  # why the latest run's UI could not start

    # -- the moments of a run (plugin.lifecycle) --
    def environment_created(self, run: LoadRun, environment: Environment) -> None:
        self.attach(environment, run)

    def after_init(self, run: LoadRun, environment: Environment) -> None:
        self.serve()

    def drive(self, run: LoadRun, runner: Any) -> int | None:
        """The UI's controls drive the run (``--load-web-wait``) or follow it."""
        return self.drive_through_the_ui()

    def judge(self, run: LoadRun, result: LoadResult) -> None:
        """Judged from the run's latest start; ended early from the UI (Stop, End run): stopped, its numbers partial."""
        result.started_at = self.started_at(result.started_at)
        result.stopped = self.stopped_reason()
        self._settings_of_the_latest_start(run)

    def _settings_of_the_latest_start(self, run: LoadRun) -> None:
        """The form may start the run with other users, spawn rate, run time or host than the options:
        the reports (and a saved baseline) name the load that was judged, not the one first asked for."""
        control = self.ui.control if self.ui is not None else None
        if control is None or control.started_at is None or run.settings.shape_decides:
            return
        from dataclasses import replace

        started = control.settings
        host = control.environment.host or run.settings.host
        run.settings = replace(run.settings, users=started.user_count, spawn_rate=started.spawn_rate,
                               run_time=started.run_time, host=host)

    # -- the run's UI --
    def attach(self, environment: Environment, run: LoadRun) -> None:
        """Before ``init``: the run's UI built, its port bound, ``environment.web_ui`` set."""
        from ..web import RunControl, StartSettings, WebUI

        self.close()  # the previous run's UI gives its port to this one
        run_settings = run.settings
        control = RunControl(environment, StartSettings(
            run_settings.users, run_settings.effective_spawn_rate, run_settings.effective_run_time,
            shape_decides=run_settings.shape_decides), wait_for_start=self.settings.wait_for_start)
        ui = WebUI(environment, self.settings.host, self.settings.port, control=control,
                   web_login=self.settings.login, tls_cert=self.settings.tls_cert, tls_key=self.settings.tls_key,
                   arguments=self._form_arguments(run), thresholds=lambda: self._thresholds_now(run),
                   run_info=lambda: self._run_info(run), run_name=run.run_id)
        options = environment.parsed_options
        options.web_base_path = ""  # Locust's examples build their routes' URLs on it
        options.web_host, options.web_port, options.web_login = self.settings.host, ui.port, self.settings.login
        try:
            ui.bind()
        except OSError as error:  # taken since the session began (its port was checked then)
            from ..exception import ConfigurationError
            from ..web.port import describe_bind_error

            # The run is not started: its item (or load_result) says so in one line, and so does a
            # later attempt to drive it (drive_through_the_ui()).
            self.attach_error = (f"the web UI cannot listen on {self.settings.host}:{self.settings.port}: "
                                 f"{describe_bind_error(error)}")
            raise ConfigurationError(self.attach_error) from None
        self.attach_error = None
        options.web_port = ui.port
        environment.web_ui = ui
        self.ui, self._run = ui, run
        waiting = " - waiting for a start from its form" if self.settings.wait_for_start else ""
        self._say(f"pytest-loadhooks: web UI of {run.run_id} at {ui.url}{waiting}")

    def serve(self) -> None:
        """After ``init``: the UI answers requests."""
        if self.ui is not None:
            self.ui.start()

    def drive_through_the_ui(self) -> int:
        """Run the load through the UI's controls; returns the runner's exit code.

        Raises ConfigurationError (the run is not started: its item says why in one line) when the
        run has no UI to drive it: its port could not be bound when the run was set up."""
        control = self.ui.control if self.ui is not None else None
        if control is None:
            from ..exception import ConfigurationError

            raise ConfigurationError(self.attach_error or "its web UI is not up")
        return control.drive()

    def stopped_reason(self) -> str | None:
        """How the run was ended early from the UI (``LoadResult.stopped``), or None."""
        control = self.ui.control if self.ui is not None else None
        return control.stopped_reason() if control is not None else None

    def started_at(self, default: float) -> float:
        """When the judged run began: the latest start (after a wait for the form, or a restart)."""
        control = self.ui.control if self.ui is not None else None
        return control.started_at if control is not None and control.started_at else default

    def close(self) -> None:
        if self.ui is not None:
            self._let_the_dashboard_see_the_verdict(self.ui)
            self.ui.stop()
            self.ui = None

    def _let_the_dashboard_see_the_verdict(self, ui: WebUI) -> None:
        """A dashboard open on a judged run gets its verdict before the UI goes (at most VERDICT_WAIT s).

        The session ends within a second of its last run, faster than the page's refresh: without
        this a person at the dashboard would see the run stop and never learn its verdict."""
        if self._run is None or self._run.result is None or not ui.watched_recently():
            return
        import gevent

        give_up = time.monotonic() + VERDICT_WAIT
        while not ui.verdict_delivered and time.monotonic() < give_up:
            gevent.sleep(0.1)  # the UI's server answers meanwhile

    # -- what the UI shows --
    def _form_arguments(self, run: LoadRun) -> list[Any]:
        from ..web import FormArgument

        arguments = []
        for described in run.custom_arguments:
            if not described.get("include_in_web_ui", True):
                continue
            argument = self.registry.arguments.get(described["name"])
            arguments.append(FormArgument(
                name=described["name"], value=described["value"], is_secret=bool(described["is_secret"]),
                choices=described.get("choices"), help=described.get("help", ""),
                is_flag=argument is not None and argument.action in ("store_true", "store_false"),
                convert=(lambda raw, source, a=argument: a.convert(raw, f"form field {source}")) if argument else None,
            ))
        return arguments

    def _thresholds_now(self, run: LoadRun) -> list[dict[str, Any]]:
        """The run's thresholds judged on its numbers so far (the verdict that counts comes at its end)."""
        if run.result is not None:
            return [verdict.to_dict() for verdict in run.result.thresholds]
        environment = run.environment
        if environment is None or not run.thresholds:
            return []
        if run.live_judge is not None:  # judged each second while the run goes (plugin.live_verdicts)
            return run.live_judge.rows()
        from .run import LoadResult

        now = time.time()
        provisional = LoadResult(run, environment, self.started_at(now), now, environment.runner.exit_code)
        return [threshold.check(provisional).to_dict() for threshold in run.thresholds]

    def _run_info(self, run: LoadRun) -> dict[str, Any]:
        if run.result is not None:
            return run.run_info(run.result)
        options = run.environment.parsed_options if run.environment is not None else None
        return {
            "name": run.run_id,  # no status: a download during the run is judged on its numbers so far
            "thresholds": self._thresholds_now(run),
            "custom_arguments": [{"name": a["name"], "is_secret": a["is_secret"],
                                  "value": str(getattr(options, a["name"], a["value"]))}
                                 for a in run.custom_arguments],
        }

    def _say(self, line: str) -> None:
        """A line on the terminal now, even while the test that started the run has its output captured."""
        from .pytest_compat import capture_suspended

        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        with capture_suspended(self.config):
            reporter.write(f"\n{line}\n", flush=True)
