"""A Socket.IO server under load with SocketIOUser (pytest_loadhooks.contrib.socketio, python-socketio).

    pip install 'pytest-loadhooks[socketio]'
    python examples/other_systems/socketio_echo_server.py --port 5001 &
    SOCKETIO_URL=http://127.0.0.1:5001 \
        pytest examples/other_systems/socketio_loadtest.py --load-users=4 --load-run-time=10s
"""

import os

import gevent.event
import pytest

from pytest_loadhooks import between, task
from pytest_loadhooks.contrib.socketio import SocketIOUser

pytestmark = pytest.mark.load

URL = os.getenv("SOCKETIO_URL", "http://127.0.0.1:5001")


class Chatter(SocketIOUser):
    wait_time = between(0.05, 0.2)
    options = {"reconnection_attempts": 1}

    def on_start(self):
        self.answered = gevent.event.Event()
        self.sio.on("chat_message", self.on_chat_message)  # replaces on_message for this event
        self.sio.connect(URL, wait_timeout=10)  # request WS "connect"

    def on_chat_message(self, data):
        self.answered.set()
        self.sio.on_message("chat_message", data)  # keep it counted: WSR "chat_message"

    @task(3)
    def echo(self):
        self.sio.call("echo", {"text": "hello"}, timeout=10)  # WSC "echo", timed until the answer

    @task(1)
    def chat(self):
        self.answered.clear()
        self.sio.call("join_room", {"room": "lobby"}, timeout=10)
        self.sio.emit("send_message", {"room": "lobby", "message": "hi"})  # WSE, not answered
        self.answered.wait(10)

    def on_stop(self):
        self.sio.disconnect()


@pytest.mark.thresholds("fail_ratio == 0")
def test_the_server_answers(load_result):
    assert load_result.entry("echo", method="WSC").num_requests > 0
