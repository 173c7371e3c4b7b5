"""A python-socketio server for the Socket.IO example and tests (gevent's WSGI server).

    python examples/other_systems/socketio_echo_server.py --port 5001

Events: ``echo`` answers what it got; ``slow`` answers after ``--slow-seconds`` (1.5);
``join_room`` / ``leave_room`` (``{"room": ...}``) answer ``"ok"``; ``send_message``
(``{"room", "message"}``) sends ``chat_message`` with the message to the sender and answers
``"sent"``; plain ``send`` messages are counted. A connection whose ``auth`` is
``{"token": "bad"}`` is refused. ``GET /counts`` answers, as JSON, every event the server
received by name plus ``connect`` and ``connect_refused``: the server's own count for a test
to compare with its users'. It stops by itself after ``--max-seconds`` (a safety net).
"""

from gevent import monkey

monkey.patch_all()

import argparse
import json
from collections import Counter

import gevent
import socketio
from gevent.pywsgi import WSGIServer


def build(slow_seconds: float):
    server = socketio.Server(async_mode="gevent")
    counts: Counter[str] = Counter()

    @server.event
    def connect(sid, environ, auth=None):
        if auth == {"token": "bad"}:
            counts["connect_refused"] += 1
            raise socketio.exceptions.ConnectionRefusedError("bad token")
        counts["connect"] += 1

    @server.event
    def echo(sid, data=None):
        counts["echo"] += 1
        return data

    @server.event
    def slow(sid, data=None):
        counts["slow"] += 1
        gevent.sleep(slow_seconds)
        return data

    @server.event
    def join_room(sid, data):
        counts["join_room"] += 1
        server.enter_room(sid, data["room"])
        return "ok"

    @server.event
    def leave_room(sid, data):
        counts["leave_room"] += 1
        server.leave_room(sid, data["room"])
        return "ok"

    @server.event
    def send_message(sid, data):
        counts["send_message"] += 1
        server.emit("chat_message", data["message"], to=sid)
        return "sent"

    @server.event
    def message(sid, data):
        counts["message"] += 1

    def counts_app(environ, start_response):
        if environ.get("PATH_INFO") != "/counts":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(counts).encode()]

    return socketio.WSGIApp(server, counts_app)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--slow-seconds", type=float, default=1.5)
    parser.add_argument("--max-seconds", type=float, default=3600)
    args = parser.parse_args()
    http = WSGIServer(("127.0.0.1", args.port), build(args.slow_seconds), log=None)
    http.start()
    print(f"Socket.IO server on http://127.0.0.1:{args.port}", flush=True)
    gevent.sleep(args.max_seconds)
    http.stop()


if __name__ == "__main__":
    main()
