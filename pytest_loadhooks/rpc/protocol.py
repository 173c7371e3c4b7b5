"""What travels between master and workers: a :class:`Message`, as one msgpack frame.

A frame is ``[type, data, node_id]``. Decoding checks the frame before anything
uses it (size, shape, field types), so a peer that sends garbage gets its frame
dropped with a :class:`MalformedMessage`, never a crash in the runner that reads it.
"""

from __future__ import annotations

from typing import Any

import msgpack

from ..exception import LoadHooksError

# Large enough for the stats of hundreds of endpoints with full histograms; small
# enough that one peer cannot make the master buffer gigabytes.
DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024
MAX_TYPE_LENGTH = 200
MAX_NODE_ID_LENGTH = 500


class RPCError(LoadHooksError):
    """The distributed mode's wire failed (bind, connect, send)."""


class MalformedMessage(RPCError):
    """A received frame is not a valid message: it is dropped."""


class MessageTooLarge(MalformedMessage):
    """A frame over the size limit (received: dropped; to send: refused)."""


class ReceiveError(MalformedMessage):
    """A frame that arrived but is not a valid message; ``sender`` is who sent it, if known."""

    def __init__(self, reason: str, sender: str | None = None) -> None:
        super().__init__(reason)
        self.sender = sender


class Message:
    """One message between runners (Locust's ``Message``): its ``type``, its ``data``
    (plain msgpack-able values) and the ``node_id`` of the sending worker (for a
    message from the master, the worker it is addressed to)."""

    __slots__ = ("data", "node_id", "type")

    def __init__(self, message_type: str, data: Any, node_id: str) -> None:
        self.type = message_type
        self.data = data
        self.node_id = node_id

    def __repr__(self) -> str:
        return f"<Message {self.type}:{self.node_id}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and (self.type, self.data, self.node_id) == (
            other.type, other.data, other.node_id)

    __hash__ = None  # type: ignore[assignment]  # mutable data: not hashable


def encode(message: Message, max_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> bytes:
    """The frame for ``message``; :class:`MessageTooLarge` rather than a frame the peer would drop."""
    try:
        frame = msgpack.packb([message.type, message.data, message.node_id], use_bin_type=True)
    except (TypeError, ValueError, OverflowError) as error:
        raise RPCError(f"message {message.type!r} cannot be sent: {error}") from error
    if len(frame) > max_size:
        raise MessageTooLarge(f"message {message.type!r} is {len(frame)} bytes, over the limit of {max_size}")
    return frame


def decode(frame: bytes, max_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> Message:
    """The message in ``frame``, checked; :class:`MalformedMessage` if it is not one."""
    if len(frame) > max_size:
        raise MessageTooLarge(f"{len(frame)} bytes, over the limit of {max_size}")
    try:
        # strict_map_key=False: stats histograms are maps keyed by numbers.
        payload = msgpack.unpackb(frame, raw=False, strict_map_key=False, use_list=True)
    except (ValueError, TypeError, OverflowError, msgpack.UnpackException) as error:
        # ExtraData, FormatError, StackError and bad UTF-8 are ValueErrors; an unhashable map key is a TypeError.
        raise MalformedMessage(f"not msgpack: {type(error).__name__}: {error}") from None
    if not isinstance(payload, list) or len(payload) != 3:
        raise MalformedMessage(f"expected [type, data, node_id], got {_sketch(payload)}")
    message_type, data, node_id = payload
    if not isinstance(message_type, str) or not 0 < len(message_type) <= MAX_TYPE_LENGTH:
        raise MalformedMessage(f"bad message type {_sketch(message_type)}")
    if not isinstance(node_id, str) or len(node_id) > MAX_NODE_ID_LENGTH:
        raise MalformedMessage(f"bad node id {_sketch(node_id)} in a {message_type!r} message")
    return Message(message_type, data, node_id)


def _sketch(value: Any) -> str:
    """A short description of a bad value, safe to log (no megabytes of garbage in the log)."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."
