"""The pytest plugin: load sessions, load-run items, fixtures, markers, thresholds, output.

Registered through the ``pytest11`` entry point, so it is loaded in every pytest
session. A session whose invocation gives no ``--load-*`` option and sets no
``LOADHOOKS_*`` variable is left alone, whatever ``load_*`` keys its ini file holds
(they configure runs; only ``load_only = true`` asks for one): nothing is patched and
load items are skipped with a hint. Heavy modules (gevent, requests, the engine) are imported
only when a session actually does load.

This module is the table of the plugin's pytest hooks and nothing else: each hook hands its
work to the module that owns it (``startup``, ``collection``, ``load_session``,
``session_end``); what the plugin needs of pytest beyond its public API is in ``pytest_compat``.
Hook order matters and is set here: gevent is patched in a tryfirst wrapper of
``pytest_load_initial_conftests`` before any conftest is imported, the load items are
prepared in a tryfirst ``pytest_collection_modifyitems`` (before ``-k``/``-m`` deselect).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from . import collection, session_end, startup
from . import options as opts
from .fixtures import fast_load_client, load_client  # noqa: F401 - registers the fixtures
from .fixtures import load_env, load_events, load_result  # noqa: F401 - registers the fixtures
from .items import LoadRunItem
from .load_session import get_session as _session


# --------------------------------------------------------------------------- start-up
def pytest_addoption(parser: pytest.Parser, pluginmanager: Any) -> None:
    opts.add_options(parser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> Iterator:
    # Patch before any conftest imports requests/ssl: later is too late for HTTPS.
    if opts.is_load_session(early_config):
        startup.patch_gevent()
        startup.freeze_at_exit()
    result = yield
    startup.register_listener_arguments(early_config, parser, args)
    return result


def pytest_configure(config: pytest.Config) -> None:
    startup.configure(config)


# --------------------------------------------------------------------------- collection
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> Any:
    return collection.collect_class(collector, name, obj)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    collection.prepare_items(session, config, items)


def pytest_collection_finish(session: pytest.Session) -> None:
    load = _session(session.config)
    load.adopt_test_thresholds(session.items)  # the selection is final now
    if load.active:
        startup.freeze_collected_objects(session.config)


def pytest_report_collectionfinish(config: pytest.Config, start_path: Any, items: list[pytest.Item]) -> list[str]:
    return collection.collection_notices(config, items)


# --------------------------------------------------------------------------- running
@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator:
    result = yield
    failure = _session(item.config).failure_of_test(item)
    if failure is not None:
        pytest.fail(failure, pytrace=False)
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
    session_end.finish_session(session)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    session_end.write_summary(terminalreporter, config)
