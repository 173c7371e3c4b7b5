"""Every reach of the plugin into pytest's internals, in one place.

The rest of the plugin uses pytest's public API only. Each function here does one thing
for which pytest offers no public way, says why, and names the pytest versions it was
checked on (tests/test_pytest_compat.py runs each through real pytest sessions, so a
pytest upgrade that breaks one fails a test of that name). The project supports
``pytest>=8.0`` (pyproject.toml).
"""

from __future__ import annotations

import contextlib
from argparse import Namespace
from collections.abc import Iterator
from typing import Any

import pytest


def ini_values(config: pytest.Config) -> dict[str, Any]:
    """The raw key/values of the session's ini file (or pyproject table), every key, known to pytest or not.

    Why not ``config.getini``: it raises for a key no plugin registered with ``parser.addini``
    (the ini keys of custom arguments whose listener sits in a test module, read before or
    without registration), and it raises, without naming the key, on a native TOML value of
    another type (``[tool.pytest] load_users = 5``) or a bad boolean; the plugin reads raw and
    names the key itself. pytest has no public "all ini values" API.

    Checked on pytest 8.0.2, 8.4.2 (``config.inicfg``: a dict of raw values) and 9.0.3, 9.2.0
    (``config._inicfg``: ``ConfigValue`` objects whose ``.value`` is the raw value;
    ``config.inicfg`` is a deprecated proxy there, to be removed in pytest 10).
    """
    private = getattr(config, "_inicfg", None)
    if private is not None:
        return {key: getattr(value, "value", value) for key, value in private.items()}
    return dict(config.inicfg)


def early_options(config: pytest.Config) -> Namespace | None:
    """The options given to the session (command line, ``addopts``, ``PYTEST_ADDOPTS``), already
    readable before the initial conftests are imported.

    Why not ``config.getoption`` / ``config.option``: in ``pytest_load_initial_conftests``, where
    gevent must be patched before any conftest imports ssl, pytest has not parsed the command
    line into ``config.option`` yet (its values are the defaults); only the namespace of its
    first, partial parse holds them. That attribute is not underscored but is undocumented.
    A config without it (never pre-parsed) falls back to ``config.option`` (None without either).

    Checked on pytest 8.0.2, 8.4.2, 9.0.3, 9.2.0 (``config.known_args_namespace``).
    """
    return getattr(config, "known_args_namespace", None) or getattr(config, "option", None)


def request_fixture(item: pytest.Item, name: str) -> None:
    """Make a collected test set up the fixture ``name`` as if its function had asked for it.

    Why not ``@pytest.mark.usefixtures``: pytest computes a test's fixtures when it creates
    the item, so a ``usefixtures`` marker added afterwards (in ``pytest_collection_modifyitems``,
    where the plugin learns that a ``load`` marker gives the test a run of its own) is ignored.
    ``item.fixturenames`` is the item's list of fixtures to set up; pytest sets up what it
    holds, so the name is appended to it in place.

    Checked on pytest 8.0.2, 8.4.2, 9.0.3, 9.2.0 (``Function.fixturenames`` is the
    fixture info's ``names_closure`` list, which ``FixtureRequest._fillfixtures`` walks).
    """
    if name not in item.fixturenames:
        item.fixturenames.append(name)


def set_up_last(item: pytest.Item, name: str) -> None:
    """Reorder a test's fixtures so that ``name``, and every fixture that depends on it, are set up
    after all its other fixtures.

    The plugin needs this for ``load_result``: setting it up starts the load run, so every
    other fixture of the test (listeners added through ``load_events``, say) must be in place
    first. pytest sets fixtures up in the order of ``item.fixturenames`` and has no public way
    to ask for "last"; which fixture depends on which is only in the item's private fixture
    info (``item._fixtureinfo.name2fixturedefs``, each def's ``argnames``).

    Checked on pytest 8.0.2, 8.4.2, 9.0.3, 9.2.0.
    """
    names = item.fixturenames
    info = getattr(item, "_fixtureinfo", None)
    name2defs = info.name2fixturedefs if info is not None else {}
    dependents = {name}
    changed = True
    while changed:
        changed = False
        for other in names:
            if other in dependents:
                continue
            for fixturedef in name2defs.get(other, ()):
                if dependents & set(fixturedef.argnames):
                    dependents.add(other)
                    changed = True
                    break
    late = [other for other in names if other in dependents]
    early = [other for other in names if other not in dependents]
    names[:] = early + late


@contextlib.contextmanager
def capture_suspended(config: pytest.Config) -> Iterator[None]:
    """Inside the block, output goes to the terminal even while pytest captures a test's output
    (globally, and through ``capsys``/``capfd`` fixtures).

    Why not ``capsys.disabled()``: that needs the ``capsys`` fixture of the running test, and a
    load run's live view writes from whichever test (or load-run item) started the run. The
    capture plugin (``CaptureManager``, not part of pytest's public API) does it for the whole
    process. Without the capture plugin (``-p no:capture``) nothing is captured: the block just runs.

    Checked on pytest 8.0.2, 8.4.2, 9.0.3, 9.2.0
    (``pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled()``).
    """
    capture = config.pluginmanager.get_plugin("capturemanager")
    if capture is None:
        yield
        return
    with capture.global_and_fixture_disabled():
        yield


def reporter_isatty(reporter: Any) -> bool:
    """Whether pytest's terminal reporter writes to a terminal.

    Why a helper: ``TerminalReporter.isatty`` is a plain bool attribute on pytest 8.0.x (calling it raises
    ``TypeError: 'bool' object is not callable``, which failed every load run there) and a callable bool in
    later versions (``_pytest.compat.CallableBool``, called by pytest itself); both forms are read here. A reporter without it is no terminal.

    Checked on pytest 8.0.2 (attribute), 8.4.2, 9.0.3, 9.2.0 (``CallableBool``).
    """
    value = getattr(reporter, "isatty", False)
    return bool(value() if callable(value) else value)


# --------------------------------------------------------------------------- functional tests as load tasks
def compile_selection(text: str) -> Any:
    """``--load-tests=EXPR`` compiled with pytest's own ``-k`` grammar (``and``, ``or``, ``not``, parentheses,
    substrings of names and keywords, marker names); raises ValueError with pytest's message when it does not parse.

    Why private: pytest has no public API for its keyword expressions; ``-k`` is the grammar users know.
    Checked on pytest 8.0.2, 8.4.2, 9.0.3, 9.2.0 (``_pytest.mark.expression.Expression.compile``; it raises
    the module's ``ParseError`` in 8.x, ``SyntaxError`` from 9.0).
    """
    from _pytest.mark.expression import Expression

    try:
        return Expression.compile(text)
    except Exception as error:  # noqa: BLE001 - ParseError or SyntaxError, by pytest version
        where = f"at column {error.offset}: {error.msg}" if isinstance(error, SyntaxError) else str(error)
        raise ValueError(f"invalid --load-tests expression {text!r}: {where}") from None


def selection_matches(expression: Any, item: pytest.Item) -> bool:
    """Whether a compiled ``--load-tests`` expression selects ``item``, exactly as ``-k`` would.

    Checked on pytest 8.0.2, 8.4.2, 9.0.3, 9.2.0 (``_pytest.mark.KeywordMatcher.from_item``).
    """
    from _pytest.mark import KeywordMatcher

    return bool(expression.evaluate(KeywordMatcher.from_item(item)))


def skip_reason(item: pytest.Item) -> str | None:
    """The reason a ``skip``/``skipif`` marker skips ``item``; None when it runs.

    Why: an iteration runs no ``pytest_runtest_setup`` hook (where the skipping plugin reads these
    markers), so a skipped test must be left out of the tasks here. Checked on pytest 8.0.2, 8.4.2,
    9.0.3, 9.2.0 (``_pytest.skipping.evaluate_skip_marks``).
    """
    from _pytest.skipping import evaluate_skip_marks

    skipped = evaluate_skip_marks(item)
    return None if skipped is None else skipped.reason


def fixture_scopes(item: pytest.Item) -> dict[str, str]:
    """Every fixture ``item`` sets up (its closure), by name, with the scope of the definition it uses.

    Checked on pytest 8.0.2, 8.4.2, 9.0.3, 9.2.0 (``item._fixtureinfo.name2fixturedefs``; the last
    definition of a name is the one that applies, each with ``.scope``).
    """
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return {}
    return {name: defs[-1].scope for name, defs in info.name2fixturedefs.items() if defs}


def iteration_item(item: pytest.Function) -> pytest.Function:
    """A copy of the test ``item`` that one load user calls again and again, concurrently with other users.

    Why: pytest caches a fixture's value on its definition (``FixtureDef.cached_result``), one per
    session. Two users running the same test at once would share (and tear down) each other's
    function-scoped values. The copy gets its own copies of the function-scoped definitions, so
    pytest's fixture machinery (setup, yield, finalizers, ``pytest_fixture_setup`` hooks) works on
    them unchanged; the definitions of higher scopes stay shared, as they are in a functional run.
    Checked on pytest 8.0.2, 8.4.2, 9.0.3, 9.2.0 (``FuncFixtureInfo`` is a frozen dataclass;
    ``FixtureDef._finalizers``; ``Function(fixtureinfo=, callspec=, originalname=)``).
    """
    import copy
    import dataclasses

    info = item._fixtureinfo
    own: dict[str, Any] = {}
    for name, defs in info.name2fixturedefs.items():
        copies = []
        for fixturedef in defs:
            if fixturedef.scope == "function":
                fixturedef = copy.copy(fixturedef)
                fixturedef.cached_result = None
                fixturedef._finalizers = []
            copies.append(fixturedef)
        own[name] = tuple(copies) if isinstance(defs, tuple) else copies
    callspec = getattr(item, "callspec", None)
    extra = {"callspec": callspec} if callspec is not None else {}
    copy_ = _iteration_class(type(item)).from_parent(
        item.parent, name=item.name, originalname=item.originalname,
        fixtureinfo=dataclasses.replace(info, name2fixturedefs=own), **extra)
    copy_.__dict__["in_class"] = isinstance(item.parent, pytest.Class)  # asked at every iteration
    return copy_


_ITERATION_CLASSES: dict[type, type] = {}


def _iteration_class(cls: type) -> type:
    """``cls`` with its hook relay (``ihook``) looked up once per copy instead of at every hook call.

    pytest finds a node's hooks from its path (conftests apply by directory) each time ``node.ihook`` is read:
    three times per fixture of an iteration. A copy never moves, so the first answer stays right.
    """
    import functools

    iteration_class = _ITERATION_CLASSES.get(cls)
    if iteration_class is None:
        def ihook(self: Any) -> Any:
            return self.session.gethookproxy(self.path)

        iteration_class = type(cls.__name__, (cls,), {"ihook": functools.cached_property(ihook),
                                                      "__module__": cls.__module__})
        iteration_class.ihook.__set_name__(iteration_class, "ihook")
        _ITERATION_CLASSES[cls] = iteration_class
    return iteration_class


def fresh_request(item: pytest.Function) -> None:
    """Make ``item`` ready for another call: no fixture values left, a new instance of its class.

    ``tmp_path`` reads, when torn down, what pytest's report hook stored on the item (whether its call passed);
    iterations run no report hooks, so an empty record is stored (pytest's default: treated as passed).
    The new request starts with the wider-scoped definitions :func:`keep_shared_fixtures` remembered, each
    while its value is still the one pytest cached for this test (see there why).

    Checked on pytest 8.0.2, 8.4.2, 9.0.3, 9.2.0 (``Function._initrequest``; ``_instance``/``_obj`` cache the
    test class instance and bound method; ``_pytest.tmpdir.tmppath_result_key``).
    """
    from _pytest.tmpdir import tmppath_result_key

    item._initrequest()
    item.stash[tmppath_result_key] = {}
    shared = item.__dict__.get("shared_fixture_defs")
    if shared:
        resolved = item._request._fixture_defs
        for name, fixturedef, key in shared:
            cached = fixturedef.cached_result
            if cached is not None and cached[1] is key and cached[2] is None:
                resolved[name] = fixturedef
    if item.__dict__.get("in_class", False):
        item.__dict__.pop("_instance", None)
        item.__dict__.pop("_obj", None)


def keep_shared_fixtures(item: pytest.Function) -> None:
    """After a setup of ``item`` succeeded: remember the wider-scoped (class, module, package, session) fixture
    definitions its request resolved, for :func:`fresh_request` to hand to the next requests as resolved.

    Why: pytest builds, for every fixture a test reaches, a ``SubRequest`` and walks the definition's cache check
    (``FixtureDef.execute``) at every call, cached or not; for a test whose only function-scoped fixture is
    ``load_client``, the session-scoped ``load_base_url`` behind it cost each iteration about 25 µs of CPU
    (cProfile and a best-of-N micro-benchmark, 2-core EPYC). A request whose ``_fixture_defs`` already names a
    definition takes its cached value directly, as pytest itself does for a fixture asked twice in one test.
    A definition is handed on only while its cached value is the same one (same cache key, no error), and never
    a parametrized one (directly or indirectly): otherwise pytest's own path runs and decides. Function-scoped
    fixtures are set up and torn down through pytest's machinery at every iteration as before.
    Checked on pytest 8.0.2, 8.4.2, 9.0.3, 9.2.0 (``TopRequest._fixture_defs``, shared with its sub-requests and
    read first by ``_get_active_fixturedef``; ``FixtureDef.cached_result`` = (value, cache key, error)).
    """
    callspec = getattr(item, "callspec", None)
    parametrized = set(callspec.params) if callspec is not None else set()
    name2defs = item._fixtureinfo.name2fixturedefs
    shared = []
    for name, fixturedef in item._request._fixture_defs.items():
        cached = getattr(fixturedef, "cached_result", None)
        if (fixturedef.scope != "function" and getattr(fixturedef, "params", None) is None
                and cached is not None and cached[2] is None
                and not (parametrized and _reaches(name, parametrized, name2defs, set()))):
            shared.append((name, fixturedef, cached[1]))
    item.__dict__["shared_fixture_defs"] = tuple(shared)


def _reaches(name: str, parametrized: set[str], name2defs: Any, seen: set[str]) -> bool:
    """Whether fixture ``name`` is, or depends (at any depth) on, a parametrized name: its cached value then
    changes with the parameter set, which another test's copy may have switched (pytest re-creates it)."""
    if name in parametrized:
        return True
    if name in seen:
        return False
    seen.add(name)
    return any(_reaches(arg, parametrized, name2defs, seen)
               for fixturedef in name2defs.get(name, ()) for arg in fixturedef.argnames)


def forget_shared_finalizers(item: pytest.Function) -> None:
    """Drop what ``item``'s own fixture copies registered on the shared (higher-scoped) definitions.

    Why: pytest registers, on each definition a fixture requests, a finalizer that tears the requester down
    with it; a functional run adds one per test, a load run one per iteration, which would grow a module
    fixture's list for as long as the run lasts. The iteration's own teardown already ran them. Which
    definitions are the copy's own and which are shared is worked out once per copy (a walk of the closure
    at every iteration cost about 10 µs).
    """
    plan = item.__dict__.get("finalizer_plan")
    if plan is None:
        defs = [d for defs in item._fixtureinfo.name2fixturedefs.values() for d in defs]
        own = frozenset(id(d) for d in defs if d.scope == "function")
        plan = item.__dict__["finalizer_plan"] = (own, tuple(d for d in defs if d.scope != "function"))
    own, shared = plan
    for fixturedef in shared:
        finalizers = fixturedef._finalizers
        if finalizers:
            finalizers[:] = [fin for fin in finalizers
                             if id(getattr(getattr(fin, "func", None), "__self__", None)) not in own]


class FinalizerBook:
    """The teardowns that fixtures register while tests run as load tasks, kept off pytest's setup stack.

    pytest keeps one stack of set-up nodes (``session._setupstate``) and asserts that a node registering a
    teardown is on it; an iteration's copy of a test, and the module of a test that is not running, are not.
    While the book is open those teardowns are kept here: an iteration's own run when it ends
    (:meth:`run_for`), the shared ones (module, class, session fixtures set up under load) when the run ends
    (:meth:`run_all`). Teardowns of nodes that are on the stack still go to pytest.
    Checked on pytest 8.0.2, 8.4.2, 9.0.3, 9.2.0 (``SetupState.stack``, ``SetupState.addfinalizer``; from 9.1
    ``SetupState.is_node_active``, which fixture lookups ask).
    """

    def __init__(self, session: pytest.Session) -> None:
        self._state = session._setupstate
        self._kept: dict[Any, list[Any]] = {}

    def __enter__(self) -> FinalizerBook:
        state = self._state
        original = type(state).addfinalizer

        def addfinalizer(finalizer: Any, node: Any) -> None:
            if node in state.stack:
                original(state, finalizer, node)
            else:
                self._kept.setdefault(node, []).append(finalizer)

        state.addfinalizer = addfinalizer
        active = getattr(type(state), "is_node_active", None)
        if active is not None:  # pytest >= 9.1 refuses fixture lookups for a node it thinks is torn down
            state.is_node_active = lambda node: node not in state.stack or active(state, node)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._state.__dict__.pop("addfinalizer", None)
        self._state.__dict__.pop("is_node_active", None)

    def run_for(self, node: Any) -> list[BaseException]:
        """Run ``node``'s teardowns, last registered first; the errors they raised."""
        errors: list[BaseException] = []
        for finalizer in reversed(self._kept.pop(node, [])):
            try:
                finalizer()
            except (Exception, pytest.fail.Exception, pytest.skip.Exception) as error:  # noqa: BLE001 - all run
                errors.append(error)
        return errors

    def run_all(self) -> list[BaseException]:
        """Run every teardown still kept, the nodes met last first."""
        errors: list[BaseException] = []
        for node in reversed(list(self._kept)):
            errors += self.run_for(node)
        return errors
