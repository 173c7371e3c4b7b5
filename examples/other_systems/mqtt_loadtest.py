"""An MQTT broker under load with MqttUser (pytest_loadhooks.contrib.mqtt, paho-mqtt 2.x).

    pip install 'pytest-loadhooks[mqtt]'
    mosquitto -p 1883 &          # Debian: apt-get install mosquitto
    MQTT_HOST=127.0.0.1 MQTT_PORT=1883 \
        pytest examples/other_systems/mqtt_loadtest.py --load-users=4 --load-run-time=10s

MQTT_USERNAME/MQTT_PASSWORD log in where the broker asks for it.
"""

import os

import pytest

from pytest_loadhooks import between, task
from pytest_loadhooks.contrib.mqtt import MqttUser

pytestmark = pytest.mark.load


class Sensor(MqttUser):
    host = os.getenv("MQTT_HOST", "127.0.0.1")
    port = int(os.getenv("MQTT_PORT", "1883"))
    username = os.getenv("MQTT_USERNAME")
    password = os.getenv("MQTT_PASSWORD")
    wait_time = between(0.05, 0.2)

    def on_start(self):
        # Instead of Locust's example's sleep: wait (at most 10 s) until the broker accepted us.
        if not self.client.wait_for_connection(10):
            raise RuntimeError(f"no connection to the broker at {self.host}:{self.port}")
        self.client.subscribe("loadtest/commands", qos=1)  # request "subscribe:1:loadtest/commands"

    @task(3)
    def reading(self):
        self.client.publish("loadtest/readings", b'{"celsius": 21.5}', qos=0)  # "publish:0:loadtest/readings"

    @task(1)
    def alarm(self):
        self.client.publish("loadtest/alarms", b"door open", qos=1)  # timed until the broker's PUBACK


@pytest.mark.thresholds("fail_ratio == 0")
def test_the_broker_takes_the_messages(load_result):
    assert load_result.entry("publish:0:loadtest/readings", method="MQTT").num_requests > 0
