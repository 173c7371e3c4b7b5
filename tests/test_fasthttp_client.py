"""FastHttpUser's client beyond what it shares with HttpUser's (tests/test_engine_http.py):
redirects, cookies, query parameters, form and JSON bodies, auth, per-call timeout,
streaming, gzip, connection reuse and arguments it does not take.

The target is a small real HTTP server in a subprocess on 127.0.0.1, written for these
cases (the shared example target has no redirect or cookie endpoints).
"""

from __future__ import annotations

import textwrap
import time

import pytest

from conftest import serve_script
from engine_support import REQUEST_KWARGS, make_env
from geventhttpclient.useragent import ConnectionError as GeventConnectionError
from pytest_loadhooks import FastHttpUser, task
from pytest_loadhooks.contrib.fasthttp import LocustBadStatusCode
from pytest_loadhooks.exception import ResponseError

SERVER = textwrap.dedent('''
    import base64, gzip, json, sys, threading, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit

    connections = set()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, status, body=b"", headers=()):
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def handle_any(self):
            connections.add(self.client_address)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            path = parts.path
            if path == "/echo":
                data = {"method": self.command, "path": path, "query": query,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body.decode("latin-1")}
                self.send(200, json.dumps(data).encode(), [("Content-Type", "application/json")])
            elif path.startswith("/redirect/"):
                n = int(path.rsplit("/", 1)[1])
                location = f"/redirect/{n - 1}" if n > 1 else "/echo"
                self.send(302, b"", [("Location", location)])
            elif path == "/status-redirect":
                code = int(query["code"][0])
                self.send(code, b"", [("Location", query.get("to", ["/echo"])[0])])
            elif path == "/set-cookie":
                self.send(200, b"set", [("Set-Cookie", f"{k}={v[0]}; Path=/") for k, v in query.items()])
            elif path == "/gzip":
                self.send(200, gzip.compress(b"squeezed " * 100),
                          [("Content-Encoding", "gzip"), ("Content-Type", "text/plain")])
            elif path == "/slow":
                time.sleep(float(query["s"][0]))
                self.send(200, b"late")
            elif path == "/connections":
                self.send(200, str(len(connections)).encode())
            elif path == "/latin1":
                self.send(200, "caf\\u00e9".encode("latin-1"), [("Content-Type", "text/plain; charset=latin-1")])
            else:
                self.send(404, b"not found")

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    threading.Timer(float(sys.argv[1]), server.shutdown).start()
    server.serve_forever()
''')


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from serve_script(tmp_path_factory.mktemp("fasthttp"), SERVER)


def make_user(host: str, **attrs):
    cls = type("Client", (FastHttpUser,), {"host": host, "noop": task(lambda self: None), **attrs})
    env = make_env(cls)
    seen: list[dict] = []
    env.events.request.add_listener(lambda **kwargs: seen.append(kwargs))
    return cls(env), env, seen


def test_redirects_are_followed_and_reported_once_under_the_first_url(server):
    user, env, seen = make_user(server)
    response = user.client.get("/redirect/3")
    assert response.status_code == 200 and response.json()["path"] == "/echo"
    assert response.url == f"{server}/echo"
    assert [r.status_code for r in response.history] == [302, 302, 302]
    [kwargs] = seen
    assert kwargs["name"] == "/redirect/3" and kwargs["url"] == f"{server}/redirect/3"
    assert kwargs["exception"] is None and set(kwargs) == REQUEST_KWARGS


def test_redirects_can_be_turned_off_and_are_bounded(server):
    user, env, seen = make_user(server, max_redirects=2)
    response = user.client.get("/redirect/2", allow_redirects=False)
    assert response.status_code == 302 and response.headers["location"] == "/redirect/1"
    assert user.client.get("/redirect/2").status_code == 200
    failed = user.client.get("/redirect/5")
    assert failed.status_code == 0 and "redirects" in str(seen[-1]["exception"])


def test_303_and_post_redirects_become_get_but_307_keeps_the_method_and_body(server):
    user, env, seen = make_user(server)
    after_303 = user.client.post("/status-redirect?code=303", data="payload").json()
    assert after_303["method"] == "GET" and after_303["body"] == ""
    after_302 = user.client.post("/status-redirect?code=302", json={"a": 1}).json()
    assert after_302["method"] == "GET"
    after_307 = user.client.post("/status-redirect?code=307", data="payload").json()
    assert after_307["method"] == "POST" and after_307["body"] == "payload"
    assert after_307["headers"]["content-length"] == "7"


def test_cookies_set_by_the_target_are_sent_back(server):
    user, env, seen = make_user(server)
    assert "cookie" not in user.client.get("/echo").json()["headers"]
    user.client.get("/set-cookie?session=abc&theme=dark")
    sent = user.client.get("/echo").json()["headers"]["cookie"]
    assert sorted(sent.split("; ")) == ["session=abc", "theme=dark"]
    with_extra = user.client.get("/echo", cookies={"extra": "1"}).json()["headers"]["cookie"]
    assert "extra=1" in with_extra and "session=abc" in with_extra
    other_user, _, _ = make_user(server)
    assert "cookie" not in other_user.client.get("/echo").json()["headers"]  # cookies are per user


def test_params_headers_and_bodies(server):
    user, env, seen = make_user(server, default_headers={"X-Default": "d", "X-Over": "default"})
    echo = user.client.get("/echo?a=1", params={"b": "2", "c": ["3", "4"]},
                           headers={"X-Over": "call"}).json()
    assert echo["query"] == {"a": ["1"], "b": ["2"], "c": ["3", "4"]}
    assert echo["headers"]["x-default"] == "d" and echo["headers"]["x-over"] == "call"
    assert seen[-1]["name"] == "/echo?a=1&b=2&c=3&c=4"
    form = user.client.post("/echo", data={"user": "foo", "n": 1}).json()
    assert form["body"] == "user=foo&n=1"
    assert form["headers"]["content-type"] == "application/x-www-form-urlencoded"
    as_json = user.client.put("/echo", json={"k": [1, 2]}).json()
    assert as_json["body"] == '{"k": [1, 2]}' and as_json["headers"]["content-type"] == "application/json"
    raw = user.client.patch("/echo", data=b"\x00\x01", headers={"Content-Type": "application/octet-stream"}).json()
    assert raw["body"] == "\x00\x01" and raw["headers"]["content-type"] == "application/octet-stream"
    assert user.client.options("/echo").json()["method"] == "OPTIONS"
    head = user.client.head("/echo")
    assert head.status_code == 200 and head.content == b""


def test_basic_auth_from_the_call_and_from_the_host_url(server):
    user, env, seen = make_user(server)
    header = user.client.get("/echo", auth=("user", "pass")).json()["headers"]["authorization"]
    assert header == "Basic dXNlcjpwYXNz"
    with_credentials = server.replace("http://", "http://alice:s%3Acret@")
    user, env, seen = make_user(with_credentials)
    echo = user.client.get("/echo").json()
    assert echo["headers"]["authorization"] == "Basic YWxpY2U6czpjcmV0"
    assert seen[-1]["url"] == f"{server}/echo"  # credentials are not part of the reported URL


def test_gzip_bodies_are_decoded_and_text_follows_the_charset(server):
    user, env, seen = make_user(server)
    response = user.client.get("/gzip", headers={"Accept-Encoding": "gzip"})
    assert response.text == "squeezed " * 100
    assert user.client.get("/latin1").text == "caf\u00e9"


def test_a_per_call_timeout_is_a_recorded_failure_and_the_client_goes_on(server):
    user, env, seen = make_user(server)
    started = time.monotonic()
    response = user.client.get("/slow?s=2", timeout=0.3)
    assert time.monotonic() - started < 1.5
    assert response.status_code == 0 and isinstance(seen[-1]["exception"], TimeoutError)
    for _ in range(3):  # the pool gave the broken connection up, nothing leaked
        assert user.client.get("/echo", timeout=5).status_code == 200


def test_stream_reads_the_body_on_use_and_reports_content_length(server):
    user, env, seen = make_user(server)
    response = user.client.get("/gzip", stream=True)
    assert seen[-1]["response_length"] == int(response.headers["content-length"])
    assert response.content.startswith(b"\x1f\x8b") is False  # decoded on read
    assert user.client.get("/echo").status_code == 200


def test_connections_are_kept_open_between_requests(server):
    user, env, seen = make_user(server)
    before = int(user.client.get("/connections").text)
    for _ in range(20):
        user.client.get("/echo")
    assert int(user.client.get("/connections").text) == before  # the same connection all along


def test_paths_with_characters_a_request_line_cannot_carry_are_encoded(server):
    user, env, seen = make_user(server)
    echo = user.client.get("/echo?q=a b&city=Zürich").json()
    assert echo["query"] == {"q": ["a b"], "city": ["Zürich"]}
    assert seen[-1]["exception"] is None and seen[-1]["name"] == "/echo?q=a b&city=Zürich"


def test_arguments_it_does_not_take_are_a_clear_error(server):
    user, env, seen = make_user(server)
    with pytest.raises(TypeError, match="files="):
        user.client.post("/echo", files={"f": b"x"})
    assert seen == []


def test_catch_response_on_a_redirected_error(server):
    user, env, seen = make_user(server)
    with user.client.get("/status-redirect?code=302&to=/missing", catch_response=True) as response:
        assert response.status_code == 404
    assert repr(seen[-1]["exception"]) == "LocustBadStatusCode(code=404)"
    assert str(seen[-1]["exception"]) == f"URL {server}/missing: code=404"  # the URL it ended at
    assert env.stats.total.num_failures == 1


def test_an_error_status_is_locusts_bad_status_code(server):
    # Locust's FastHttpUser records an error status as LocustBadStatusCode, geventhttpclient's
    # ConnectionError: repr with the code alone (one failures row per request name), str with the URL.
    user, env, seen = make_user(server)
    response = user.client.get("/status-redirect?code=503", name="busy")
    error = seen[-1]["exception"]
    assert isinstance(error, LocustBadStatusCode) and isinstance(error, GeventConnectionError)
    assert not isinstance(error, ResponseError)
    assert (repr(error), str(error), error.code) == (
        "LocustBadStatusCode(code=503)", f"URL {server}/status-redirect?code=503: code=503", 503)
    with pytest.raises(LocustBadStatusCode) as raised:
        response.raise_for_status()
    assert repr(raised.value) == repr(error)
    [record] = env.stats.errors.values()
    assert (record["error"], record.to_name()) == (
        "LocustBadStatusCode(code=503)", "GET busy: LocustBadStatusCode(code=503)")
    # As in Locust, it is not a ResponseError: raised in a catch_response block, it propagates.
    with pytest.raises(LocustBadStatusCode):
        with user.client.get("/status/404", catch_response=True) as caught:
            caught.raise_for_status()
