"""MqttUser against a real Mosquitto: publishes equal the messages a subscriber received; connects,
subscriptions, refused logins and publishes its ACL denies (MQTT 5) equal the broker's log, the last
two as failures; the other users go on while one user's broker answers slowly (a delaying proxy)."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter

import paho.mqtt.client as mqtt  # the `mqtt` extra, which the `test` extra pulls
import pytest
from other_systems import MosquittoServer, run_args, run_example
from request_log import REQUEST_RECORDER, read_requests, started_during

from conftest import free_port
from contrib_b_support import DelayProxy

LOAD_MODULE = '''
import os
import gevent
from paho.mqtt.client import MQTTv5
from pytest_loadhooks import constant, task
from pytest_loadhooks.contrib.mqtt import MqttUser

class Broker(MqttUser):
    abstract = True
    host = "127.0.0.1"
    port = int(os.environ["LOADTEST_MQTT_PORT"])
    username, password = "loadtest", "secret"

class Publisher(Broker):
    wait_time = constant(0.05)

    def on_start(self):
        assert self.client.wait_for_connection(10)
        self.client.subscribe("loadtest/in", qos=1)

    @task(3)
    def at_most_once(self):
        self.client.publish("loadtest/qos0", b"hello", qos=0)

    @task(1)
    def at_least_once(self):
        self.client.publish("loadtest/qos1", "hello again", qos=1)

class Trespasser(Broker):
    # MQTT 5: the broker answers a publish its ACL denies with PUBACK 'Not authorized'.
    fixed_count = 1
    protocol = MQTTv5
    wait_time = constant(0.2)

    def on_start(self):
        assert self.client.wait_for_connection(10)

    @task
    def denied(self):
        self.client.publish("forbidden/topic", b"no", qos=1)

class Intruder(Broker):
    fixed_count = 1
    password = "wrong password"
    wait_time = constant(30)

    @task
    def idle(self):
        gevent.sleep(0)

class Unreachable(Broker):
    fixed_count = 1
    port = int(os.environ["LOADTEST_CLOSED_PORT"])
    wait_time = constant(30)

    @task
    def idle(self):
        gevent.sleep(0)

class SlowBrokerPublisher(Broker):
    fixed_count = 1
    port = int(os.environ["LOADTEST_SLOW_MQTT_PORT"])
    wait_time = constant(30)

    def on_start(self):
        assert self.client.wait_for_connection(10)

    @task
    def slow(self):
        self.client.publish("loadtest/slow", b"x", qos=1).wait_for_publish(10)
'''


@pytest.fixture(scope="module")
def mosquitto():
    server = MosquittoServer()
    yield server
    server.stop()


class Subscriber:
    """Counts, per topic, the messages the broker delivers under loadtest/#."""

    def __init__(self, port: int) -> None:
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="loadtest-counter")
        self.client.username_pw_set(MosquittoServer.USER, MosquittoServer.PASSWORD)
        self.client.on_message = self._count
        self.client.on_connect = lambda client, *args: client.subscribe("loadtest/#", qos=1)
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(10), "the counting subscriber could not subscribe"

    def _count(self, client, userdata, message) -> None:
        with self.lock:
            self.counts[message.topic] += 1

    def wait_for(self, expected: Counter, timeout: float = 15) -> Counter:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.counts != expected:
            time.sleep(0.1)
        return Counter(self.counts)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_mqtt_user_counts_failures_and_gevent(pytester, mosquitto, monkeypatch):
    proxy = DelayProxy(mosquitto.port, delay=1.0)
    subscriber = Subscriber(mosquitto.port)
    try:
        monkeypatch.setenv("LOADTEST_MQTT_PORT", str(mosquitto.port))
        monkeypatch.setenv("LOADTEST_SLOW_MQTT_PORT", str(proxy.port))
        monkeypatch.setenv("LOADTEST_CLOSED_PORT", str(free_port()))
        pytester.makeconftest(REQUEST_RECORDER)
        pytester.makepyfile(test_mqtt_load=LOAD_MODULE)
        # 4 s: the slow user waits 1 s for its connect, then 1 s for its publish, well within the run
        result = pytester.runpytest_subprocess(*run_args(users=6, run_time="4s"))
        result.assert_outcomes(passed=1)
        requests = read_requests(pytester.path)
        published = Counter(r["name"].split(":", 2)[2] for r in requests
                            if r["name"].startswith("publish:") and r["exception"] is None)
        received = subscriber.wait_for(published)
    finally:
        subscriber.stop()
        proxy.stop()
    assert all(r["type"] == "MQTT" for r in requests)
    assert published["loadtest/qos0"] > 0 and published["loadtest/qos1"] > 0
    assert received == published  # the broker delivered every publish the users recorded, no more

    def made(name, failed=False):
        return [r for r in requests if r["name"] == name and (r["exception"] is not None) == failed]

    log = mosquitto.log_lines()

    def logged(pattern):
        return sum(1 for line in log if re.search(pattern, line))

    assert len(made("connect")) == logged(r"New client connected from .* as locust-")
    failed_connects = made("connect", failed=True)
    refused = [r for r in failed_connects if "Not authorized" in r["exception"]]
    assert refused and len(refused) == logged(r"Sending CONNACK to .* \(0, 5\)")
    unreachable = [r for r in failed_connects if r not in refused]
    assert unreachable and all("could not connect to 127.0.0.1:" in r["exception"] for r in unreachable)
    assert len(made("subscribe:1:loadtest/in")) == logged(r"Received SUBSCRIBE from locust-") > 0
    assert len(made("connect")) == 4  # two Publishers, the Trespasser and the SlowBrokerPublisher
    denied = made("publish:1:forbidden/topic", failed=True)
    assert denied and len(denied) == logged(r"Denied PUBLISH from locust-")
    assert all("Not authorized" in r["exception"] for r in denied)
    assert not made("publish:1:forbidden/topic") and not made("publish:0:loadtest/qos0", failed=True)

    # gevent: while one user's broker took 1 s to acknowledge, the other users went on.
    (slow,) = made("publish:1:loadtest/slow")
    assert slow["response_time"] >= 900
    assert len(started_during(slow, requests)) >= 5, started_during(slow, requests)


def test_mqtt_example_runs(mosquitto, tmp_path):
    env = {"MQTT_HOST": "127.0.0.1", "MQTT_PORT": str(mosquitto.port), "MQTT_USERNAME": mosquitto.USER,
           "MQTT_PASSWORD": mosquitto.PASSWORD}
    result = run_example("mqtt", env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout and "subscribe:1:loadtest/commands" in result.stdout
