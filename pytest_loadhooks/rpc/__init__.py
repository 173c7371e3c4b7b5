"""The wire of the distributed mode: msgpack messages over ZeroMQ (ROUTER/DEALER), with
CURVE encryption and authentication when a shared secret is given. Only the master and
worker runners use it.

``protocol`` (messages, their checks, the errors) is cheap to import; ``transport`` and
``security`` load pyzmq, so they are imported when a master or worker is created, not
whenever the runners package is.
"""

from __future__ import annotations

import importlib
from typing import Any

from .protocol import (
    DEFAULT_MAX_MESSAGE_SIZE,
    MalformedMessage,
    Message,
    MessageTooLarge,
    ReceiveError,
    RPCError,
    decode,
    encode,
)

_LAZY = {"Client": "transport", "Server": "transport", "CurveKeys": "security", "KeyPair": "security",
         "ZapAuthenticator": "security"}

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "Client",
    "CurveKeys",
    "KeyPair",
    "MalformedMessage",
    "Message",
    "MessageTooLarge",
    "RPCError",
    "ReceiveError",
    "Server",
    "ZapAuthenticator",
    "decode",
    "encode",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
