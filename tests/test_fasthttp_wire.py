"""FastHttpUser's lean wire path (pytest_loadhooks/contrib/fastwire.py) against a raw-socket
server on 127.0.0.1 that writes the edge cases byte for byte: chunked and close-delimited
bodies, gzip, 1xx, 204/304/HEAD, a large body, a kept connection the server drops, a hang.

Each case is asked twice, once on the wire path (a call without headers of its own) and once
through geventhttpclient (the same call with a header, which takes the old path), and the two
responses must read the same: status, reason, headers, body, and one ``request`` event each.
"""

from __future__ import annotations

import gzip
import textwrap

import pytest

from conftest import serve_script
from engine_support import REQUEST_KWARGS
from geventhttpclient.response import HTTPConnectionClosed
from test_fasthttp_client import make_user

BIG = 3 * 1024 * 1024 + 7
GZIPPED = gzip.compress(b"squeezed " * 300)

SERVER = textwrap.dedent(r'''
    import gzip, socket, sys, threading, time, zlib

    GZIPPED = gzip.compress(b"squeezed " * 300)
    BIG = 3 * 1024 * 1024 + 7
    seen = {"requests": 0, "connections": 0}

    def chunked(body, size=7):
        out = b""
        for i in range(0, len(body), size):
            part = body[i:i + size]
            out += b"%x;ext=1\r\n" % len(part) + part + b"\r\n"
        return out + b"0\r\nX-Trailer: t\r\n\r\n"

    def reply(path, method, request=b""):
        """(bytes to send, then close?)"""
        if path == "/chunked":
            return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n" + chunked(b"hello chunked world" * 50), False
        if path == "/gzip-chunked":
            return (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + chunked(GZIPPED, 100)), False
        if path == "/deflate":
            body = zlib.compress(b"deflated " * 100)
            return b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n" % len(body) + body, False
        if path == "/close-delimited":
            return b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nuntil the end" * 1, True
        if path == "/http10":
            return b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nold style body", True
        if path == "/no-content":
            return b"HTTP/1.1 204 No Content\r\nX-B: 2\r\n\r\n", False
        if path == "/not-modified":
            return b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nETag: \"x\"\r\n\r\n", False
        if path == "/sized":
            head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\n"
            return (head if method == "HEAD" else head + b"s" * 1000), False
        if path == "/interim":
            return b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone", False
        if path == "/multi":
            return (b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Path=/\r\nX-Multi: one\r\nx-multi: two\r\n"
                    b"Content-Type: text/plain; charset=latin-1\r\nContent-Length: 4\r\n\r\ncaf\xe9"), False
        if path == "/big":
            return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % BIG + b"b" * BIG, False
        if path == "/status-error":
            return b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy", False
        if path == "/redirect":
            return b"HTTP/1.1 302 Found\r\nLocation: /sized\r\nContent-Length: 0\r\n\r\n", False
        if path == "/garbage":
            return b"NOT HTTP AT ALL\r\n\r\n", True
        if path == "/truncated":
            return b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", True
        if path == "/echo-head":
            return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(request) + request, False
        if path == "/connections":
            return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%d" % (len(str(seen["connections"])), seen["connections"]), False
        if path == "/count":
            return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%d" % (len(str(seen["requests"])), seen["requests"]), False
        return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", False

    def serve(conn):
        buffer = b""
        drop_next = False
        with conn:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ")
                path = path.split("?", 1)[0]
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                buffer = buffer[length:]
                seen["requests"] += 1
                if drop_next:  # a kept connection the server gave up while the client sent on it
                    return
                if path == "/hang":
                    time.sleep(30)
                    return
                if path == "/drop-next":
                    drop_next = True
                    path = "/sized"
                data, close = reply(path, method, head + b"\r\n\r\n")
                conn.sendall(data)
                if close:
                    return

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    threading.Timer(float(sys.argv[1]), lambda: __import__("os")._exit(0)).start()
    while True:
        conn, _ = listener.accept()
        seen["connections"] += 1
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
''')


@pytest.fixture(scope="module")
def raw_server(tmp_path_factory):
    yield from serve_script(tmp_path_factory.mktemp("fastwire"), SERVER)


# A header given as a list is one the wire path leaves to geventhttpclient (which sends it as one line).
SLOW_PATH = {"X-Old-Path": ["1"]}
SLOW_LINE = b"X-Old-Path: 1\r\n"


def both_paths(host: str, method: str, path: str, headers=None, **kwargs):
    """The response of the same call on the wire path and through geventhttpclient, with the events."""
    user, _env, seen = make_user(host)
    wire = user.client.request(method, path, headers=headers, **kwargs)
    old = user.client.request(method, path, headers={**(headers or {}), **SLOW_PATH}, **kwargs)
    assert len(seen) == 2 and all(set(event) == REQUEST_KWARGS for event in seen)
    return wire, old, seen


@pytest.mark.parametrize("method, path", [
    ("GET", "/chunked"), ("GET", "/gzip-chunked"), ("GET", "/deflate"), ("GET", "/close-delimited"),
    ("GET", "/http10"), ("GET", "/no-content"), ("GET", "/not-modified"), ("HEAD", "/sized"),
    ("GET", "/sized"), ("GET", "/interim"), ("GET", "/multi"), ("GET", "/status-error"), ("POST", "/sized"),
    ("DELETE", "/redirect"), ("GET", "/redirect"),
])
def test_the_wire_path_reads_every_response_as_geventhttpclient_does(raw_server, method, path):
    wire, old, seen = both_paths(raw_server, method, path)
    assert (wire.status_code, wire.reason, wire.content, wire.text, wire.url) == \
        (old.status_code, old.reason, old.content, old.text, old.url)
    assert dict(wire.headers.items()) == dict(old.headers.items())
    assert [r.status_code for r in wire.history] == [r.status_code for r in old.history]
    assert seen[0]["response_length"] == seen[1]["response_length"] == len(wire.content)
    assert (seen[0]["exception"] is None) == (seen[1]["exception"] is None)
    assert repr(seen[0]["exception"]) == repr(seen[1]["exception"])


def test_headers_are_case_insensitive_lists_and_cookies_are_kept(raw_server):
    user, _env, seen = make_user(raw_server)
    response = user.client.get("/multi")
    assert response.headers["X-MULTI"] == ["one", "two"] and response.headers.getlist("x-multi") == ["one", "two"]
    assert "content-type" in response.headers and response.encoding == "latin-1" and response.text == "caf\u00e9"
    assert [cookie.name for cookie in user.client.cookiejar] == ["a"]


def test_gzip_and_a_large_body_keep_their_lengths(raw_server):
    user, _env, seen = make_user(raw_server)
    assert user.client.get("/gzip-chunked").content == b"squeezed " * 300
    assert seen[-1]["response_length"] == len(b"squeezed " * 300)  # the decoded length, as today
    big = user.client.get("/big")
    assert big.status_code == 200 and len(big.content) == BIG and seen[-1]["response_length"] == BIG
    assert user.client.get("/sized").content == b"s" * 1000  # the connection after a large body is sound


def test_a_kept_connection_the_server_drops_is_retried_once_and_counted_once(raw_server):
    user, _env, seen = make_user(raw_server)
    user.client.get("/drop-next")  # answered; the server drops whatever comes next on this connection
    # (this /count takes the dropped connection first and is retried too: both are counted in it)
    before = int(user.client.request("GET", "/count", headers=SLOW_PATH).text)
    user.client.get("/drop-next")
    response = user.client.get("/sized")  # sent on the dropped connection, then again on a new one
    assert response.status_code == 200 and seen[-1]["exception"] is None
    after = int(user.client.request("GET", "/count", headers=SLOW_PATH).text)
    assert after - before == 4  # /drop-next, the dropped /sized, its retry, this /count
    assert len(seen) == 5


def test_a_post_on_a_dropped_connection_is_not_sent_twice(raw_server):
    user, _env, seen = make_user(raw_server)
    user.client.get("/drop-next")
    response = user.client.post("/sized", data=b"payload")
    assert response.status_code == 0 and isinstance(seen[-1]["exception"], HTTPConnectionClosed)
    assert len(seen) == 2
    assert user.client.post("/sized", data=b"payload").status_code == 200  # and the client goes on


def test_malformed_and_truncated_responses_are_recorded_failures(raw_server):
    for path in ("/garbage", "/truncated"):
        wire, old, seen = both_paths(raw_server, "GET", path)
        assert wire.status_code == 0 and old.status_code == 0
        assert seen[0]["exception"] is not None and seen[1]["exception"] is not None
    assert repr(seen[0]["exception"]) == repr(seen[1]["exception"])  # a body cut short: the same words


def test_a_hanging_target_times_out_on_both_timeouts(raw_server):
    user, _env, seen = make_user(raw_server)
    response = user.client.get("/hang", timeout=0.5)
    assert response.status_code == 0 and isinstance(seen[-1]["exception"], TimeoutError)
    user, _env, seen = make_user(raw_server, network_timeout=0.5)
    response = user.client.get("/hang")
    assert response.status_code == 0 and isinstance(seen[-1]["exception"], TimeoutError)
    assert len(seen) == 1
    assert user.client.get("/sized").status_code == 200


def test_a_refused_connection_is_the_same_error_on_both_paths():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    wire, old, seen = both_paths(f"http://127.0.0.1:{port}", "GET", "/")
    assert wire.status_code == old.status_code == 0
    assert repr(seen[0]["exception"]) == repr(seen[1]["exception"])
    assert isinstance(seen[0]["exception"], ConnectionRefusedError)


@pytest.mark.parametrize("method, kwargs", [
    ("GET", {}),
    ("POST", {}),
    ("POST", {"data": b"raw bytes"}),
    ("PUT", {"data": "text body"}),
    ("POST", {"json": {"a": [1, 2]}}),
    ("PATCH", {"data": {"form": "value"}, "auth": ("user", "secret")}),
    ("GET", {"headers": {"Authorization": "Bearer t", "accept": "text/plain"}}),
    ("GET", {"headers": {"user-agent": "mine", "HOST": "example.test:81", "X-A": "1", "x-a": "2"}}),
    ("DELETE", {"headers": {"Content-Length": "0"}, "cookies": {"c": "1"}, "params": {"q": "a b"}}),
])
def test_the_wire_path_sends_the_bytes_geventhttpclient_sends(raw_server, method, kwargs):
    wire, old, seen = both_paths(raw_server, method, "/echo-head", **kwargs)
    assert wire.status_code == old.status_code == 200
    assert wire.content == old.content.replace(SLOW_LINE, b"")


def test_default_headers_and_kept_cookies_go_out_as_geventhttpclient_sends_them(raw_server):
    user, _env, seen = make_user(raw_server, default_headers={"X-Default": "d", "User-Agent": "bench"})
    user.client.get("/multi")  # sets a cookie the next calls send back
    wire = user.client.get("/echo-head", headers={"X-Call": "c"})
    old = user.client.get("/echo-head", headers={"X-Call": "c", **SLOW_PATH})
    assert b"Cookie: a=1" in wire.content and b"User-Agent: bench" in wire.content
    assert wire.content == old.content.replace(SLOW_LINE, b"")


def test_headers_the_wire_path_leaves_to_geventhttpclient_are_its_errors(raw_server):
    user, _env, seen = make_user(raw_server)
    response = user.client.get("/echo-head", headers={"Bad Name": "x"})
    assert response.status_code == 0 and isinstance(seen[-1]["exception"], ValueError)
    response = user.client.get("/echo-head", headers={"X-Bad": "line\r\nbreak"})
    assert response.status_code == 0 and isinstance(seen[-1]["exception"], ValueError)


def test_greenlets_of_one_user_share_at_most_its_concurrency_in_connections(raw_server):
    import gevent

    user, _env, seen = make_user(raw_server, concurrency=2)
    before = int(user.client.request("GET", "/connections", headers=SLOW_PATH).text)
    responses = [job.get() for job in [gevent.spawn(user.client.get, "/sized") for _ in range(20)]]
    assert [r.status_code for r in responses] == [200] * 20 and all(e["exception"] is None for e in seen)
    after = int(user.client.request("GET", "/connections", headers=SLOW_PATH).text)
    assert after - before <= 2  # the kept one of the first /connections, and one more at most


@pytest.mark.parametrize("path", ["/page", "/api/data", "/big", "/status/503"])
def test_https_reads_the_same_on_both_paths(tls_target, path):
    url, _ca = tls_target
    wire, old, seen = both_paths(url, "GET", path)
    assert (wire.status_code, wire.reason, wire.content) == (old.status_code, old.reason, old.content)
    assert dict(wire.headers.items()).keys() == dict(old.headers.items()).keys()
    assert seen[0]["response_length"] == seen[1]["response_length"]
    assert repr(seen[0]["exception"]) == repr(seen[1]["exception"])
