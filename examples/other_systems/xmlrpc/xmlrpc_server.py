"""The XML-RPC service of the example, on the standard library's server: ``python xmlrpc_server.py --port 8877``.

Functions: ``get_time(delay_ms=0)`` (the server's clock, after ``delay_ms``), ``get_random_number(low,
high)``, ``divide(a, b)`` (a Fault for b == 0, as a server error) and ``served()`` (how many calls of
the others it answered and faulted: tests compare them with the request events; not counted itself).
One thread per connection, so one slow call does not hold up the others; 127.0.0.1 only; it stops
after ``--max-seconds`` (default 3600).
"""

import argparse
import random
import threading
import time
from collections import Counter
from socketserver import ThreadingMixIn
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

_lock = threading.Lock()
_served = Counter()


def _count(outcome):
    with _lock:
        _served[outcome] += 1


def get_time(delay_ms=0):
    time.sleep(delay_ms / 1000)
    _count("answered")
    return time.time()


def get_random_number(low, high):
    _count("answered")
    return random.randint(low, high)


def divide(a, b):
    if b == 0:
        _count("faulted")
        raise ZeroDivisionError("division by zero")  # the server answers with a Fault
    _count("answered")
    return a / b


def served():
    with _lock:
        return dict(_served)


class QuietHandler(SimpleXMLRPCRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - many requests under load
        pass


class ThreadingXMLRPCServer(ThreadingMixIn, SimpleXMLRPCServer):
    daemon_threads = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8877)
    parser.add_argument("--max-seconds", type=float, default=3600)
    args = parser.parse_args()
    server = ThreadingXMLRPCServer(("127.0.0.1", args.port), requestHandler=QuietHandler, allow_none=True)
    for function in (get_time, get_random_number, divide, served):
        server.register_function(function)
    threading.Timer(args.max_seconds, server.shutdown).start()
    print(f"XML-RPC server listening on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
