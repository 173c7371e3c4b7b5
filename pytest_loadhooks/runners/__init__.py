"""Runners: start, ramp and stop users, keep the run's state, fire its lifecycle events.

The public names live here, at Locust's path (``locust.runners``); each runner has a
module of its own: ``base`` (what all share), ``local``, ``master``, ``worker``.
"""

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
from .master import MasterRunner
from .worker import WorkerRunner

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
