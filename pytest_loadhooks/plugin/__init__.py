"""The pytest plugin: load sessions, load-run items, fixtures, markers, thresholds, output.

Registered through the ``pytest11`` entry point, so it is loaded in every pytest
session. A session whose invocation gives no ``--load-*`` option and sets no
``LOADHOOKS_*`` variable is left alone, whatever ``load_*`` keys its ini file holds
(they configure runs; only ``load_only = true`` asks for one): nothing is patched and
load items are skipped with a hint. Heavy modules (gevent, requests, the engine) are imported
only when a session actually does load.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import options as opts
from .custom_args import (
    ArgumentRegistry,
    find_late_listeners,
    fire_new_listeners,
    late_listener_message,
    unknown_long_flags,
)
from .fixtures import SKIP_REASON, load_env, load_events, load_result  # noqa: F401 - registers the fixtures
from .items import LoadRunItem
from .load_session import RUN_ITEM_NAME, SESSION_KEY, LoadSession, own_marker
from .load_session import get_session as _session
from .pytest_compat import early_options, request_fixture, set_up_last
from .run import MARKER_KEYS, LoadRun

REGISTRY_KEY = pytest.StashKey[ArgumentRegistry]()
SESSION_NOTES_KEY = pytest.StashKey[list]()
"""Lines the load summary adds about the session's exit status (a deselected verdict, process_exit_code)."""
LOAD_FIXTURES = ("load_result", "load_env", "load_events")


# --------------------------------------------------------------------------- start-up
def pytest_addoption(parser: pytest.Parser, pluginmanager: Any) -> None:
    opts.add_options(parser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> Iterator:
    # Patch before any conftest imports requests/ssl: later is too late for HTTPS.
    if opts.is_load_session(early_config):
        patch_gevent()
    result = yield
    # Listeners from plugins and initial conftests exist now; their arguments become real options.
    from ..event import events

    registry = early_config.stash.setdefault(REGISTRY_KEY, ArgumentRegistry())
    try:
        fire_new_listeners(events, registry, parser)
    except ValueError as error:
        raise pytest.UsageError(f"pytest-loadhooks: {error}") from None
    _explain_late_arguments(early_config, parser, args)
    return result


def _explain_late_arguments(config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """An option pytest is about to call unrecognized, added by a listener it has not imported yet: say so.

    pytest's parse follows this hook; raising here replaces its bare "unrecognized arguments".
    The files are only read, and only when some ``--name`` is unknown.
    """
    flags = unknown_long_flags(parser, args)
    if not flags:
        return
    found = find_late_listeners(flags, _collection_paths(config), list(config.getini("norecursedirs")))
    if found:
        raise pytest.UsageError(late_listener_message(found, config.invocation_params.dir))


def _collection_paths(config: pytest.Config) -> list[Path]:
    """Where pytest will collect from: the paths given, else ``testpaths``, else the invocation directory."""
    base = config.invocation_params.dir
    given = [base / str(arg).split("::", 1)[0] for arg in early_options(config).file_or_dir]
    paths = [path for path in given if path.exists()]
    if not paths:
        paths = [path for pattern in config.getini("testpaths") for path in config.rootpath.glob(pattern)]
    return paths or [base]


def patch_gevent() -> None:
    from gevent import monkey

    if monkey.is_module_patched("socket"):
        return
    early = [name for name in ("urllib3", "requests", "geventhttpclient") if name in sys.modules]
    if early:
        raise pytest.UsageError(
            f"pytest-loadhooks: {', '.join(early)} was imported before gevent could be patched "
            "(by another plugin?); load sessions need gevent patched first - disable that plugin with -p no:NAME"
        )
    with warnings.catch_warnings(), _entry_points_read_once():
        warnings.simplefilter("ignore")  # ssl imported by a plugin is harmless while urllib3 is not
        monkey.patch_all()


@contextlib.contextmanager
def _entry_points_read_once() -> Iterator[None]:
    """While gevent patches: every entry-point lookup answered from one read of the installed packages.

    patch_all() announces each module it patches to gevent's plugin entry points, and each
    announcement re-reads the metadata of every installed distribution: with a few hundred
    packages installed that is most of the patching time (~0.2 s per pytest start here).
    Nothing is installed meanwhile, so one read gives the same answers.
    """
    from importlib import metadata

    original = metadata.entry_points
    everything: list[Any] = []

    def entry_points(**params: Any) -> Any:
        if not everything:
            everything.append(original())
        return everything[0].select(**params) if params else everything[0]

    metadata.entry_points = entry_points
    try:
        yield
    finally:
        metadata.entry_points = original


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"load({', '.join(f'{key}=' for key in MARKER_KEYS)}): "
        "run this test or module as its own isolated load run with these settings",
    )
    config.addinivalue_line(
        "markers", "thresholds(*expressions): thresholds the load run must meet, e.g. 'p95 < 300'",
    )
    registry = config.stash.setdefault(REGISTRY_KEY, ArgumentRegistry())
    session = LoadSession(config, registry)
    config.stash[SESSION_KEY] = session
    if session.active:
        # Registered now, it runs after the cleanups of plugins configured later (pytest's own
        # gc collections at exit among them), which keep the benefit of the freeze below.
        config.add_cleanup(_unfreeze_gc)
    if session.active and not session.is_worker:  # the master compares and saves; a worker only serves
        from .baselines import BASELINES_KEY, from_config

        try:
            config.stash[BASELINES_KEY] = from_config(config)
        except ValueError as error:
            raise pytest.UsageError(f"pytest-loadhooks: {error}") from None
    if session.active and not session.is_worker:  # the web UI is the master's (or the local run's)
        from . import web

        web.configure(config, registry)
    if session.active and (os.environ.get("PYTEST_XDIST_WORKER") or hasattr(config, "workerinput")):
        raise pytest.UsageError("pytest-loadhooks: load sessions cannot run under pytest-xdist; use -p no:xdist or -n0")
    if session.active and _timeout_method(config) == "thread":
        warnings.warn(pytest.PytestConfigWarning(
            "pytest-loadhooks: timeout_method=thread does not work once gevent is patched; use signal"))


def _baselines_key() -> pytest.StashKey:
    from .baselines import BASELINES_KEY

    return BASELINES_KEY


def _web_key() -> pytest.StashKey:
    from .web import WEB_KEY

    return WEB_KEY


def _timeout_method(config: pytest.Config) -> str:
    """pytest-timeout's method, from its option or ini key (empty when it is not installed)."""
    method = config.getoption("timeout_method", None)
    if method:
        return str(method)
    try:
        return str(config.getini("timeout_method") or "")
    except ValueError:
        return ""




# --------------------------------------------------------------------------- collection


def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> Any:
    if not isinstance(obj, type):
        return None
    users_module = sys.modules.get("pytest_loadhooks.user.users")
    shape_module = sys.modules.get("pytest_loadhooks.shape")
    module = collector.getparent(pytest.Module)
    if module is None:
        return None
    session = _session(collector.config)
    if shape_module is not None and issubclass(obj, shape_module.LoadTestShape):
        if obj.__module__ == module.obj.__name__ and not obj.__dict__.get("abstract", False):
            session.module_shapes.setdefault(module.nodeid, obj)
        return []
    if users_module is None or not issubclass(obj, users_module.User):
        return None
    if obj.__module__ != module.obj.__name__:
        return []  # imported from elsewhere: belongs to the module that defines it
    if obj.__dict__.get("abstract", False):
        session.abstract_user_classes.append(f"{module.nodeid}::{name}")
        return []
    session.module_user_classes.setdefault(module.nodeid, []).append(obj)
    try:
        run = session.run_for_module(module)
    except pytest.UsageError as problem:
        # Raising here would become a collection error; report it as a usage error after collection.
        session.problems.append(str(problem))
        return []
    if not getattr(run, "explicit_user_classes", False) and obj not in run.user_classes:
        run.user_classes.append(obj)
    if id(run) in session.run_items:
        return []
    item = LoadRunItem.from_parent(module, name=RUN_ITEM_NAME, run=run)
    session.run_items[id(run)] = item
    return item


_GC_FROZEN_KEY = pytest.StashKey[bool]()


def _unfreeze_gc() -> None:
    # Whatever this session froze goes back under the collector: a process that runs pytest
    # more than once (pytest.main in a loop, in-process pytester) must not keep it for ever.
    gc.unfreeze()


def pytest_collection_finish(session: pytest.Session) -> None:
    load = _session(session.config)
    load.adopt_test_thresholds(session.items)  # the selection is final now
    if load.active:
        # Everything imported and collected so far lives as long as the session: out of the
        # cyclic collector's sight it is not traversed again by the collections during the
        # run nor by the five pytest makes at exit (a few tenths of a second per session).
        gc.freeze()
        session.config.stash[_GC_FROZEN_KEY] = True


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    load = _session(config)
    _assign_shapes(load)
    for item in items:
        if isinstance(item, LoadRunItem):
            continue
        marker = item.get_closest_marker("load")
        module = item.getparent(pytest.Module)
        if marker is not None and (module is None or own_marker(module, "load") is not marker):
            run = load.create_test_run(item, marker)
            run.verdict_reported = True  # the marked test itself passes or fails with its run
            request_fixture(item, "load_result")
        elif module is not None and "load_result" in item.fixturenames:
            # A module without users of its own can still set thresholds for the run its tests read.
            run = load.run_for_item(item)
            if run is not None:
                run.thresholds += load._marker_thresholds(module, own_only=True, run=run)
    # Listeners that test modules added to init_command_line_parser: env/ini/default only.
    from ..event import events

    try:
        fire_new_listeners(events, load.registry, None)
    except ValueError as error:
        raise pytest.UsageError(f"pytest-loadhooks: {error}") from None
    if not load.active:
        _skip_load_items(items, load)
        return
    if load.problems:
        raise pytest.UsageError(load.problems[0])
    try:
        custom_values = load.registry.resolve(config)
    except ValueError as error:
        raise pytest.UsageError(f"pytest-loadhooks: {error}") from None
    custom_described = load.registry.described(config)
    if load.all_runs() or not session.testsfailed:  # a module that failed to import is its own error
        _check_runs(load)
    load.validate_before_traffic(items)
    for run in load.all_runs():
        for key, value in vars(custom_values).items():
            setattr(run.parsed_options, key, value)
        run.custom_arguments = custom_described
        run.web = config.stash.get(_web_key(), None)
        run.baselines = config.stash.get(_baselines_key(), None)
        run.usage_interval = opts.value_of(config, "usage_interval")
    _order_items(items, load)
    if load.load_only or load.is_worker:  # a worker serves runs; the other tests are the master's
        _deselect_non_load(items, load, config)
    if load.node is not None:
        from .distributed import planned_run_ids

        load.node.planned = planned_run_ids(items, load)


def pytest_report_collectionfinish(config: pytest.Config, start_path: Any, items: list[pytest.Item]) -> list[str]:
    """Say, once per run and before any traffic, which given settings its shape overrides (Locust warns too)."""
    load = config.stash.get(SESSION_KEY, None)
    if load is None or not load.active:
        return []
    runs = {id(run): run for item in items if _uses_load(item) or item.nodeid in load.test_runs
            if (run := load.run_for_item(item)) is not None}
    lines = [line for run in runs.values() if (line := _shape_override_line(run))]
    if runs and hasattr(load.node, "notices"):
        lines += load.node.notices()
    return lines + [notice for run in runs.values() for notice in run.notices]


def _shape_override_line(run: LoadRun) -> str | None:
    ignored = run.settings.ignored_by_shape()
    if not ignored:
        return None
    shape = run.settings.shape
    name = shape.__name__ if isinstance(shape, type) else type(shape).__name__
    return (f"pytest-loadhooks: {run.run_id}: the shape {name} sets the users, spawn rate and end of the run, "
            f"so {', '.join(ignored)} {'is' if len(ignored) == 1 else 'are'} ignored "
            "(set use_common_options = True on the shape to apply them)")


def _assign_shapes(load: LoadSession) -> None:
    """A LoadTestShape defined in a module drives that module's run (the session's, unless marked)."""
    session_shapes = {name: shape for name, shape in load.module_shapes.items() if name not in load.module_runs}
    for module_id, run in load.module_runs.items():
        if run.settings.shape is None and module_id in load.module_shapes:
            run.settings.shape = load.module_shapes[module_id]
    distinct = list(dict.fromkeys(session_shapes.values()))
    if load.session_run is not None and load.session_run.settings.shape is None and distinct:
        if len(distinct) > 1:
            names = ", ".join(f"{module}::{shape.__name__}" for module, shape in session_shapes.items())
            load.problems.append(f"pytest-loadhooks: several LoadTestShape classes for one run ({names}): keep one, "
                                 "or give each its own run with @pytest.mark.load(shape=...)")
        else:
            load.session_run.settings.shape = distinct[0]


def _check_runs(load: LoadSession) -> None:
    """Reject what cannot run before any traffic: no users, no tasks, no host."""
    from ..env import Environment
    from ..event import Events
    from ..exception import ConfigurationError

    runs = load.all_runs()
    if not runs:
        # A session of only functional tests is fine when load came from a LOADHOOKS_* variable
        # or the ini's load_only. Asking for load with an option, or writing only abstract
        # users, is not.
        if load.abstract_user_classes:
            raise pytest.UsageError(
                "pytest-loadhooks: no concrete User classes collected (found only abstract User classes: "
                f"{', '.join(load.abstract_user_classes[:5])}; "
                "subclasses are concrete unless they set abstract = True)")
        if _load_options_on_command_line(load.config):
            raise pytest.UsageError("pytest-loadhooks: no concrete User classes collected: define a User subclass "
                                    "with @task methods in a collected test module")
        return
    for run in runs:
        _drop_taskless_base_classes(run)
        if not run.user_classes:
            raise pytest.UsageError(f"pytest-loadhooks: {run.run_id}: no User classes to run")
        try:
            # A throw-away probe with events of its own: the run's events must not see it.
            # A worker's host comes from its master when the run starts (`pytest --load-worker`
            # names none): a placeholder stands in for it here, so everything else is still checked.
            host = run.settings.host or ("http://host-from-the-master.invalid" if load.is_worker else None)
            probe = Environment(user_classes=run.user_classes, host=host, tags=run.settings.tags,
                                exclude_tags=run.settings.exclude_tags, events=Events())
            probe.validate_user_classes()
        except ConfigurationError as error:
            raise pytest.UsageError(f"pytest-loadhooks: {run.run_id}: {error}") from None


def _drop_taskless_base_classes(run: LoadRun) -> None:
    """A User class without tasks that another user class of the run extends is a base class, not a user.

    Locust's examples write such bases without ``abstract = True`` (e.g. one that sets a header in
    ``__init__`` for its subclasses); Locust spawns them anyway and they log "no tasks" until the run
    ends. Leaving them out is what their author meant; the session says so, and a task-less class
    that nothing extends is still refused before any traffic.
    """
    bases = [cls for cls in run.user_classes if not cls.tasks
             and any(other is not cls and issubclass(other, cls) for other in run.user_classes)]
    for base in bases:
        run.user_classes.remove(base)
        run.notices.append(f"pytest-loadhooks: {run.run_id}: {base.__name__} has no tasks and is extended by "
                           "other User classes of the run: run as a base class only (set abstract = True to say so)")


def _load_options_on_command_line(config: pytest.Config) -> bool:
    return any(getattr(config.option, option.dest, None) not in (None, False, []) for option in opts.OPTIONS)


def _uses_load(item: pytest.Item) -> bool:
    return isinstance(item, LoadRunItem) or any(name in item.fixturenames for name in LOAD_FIXTURES)


def _skip_load_items(items: list[pytest.Item], load: LoadSession) -> None:
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if _uses_load(item) or item.nodeid in load.test_runs:
            item.add_marker(skip)


def _order_items(items: list[pytest.Item], load: LoadSession) -> None:
    """Let the first test that reads a run's result trigger it, so its listener fixtures see the run.

    The run's own item then follows that test and reports the verdict.
    """
    for run_item in [i for i in items if isinstance(i, LoadRunItem)]:
        index = items.index(run_item)
        users = [i for i, item in enumerate(items)
                 if not isinstance(item, LoadRunItem) and "load_result" in item.fixturenames
                 and load.run_for_item(item) is run_item.run]
        if users and users[0] > index:
            items.pop(index)
            items.insert(users[0], run_item)
    for item in items:
        if "load_result" in getattr(item, "fixturenames", ()):
            set_up_last(item, "load_result")  # setting it up starts the run: the test's other fixtures first


def _deselect_non_load(items: list[pytest.Item], load: LoadSession, config: pytest.Config) -> None:
    keep = [item for item in items if _uses_load(item) or item.nodeid in load.test_runs]
    dropped = [item for item in items if item not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


# --------------------------------------------------------------------------- running
@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator:
    result = yield
    load = _session(item.config)
    run = load.test_runs.get(item.nodeid)
    if run is not None and run.result is not None and not run.result.passed:
        pytest.fail("\n".join(run.result.failure_lines()), pytrace=False)
    # Thresholds on the test or its class are checked against the run the test reads.
    own_thresholds = [m for node, m in item.iter_markers_with_node("thresholds") if not isinstance(node, pytest.Module)]
    if run is None and own_thresholds and "load_result" in item.fixturenames:
        shared = load.run_for_item(item)
        if shared is not None and shared.result is not None:
            failures = [v.message for v in (t.check(shared.result) for t in load.own_thresholds(item)) if not v.passed]
            if failures:
                pytest.fail("\n".join(failures), pytrace=False)
    return result



@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator:
    report = yield
    if isinstance(item, LoadRunItem) and call.when == "call" and item.run.result is not None:
        # When a test that reads the result started the run, the run's time went to that test;
        # the run's own item still shows how long the run took (junit time, --durations).
        report.duration = max(report.duration, item.run.result.duration)
    return report


# --------------------------------------------------------------------------- end of session
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    load = session.config.stash.get(SESSION_KEY, None)
    if load is None or not load.active:
        return
    _stop_local_workers(session, load)
    environments = [run.environment for run in load.all_runs() if run.environment is not None]
    if not environments:
        return
    from ..event import events

    notes = session.config.stash.setdefault(SESSION_NOTES_KEY, [])
    _fail_for_unreported_verdicts(session, load, notes)
    errors_before = len(events.listener_errors)
    events.quitting.fire(environment=environments[-1])
    _honour_process_exit_code(session, environments, notes)
    events.quit.fire(exit_code=int(session.exitstatus))
    load.quit_errors = events.listener_errors[errors_before:]
    if load.quit_errors and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # a listener error never vanishes silently


def _stop_local_workers(session: pytest.Session, load: LoadSession) -> None:
    """``--load-processes``: the local workers end (terminated, then killed, if they do not); one that
    failed fails the session and shows its output."""
    from .distributed import MasterNode

    if not isinstance(load.node, MasterNode):
        return
    lines = load.node.finish()
    if lines:
        session.config.stash.setdefault(SESSION_NOTES_KEY, []).extend(lines)
        if _passing(session.exitstatus):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _passing(status: int) -> bool:
    return status in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)


def _fail_for_unreported_verdicts(session: pytest.Session, load: LoadSession, notes: list[str]) -> None:
    """A run that did not pass fails the session, even when no item of its own said so.

    A test reading ``load_result`` starts the run; with the run's item deselected (``-k``), its
    verdict would otherwise be printed in the summary while the session exits 0.
    """
    for run in load.all_runs():
        if run.result is None or run.verdict_reported or run.result.passed:
            continue
        notes.append(_unreported_verdict_note(session, run.result))
        if _passing(session.exitstatus):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _unreported_verdict_note(session: pytest.Session, result: Any) -> str:
    """Why a run's verdict had no item of its own: the session was interrupted, stopped early, or (the one
    cause left) its item was deselected."""
    interrupted = result.interrupted or session.exitstatus == pytest.ExitCode.INTERRUPTED
    if interrupted:
        planned = f" of {result.planned_run_time:g}s" if result.planned_run_time else ""
        how = f" by {result.interrupted} after {result.duration:.1f}s{planned}" if result.interrupted else ""
        return f"{result.run_id} {result.status.upper()}{how}, and its item did not run: the session was interrupted"
    stopped_early = session.shouldstop or session.shouldfail
    why = f"the session stopped early: {stopped_early}" if stopped_early else "deselected?"
    return f"{result.run_id} {result.status.upper()}, and its item did not run ({why}): the session fails"


def _honour_process_exit_code(session: pytest.Session, environments: list[Any], notes: list[str]) -> None:
    """Locust's idiom: a ``quitting`` listener sets ``environment.process_exit_code`` to fail the process.

    A non-zero code becomes the session's exit status unless the session already failed on its
    own (pytest's code says more then); 0 never hides a failure.
    """
    codes = [env.process_exit_code for env in environments if getattr(env, "process_exit_code", None)]
    if not codes:
        return
    code = int(codes[0])
    if _passing(session.exitstatus):
        session.exitstatus = code
        notes.append(f"environment.process_exit_code = {code} (set by a listener): the session exits {code}")
    else:
        notes.append(f"environment.process_exit_code = {code} (set by a listener); "
                     f"the session exits {int(session.exitstatus)} as its tests say")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    load = config.stash.get(SESSION_KEY, None)
    if load is None or not load.active:
        return
    from .terminal import comparison_summary_lines, summary_lines

    finished = [run for run in load.all_runs() if run.result is not None]
    notes = config.stash.get(SESSION_NOTES_KEY, [])
    if not finished and not load.quit_errors and not notes:
        return
    verbosity = config.get_verbosity()
    terminalreporter.section("load test results", sep="=")
    for error in load.quit_errors:
        terminalreporter.write_line(f"ERROR listener {error.listener} of event '{error.event}' raised {error.error}",
                                    red=True)
    for note in notes:
        terminalreporter.write_line(f"pytest-loadhooks: {note}", red=True)
    if verbosity < -1:
        return
    for run in finished:
        for line in summary_lines(run.result, verbosity):
            terminalreporter.write_line(line)
        for line in comparison_summary_lines(run.result, verbosity, colour=terminalreporter.hasmarkup):
            terminalreporter.write_line(line)
        for path in run.written_outputs:
            terminalreporter.write_line(f"  wrote {path}")
