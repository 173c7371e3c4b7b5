"""A tiny HTTP/1.1 server on 127.0.0.1 that answers each path with fixed bytes (odd ones included).

``python tests/raw_http_server.py PORT``. Keeps connections open between requests unless the
canned answer says otherwise; the paths in ``CLOSE_AFTER`` close right after answering (a kept connection the
server drops), ``/reset`` resets the connection instead of answering.
"""

from __future__ import annotations

import gzip
import socket
import socketserver
import struct
import sys

BODY = b"hello, raw world\n"


def _answer(status: str, headers: list[str], body: bytes = BODY, length: bool = True) -> bytes:
    lines = [f"HTTP/1.1 {status}", *headers]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _chunked(body: bytes) -> bytes:
    head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:5], body[5:]))
    return head.encode() + chunks + b"0\r\n\r\n"


ANSWERS: dict[str, bytes] = {
    "/plain": _answer("200 OK", ["Content-Type: text/plain; charset=utf-8", "X-Tab:\tvalue with tab", "X-Trail: v  "]),
    "/repeated": _answer("200 OK", ["X-Multi: a", "x-multi: b", "Set-Cookie: a=1; Path=/", "Set-Cookie: b=2; Path=/",
                                    "X-Empty:", "X-Colons: a:b:c"]),
    "/folded": _answer("200 OK", ["X-Folded: first", "  second", "\tthird", "X-After: yes"]),
    "/odd": _answer("200 OK", ["X-Latin: caf\xe9", "X-Ctl: a\x01b", "Bad Name: x", "X-Ok: 1"]),
    "/nocolon": _answer("200 OK", ["X-Before: 1", "NoColonHere", "X-After: 2"]),
    "/multipart": _answer("206 Partial Content", ["Content-Type: multipart/byteranges; boundary=XYZ"]),
    "/gzip": _answer("200 OK", ["Content-Encoding: gzip", "Content-Type: text/plain"], gzip.compress(BODY * 20)),
    "/chunked": _chunked(BODY * 3),
    "/redirect": _answer("302 Found", ["Location: /plain", "Set-Cookie: r=1; Path=/"], b""),
    "/continue": b"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n" + _answer("200 OK", ["X-Final: 1"]),
    "/no-content": _answer("204 No Content", ["X-A: 1"], b"", length=False),
    "/close-after": _answer("200 OK", ["Connection: keep-alive"]),
    "/until-close": b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + BODY,
}

# Closed by the server after answering: a kept connection dropped, a body that ends at EOF, and the
# heads whose odd line makes the email package read the rest (Content-Length too) as body.
CLOSE_AFTER = {"/close-after", "/until-close", "/odd", "/nocolon"}


class Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        buffered = b""
        while True:
            while b"\r\n\r\n" not in buffered:
                data = self.request.recv(65536)
                if not data:
                    return
                buffered += data
            head, _, buffered = buffered.partition(b"\r\n\r\n")
            method, path = head.split(b" ", 2)[:2]
            path = path.decode()
            if path == "/reset":
                self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            answer = ANSWERS.get(path, _answer("404 Not Found", []))
            if method == b"HEAD":
                answer = answer.partition(b"\r\n\r\n")[0] + b"\r\n\r\n"
            self.request.sendall(answer)
            if path in CLOSE_AFTER:
                return


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    with Server(("127.0.0.1", int(sys.argv[1])), Handler) as server:
        server.serve_forever()
