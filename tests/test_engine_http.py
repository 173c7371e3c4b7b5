"""HTTP clients of HttpUser (requests) and FastHttpUser (geventhttpclient), against the
real target on 127.0.0.1: paths, names, catch_response, request_meta and context,
and bad targets (refused, hanging, invalid UTF-8, TLS) as recorded failures.

Most tests call a user's client directly (real requests, no runner); the ones about
users surviving bad targets run real users.
"""

from __future__ import annotations

import ssl
import time

import pytest
import requests
import urllib3

from engine_support import REQUEST_KWARGS, make_env, run_until
from pytest_loadhooks import FastHttpUser, HttpUser, constant, task
from pytest_loadhooks.exception import ResponseError


@pytest.fixture(params=["HttpUser", "FastHttpUser"])
def user_base(request):
    return {"HttpUser": HttpUser, "FastHttpUser": FastHttpUser}[request.param]


def client_user(base: type, host: str, **attrs):
    """A user of ``base`` on its own Environment; returns (user, env, request events seen)."""
    cls = type("ClientUser", (base,), {"host": host, "noop": task(lambda self: None), **attrs})
    env = make_env(cls)
    seen: list[dict] = []
    env.events.request.add_listener(lambda **kwargs: seen.append(kwargs))
    return cls(env), env, seen


# -- paths and names --------------------------------------------------------------------------------------

def test_relative_paths_resolve_against_the_host(user_base, target):
    user, env, seen = client_user(user_base, target + "/")
    assert user.client.get("page").status_code == 200
    assert user.client.get("/page").status_code == 200
    assert user.client.get(f"{target}/api/data").status_code == 200  # absolute URLs pass through
    assert [k["url"] for k in seen] == [f"{target}/page", f"{target}/page", f"{target}/api/data"]
    assert [k["name"] for k in seen] == ["/page", "/page", "/api/data"]
    for kwargs in seen:
        assert set(kwargs) == REQUEST_KWARGS and kwargs["exception"] is None


def test_a_host_with_a_base_path_keeps_it(user_base, target):
    user, env, seen = client_user(user_base, target + "/api")
    assert user.client.get("/data").status_code == 200
    assert seen[0]["url"] == f"{target}/api/data"


def test_name_groups_requests_into_one_stats_entry(user_base, target):
    user, env, seen = client_user(user_base, target)
    for n in range(3):
        user.client.get(f"/json?item={n}", name="/json?item=[n]")
    user.client.get("/json?item=9")
    user.client.get("/json", params={"item": 7})
    names = {name: entry.num_requests for (name, method), entry in env.stats.entries.items()}
    assert names == {"/json?item=[n]": 3, "/json?item=9": 1, "/json?item=7": 1}
    assert env.stats.total.num_requests == 5


def test_methods_bodies_and_lengths(user_base, target):
    user, env, seen = client_user(user_base, target)
    assert user.client.post("/cart", json={"sku": 1}).status_code == 200
    assert user.client.post("/login", data={"username": "foo"}).status_code == 200
    assert user.client.put("/cart", data=b"raw").status_code == 200
    assert user.client.delete("/cart").status_code == 200
    assert user.client.patch("/cart", json=[1]).status_code == 200
    assert user.client.head("/page").status_code == 200
    response = user.client.get("/big?kb=64")
    assert len(response.content) == 64 * 1024
    assert [k["request_type"] for k in seen] == ["POST", "POST", "PUT", "DELETE", "PATCH", "HEAD", "GET"]
    assert seen[5]["response_length"] == 0
    assert seen[6]["response_length"] == 64 * 1024
    assert env.stats.get("/big?kb=64", "GET").total_content_length == 64 * 1024


def test_error_statuses_are_failures(user_base, target):
    user, env, seen = client_user(user_base, target)
    # (No 204: the target sends a body with it, which desyncs a keep-alive connection.)
    for code in (200, 201, 302, 404, 500, 503):
        user.client.get(f"/status/{code}")
    failed = {k["name"] for k in seen if k["exception"] is not None}
    assert failed == {"/status/404", "/status/500", "/status/503"}
    assert env.stats.total.num_failures == 3
    assert all(k["response"].status_code == int(k["name"].rsplit("/", 1)[1]) for k in seen)
    assert len(env.stats.errors) == 3


# -- catch_response ---------------------------------------------------------------------------------------

def test_catch_response_success_failure_and_status(user_base, target):
    user, env, seen = client_user(user_base, target)
    with user.client.get("/status/500", catch_response=True) as response:
        assert response.status_code == 500
        response.success()
    with user.client.get("/page", catch_response=True, name="marked failed") as response:
        response.failure("body did not have what I wanted")
    with user.client.get("/status/404", catch_response=True, name="decided by status") as response:
        pass
    with user.client.get("/page", catch_response=True, name="ok by status") as response:
        assert response.json()["ok"] is True
    with user.client.get("/page", catch_response=True, name="failed with exception") as response:
        response.failure(ValueError("custom error"))

    by_name = {k["name"]: k for k in seen}
    assert by_name["/status/500"]["exception"] is None
    assert "body did not have what I wanted" in str(by_name["marked failed"]["exception"])
    assert by_name["decided by status"]["exception"] is not None
    assert by_name["ok by status"]["exception"] is None
    assert isinstance(by_name["failed with exception"]["exception"], ValueError)
    assert len(seen) == 5  # each request reported exactly once, at the end of its block
    errors = {record["name"]: record["error"] for record in env.stats.errors.values()}
    # The failures table's texts are Locust's: the exception's repr, a failure("...") message wrapped.
    assert errors["marked failed"] == "CatchResponseError('body did not have what I wanted')"
    assert errors["failed with exception"] == "ValueError('custom error')"
    assert errors["decided by status"] == (
        "HTTPError('404 Client Error: Not Found for url: decided by status')" if user_base is HttpUser
        else "LocustBadStatusCode(code=404)")


def test_catch_response_blocks_that_raise(user_base, target):
    user, env, seen = client_user(user_base, target)
    with user.client.get("/page", catch_response=True, name="response error"):
        raise ResponseError("wrong content")  # means "mark failed": recorded and swallowed
    with pytest.raises(KeyError):
        with user.client.get("/page", catch_response=True, name="bug in the block"):
            raise KeyError("oops")  # a real error: raised on, and the request not recorded (as Locust)
    assert [k["name"] for k in seen] == ["response error"]
    assert isinstance(seen[0]["exception"], ResponseError)
    assert env.stats.total.num_requests == 1 and env.stats.total.num_failures == 1


# -- request_meta and context -----------------------------------------------------------------------------

def test_context_per_call_from_the_user_and_from_the_response(user_base, target):
    class WithContext(user_base):
        abstract = True
        username = "foo"

        def context(self):
            return {"username": self.username, "source": "user"}

    user, env, seen = client_user(WithContext, target)
    user.client.get("/page")
    user.client.get("/page", context={"source": "call", "tag": "checkout"})
    with user.client.get("/json", catch_response=True) as response:
        response.request_meta["context"]["requestId"] = response.json()["requestId"]
        request_id = response.json()["requestId"]
    user.username = "bar"
    user.client.get("/page")

    assert seen[0]["context"] == {"username": "foo", "source": "user"}
    assert seen[1]["context"] == {"username": "foo", "source": "call", "tag": "checkout"}
    assert seen[2]["context"] == {"username": "foo", "source": "user", "requestId": request_id}
    assert seen[3]["context"] == {"username": "bar", "source": "user"}  # context() is asked per request


def test_request_meta_on_responses(user_base, target):
    user, env, seen = client_user(user_base, target)
    response = user.client.get("/api/data", context={"k": 1})
    meta = response.request_meta
    assert set(meta) == REQUEST_KWARGS
    assert meta["name"] == "/api/data" and meta["context"] == {"k": 1} and meta["response"] is response
    with user.client.get("/page", catch_response=True) as caught:
        assert set(caught.request_meta) == REQUEST_KWARGS
        assert caught.request_meta["exception"] is None
        caught.request_meta["name"] = "renamed in the block"
    assert seen[-1]["name"] == "renamed in the block"


# -- bad targets --------------------------------------------------------------------------------------------

def test_connection_refused_is_a_recorded_failure(user_base, refused_url):
    user, env, seen = client_user(user_base, refused_url)
    response = user.client.get("/page")
    assert response.status_code == 0 and not response.ok
    [kwargs] = seen
    assert kwargs["exception"] is not None and kwargs["url"] == f"{refused_url}/page"
    assert kwargs["response_length"] == 0
    with user.client.get("/page", catch_response=True) as caught:
        assert caught.status_code == 0
    assert seen[-1]["exception"] is not None
    assert env.stats.total.num_failures == 2


def test_users_survive_a_target_that_refuses_connections(user_base, refused_url):
    attempts = []

    class Persistent(user_base):
        host = refused_url
        wait_time = constant(0.05)

        @task
        def get(self):
            attempts.append(id(self))
            self.client.get("/page")

    env = make_env(Persistent)
    user_errors = []
    env.events.user_error.add_listener(lambda **kw: user_errors.append(kw))
    assert run_until(env, 2, 50, lambda: len(attempts) >= 6 and len(set(attempts)) == 2) == 0
    assert user_errors == []
    assert len(attempts) >= 6 and len(set(attempts)) == 2  # the same two users kept trying
    # Every request was recorded as a failure (a user stopped mid-request records none).
    requests_made = env.stats.total.num_requests
    assert len(attempts) - 2 <= requests_made <= len(attempts)
    assert env.stats.total.num_failures == requests_made
    [error] = env.stats.errors.values()
    assert error["occurrences"] == requests_made


def hanging_attrs(user_base) -> dict:
    if user_base is HttpUser:
        return {"timeout": 0.3}
    return {"network_timeout": 0.3, "connection_timeout": 0.3}


def test_a_hanging_target_times_out_as_a_recorded_failure(user_base, target):
    user, env, seen = client_user(user_base, target, **hanging_attrs(user_base))
    started = time.monotonic()
    response = user.client.get("/hang?s=3", name="/hang")
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 2.5
    assert response.status_code == 0
    [kwargs] = seen
    assert kwargs["exception"] is not None
    assert 250 <= kwargs["response_time"] < 2500
    assert env.stats.get("/hang", "GET").num_failures == 1
    if user_base is HttpUser:  # Locust's text, naming urllib3's pool as urllib3 names it
        [record] = env.stats.errors.values()
        port = target.rsplit(":", 1)[1]
        assert record["error"] == ("ReadTimeout(ReadTimeoutError(\"HTTPConnectionPool(host='127.0.0.1', "
                                   f"port={port}): Read timed out. (read timeout=0.3)\"))")
    # The client is still usable afterwards.
    assert user.client.get("/page").status_code == 200


def test_a_run_against_a_hanging_target_ends_on_time(user_base, target):
    class Stuck(user_base):
        host = target
        wait_time = constant(0)

        @task
        def hang(self):
            self.client.get("/hang?s=3", name="/hang")

    env = make_env(Stuck)  # default timeouts (60 s): the stop must not wait for them
    runner = env.create_local_runner()
    started = time.monotonic()
    assert runner.run(2, 50, 0.5) == 0
    assert time.monotonic() - started < 2.5


def test_a_body_that_is_not_utf8_is_recorded_not_a_crash(user_base, target):
    user, env, seen = client_user(user_base, target)
    texts = []
    env.events.request.add_listener(lambda response, **kw: texts.append(response.text))
    response = user.client.get("/bad-utf8")
    assert response.status_code == 200
    assert "not utf-8" in response.text and "\ufffd" in response.text
    [kwargs] = seen
    assert kwargs["exception"] is None
    assert kwargs["response_length"] == len(response.content) == len(b"\xff\xfe\xfa not utf-8 \xc3\x28")
    assert texts and "not utf-8" in texts[0]
    assert env.listener_errors == []


# -- HTTPS ------------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # the point of the test
def test_https_with_verification_off(user_base, tls_target):
    url, _ca = tls_target
    user, env, seen = client_user(user_base, url)
    if user_base is HttpUser:
        response = user.client.get("/page", verify=False)
    else:
        response = user.client.get("/page")  # FastHttpUser does not verify certificates
    assert response.status_code == 200
    assert seen[0]["exception"] is None and seen[0]["url"] == f"{url}/page"


def test_https_with_the_ca_file_and_without_it(tls_target):
    url, ca = tls_target
    user, env, seen = client_user(HttpUser, url)
    # The self-signed certificate is not trusted by default: a recorded failure, not a crash.
    response = user.client.get("/page", name="untrusted")
    assert response.status_code == 0 and not response
    # Recorded as the error inside requests' ConnectionError wrapper (as Locust records it);
    # the response still raises requests' own SSLError.
    assert isinstance(seen[0]["exception"], urllib3.exceptions.SSLError)
    with pytest.raises(requests.exceptions.SSLError):
        response.raise_for_status()
    user.client.verify = ca
    assert user.client.get("/page", name="trusted").status_code == 200
    assert seen[1]["exception"] is None


def test_fast_http_user_verifies_when_asked_to(tls_target):
    url, ca = tls_target
    strict, env, seen = client_user(FastHttpUser, url, insecure=False)
    assert strict.client.get("/page").status_code == 0
    assert "CERTIFICATE_VERIFY_FAILED" in str(seen[0]["exception"])

    trusting, env, seen = client_user(FastHttpUser, url, insecure=False,
                                      ssl_context_factory=lambda *a, **kw: ssl.create_default_context(cafile=ca))
    assert trusting.client.get("/page").status_code == 200
    assert seen[0]["exception"] is None


def test_https_users_in_a_real_run(user_base, tls_target):
    url, ca = tls_target

    class Secure(user_base):
        host = url
        wait_time = constant(0.05)

        def on_start(self):
            if isinstance(self, HttpUser):
                self.client.verify = ca

        @task
        def get(self):
            self.client.get("/api/data")

    env = make_env(Secure)
    run_until(env, 2, 50, lambda: env.stats.total.num_requests >= 4)
    assert env.stats.total.num_requests >= 4 and env.stats.total.num_failures == 0
