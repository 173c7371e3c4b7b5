"""A worker of the distributed mode: runs users for a master over ZeroMQ."""

from __future__ import annotations

from .base import Runner


class WorkerRunner(Runner):
    """Runs users for a master over ZeroMQ (the distributed mode builds on this)."""
