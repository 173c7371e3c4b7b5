"""The master of the distributed mode: coordinates worker processes over ZeroMQ."""

from __future__ import annotations

from .base import Runner


class MasterRunner(Runner):
    """Coordinates worker processes over ZeroMQ (the distributed mode builds on this)."""
