"""Network names, judged the same way wherever the package listens (the master's port, the web UI)."""

from __future__ import annotations

import ipaddress

__all__ = ["is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only: ``localhost`` or a loopback address (``[::1]`` too).

    Other names are not resolved: a name that resolves to 127.0.0.1 today may not tomorrow, so only
    what is loopback by its spelling counts.
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
