"""Collection policy: which classes become load runs, which tests get runs of their own, what is
checked before any traffic, and in which order the items run.

plugin/__init__.py's collection hooks call these: ``collect_class`` for each class pytest
meets in a test module, ``prepare_items`` once the items are collected (before ``-k``/``-m``
deselect), ``collection_notices`` for the lines printed once collection is done.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from . import options as opts
from .custom_args import fire_new_listeners
from .fixtures import SKIP_REASON
from .items import LoadRunItem
from .load_session import RUN_ITEM_NAME, LoadSession, get_session, own_marker
from .pytest_compat import request_fixture, set_up_last
from .run import LoadRun

LOAD_FIXTURES = ("load_result", "load_env", "load_events")
"""The fixtures through which a test reads a load run (and so needs one)."""


# --------------------------------------------------------------------------- classes in test modules
def collect_class(collector: pytest.Collector, name: str, obj: object) -> Any:
    """What a class of a test module becomes (``pytest_pycollect_makeitem``).

    A LoadTestShape defined in the module is noted for its run and collected as nothing. A
    concrete User class defined in the module joins the module's run (the session's, unless
    the module is marked ``load``); the first one of a run becomes that run's ``load_run``
    item. Abstract and imported User classes are collected as nothing. Anything else: None,
    pytest's own collection decides.
    """
    if not isinstance(obj, type):
        return None
    users_module = sys.modules.get("pytest_loadhooks.user.users")
    shape_module = sys.modules.get("pytest_loadhooks.shape")
    module = collector.getparent(pytest.Module)
    if module is None:
        return None
    load = get_session(collector.config)
    if shape_module is not None and issubclass(obj, shape_module.LoadTestShape):
        if obj.__module__ == module.obj.__name__ and not obj.__dict__.get("abstract", False):
            load.found.shapes.setdefault(module.nodeid, obj)
        return []
    if users_module is None or not issubclass(obj, users_module.User):
        return None
    if obj.__module__ != module.obj.__name__:
        return []  # imported from elsewhere: belongs to the module that defines it
    if obj.__dict__.get("abstract", False):
        load.found.abstract_user_classes.append(f"{module.nodeid}::{name}")
        return []
    return _join_run(load, module, obj)


def _join_run(load: LoadSession, module: pytest.Module, user_class: type) -> Any:
    """A concrete User class joins its module's run; the run's item, the first time the run is met."""
    load.found.user_classes.setdefault(module.nodeid, []).append(user_class)
    try:
        run = load.run_for_module(module)
    except pytest.UsageError as problem:
        # Raising here would become a collection error; report it as a usage error after collection.
        load.found.problems.append(str(problem))
        return []
    if not getattr(run, "explicit_user_classes", False) and user_class not in run.user_classes:
        run.user_classes.append(user_class)
    if id(run) in load.runs.run_items:
        return []
    item = LoadRunItem.from_parent(module, name=RUN_ITEM_NAME, run=run)
    load.runs.run_items[id(run)] = item
    return item


# --------------------------------------------------------------------------- the collected items
def prepare_items(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give the collected items their runs, check the runs before any traffic, and order the items.

    Runs first among ``pytest_collection_modifyitems`` (tryfirst), so ``-k``/``-m`` and
    ``--lf`` apply to the load items afterwards. A session that does no load skips them.
    """
    load = get_session(config)
    _assign_shapes(load)
    _give_runs_to_marked_tests(load, items)
    _fire_test_module_listeners(load)
    if not load.active:
        _skip_load_items(items, load)
        return
    _adopt_test_tasks(load, items)
    if load.found.problems:
        raise pytest.UsageError(load.found.problems[0])
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
    _order_items(items, load)
    if load.options.load_only or load.is_worker:  # a worker serves runs; the other tests are the master's
        _deselect_non_load(items, load, config)
    if load.node is not None:
        from .distributed import planned_run_ids

        load.node.planned = planned_run_ids(items, load)


def _give_runs_to_marked_tests(load: LoadSession, items: list[pytest.Item]) -> None:
    """A test marked ``load`` (not through its module) gets a run of its own, which it reads;
    a test that reads its module's shared run adds the thresholds of a module without users."""
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
                run.thresholds += load.marker_thresholds(module, own_only=True, run=run)


def _adopt_test_tasks(load: LoadSession, items: list[pytest.Item]) -> None:
    """Tests marked ``load_task`` or chosen by ``--load-tests`` become the tasks of one User class, which joins
    the session's run (made, with its ``load_run`` item, when no User class made it)."""
    from .load_tasks import choose_tests, tasks_user_class

    chosen, notices = choose_tests(items, opts.value_of(load.config, "tests"))
    if not chosen:
        return
    module = chosen[0].item.getparent(pytest.Module)
    run = load.runs.session_run or load.run_for_module(module)
    run.user_classes.append(tasks_user_class(chosen))
    run.notices += notices
    if id(run) not in load.runs.run_items:
        item = LoadRunItem.from_parent(module, name=RUN_ITEM_NAME, run=run)
        load.runs.run_items[id(run)] = item
        items.append(item)


def _fire_test_module_listeners(load: LoadSession) -> None:
    """Listeners that test modules added to init_command_line_parser: env/ini/default only."""
    try:
        fire_new_listeners(load.registry, None)
    except ValueError as error:
        raise pytest.UsageError(f"pytest-loadhooks: {error}") from None


def _assign_shapes(load: LoadSession) -> None:
    """A LoadTestShape defined in a module drives that module's run (the session's, unless marked)."""
    session_shapes = {name: shape for name, shape in load.found.shapes.items() if name not in load.runs.module_runs}
    for module_id, run in load.runs.module_runs.items():
        if run.settings.shape is None and module_id in load.found.shapes:
            run.settings.shape = load.found.shapes[module_id]
    distinct = list(dict.fromkeys(session_shapes.values()))
    if load.runs.session_run is not None and load.runs.session_run.settings.shape is None and distinct:
        if len(distinct) > 1:
            names = ", ".join(f"{module}::{shape.__name__}" for module, shape in session_shapes.items())
            load.found.problems.append(f"pytest-loadhooks: several LoadTestShape classes for one run ({names}): keep one, "
                                 "or give each its own run with @pytest.mark.load(shape=...)")
        else:
            load.runs.session_run.settings.shape = distinct[0]


# --------------------------------------------------------------------------- checked before any traffic
def _check_runs(load: LoadSession) -> None:
    """Reject what cannot run before any traffic: no users, no tasks, no host."""
    from ..env import Environment
    from ..event import Events
    from ..exception import ConfigurationError

    runs = load.all_runs()
    if not runs:
        _check_no_runs_wanted(load)
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


def _check_no_runs_wanted(load: LoadSession) -> None:
    """A session without runs: fine when load came from a LOADHOOKS_* variable or the ini's load_only.

    Asking for load with an option, or writing only abstract users, is not.
    """
    if load.found.abstract_user_classes:
        raise pytest.UsageError(
            "pytest-loadhooks: no concrete User classes collected (found only abstract User classes: "
            f"{', '.join(load.found.abstract_user_classes[:5])}; "
            "subclasses are concrete unless they set abstract = True)")
    if _load_options_on_command_line(load.config):
        raise pytest.UsageError("pytest-loadhooks: no concrete User classes collected: define a User subclass "
                                "with @task methods in a collected test module")


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
    """Some ``--load-*`` option was given (not only a LOADHOOKS_* variable or the ini's load_only)."""
    return any(getattr(config.option, option.dest, None) not in (None, False, []) for option in opts.OPTIONS)


# --------------------------------------------------------------------------- selection and order
def uses_load(item: pytest.Item) -> bool:
    """The item is a load run, or a test that reads one through a load fixture."""
    return isinstance(item, LoadRunItem) or any(name in item.fixturenames for name in LOAD_FIXTURES)


def _skip_load_items(items: list[pytest.Item], load: LoadSession) -> None:
    """A session that does no load skips its load items, with a hint saying how to run them."""
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if uses_load(item) or item.nodeid in load.runs.test_runs:
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
    """``--load-only`` (and a worker): only the load items stay; the others are reported deselected."""
    keep = [item for item in items if uses_load(item) or item.nodeid in load.runs.test_runs]
    dropped = [item for item in items if item not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


# --------------------------------------------------------------------------- once collection is done
def collection_notices(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    """Say, once per run and before any traffic, which given settings its shape overrides (Locust warns too),
    the distributed node's notices, and the runs' own notices."""
    from .load_session import SESSION_KEY

    load = config.stash.get(SESSION_KEY, None)
    if load is None or not load.active:
        return []
    runs = {id(run): run for item in items if uses_load(item) or item.nodeid in load.runs.test_runs
            if (run := load.run_for_item(item)) is not None}
    lines = [line for run in runs.values() if (line := _shape_override_line(run) or _pool_without_rate_line(run))]
    if runs and hasattr(load.node, "notices"):
        lines += load.node.notices()
    return lines + [notice for run in runs.values() for notice in run.notices]


def _pool_without_rate_line(run: LoadRun) -> str | None:
    """A pool ceiling given for a run without a rate (nor a shape, whose RateTick may use it): it does nothing.
    A notice, not a usage error: a marker's rate= may need the session-wide ceiling in another run."""
    settings = run.settings
    if settings.open_model or settings.shape is not None or "max_users" not in settings.given:
        return None
    return (f"pytest-loadhooks: {run.run_id}: {settings.given['max_users']} is ignored: the run has no rate "
            "(--load-rate, --load-rate-stages, load(rate=...)), so it runs users in the closed model")


def _shape_override_line(run: LoadRun) -> str | None:
    """The settings given for a run that its shape overrides, in one line; None when there are none."""
    from .run import SHAPE_REPLACES_RATE

    ignored = run.settings.ignored_by_shape()
    if not ignored:
        return None
    shape = run.settings.shape
    name = shape.__name__ if isinstance(shape, type) else type(shape).__name__
    what = "the users, spawn rate and end of the run"  # (or a rate: the hint below says how)
    rate_keys = [run.settings.given[key] for key in SHAPE_REPLACES_RATE if key in run.settings.given]
    hints = (["set use_common_options = True on the shape to apply them"]
             if len(rate_keys) < len(ignored) else []) + (["a shape sets a rate by returning a RateTick"]
                                                          if rate_keys else [])
    hint = f" ({'; '.join(hints)})"
    return (f"pytest-loadhooks: {run.run_id}: the shape {name} sets {what}, "
            f"so {', '.join(ignored)} {'is' if len(ignored) == 1 else 'are'} ignored{hint}")
