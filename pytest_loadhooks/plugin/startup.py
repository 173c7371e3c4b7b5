"""A session's start: gevent patched before any conftest, listeners' arguments made options, the load session configured.

In the order pytest calls them (plugin/__init__.py's hooks): ``patch_gevent`` in
``pytest_load_initial_conftests`` before the initial conftests are imported (later is too
late for HTTPS: a conftest that imports requests pulls in ssl), ``register_listener_arguments``
right after they are, ``configure`` in ``pytest_configure``.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .custom_args import (
    ArgumentRegistry,
    find_late_listeners,
    fire_new_listeners,
    late_listener_message,
    unknown_long_flags,
)
from .load_session import SESSION_KEY, LoadSession
from .pytest_compat import early_options
from .run import MARKER_KEYS

REGISTRY_KEY = pytest.StashKey[ArgumentRegistry]()
"""The session's custom arguments (``init_command_line_parser`` listeners), from start-up to the run."""
GC_FROZEN_KEY = pytest.StashKey[bool]()


# --------------------------------------------------------------------------- before the conftests
def patch_gevent() -> None:
    """Monkey-patch the process for gevent, refusing when an HTTP library was imported first."""
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


def freeze_at_exit() -> None:
    """At the process's exit, put whatever is still alive out of the cyclic collector's sight.

    The interpreter's finalization collects garbage more than once over every object a load
    process holds (pytest, gevent, requests, the run's data): tenths of a second of CPU per
    process, paid by every load session and every worker start, for memory the OS takes back
    anyway. Registered before any conftest is imported, the handler runs after theirs and after
    every handler registered later (atexit runs them last-registered first), so what they see is
    unchanged; only the finalization's walks are skipped. Python does not promise to finalize
    objects still alive at exit, and ``logging``'s flush at exit runs after this one as before.
    """
    if not _FREEZE_AT_EXIT:
        _FREEZE_AT_EXIT.append(True)
        atexit.register(gc.freeze)


_FREEZE_AT_EXIT: list[bool] = []  # once per process, however many sessions it runs


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


# --------------------------------------------------------------------------- after the initial conftests
def register_listener_arguments(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Listeners from plugins and initial conftests exist now; their arguments become real options."""
    registry = early_config.stash.setdefault(REGISTRY_KEY, ArgumentRegistry())
    try:
        fire_new_listeners(registry, parser)
    except ValueError as error:
        raise pytest.UsageError(f"pytest-loadhooks: {error}") from None
    _explain_late_arguments(early_config, parser, args)


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


# --------------------------------------------------------------------------- pytest_configure
def configure(config: pytest.Config) -> None:
    """The markers, and the session's LoadSession; a load session also gets its baselines and web UI,
    and is refused where it cannot run (under pytest-xdist)."""
    config.addinivalue_line(
        "markers",
        f"load({', '.join(f'{key}=' for key in MARKER_KEYS)}): "
        "run this test or module as its own isolated load run with these settings",
    )
    config.addinivalue_line(
        "markers", "thresholds(*expressions): thresholds the load run must meet, e.g. 'p95 < 300'",
    )
    from .fixtures import base_url_plugin
    from .load_tasks import MARKER_HELP

    config.addinivalue_line("markers", MARKER_HELP)
    config.pluginmanager.register(base_url_plugin(config), "pytest-loadhooks-base-url")
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
    if session.active:  # issue 22: metrics and traces out (a worker exports its own OpenTelemetry)
        from . import telemetry

        telemetry.configure(config, is_worker=session.is_worker)
    if session.active and (os.environ.get("PYTEST_XDIST_WORKER") or hasattr(config, "workerinput")):
        raise pytest.UsageError("pytest-loadhooks: load sessions cannot run under pytest-xdist; use -p no:xdist or -n0")
    if session.active and _timeout_method(config) == "thread":
        warnings.warn(pytest.PytestConfigWarning(
            "pytest-loadhooks: timeout_method=thread does not work once gevent is patched; use signal"))


def _timeout_method(config: pytest.Config) -> str:
    """pytest-timeout's method, from its option or ini key (empty when it is not installed)."""
    method = config.getoption("timeout_method", None)
    if method:
        return str(method)
    try:
        return str(config.getini("timeout_method") or "")
    except ValueError:
        return ""


# --------------------------------------------------------------------------- the collector's work
def freeze_collected_objects(config: pytest.Config) -> None:
    """Everything imported and collected so far lives as long as the session: out of the cyclic
    collector's sight it is not traversed again by the collections during the run nor by the five
    pytest makes at exit (a few tenths of a second per session). ``configure`` registered the thaw."""
    gc.freeze()
    config.stash[GC_FROZEN_KEY] = True


def _unfreeze_gc() -> None:
    # Whatever this session froze goes back under the collector: a process that runs pytest
    # more than once (pytest.main in a loop, in-process pytester) must not keep it for ever.
    gc.unfreeze()
