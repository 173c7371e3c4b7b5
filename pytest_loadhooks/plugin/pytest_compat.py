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
