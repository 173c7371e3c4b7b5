"""The plugin's state for one pytest session: its options, what collection found, the runs it defines, their results."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pytest

from ..verdicts.thresholds import Threshold, ThresholdError, marker_expressions, parse_all
from . import options as opts
from .custom_args import ArgumentRegistry
from .pytest_compat import capture_suspended, reporter_isatty

if TYPE_CHECKING:
    from .distributed import NodeSettings
    from .run import LoadRun, OutputPaths, RunSettings

SESSION_KEY = pytest.StashKey["LoadSession"]()
RUN_ITEM_NAME = "load_run"


def get_session(config: pytest.Config) -> LoadSession:
    """The session's LoadSession (made in ``pytest_configure``)."""
    return config.stash[SESSION_KEY]


@dataclass
class SessionOptions:
    """What the session's options say for every run it makes, read once at ``pytest_configure``."""

    run_settings: RunSettings
    """The settings of a run no ``load`` marker changes (a marker overrides some for its own run)."""
    thresholds: list[Threshold]
    """``--load-threshold`` and ``--load-fail-ratio``: every run of a local or master session is judged on them."""
    outputs: OutputPaths
    node: NodeSettings
    """The session's role: local, master (``--load-master``, ``--load-processes``) or worker."""
    load_only: bool
    live_interval: float

    @classmethod
    def from_config(cls, config: pytest.Config) -> SessionOptions:
        """The options' values (command line > environment > ini > default); a bad one is a usage error."""
        from .distributed import resolve_node
        from .run import OutputPaths, RunSettings

        try:
            values = {o.key: opts.resolve(config, o) for o in opts.OPTIONS}
            expressions = list(values["threshold"])
            if values["fail_ratio"] is not None:
                expressions.insert(0, f"fail_ratio <= {values['fail_ratio']:g}")
            thresholds = parse_all(expressions)
            node = resolve_node(values, config)
            if values["rate"] is not None and values["rate_stages"]:
                raise ValueError("--load-rate and --load-rate-stages cannot be combined: give one (to hold a rate after "
                                 "a ramp, repeat it as a stage: '50/s:10s,50/s:1m')")
            if (values["rate"] is not None or values["rate_stages"]) and (values["web"] or values["web_wait"]):
                # The web UI's form and controls start closed-model runs (users, spawn rate) only (issue 21).
                raise ValueError("--load-rate and --load-rate-stages cannot be combined with the web UI "
                                 "(--load-web, --load-web-wait) yet: it starts users, not a rate")
        except ValueError as error:
            raise pytest.UsageError(f"pytest-loadhooks: {error}") from None
        given = {o.key: label for o in opts.RUN_SETTINGS if (label := opts.given_as(config, o)) is not None}
        return cls(run_settings=RunSettings.from_values(values, given), thresholds=thresholds,
                   outputs=OutputPaths(values["html"], values["csv"], values["json"]), node=node,
                   load_only=bool(values["only"]), live_interval=values["live_interval"] or 5.0)


@dataclass
class RunRegistry:
    """The session's runs, made as collection meets them: one shared run, one per marked module or test."""

    session_run: LoadRun | None = None
    """The run that the users of unmarked modules join."""
    module_runs: dict[str, LoadRun] = field(default_factory=dict)
    """By module node id: the runs of modules marked ``load``."""
    test_runs: dict[str, LoadRun] = field(default_factory=dict)
    """By test node id: the runs of tests marked ``load``."""
    run_items: dict[int, pytest.Item] = field(default_factory=dict)
    """By ``id(run)``: the ``load_run`` item of a session or module run."""

    def all(self) -> list[LoadRun]:
        """The shared run first, then the modules', then the tests', each in the order made."""
        runs = [self.session_run] if self.session_run else []
        return runs + list(self.module_runs.values()) + list(self.test_runs.values())


@dataclass
class CollectionFindings:
    """What collection found in the test modules, for the runs and the checks after it."""

    user_classes: dict[str, list[type]] = field(default_factory=dict)
    """By module node id: the concrete User classes the module defines."""
    shapes: dict[str, type] = field(default_factory=dict)
    """By module node id: the LoadTestShape the module defines."""
    abstract_user_classes: list[str] = field(default_factory=list)
    """Node ids of the abstract User classes met (named when nothing concrete is found)."""
    problems: list[str] = field(default_factory=list)
    """Usage errors met while collecting (raising there would make collection errors): raised after it."""


class LoadSession:
    """The plugin's state for one pytest session: its options, what collection found, its runs and their results."""

    def __init__(self, config: pytest.Config, registry: ArgumentRegistry) -> None:
        self.config = config
        self.registry = registry
        """The custom arguments of ``init_command_line_parser`` listeners."""
        self.active = opts.is_load_session(config)
        self.options = SessionOptions.from_config(config)
        self.runs = RunRegistry()
        self.found = CollectionFindings()
        self.item_thresholds: dict[str, list[Threshold]] = {}
        """Thresholds that a test (or its class) sets on the shared run it reads, parsed at collection."""
        self.quit_errors: list = []
        """Errors of ``quitting``/``quit`` listeners at the session's end."""
        self.node = self._make_node(config) if self.active else None
        """The session's distributed node (MasterSession, WorkerSession), None for a local session."""

    def _make_node(self, config: pytest.Config) -> Any:
        from .distributed import MasterSession, WorkerSession

        role = self.options.node.role
        if role == "master":
            return MasterSession(self.options.node, config)
        if role == "worker":
            return WorkerSession(self.options.node)
        return None

    @property
    def is_worker(self) -> bool:
        """The session serves runs for a master (``--load-worker``): it neither judges nor reports them."""
        return self.node is not None and self.options.node.role == "worker"

    # -- runs --
    def all_runs(self) -> list[LoadRun]:
        """Every run of the session: the shared one first, then the modules', then the tests'."""
        return self.runs.all()

    @property
    def test_runs(self) -> dict[str, LoadRun]:
        """By test node id: the runs of tests marked ``load`` (``self.runs.test_runs``)."""
        return self.runs.test_runs

    def new_run(self, run_id: str, settings: Any, isolated: bool) -> LoadRun:
        """A run with the session's thresholds; an isolated run writes its outputs under names of its own."""
        from .participants import participants_for
        from .run import LoadRun

        outputs = self.options.outputs.for_run(run_id if isolated else None)
        if isolated:
            _check_outputs(outputs, run_id)
        if self.is_worker:  # the master judges and reports; a worker only serves
            return LoadRun(run_id=run_id, settings=settings, participants=participants_for(self.config, self.node))
        return LoadRun(run_id=run_id, settings=settings, thresholds=list(self.options.thresholds), outputs=outputs,
                       participants=participants_for(self.config, self.node, live_view=self.live_view))

    def run_for_module(self, module: pytest.Module) -> LoadRun:
        """The run a module's User classes join: its own when it is marked ``load``, else the shared one
        (made on first use); the module's own ``thresholds`` markers join that run."""
        marker = own_marker(module, "load")
        if marker is not None:
            run = self.runs.module_runs.get(module.nodeid)
            if run is None:
                settings = self._marker_settings(marker, module.nodeid, module)
                run = self.new_run(f"{module.nodeid}::{RUN_ITEM_NAME}", settings, isolated=True)
                _apply_marker_user_classes(run, marker, module.nodeid, module)
                self.runs.module_runs[module.nodeid] = run
            run.thresholds += self.marker_thresholds(module, own_only=True, run=run)
            return run
        if self.runs.session_run is None:
            self.runs.session_run = self.new_run(f"{module.nodeid}::{RUN_ITEM_NAME}", self.options.run_settings, isolated=False)
        self.runs.session_run.thresholds += self.marker_thresholds(module, own_only=True, run=self.runs.session_run)
        return self.runs.session_run

    def run_for_item(self, item: pytest.Item) -> LoadRun | None:
        """The run a test reads: its own, its module's, the run of a load-run item, else the shared one."""
        run = self.runs.test_runs.get(item.nodeid)
        if run is not None:
            return run
        module = item.getparent(pytest.Module)
        if module is not None and module.nodeid in self.runs.module_runs:
            return self.runs.module_runs[module.nodeid]
        from .items import LoadRunItem

        if isinstance(item, LoadRunItem):
            return item.run
        return self.runs.session_run

    def _marker_settings(self, marker: pytest.Mark, where: str, module: pytest.Module | None) -> RunSettings:
        """The session's settings overridden by a ``load`` marker, every argument checked (a usage error names it)."""
        if marker.args:
            raise pytest.UsageError(f"pytest-loadhooks: {where}: the load marker takes keyword arguments only")
        kwargs = dict(marker.kwargs)
        try:
            if kwargs.get("shape") is not None:
                kwargs["shape"] = marker_shape(kwargs["shape"], _namespace(module))
            if kwargs.get("user_classes") is not None:
                marker_user_classes(kwargs["user_classes"], _namespace(module))  # checked here, applied by the caller
            return self.options.run_settings.with_marker(kwargs)
        except ValueError as error:
            raise pytest.UsageError(f"pytest-loadhooks: {where}: {error}") from None

    def marker_thresholds(self, node: Any, own_only: bool, run: LoadRun) -> list[Threshold]:
        """The thresholds of a node's ``thresholds`` markers (its own only, or with its parents') that
        ``run`` does not have yet: what to add to the run. A bad expression is a usage error naming the node."""
        parsed = self._thresholds_of(node, own_only)
        known = {t.expression for t in run.thresholds}
        return [t for t in parsed if t.expression not in known]

    @staticmethod
    def _thresholds_of(node: Any, own_only: bool, skip_modules: bool = False) -> list[Threshold]:
        """The thresholds of a node's ``thresholds`` markers (its own, or with its parents'), as a usage error if bad."""
        pairs = [(node, m) for m in node.own_markers] if own_only else list(node.iter_markers_with_node())
        expressions: list[str] = []
        try:
            for owner, marker in pairs:
                if marker.name != "thresholds" or (skip_modules and isinstance(owner, pytest.Module)):
                    continue
                expressions.extend(marker_expressions(marker.args, marker.kwargs))
            return parse_all(expressions)
        except ThresholdError as error:
            raise pytest.UsageError(f"pytest-loadhooks: {node.nodeid}: {error}") from None

    def validate_before_traffic(self, items: Sequence[pytest.Item]) -> None:
        """Check, at collection, what would otherwise be read only after a run: the thresholds on tests.

        A test (or its class) that reads a shared run through ``load_result`` judges that run
        with its own thresholds; they are parsed here so that a bad one costs no run. A
        thresholds marker on a test that reads no run would judge nothing: a usage error.
        """
        if not self.active:
            return  # load items are skipped: nothing will be judged
        for item in items:
            if item.nodeid in self.runs.test_runs:
                continue  # its own run took the thresholds of the test, its class and module
            if "load_result" in getattr(item, "fixturenames", ()):
                self.item_thresholds[item.nodeid] = self._thresholds_of(item, own_only=False, skip_modules=True)
            elif own_marker(item, "thresholds") is not None:
                raise pytest.UsageError(
                    f"pytest-loadhooks: {item.nodeid}: @pytest.mark.thresholds on a test that reads no load run "
                    "judges nothing: request the load_result fixture, or put the marker on the module")

    def adopt_test_thresholds(self, items: Sequence[pytest.Item]) -> None:
        """A test's own thresholds judge the shared run it reads, beside the run's own, labelled with the test.

        Called once the selection is final (after ``-k``/``-m``): a deselected test judges nothing.
        Added before any run starts, they are checked with the others and so listed in the run's
        summary and reports, and they decide its verdict. The test still fails on them itself.
        """
        if not self.active or self.is_worker:  # a worker serves; the master judges
            return
        for item in items:
            if item.nodeid in self.runs.test_runs or "load_result" not in getattr(item, "fixturenames", ()):
                continue  # a marked test's own run took its thresholds already
            run = self.run_for_item(item)
            if run is None:
                continue
            known = {threshold.expression for threshold in run.thresholds}
            for threshold in self.own_thresholds(item):
                if threshold.expression not in known:
                    run.thresholds.append(replace(threshold, source=item.nodeid))
                    known.add(threshold.expression)

    def own_thresholds(self, item: pytest.Item) -> list[Threshold]:
        """The thresholds a test (or its class) sets on the shared run it reads (parsed at collection)."""
        if item.nodeid not in self.item_thresholds:
            self.item_thresholds[item.nodeid] = self._thresholds_of(item, own_only=False, skip_modules=True)
        return self.item_thresholds[item.nodeid]

    def failure_of_test(self, item: pytest.Item) -> str | None:
        """Why a test that just ran fails on the load it read, None when it does not.

        A test marked ``load`` fails with its own run; a test that reads a shared run fails on
        the thresholds it (or its class) sets, checked against that run's result.
        """
        run = self.runs.test_runs.get(item.nodeid)
        if run is not None and run.result is not None and not run.result.passed:
            return "\n".join(run.result.failure_lines())
        own_thresholds = [m for node, m in item.iter_markers_with_node("thresholds")
                          if not isinstance(node, pytest.Module)]
        if run is None and own_thresholds and "load_result" in item.fixturenames:
            shared = self.run_for_item(item)
            if shared is not None and shared.result is not None:
                failures = [v.message for v in (t.check(shared.result) for t in self.own_thresholds(item))
                            if not v.passed]
                if failures:
                    return "\n".join(failures)
        return None

    def create_test_run(self, item: pytest.Item, marker: pytest.Mark) -> LoadRun:
        """The run of a test marked ``load``: its module's users (or the marker's), shape and the test's thresholds."""
        module = item.getparent(pytest.Module)
        settings = self._marker_settings(marker, item.nodeid, module)
        run = self.new_run(item.nodeid, settings, isolated=True)
        run.user_classes = list(self.found.user_classes.get(module.nodeid, [])) if module else []
        if module is not None and settings.shape is None and module.nodeid in self.found.shapes:
            run.settings.shape = self.found.shapes[module.nodeid]
        _apply_marker_user_classes(run, marker, item.nodeid, module)
        run.thresholds += self.marker_thresholds(item, own_only=False, run=run)
        self.runs.test_runs[item.nodeid] = run
        return run

    # -- output --
    def live_view(self, run: LoadRun) -> Any:
        """The live status line of a run on the terminal; None without a terminal reporter."""
        from .terminal import LiveView

        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        verbosity = self.config.get_verbosity()
        if reporter is None:
            return None

        def write(text: str) -> None:
            with capture_suspended(self.config):  # the live line shows while the test's output is captured
                reporter.write(text, flush=True)

        tty = reporter_isatty(reporter) and not os.environ.get("CI")
        view = LiveView(run, write, tty=tty, interval=self.options.live_interval, enabled=verbosity >= 0)
        return view


def own_marker(node: Any, name: str) -> pytest.Mark | None:
    """The marker ``name`` set on the node itself, not inherited from its parents."""
    for marker in node.own_markers:
        if marker.name == name:
            return marker
    return None


def _apply_marker_user_classes(run: LoadRun, marker: pytest.Mark, where: str, module: pytest.Module | None) -> None:
    given = marker.kwargs.get("user_classes")
    if given is None:
        return
    try:
        run.user_classes = marker_user_classes(given, _namespace(module))
    except ValueError as error:
        raise pytest.UsageError(f"pytest-loadhooks: {where}: {error}") from None
    run.explicit_user_classes = True


def _namespace(module: pytest.Module | None) -> dict[str, Any]:
    """The names a marker's strings are looked up in: the test module's globals."""
    return vars(module.obj) if module is not None else {}


def marker_user_classes(given: Any, namespace: dict[str, Any]) -> list[type]:
    """``load(user_classes=...)``: a User class, or a list of them; a name stands for the module's class of that name.

    Names follow Locust's command line (``locust -f file.py UserA UserB`` picks classes by name).
    """
    entries = list(given) if isinstance(given, (list, tuple)) else [given]
    if not entries:
        raise ValueError("load(user_classes=[]) selects no users: name at least one User class, "
                         "or leave user_classes out to run all of the module's")
    return [_user_class(entry, namespace) for entry in entries]


def _user_class(entry: Any, namespace: dict[str, Any]) -> type:
    users = sys.modules.get("pytest_loadhooks.user.users")  # a User class exists only once this is imported
    value = namespace.get(entry) if isinstance(entry, str) else entry
    if isinstance(entry, str) and value is None:
        known = sorted(name for name, obj in namespace.items()
                       if users is not None and isinstance(obj, type) and issubclass(obj, users.User)
                       and not obj.__dict__.get("abstract", False))
        raise ValueError(f"load(user_classes=...): no User class named {entry!r} in the test module "
                         f"(it has: {', '.join(known) or 'none'})")
    if users is None or not isinstance(value, type) or not issubclass(value, users.User):
        raise ValueError(f"load(user_classes=...): {entry!r} is not a User class: give a User subclass, "
                         "a list of them, or their names")
    if value.__dict__.get("abstract", False):
        raise ValueError(f"load(user_classes=...): {value.__name__} is abstract (abstract = True) and cannot run")
    return value


def marker_shape(given: Any, namespace: dict[str, Any]) -> Any:
    """``load(shape=...)``: a LoadTestShape subclass or instance; a name stands for the module's class of that name."""
    shapes = sys.modules.get("pytest_loadhooks.shape")
    value = namespace.get(given, given) if isinstance(given, str) else given
    is_class = isinstance(value, type) and shapes is not None and issubclass(value, shapes.LoadTestShape)
    if is_class or (shapes is not None and isinstance(value, shapes.LoadTestShape)):
        return value
    raise ValueError(f"load(shape={given!r}): not a LoadTestShape: give a LoadTestShape subclass "
                     "(or its name in the test module)")


def _check_outputs(outputs: Any, run_id: str) -> None:
    """The files an isolated run writes under names of its own: checked before any run starts."""
    try:
        for path in (outputs.html, outputs.json):
            if path:
                opts.check_output_file(path)
        if outputs.csv:
            opts.parse_output_prefix(outputs.csv)
    except ValueError as error:
        raise pytest.UsageError(f"pytest-loadhooks: {run_id}: {error}") from None
