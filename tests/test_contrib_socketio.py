"""SocketIOUser against a real python-socketio server (examples/other_systems/socketio_echo_server.py):
counts match the server's, a refused connection and an unanswered call fail, other users go on
while one waits for a slow answer."""

from __future__ import annotations

import json
import urllib.request

import pytest
from other_systems import ExampleServer, run_args, run_example
from request_log import REQUEST_RECORDER, read_requests, started_during

LOAD_MODULE = '''
import os
import gevent
from pytest_loadhooks import constant, task
from pytest_loadhooks.contrib.socketio import SocketIOUser

URL = os.environ["LOADTEST_SIO_URL"]

class Chatter(SocketIOUser):
    wait_time = constant(0.05)

    def on_start(self):
        self.received = gevent.event.Event()
        self.sio.on("chat_message", self.on_chat_message)
        self.sio.connect(URL, wait_timeout=10)

    def on_chat_message(self, data):
        self.received.set()
        self.sio.on_message("chat_message", data)

    @task(3)
    def echo(self):
        assert self.sio.call("echo", {"n": 1}, timeout=10) == {"n": 1}

    @task(1)
    def chat(self):
        self.received.clear()
        self.sio.call("join_room", {"room": "r1"}, timeout=10)
        self.sio.emit("send_message", {"room": "r1", "message": "hello"})
        self.sio.send("plain text", name="plain")
        assert self.received.wait(10)

    @task(1)
    def unanswered(self):
        assert self.sio.call("no_such_event", timeout=0.2) is None

    def on_stop(self):
        self.sio.disconnect()

class Waiter(SocketIOUser):
    fixed_count = 1
    wait_time = constant(30)

    def on_start(self):
        self.sio.connect(URL, wait_timeout=10)

    @task
    def slow(self):
        self.sio.call("slow", "x", timeout=10)

    def on_stop(self):
        self.sio.disconnect()

class Intruder(SocketIOUser):
    fixed_count = 1
    wait_time = constant(30)

    @task
    def refused(self):
        self.sio.connect(URL, auth={"token": "bad"}, wait_timeout=10)
'''


@pytest.fixture(scope="module")
def socketio_server():
    server = ExampleServer("socketio_echo_server.py")
    server.url = f"http://127.0.0.1:{server.port}"
    yield server
    server.stop()


def server_counts(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/counts", timeout=10) as response:
        return json.load(response)


def test_socketio_user_counts_failures_and_gevent(pytester, socketio_server, monkeypatch):
    before = server_counts(socketio_server.url)
    monkeypatch.setenv("LOADTEST_SIO_URL", socketio_server.url)
    pytester.makeconftest(REQUEST_RECORDER)
    pytester.makepyfile(test_sio_load=LOAD_MODULE)
    result = pytester.runpytest_subprocess(*run_args(users=5))
    result.assert_outcomes(passed=1)
    requests = read_requests(pytester.path)
    after = server_counts(socketio_server.url)
    seen = {key: after.get(key, 0) - before.get(key, 0) for key in set(after) | set(before)}

    def made(request_type, name=None, failed=False):
        return [r for r in requests if r["type"] == request_type and (name is None or r["name"] == name)
                and (r["exception"] is not None) == failed]

    assert len(made("WS", "connect")) == seen["connect"]
    assert len(made("WS", "connect", failed=True)) == seen["connect_refused"] == 1
    assert len(made("WSC", "echo")) == seen["echo"] > 0
    assert len(made("WSC", "join_room")) == seen["join_room"] > 0
    assert len(made("WSE", "send_message")) == seen["send_message"]
    assert len(made("WSS", "plain")) == seen["message"] == len(made("WSE", "send_message"))
    assert len(made("WSR", "chat_message")) == seen["send_message"]
    unanswered = made("WSC", "no_such_event", failed=True)
    assert unanswered and all("TimeoutError" in r["exception"] for r in unanswered)
    assert not made("WSC", "echo", failed=True) and not made("WSE", "echo") and not made("WSE", "message")
    # A call cut off by the run's end is recorded without an error (as Locust's measure does):
    # at most one per Chatter.
    assert len(made("WSC", "no_such_event")) <= 3

    (slow,) = made("WSC", "slow")
    assert seen["slow"] == 1 and slow["response_time"] >= 1400
    assert len(started_during(slow, requests)) >= 5, started_during(slow, requests)


def test_socketio_example_runs(socketio_server, tmp_path):
    result = run_example("socketio", {"SOCKETIO_URL": socketio_server.url}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout and "WSC   echo" in result.stdout
