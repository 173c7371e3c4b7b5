"""FastHttpUser's lean wire path: one HTTP/1.1 exchange on a pooled gevent socket (TCP or TLS).

For the usual calls (a bytes body or none, no stream) FastHttpUser skips
geventhttpclient's request building and response parser: the request head is built as
geventhttpclient builds it, once per (method, URL, body length) for a call without headers of
its own, and written as bytes; the response head is read up to its blank line
and looked at with bytes operations (``find``, ``lower``, ``split`` run in C). The header
fields become geventhttpclient's case-insensitive ``Headers`` only when someone asks for them.

The sockets are geventhttpclient's: its connection pool creates them (connect timeout, network
timeout, refusals as today), checks a kept one before reuse and limits how many a user holds.
Retries follow geventhttpclient's rule: a request whose connection closes before a single
byte of response (a kept connection the server dropped) is sent again on a new one, for the
idempotent methods only, at most ``pool.size + 1`` times; errors are its exception classes.
"""

from __future__ import annotations

import errno
import re
from typing import Any

from geventhttpclient.header import Headers
from geventhttpclient.response import HTTPConnectionClosed, HTTPParseError

IDEMPOTENT = frozenset(("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"))
BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))
RECV_SIZE = 65536
INCOMPLETE = "Incomplete response."  # geventhttpclient's words for a body the connection cut short
MAX_HEAD = 1 << 20  # a response head larger than this is not HTTP we can read
_TOKEN = re.compile(r"\A[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_FIELD_VALUE = re.compile(r"\A[\t\x20-\x7e\x80-\xff]*\Z")
_ORIGIN_FORM = re.compile(r"\A/(?!/)[^\x00-\x20\x7f]*\Z")


def request_head(method: str, request_uri: str, host: str, port: int, body_length: int,
                 *field_sets: Any) -> bytes | None:
    """The request head geventhttpclient would send, or None when it is a call this path leaves to
    geventhttpclient (a method, URI, header name or value its checks refuse, so that it raises its
    own error; list values; ``Transfer-Encoding`` or ``Expect``).

    ``field_sets`` are mappings of header fields merged in order as geventhttpclient merges them
    (case-insensitively, a later one taking the place of an earlier one): its default
    User-Agent, the user's default headers, the call's. Host and Content-Length follow unless given.
    """
    if not _TOKEN.match(method) or not _ORIGIN_FORM.match(request_uri):
        return None
    fields: dict[str, tuple[str, str]] = {}
    for field_set in field_sets:
        if field_set:
            for name, value in field_set.items():
                if type(name) is not str or type(value) is not str or not _TOKEN.match(name) \
                        or not _FIELD_VALUE.match(value):
                    return None
                fields[name.lower()] = (name, value)
    if "transfer-encoding" in fields or "expect" in fields:
        return None
    if "host" not in fields:
        host_port = f"[{host}]" if ":" in host else host
        fields["host"] = ("Host", host_port if port in (80, 443) else f"{host_port}:{port}")
    if "content-length" not in fields and (body_length or method in BODY_METHODS):
        fields["content-length"] = ("Content-Length", str(body_length))
    lines = "".join(f"{name}: {value}\r\n" for name, value in fields.values())
    return f"{method} {request_uri} HTTP/1.1\r\n{lines}\r\n".encode("latin-1")


class WireResponse:
    """A response read off the wire: status, reason, the raw head and the (undecoded) body."""

    __slots__ = ("body", "head", "lower", "reason", "status")

    def __init__(self, status: int, reason: str, head: bytes, lower: bytes, body: bytes) -> None:
        self.status = status
        self.reason = reason
        self.head = head
        self.lower = lower
        self.body = body

    def has(self, field: bytes) -> bool:
        """Whether the head has the header ``field`` (lower-case bytes)."""
        return b"\n" + field + b":" in self.lower

    def headers(self) -> Headers:
        """The header fields as geventhttpclient's case-insensitive ``Headers`` (built on demand)."""
        headers = Headers()
        for line in self.head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            headers.add(name.decode("latin-1"), value.strip(b" \t").decode("latin-1"))
        return headers


def _field(lower: bytes, needle: bytes) -> bytes | None:
    """The value of the first header in a lower-cased head whose ``needle`` (``b"\\nname:"``) is
    given, stripped, or None."""
    start = lower.find(needle)
    if start < 0:
        return None
    start += len(needle)
    end = lower.find(b"\r\n", start)
    return lower[start:end if end >= 0 else len(lower)].strip(b" \t")


class _Reader:
    """Buffered reads from one socket."""

    __slots__ = ("buffer", "sock")

    def __init__(self, sock: Any, buffer: bytes) -> None:
        self.sock = sock
        self.buffer = buffer

    def more(self, want: int = RECV_SIZE) -> bool:
        data = self.sock.recv(max(want, RECV_SIZE))
        if not data:
            return False
        self.buffer += data
        return True

    def exactly(self, length: int) -> bytes:
        chunks = [self.buffer[:length]]
        have = len(chunks[0])
        self.buffer = self.buffer[length:]
        while have < length:
            data = self.sock.recv(min(max(length - have, RECV_SIZE), 1 << 22))
            if not data:
                raise HTTPParseError(INCOMPLETE)
            if have + len(data) > length:
                data, self.buffer = data[:length - have], data[length - have:]
            chunks.append(data)
            have += len(data)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def line(self) -> bytes:
        while True:
            end = self.buffer.find(b"\r\n")
            if end >= 0:
                line, self.buffer = self.buffer[:end], self.buffer[end + 2:]
                return line
            if len(self.buffer) > MAX_HEAD or not self.more():
                raise HTTPParseError(INCOMPLETE)

    def until_close(self) -> bytes:
        chunks = [self.buffer]
        self.buffer = b""
        while True:
            data = self.sock.recv(RECV_SIZE)
            if not data:
                return b"".join(chunks)
            chunks.append(data)


def _chunked_body(reader: _Reader) -> bytes:
    chunks = []
    while True:
        size_line = reader.line().split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise HTTPParseError(f"invalid chunk size {size_line[:20]!r}") from None
        if size == 0:
            while reader.line():  # trailer fields, up to the blank line
                pass
            return b"".join(chunks)
        chunks.append(reader.exactly(size))
        if reader.line():
            raise HTTPParseError("chunk not followed by CRLF")


def _read_head(sock: Any) -> tuple[bytes, bytes]:
    """The response head (status line and fields, without the blank line) and what followed it."""
    try:
        buffer = sock.recv(RECV_SIZE)
    except OSError as error:
        if error.errno == errno.ECONNRESET:
            raise HTTPConnectionClosed("connection closed.") from None
        raise
    if not buffer:
        raise HTTPConnectionClosed("connection closed.")
    end = buffer.find(b"\r\n\r\n")
    while end < 0:
        if len(buffer) > MAX_HEAD:
            raise HTTPParseError("response head too large")
        data = sock.recv(RECV_SIZE)
        if not data:
            raise HTTPParseError("connection closed before end of the headers")
        searched = max(len(buffer) - 3, 0)
        buffer += data
        end = buffer.find(b"\r\n\r\n", searched)
    return buffer[:end], buffer[end + 4:]


def _status(head: bytes) -> tuple[int, str, bool]:
    """Status code, reason and whether the version is HTTP/1.0, from the status line."""
    version, code, after = head[:9], head[9:12], head[12:13]
    if version not in (b"HTTP/1.1 ", b"HTTP/1.0 ") or not code.isdigit() or after not in (b" ", b"\r", b""):
        raise HTTPParseError(f"invalid HTTP status line {head[:60]!r}")
    line_end = head.find(b"\r\n")
    reason = head[13:line_end if line_end >= 0 else len(head)].decode("latin-1")
    return int(code), reason, version == b"HTTP/1.0 "


def _read_response(sock: Any, method: str) -> tuple[WireResponse, bool]:
    """One response and whether its connection may be kept."""
    head, rest = _read_head(sock)
    status, reason, http10 = _status(head)
    while 100 <= status < 200:  # interim responses: the final one follows on the same connection
        if status == 101:
            raise HTTPParseError("unexpected 101 Switching Protocols")
        reader = _Reader(sock, rest)
        end = reader.buffer.find(b"\r\n\r\n")
        while end < 0:
            if not reader.more():
                raise HTTPParseError("connection closed after interim response")
            end = reader.buffer.find(b"\r\n\r\n")
        head, rest = reader.buffer[:end], reader.buffer[end + 4:]
        status, reason, http10 = _status(head)
    lower = head.lower()
    connection = _field(lower, b"\nconnection:")
    keep = (connection is not None and b"keep-alive" in connection) if http10 else \
        (connection is None or b"close" not in connection)
    if method == "HEAD" or status in (204, 304):
        return WireResponse(status, reason, head, lower, b""), keep
    encoding = _field(lower, b"\ntransfer-encoding:")
    length = _field(lower, b"\ncontent-length:")
    if length is not None and encoding is None:
        if not length.isdigit():
            raise HTTPParseError(f"invalid Content-Length {length[:20]!r}")
        size = int(length)
        if len(rest) == size:  # the usual small response, whole with its head
            return WireResponse(status, reason, head, lower, rest), keep
        reader = _Reader(sock, rest)
        body = reader.exactly(size)
    elif encoding is not None and encoding.rsplit(b",", 1)[-1].strip() == b"chunked":
        reader = _Reader(sock, rest)
        body = _chunked_body(reader)
    else:  # delimited by the end of the connection
        reader = _Reader(sock, rest)
        body = reader.until_close()
        keep = False
    if reader.buffer:  # bytes after the response: the connection is not in a known state
        keep = False
    return WireResponse(status, reason, head, lower, body), keep


def exchange(pool: Any, method: str, request: bytes) -> WireResponse:
    """Send ``request`` (head and body) on a socket of ``pool`` and read the response.

    The socket goes back to the pool when the response leaves it reusable, is closed otherwise
    (and on any error, a timeout or a kill included).
    """
    attempts_left = pool.size + 1
    while True:
        sock = pool.get_socket()
        try:
            try:
                # One send() takes a small request whole; sendall() only for what it left.
                sent = sock.send(request)
                if sent < len(request):
                    sock.sendall(memoryview(request)[sent:])
            except OSError as error:
                if error.errno not in (errno.ECONNRESET, errno.EPIPE):
                    raise
                # The server may have answered (and closed) before taking the whole request.
            response, keep = _read_response(sock, method)
        except HTTPConnectionClosed:
            pool.release_socket(sock)
            if attempts_left > 0 and method in IDEMPOTENT:
                attempts_left -= 1
                continue
            raise
        except BaseException:
            pool.release_socket(sock)
            raise
        if keep:
            pool.return_socket(sock)
        else:
            pool.release_socket(sock)
        return response
