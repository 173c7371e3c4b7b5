"""HttpSession's cheaper per-request path (issue 24) returns what plain requests returns.

Each response is fetched twice from the same real server on 127.0.0.1: with a plain
``requests.Session`` (the reference) and with ``HttpSession`` (its header parse without the
email package, its leaner send and adapter); status, headers (urllib3's and requests'), the
parsed ``HTTPMessage``, body, cookies, history and errors must be the same. The header parse is
also checked block by block against the email package's own parse.
"""

from __future__ import annotations

import email.parser
import http.client
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from conftest import free_port, wait_for_port
from pytest_loadhooks.clients import HttpSession, root_error
from pytest_loadhooks.event import EventHook
from pytest_loadhooks.response_head import parse_header_block

SERVER = Path(__file__).with_name("raw_http_server.py")


@pytest.fixture(scope="module")
def raw_server():
    port = free_port()
    process = subprocess.Popen([sys.executable, str(SERVER), str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(5)


def _session(base_url: str) -> tuple[HttpSession, list[dict]]:
    fired: list[dict] = []
    event = EventHook()
    event.add_listener(lambda **kwargs: fired.append(kwargs))
    return HttpSession(base_url, request_event=event, timeout=10), fired


def _seen(response: requests.Response) -> dict:
    """Everything a task can read from a response that the new path could change."""
    message = response.raw._original_response.msg
    return {
        "status": response.status_code, "reason": response.reason, "url": response.url,
        "headers": list(response.headers.items()), "raw_headers": list(response.raw.headers.items()),
        "message_items": message.items(), "set_cookie": message.get_all("Set-Cookie"),
        "defects": [type(defect) for defect in message.defects], "payload": message.get_payload(),
        "content": response.content, "encoding": response.encoding, "cookies": response.cookies.get_dict(),
        "history": [(r.status_code, r.url, r.cookies.get_dict()) for r in response.history],
        "is_redirect": response.is_redirect, "next": response.next.url if response.next else None,
    }


PATHS = ["/plain", "/repeated", "/folded", "/odd", "/nocolon", "/multipart", "/gzip", "/chunked", "/redirect",
         "/continue", "/no-content", "/close-after", "/until-close", "/missing"]


def test_responses_read_as_plain_requests_reads_them(raw_server):
    ours, fired = _session(raw_server)
    reference = requests.Session()
    reference.trust_env = False
    for path in PATHS:
        for kwargs in ({}, {"allow_redirects": False}):
            expected = _seen(reference.get(raw_server + path, timeout=10, **kwargs))
            assert _seen(ours.get(path, **kwargs)) == expected, path
    assert ours.cookies.get_dict() == reference.cookies.get_dict() == {"a": "1", "b": "2", "r": "1"}
    assert len(fired) == 2 * len(PATHS)  # one request event per call, redirects included
    head = ours.head("/plain")
    assert head.status_code == 200 and head.content == b"" and head.headers["Content-Length"] == "17"


def test_repeated_headers_joined_and_cookies_kept(raw_server):
    ours, _ = _session(raw_server)
    response = ours.get("/repeated")
    assert response.headers["x-multi"] == "a, b"
    assert response.raw.headers.getlist("X-Multi") == ["a", "b"]
    assert response.raw._original_response.msg.get_all("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert response.headers["x-colons"] == "a:b:c" and response.headers["x-empty"] == ""
    assert ours.cookies.get_dict() == {"a": "1", "b": "2"}
    # the cookies go back on the next request, and a response without Set-Cookie keeps them
    assert ours.get("/plain").request.headers["Cookie"] == "a=1; b=2"
    assert ours.cookies.get_dict() == {"a": "1", "b": "2"}


def test_kept_connection_closed_by_the_server_is_replaced(raw_server):
    """The server answers keep-alive, then closes the idle connection: the next request opens a new one."""
    ours, fired = _session(raw_server)
    statuses = []
    for path in ("/close-after", "/close-after", "/close-after", "/plain"):
        statuses.append(ours.get(path).status_code)
        time.sleep(0.2)  # the server's close reaches us while the connection idles in the pool
    assert statuses == [200, 200, 200, 200]
    assert [event["exception"] for event in fired] == [None] * 4


def test_reset_and_refused_are_recorded_as_errors(raw_server, refused_url):
    ours, fired = _session(raw_server)
    reset = ours.get("/reset")
    assert reset.status_code == 0 and not reset.ok
    assert isinstance(root_error(reset.error), (ConnectionResetError, http.client.RemoteDisconnected)), reset.error
    refused, _ = _session(refused_url)
    response = refused.get("/")
    assert isinstance(root_error(response.error), ConnectionRefusedError)
    assert fired[-1]["exception"] is not None and ours.get("/plain").ok  # the session goes on


def _email_parse(block: str) -> http.client.HTTPMessage:
    return email.parser.Parser(_class=http.client.HTTPMessage).parsestr(block)


BLOCKS = [
    "\r\n", "\n", "A: 1\r\n\r\n", "A: 1\nB:2\n\n", "A:   spaced  \t\r\n\r\n", "A:\r\n\r\n", "A: x:y\r\n\r\n",
    "Set-Cookie: a=1\r\nset-cookie: b=2\r\nSet-Cookie: c=3\r\n\r\n",
    "A: first\r\n second\r\n\tthird\r\nB: 2\r\n\r\n",  # folded
    "A: 1\r\nno colon\r\nB: 2\r\n\r\n", ": empty name\r\n\r\n", "Bad Name: x\r\n\r\n", "From someone\r\nA: 1\r\n\r\n",
    "A: caf\xe9\r\n\r\n", "A: a\x01b\r\n\r\n", "A: a\rb\r\n\r\n", "A: a\x0cb\x85\r\n\r\n",
    "Content-Type: multipart/mixed; boundary=x\r\n\r\n", "content-type: Message/rfc822\r\n\r\n",
    "Content-Type: text/html\r\nContent-Length: 3\r\n\r\n",
    "A: 1\r\n",  # cut off by EOF: no blank line
    "A: 1\r\nB: 2",
]


@pytest.mark.parametrize("block", BLOCKS, ids=range(len(BLOCKS)))
def test_header_block_parses_as_the_email_package_parses_it(block):
    expected, ours = _email_parse(block), parse_header_block(block)
    assert type(ours) is type(expected)
    assert ours.items() == expected.items()
    assert [type(d) for d in ours.defects] == [type(d) for d in expected.defects]
    assert ours.is_multipart() == expected.is_multipart()
    if expected.is_multipart():  # message/*: the email package parsed the (empty) body as a message
        assert [part.items() for part in ours.get_payload()] == [part.items() for part in expected.get_payload()]
    else:
        assert ours.get_payload() == expected.get_payload()
    assert vars(ours).keys() == vars(expected).keys()
    for name in {name for name, _ in expected.items()}:
        assert ours.get_all(name) == expected.get_all(name)


def test_hooks_streaming_params_and_proxies_as_requests_has_them(raw_server, refused_url):
    ours, fired = _session(raw_server)
    reference = requests.Session()
    hook_calls: dict[str, list] = {"ours": [], "reference": []}
    for session, calls in ((ours, hook_calls["ours"]), (reference, hook_calls["reference"])):
        session.hooks["response"].append(lambda response, calls=calls, **kwargs: calls.append(response.status_code))
        own_hook = {"response": lambda response, calls=calls, **kwargs: calls.append(("own", response.status_code))}
        base = "" if session is ours else raw_server
        streamed = session.get(base + "/gzip", stream=True)
        assert streamed.elapsed.total_seconds() > 0
        assert streamed.raw.read(decode_content=True) == b"hello, raw world\n" * 20
        redirected = session.get(base + "/redirect", hooks=own_hook)
        assert [r.status_code for r in redirected.history] == [302] and redirected.url == raw_server + "/plain"
        session.get(base + "/redirect", allow_redirects=False)
    assert hook_calls["ours"] == hook_calls["reference"] == [200, ("own", 302), ("own", 200), 302]
    streamed_event = fired[0]  # a streamed body is counted by its Content-Length, as before
    assert streamed_event["response_length"] == int(streamed_event["response"].headers["Content-Length"]) > 0
    # URLs that requests re-quotes or joins with params: the same prepared URL, remembered or not
    for path, params in (("/plain?q=a b&x=%7e", None), ("/plain?q=a b&x=%7e", None), ("/plain", {"k": "v w"}),
                         ("/plain?z=1", {"k": ["1", "2"]})):
        expected = requests.Request("GET", raw_server + path, params=params).prepare().url
        assert ours.get(path, params=params).request.url == expected
    # a proxy given per request goes through requests' own proxy path (here: a proxy that refuses)
    proxied = ours.get("/plain", proxies={"http": refused_url})
    assert isinstance(proxied.error, requests.exceptions.ProxyError), proxied.error


def test_credentials_in_the_url_or_session_still_sent(raw_server):
    ours, _ = _session(raw_server)
    with_userinfo = raw_server.replace("http://", "http://user:secret@") + "/plain"
    expected = requests.Request("GET", with_userinfo).prepare()
    expected.prepare_auth(None)
    assert ours.get(with_userinfo).request.headers["Authorization"] == expected.headers["Authorization"]
    assert "Authorization" not in ours.get("/plain").request.headers
    ours.auth = ("someone", "pw")
    basic = requests.auth.HTTPBasicAuth("someone", "pw")(requests.Request("GET", raw_server).prepare())
    assert ours.get("/plain").request.headers["Authorization"] == basic.headers["Authorization"]


def test_connection_pools_follow_the_origin_and_the_session_close(raw_server):
    """Two origins in turn (one pool per adapter: each evicts the other), then a closed session's pools."""
    ours, fired = _session(raw_server)
    other_origin = raw_server.replace("127.0.0.1", "localhost")
    for url in (raw_server + "/plain", other_origin + "/plain", raw_server + "/plain", other_origin + "/repeated"):
        response = ours.get(url)
        assert response.status_code == 200 and response.url == url
        assert response.raw.connection is None  # the body was read: the connection went back to its pool
    adapter = ours.get_adapter(raw_server)
    requests_own = requests.adapters.HTTPAdapter.get_connection_with_tls_context(adapter, response.request, True)
    assert adapter.get_connection_with_tls_context(response.request, True) is requests_own
    ours.close()
    assert ours.get("/plain").status_code == 200 and [event["exception"] for event in fired] == [None] * 5
