"""Every public name of DESIGN.md, and every Locust path that Locust's docs and examples import
from, resolves here with `locust` rewritten to `pytest_loadhooks`.

The Locust list was taken from the import lines of Locust's own examples/ and docs/ (Locust
2.x): a locustfile that imports one of these must not fail at its first line. Paths of
Locust's extras that need other services (contrib.mqtt, contrib.postgres, ...) are not listed.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

DESIGN_NAMES = {
    "pytest_loadhooks": [
        "events", "Events", "EventHook", "DeprecatedEventHook", "Environment", "User", "HttpUser", "FastHttpUser",
        "task", "tag", "TaskSet", "SequentialTaskSet", "between", "constant", "constant_pacing",
        "constant_throughput", "LoadTestShape", "StopUser", "RescheduleTask", "RescheduleTaskImmediately",
        "InterruptTaskSet", "run_single_user", "MarkovTaskSet", "transition", "transitions",
    ],
    "pytest_loadhooks.runners": [
        "Runner", "LocalRunner", "MasterRunner", "WorkerRunner", "STATE_INIT", "STATE_SPAWNING", "STATE_RUNNING",
        "STATE_CLEANUP", "STATE_STOPPING", "STATE_STOPPED", "STATE_MISSING",
    ],
}

LOCUST_IMPORTS = {
    "": ["events", "HttpUser", "FastHttpUser", "User", "task", "tag", "TaskSet", "SequentialTaskSet", "between",
         "constant", "constant_pacing", "LoadTestShape", "run_single_user", "MarkovTaskSet", "transition",
         "transitions", "runners", "__version__"],
    ".runners": ["MasterRunner", "WorkerRunner", "LocalRunner", "STATE_STOPPING", "STATE_STOPPED", "STATE_CLEANUP"],
    ".env": ["Environment"],
    ".event": ["EventHook", "Events"],
    ".exception": ["RescheduleTask", "StopUser", "LocustError", "InterruptTaskSet", "CatchResponseError",
                   "ResponseError", "RescheduleTaskImmediately"],
    ".stats": ["stats_history", "stats_printer", "RequestStats", "StatsEntry"],
    ".log": ["setup_logging"],
    ".clients": ["HttpSession"],
    ".shape": ["LoadTestShape"],
    ".dispatch": [],
    ".debug": ["run_single_user"],
    ".user": ["task", "User", "HttpUser", "TaskSet", "SequentialTaskSet", "tag"],
    ".user.task": ["task", "tag", "TaskSet"],
    ".user.users": ["User", "HttpUser"],
    ".user.wait_time": ["between", "constant", "constant_pacing", "constant_throughput"],
    ".user.sequential_taskset": ["SequentialTaskSet"],
    ".user.markov_taskset": ["MarkovTaskSet", "transition", "transitions"],
    ".contrib.fasthttp": ["FastHttpUser", "FastHttpSession", "RestResponseContextManager"],
}


@pytest.mark.parametrize(("module", "name"), [(m, n) for m, names in DESIGN_NAMES.items() for n in names])
def test_design_names_import(module, name):
    assert getattr(importlib.import_module(module), name) is not None


@pytest.mark.parametrize(("path", "names"), sorted(LOCUST_IMPORTS.items()))
def test_locust_paths_import_with_locust_rewritten(path, names):
    importlib.import_module(f"pytest_loadhooks{path}")
    missing = []
    for name in names:  # as a locustfile's import line does it (a submodule resolves too)
        try:
            exec(f"from pytest_loadhooks{path} import {name}", {})
        except ImportError:
            missing.append(name)
    assert not missing, f"pytest_loadhooks{path} lacks {missing}"


def test_moved_modules_keep_their_old_paths_as_shims():
    from pytest_loadhooks import FastHttpUser, between
    from pytest_loadhooks.fasthttp import FastHttpUser as old_fast_http_user
    from pytest_loadhooks.wait_time import between as old_between

    assert old_fast_http_user is FastHttpUser and old_between is between


def test_importing_the_locust_names_patches_and_starts_nothing():
    # Six of Locust's examples import run_single_user at module level: it must cost nothing.
    code = (
        "import threading, sys\n"
        "from pytest_loadhooks import HttpUser, run_single_user, task, events, MarkovTaskSet\n"
        "from gevent import monkey\n"
        "assert not monkey.is_module_patched('socket'), 'patched'\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "print('clean')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "clean"
