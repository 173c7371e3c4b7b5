"""The plugin's state for one pytest session: options, the runs it defines, and their results."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest

from . import options as opts
from .custom_args import ArgumentRegistry
from .thresholds import ThresholdError, parse_all

if TYPE_CHECKING:
    from .run import LoadRun

SESSION_KEY = pytest.StashKey["LoadSession"]()
RUN_ITEM_NAME = "load_run"


def get_session(config: pytest.Config) -> LoadSession:
    return config.stash[SESSION_KEY]


class LoadSession:
    """The plugin's state for one pytest session: options, runs and their results."""

    def __init__(self, config: pytest.Config, registry: ArgumentRegistry) -> None:
        from .run import OutputPaths, RunSettings

        self.config = config
        self.registry = registry
        self.active = opts.is_load_session(config)
        try:
            values = {o.key: opts.resolve(config, o) for o in opts.OPTIONS}
            expressions = list(values["threshold"])
            if values["fail_ratio"] is not None:
                expressions.insert(0, f"fail_ratio <= {values['fail_ratio']:g}")
            self.thresholds = parse_all(expressions)
        except ValueError as error:
            raise pytest.UsageError(f"pytest-loadhooks: {error}") from None
        given = {o.key: label for o in opts.RUN_SETTINGS if (label := opts.given_as(config, o)) is not None}
        self.settings = RunSettings.from_values(values, given)
        self.outputs = OutputPaths(values["html"], values["csv"], values["json"])
        self.load_only = bool(values["only"])
        self.live_interval = values["live_interval"] or 5.0
        self.session_run: LoadRun | None = None
        self.module_runs: dict[str, LoadRun] = {}
        self.test_runs: dict[str, LoadRun] = {}
        self.module_user_classes: dict[str, list[type]] = {}
        self.module_shapes: dict[str, type] = {}
        self.run_items: dict[int, pytest.Item] = {}
        self.abstract_user_classes: list[str] = []
        self.problems: list[str] = []
        self.quit_errors: list = []

    # -- runs --
    def all_runs(self) -> list[LoadRun]:
        runs = [self.session_run] if self.session_run else []
        return runs + list(self.module_runs.values()) + list(self.test_runs.values())

    def new_run(self, run_id: str, settings: Any, isolated: bool) -> LoadRun:
        """A run with the session's thresholds; an isolated run writes its outputs under names of its own."""
        from .run import LoadRun

        outputs = self.outputs.for_run(run_id if isolated else None)
        return LoadRun(run_id=run_id, settings=settings, thresholds=list(self.thresholds), outputs=outputs,
                       live_view_factory=self.live_view)

    def run_for_module(self, module: pytest.Module) -> LoadRun:
        marker = own_marker(module, "load")
        if marker is not None:
            run = self.module_runs.get(module.nodeid)
            if run is None:
                settings = self._marker_settings(marker, module.nodeid)
                run = self.new_run(f"{module.nodeid}::{RUN_ITEM_NAME}", settings, isolated=True)
                _apply_marker_user_classes(run, marker)
                self.module_runs[module.nodeid] = run
            run.thresholds += self._marker_thresholds(module, own_only=True, run=run)
            return run
        if self.session_run is None:
            self.session_run = self.new_run(f"{module.nodeid}::{RUN_ITEM_NAME}", self.settings, isolated=False)
        self.session_run.thresholds += self._marker_thresholds(module, own_only=True, run=self.session_run)
        return self.session_run

    def run_for_item(self, item: pytest.Item) -> LoadRun | None:
        run = self.test_runs.get(item.nodeid)
        if run is not None:
            return run
        module = item.getparent(pytest.Module)
        if module is not None and module.nodeid in self.module_runs:
            return self.module_runs[module.nodeid]
        from .items import LoadRunItem

        if isinstance(item, LoadRunItem):
            return item.run
        return self.session_run

    def _marker_settings(self, marker: pytest.Mark, where: str) -> Any:
        if marker.args:
            raise pytest.UsageError(f"pytest-loadhooks: {where}: the load marker takes keyword arguments only")
        try:
            return self.settings.with_marker(dict(marker.kwargs))
        except ValueError as error:
            raise pytest.UsageError(f"pytest-loadhooks: {where}: {error}") from None

    def _marker_thresholds(self, node: Any, own_only: bool, run: LoadRun) -> list:
        markers = node.own_markers if own_only else list(node.iter_markers())
        expressions: list[str] = []
        for marker in markers:
            if marker.name != "thresholds":
                continue
            for arg in marker.args:
                expressions.extend([arg] if isinstance(arg, str) else list(arg))
        try:
            parsed = parse_all(expressions)
        except ThresholdError as error:
            raise pytest.UsageError(f"pytest-loadhooks: {node.nodeid}: {error}") from None
        known = {t.expression for t in run.thresholds}
        return [t for t in parsed if t.expression not in known]

    def create_test_run(self, item: pytest.Item, marker: pytest.Mark) -> LoadRun:
        settings = self._marker_settings(marker, item.nodeid)
        run = self.new_run(item.nodeid, settings, isolated=True)
        module = item.getparent(pytest.Module)
        run.user_classes = list(self.module_user_classes.get(module.nodeid, [])) if module else []
        if module is not None and settings.shape is None and module.nodeid in self.module_shapes:
            run.settings.shape = self.module_shapes[module.nodeid]
        _apply_marker_user_classes(run, marker)
        run.thresholds += self._marker_thresholds(item, own_only=False, run=run)
        self.test_runs[item.nodeid] = run
        return run

    # -- output --
    def live_view(self, run: LoadRun) -> Any:
        from .terminal import LiveView

        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        verbosity = self.config.get_verbosity()
        if reporter is None:
            return None

        def write(text: str) -> None:
            if capture is not None:
                with capture.global_and_fixture_disabled():
                    reporter.write(text, flush=True)
            else:
                reporter.write(text, flush=True)

        tty = reporter.isatty() and not os.environ.get("CI")
        view = LiveView(run, write, tty=tty, interval=self.live_interval, enabled=verbosity >= 0)
        return view


def own_marker(node: Any, name: str) -> pytest.Mark | None:
    for marker in node.own_markers:
        if marker.name == name:
            return marker
    return None


def _apply_marker_user_classes(run: LoadRun, marker: pytest.Mark) -> None:
    classes = marker.kwargs.get("user_classes")
    if classes:
        run.user_classes = list(classes)
        run.explicit_user_classes = True
