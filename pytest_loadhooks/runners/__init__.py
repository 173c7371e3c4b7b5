"""Runners: start, ramp and stop users, keep the run's state, fire its lifecycle events.

The public names live here, at Locust's path (``locust.runners``); each runner has a
module of its own: ``base`` (what all share), ``local``, ``master``, ``worker``.
"""

import importlib
from typing import TYPE_CHECKING, Any

from .base import (
    STATE_CLEANUP,
    STATE_INIT,
    STATE_MISSING,
    STATE_RUNNING,
    STATE_SPAWNING,
    STATE_STOPPED,
    STATE_STOPPING,
    Runner,
)
from .local import LocalRunner

if TYPE_CHECKING:
    from .master import MasterRunner
    from .worker import WorkerRunner

_DISTRIBUTED = {"MasterRunner": "master", "WorkerRunner": "worker"}
"""Loaded when first named (issue 24): a local run, most runs, never needs their modules."""


def __getattr__(name: str) -> Any:
    if name in _DISTRIBUTED:
        module = importlib.import_module(f".{_DISTRIBUTED[name]}", __name__)
        value = globals()[name] = getattr(module, name)
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "STATE_CLEANUP",
    "STATE_INIT",
    "STATE_MISSING",
    "STATE_RUNNING",
    "STATE_SPAWNING",
    "STATE_STOPPED",
    "STATE_STOPPING",
    "LocalRunner",
    "MasterRunner",
    "Runner",
    "WorkerRunner",
]
