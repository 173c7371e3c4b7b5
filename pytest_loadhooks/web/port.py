"""Whether the web UI can listen where it is asked to, said in one line (checked before any run)."""

from __future__ import annotations

import errno
import socket


def bind_problem(host: str, port: int) -> str | None:
    """Why a server could not listen on ``host:port`` now, or None when it can.

    Binds and listens the way the UI's server does (``SO_REUSEADDR``, as gevent sets it), then
    lets go: a port another process listens on is refused, one left in TIME_WAIT is not.
    """
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as error:
        return f"unknown host name ({getattr(error, 'strerror', None) or error})"
    try:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
            probe.listen(1)
    except OSError as error:
        return describe_bind_error(error)
    return None


def describe_bind_error(error: OSError) -> str:
    """An OSError from binding the UI's port, as the end of a one-line message."""
    if error.errno == errno.EADDRINUSE:
        return "the port is in use (choose another with --load-web-port, or 0 for any free port)"
    if error.errno == errno.EACCES:
        return "permission denied (ports below 1024 need privileges; choose another with --load-web-port)"
    if error.errno == errno.EADDRNOTAVAIL:
        return "no such address on this machine (see --load-web-host)"
    return error.strerror or str(error)
