"""A small HTTP target to point load tests at: ``python examples/target_app.py --port 8080``.

(``bash scripts/try-it.sh`` starts it for you, in the repository's .venv, on that port.)

Endpoints:
  /                 200 "hello"
  /page, /api/data  200 with a small JSON body
  /cart             200; POST also accepted
  /json             200 {"requestId": N}
  /login            POST, 200
  /status/NNN       responds with that status code
  /slow?ms=N        waits N ms, then 200
  /hang             never answers (until the client gives up)
  /flaky?fail=P     fails (500) a fraction P of requests, deterministically by count
  /bad-utf8         200 with bytes that are not valid UTF-8
  /big?kb=N         N KiB of body
It listens on 127.0.0.1 only, and exits after --max-seconds (default 3600) so it never outlives its run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_counter = itertools.count(1)
_flaky_counter = itertools.count(1)


SERVER_NAME = "loadhooks-example-target"
"""The start of its Server header: scripts/try-it.sh tells this target from another server on the port."""


class TargetHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = f"{SERVER_NAME}/1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def log_message(self, format, *args):  # noqa: A002 - quiet: load tests make many requests
        pass

    def _send(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: object, status: int = 200) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _route(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        path = parts.path
        if path == "/":
            self._send(200, b"hello")
        elif path in ("/page", "/api/data", "/cart", "/login", "/api/environment", "/other_request"):
            self._json({"path": path, "ok": True})
        elif path == "/json":
            self._json({"requestId": next(_counter)})
        elif path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            # 1xx, 204 and 304 responses carry no body (a body would break keep-alive).
            self._send(code, b"" if code in (204, 304) or code < 200 else f"status {code}".encode())
        elif path == "/slow":
            time.sleep(float(query.get("ms", ["100"])[0]) / 1000)
            self._send(200, b"slow")
        elif path == "/hang":
            time.sleep(float(query.get("s", ["30"])[0]))
            self._send(200, b"late")
        elif path == "/flaky":
            ratio = float(query.get("fail", ["0.5"])[0])
            n = next(_flaky_counter)
            failed = int(n * ratio) != int((n - 1) * ratio)
            self._send(500 if failed else 200, b"flaky")
        elif path == "/bad-utf8":
            self._send(200, b"\xff\xfe\xfa not utf-8 \xc3\x28", "text/plain; charset=utf-8")
        elif path == "/big":
            self._send(200, b"x" * (1024 * int(query.get("kb", ["64"])[0])))
        else:
            self._send(404, b"not found")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _route


class TargetServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        pass  # clients that hang up mid-request are normal under load


def serve(port: int, max_seconds: float, certfile: str | None = None, keyfile: str | None = None) -> None:
    try:
        server = TargetServer(("127.0.0.1", port), TargetHandler)
    except OSError as error:
        raise SystemExit(f"target_app: cannot listen on 127.0.0.1:{port}: {error.strerror or error} "
                         "(another server there? pick another --port)") from None
    if certfile:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Timer(max_seconds, server.shutdown).start()
    scheme = "https" if certfile else "http"
    print(f"target listening on {scheme}://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--max-seconds", type=float, default=3600, help="exit after this many seconds")
    parser.add_argument("--certfile", help="serve HTTPS with this certificate")
    parser.add_argument("--keyfile", help="key of --certfile")
    args = parser.parse_args()
    serve(args.port, args.max_seconds, args.certfile, args.keyfile)


if __name__ == "__main__":
    main()
