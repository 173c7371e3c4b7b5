"""MqttUser and MqttClient: a paho-mqtt 2.x client whose connect, publish and subscribe are requests.

As Locust's ``locust.contrib.mqtt``: :class:`MqttUser` builds ``self.client`` (a
``client_cls``, by default :class:`MqttClient`) from its class attributes (``host``, ``port``,
``transport``, ``ws_path``, ``tls_context``, ``client_id``, ``username``, ``password``,
``protocol``, ``use_loop_selectors``), starts connecting and runs paho's network loop. Every
request is of type ``MQTT``:

- ``connect``: when the broker answers CONNACK (failed when it refuses the connection, e.g. a
  bad password; also when the TCP connection itself fails);
- ``publish:<qos>:<topic>``: when paho reports the message sent (QoS 0) or acknowledged by
  the broker (PUBACK for QoS 1, PUBCOMP for QoS 2), with the time since ``publish`` was
  called; failed at once when paho cannot queue it (e.g. QoS 0 while disconnected);
- ``subscribe:<qos>:<topic>``: when the broker answers SUBACK, failed when the broker refused
  the subscription (a failure reason code such as 0x80, e.g. denied by its ACL);
- ``disconnect``: when the connection ends, failed when it ended unexpectedly.

Override ``MqttClient._generate_event_name(event_type, qos, topic)`` to name requests
differently, as in Locust. Additions: ``client.connected`` (a gevent Event set while
connected) and ``client.wait_for_connection(timeout)``, so ``on_start`` need not sleep; in
``on_stop`` the user waits (at most ``stop_ack_timeout``, 0.5 s) for the broker's answers to
requests still in flight, so that what the broker took is recorded, then disconnects and stops
the network loop. Callbacks are paho's version-2 API
(one signature for MQTT 3.1.1 and 5); an error code paho returns is recorded as an exception
carrying paho's text for it.

gevent: under gevent's monkey-patching paho's loop thread is a greenlet and its sockets and
select are gevent's, so a slow broker keeps only its own user waiting (``use_loop_selectors``
is accepted for compatibility: gevent's select has no 1024-descriptor limit to avoid).
"""

from __future__ import annotations

import random
import string
import time
from typing import Any, NamedTuple

import gevent
import gevent.event

from ..user.users import User
from ._extras import require

mqtt = require("paho.mqtt.client", "mqtt", __name__)

REQUEST_TYPE = "MQTT"
SUBACK_FAILURE = 0x80
_ID_ALPHABET = string.digits + string.ascii_letters


class PublishedMessageContext(NamedTuple):
    """What a published message's request needs when its acknowledgement arrives."""

    qos: int
    topic: str
    start_time: float
    payload_size: int

    def as_context(self) -> dict[str, Any]:
        """The request's context fields (as Locust's: the tuple's fields by name)."""
        return {"qos": self.qos, "topic": self.topic, "start_time": self.start_time, "payload_size": self.payload_size}


class MqttError(Exception):
    """A paho error code or broker reason code, as a request's exception."""


def _payload_size(payload: Any) -> int:
    if payload is None or isinstance(payload, (int, float)):
        return 0
    return len(payload)


class MqttClient(mqtt.Client):
    """``paho.mqtt.client.Client`` reporting connect, publish, subscribe and disconnect as requests."""

    def __init__(self, *args: Any, environment: Any, client_id: str | None = None,
                 protocol: Any = mqtt.MQTTv311, use_loop_selectors: bool = False, **kwargs: Any) -> None:
        # An id of our own (at most 23 characters, the MQTT 3.1.1 limit), so the client can name
        # itself in each request's context even when the broker would assign one.
        client_id = client_id or "locust-" + "".join(random.choices(_ID_ALPHABET, k=16))
        kwargs.setdefault("callback_api_version", mqtt.CallbackAPIVersion.VERSION2)
        super().__init__(*args, client_id=client_id, protocol=protocol, **kwargs)
        self.environment = environment
        self.client_id = client_id
        self.use_loop_selectors = use_loop_selectors
        self.connected = gevent.event.Event()
        self._connect_started = time.time()
        self._publish_requests: dict[int, PublishedMessageContext] = {}
        self._early_publish_acks: dict[int, tuple[float, Any]] = {}
        self._subscribe_requests: dict[int, tuple[int, str, float]] = {}
        self.on_connect = self._on_connect_cb
        self.on_connect_fail = self._on_connect_fail_cb
        self.on_disconnect = self._on_disconnect_cb
        self.on_publish = self._on_publish_cb
        self.on_subscribe = self._on_subscribe_cb

    def _generate_event_name(self, event_type: str, qos: int, topic: str) -> str:
        return f"{event_type}:{qos}:{topic}"

    def wait_for_connection(self, timeout: float | None = None) -> bool:
        """Wait until the broker accepted the connection; False if ``timeout`` passed first."""
        return self.connected.wait(timeout)

    def wait_for_acknowledgements(self, timeout: float) -> bool:
        """Wait until every publish and subscribe sent has its answer (and so its request);
        False if ``timeout`` passed first or the connection is gone."""
        deadline = time.monotonic() + timeout
        while self._publish_requests or self._subscribe_requests:
            if not self.connected.is_set() or time.monotonic() >= deadline:
                return False
            gevent.sleep(0.01)
        return True

    def reconnect(self) -> Any:
        self._connect_started = time.time()
        return super().reconnect()

    def publish(self, topic: str, payload: Any = None, qos: int = 0, retain: bool = False,
                properties: Any = None) -> Any:
        context = PublishedMessageContext(qos, topic, time.time(), _payload_size(payload))
        info = super().publish(topic, payload=payload, qos=qos, retain=retain, properties=properties)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            self._fire(self._generate_event_name("publish", qos, topic), 0, _error(info.rc), context.as_context())
        elif info.mid in self._early_publish_acks:  # paho reported it before publish returned
            acked, reason = self._early_publish_acks.pop(info.mid)
            self._report_publish(context, acked, reason)
        else:
            self._publish_requests[info.mid] = context
        return info

    def subscribe(self, topic: Any, qos: int = 0, options: Any = None, properties: Any = None) -> Any:
        start_time = time.time()
        first_topic = topic if isinstance(topic, str) else _first_topic(topic)
        result, mid = super().subscribe(topic, qos, options, properties)
        if result != mqtt.MQTT_ERR_SUCCESS:
            context = {"qos": qos, "topic": first_topic, "start_time": start_time}
            self._fire(self._generate_event_name("subscribe", qos, first_topic), 0, _error(result), context)
        else:
            self._subscribe_requests[mid] = (qos, first_topic, start_time)
        return result, mid

    def _fire(self, name: str, response_time: float, exception: BaseException | None, context: dict[str, Any],
              response_length: int = 0, start_time: float | None = None) -> None:
        self.environment.events.request.fire(
            request_type=REQUEST_TYPE, name=name, response_time=response_time, response_length=response_length,
            exception=exception, context={"client_id": self.client_id, **context},
            start_time=start_time if start_time is not None else time.time(), response=None, url=None,
        )

    def _report_publish(self, context: PublishedMessageContext, acked: float, reason: Any) -> None:
        failed = reason is not None and getattr(reason, "is_failure", False)
        self._fire(self._generate_event_name("publish", context.qos, context.topic),
                   (acked - context.start_time) * 1000, _error(reason) if failed else None, context.as_context(),
                   response_length=context.payload_size, start_time=context.start_time)

    def _on_publish_cb(self, client: Any, userdata: Any, mid: int, reason_code: Any = None,
                       properties: Any = None) -> None:
        acked = time.time()
        context = self._publish_requests.pop(mid, None)
        if context is None:
            self._early_publish_acks[mid] = (acked, reason_code)
            return
        self._report_publish(context, acked, reason_code)

    def _on_subscribe_cb(self, client: Any, userdata: Any, mid: int, reason_codes: Any,
                         properties: Any = None) -> None:
        answered = time.time()
        request = self._subscribe_requests.pop(mid, None)
        if request is None:
            error = AssertionError(f"no subscribe request is waiting for mid {mid}")
            self._fire("subscribe", 0, error, {"mid": mid})
            return
        qos, topic, start_time = request
        codes = [getattr(code, "value", code) for code in reason_codes]
        refused = [code for code in codes if code >= SUBACK_FAILURE]
        error = MqttError(f"the broker refused the subscription: {codes}") if refused else None
        self._fire(self._generate_event_name("subscribe", qos, topic), (answered - start_time) * 1000, error,
                   {"qos": qos, "topic": topic, "start_time": start_time}, start_time=start_time)

    def _on_connect_cb(self, client: Any, userdata: Any, flags: Any, reason_code: Any,
                       properties: Any = None) -> None:
        failed = reason_code.is_failure
        if not failed:
            self.connected.set()
        self._fire("connect", (time.time() - self._connect_started) * 1000,
                   _error(reason_code) if failed else None, {}, start_time=self._connect_started)

    def _on_connect_fail_cb(self, client: Any, userdata: Any) -> None:
        error = MqttError(f"could not connect to {self.host}:{self.port}")
        self._fire("connect", (time.time() - self._connect_started) * 1000, error, {},
                   start_time=self._connect_started)

    def _on_disconnect_cb(self, client: Any, userdata: Any, flags: Any, reason_code: Any,
                          properties: Any = None) -> None:
        self.connected.clear()
        self._fire("disconnect", 0, _error(reason_code) if reason_code.is_failure else None, {})


def _first_topic(topics: Any) -> str:
    first = topics[0] if isinstance(topics, list) else topics
    return first[0] if isinstance(first, tuple) else str(first)


def _error(code: Any) -> MqttError:
    """An exception for a paho error code (MQTTErrorCode) or a broker's reason code."""
    if isinstance(code, int):  # paho's MQTTErrorCode; a broker's ReasonCode is no int
        return MqttError(mqtt.error_string(code))
    return MqttError(str(code))


class MqttUser(User):
    """A user whose ``self.client`` connects to the broker at ``host``:``port`` when it starts."""

    abstract = True
    host = "localhost"
    port = 1883
    transport = "tcp"
    ws_path = "/mqtt"
    tls_context: Any = None
    client_cls: type[MqttClient] = MqttClient
    client_id: str | None = None
    username: str | None = None
    password: str | None = None
    protocol = mqtt.MQTTv311
    use_loop_selectors: bool = False
    stop_ack_timeout: float = 0.5
    """How long ``on_stop`` waits for the broker's answers to requests still in flight."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.client: MqttClient = self.client_cls(
            environment=self.environment, transport=self.transport, client_id=self.client_id,
            protocol=self.protocol, use_loop_selectors=self.use_loop_selectors,
        )
        if self.tls_context:
            self.client.tls_set_context(self.tls_context)
        if self.transport == "websockets" and self.ws_path:
            self.client.ws_set_options(path=self.ws_path)
        if self.username and self.password:
            self.client.username_pw_set(username=self.username, password=self.password)
        self.client.connect_async(host=self.host, port=self.port)
        self.client.loop_start()

    def on_stop(self) -> None:
        # paho closes its socket as soon as it has sent DISCONNECT: an acknowledgement still on its
        # way would be lost, and with it a request the broker did take. Wait for them, briefly.
        self.client.wait_for_acknowledgements(self.stop_ack_timeout)
        self.client.disconnect()
        self.client.loop_stop()
