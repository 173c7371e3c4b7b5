"""A small HTTP target to point load tests at: ``python examples/target_app.py --port 8080``.

(``bash scripts/try-it.sh`` starts it for you, in the repository's .venv, on that port.)

Endpoints:
  /                 200 "hello"
  /page, /api/data  200 with a small JSON body (so do /api/environment and /other_request)
  /cart             200; POST also accepted
  /json             200 {"requestId": N}
  /login            POST, 200
  /status/NNN       responds with that status code
  /slow?ms=N        waits N ms, then 200
  /slow-after?key=K&after=S&ms=N  fast, until S seconds after the first request with key K; then waits N ms
  /hang             never answers (until the client gives up)
  /flaky?fail=P     fails (500) a fraction P of requests, deterministically by count
  /bad-utf8         200 with bytes that are not valid UTF-8
  /big?kb=N         N KiB of body
The routes Locust's own example locustfiles request (scripts/locust_examples.py runs them here),
answered as the service each example was written for answers them:
  /hello, /world, /hello1, /hello2   200 (the quickstart and the debugging examples)
  /item?id=N        200 {"id": "N"}
  /login            (above) a POST naming a username (form or JSON) also sets a session cookie
  /protected/resource  200 with that cookie, 401 without (a login that has not happened)
  /authenticate     POST {"username": U} -> {"message": "Welcome U!"} (400 {"error": ...} without one)
  /checkout/confirm POST -> {"orderId": 42}
  /stats/requests   its own request counts, shaped like Locust's web UI answer (the many examples
                    written against Locust's UI on 127.0.0.1:8089 request it)
  /response-headers?K=V  httpbin's: each query pair comes back as a header and in the JSON body
Any other path answers 404 (an example's deliberate `/does_not_exist` stays a failure).
It listens on 127.0.0.1 only, and exits after --max-seconds (default 3600) so it never outlives its run.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import itertools
import json
import re
import secrets
import ssl
import threading
import time
from collections import Counter
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

_counter = itertools.count(1)
_flaky_counter = itertools.count(1)
_served: Counter[tuple[str, str, bool]] = Counter()  # (method, path, failed) -> answers, for /stats/requests
_served_lock = threading.Lock()
_session_key = secrets.token_bytes(16)  # signs the session cookies of /login; new at each start


SERVER_NAME = "loadhooks-example-target"
"""The start of its Server header: scripts/try-it.sh tells this target from another server on the port."""


class TargetHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = f"{SERVER_NAME}/1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def log_message(self, format, *args):  # noqa: A002 - quiet: load tests make many requests
        pass

    def _send(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        with _served_lock:
            _served[(self.command, urlsplit(self.path).path, status >= 400)] += 1
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: object, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), "application/json", headers)

    def _route(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        path = parts.path
        if path == "/":
            self._send(200, b"hello")
        elif path == "/login":
            username = self._posted_username()
            cookie = {"Set-Cookie": f"session={_session_token(username)}; Path=/; HttpOnly"} if username else None
            self._json({"path": path, "ok": True}, headers=cookie)
        elif path in ("/page", "/api/data", "/cart", "/api/environment", "/other_request"):
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
        elif path == "/slow-after":
            time.sleep(slow_after_delay(query))
            self._send(200, b"slow-after")
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
        elif not self._locust_example_route(path, query):
            self._send(404, b"not found")

    def _locust_example_route(self, path: str, query: dict[str, list[str]]) -> bool:
        """The routes Locust's example locustfiles request, answered as their services do; False: none."""
        if path in ("/hello", "/world", "/hello1", "/hello2"):
            self._send(200, path[1:].encode())
        elif path == "/item":
            self._json({"id": query.get("id", [None])[0]})
        elif path == "/protected/resource":
            if self._logged_in():
                self._json({"path": path, "ok": True})
            else:
                self._send(401, b"log in first (POST /login with a username)")
        elif path in ("/authenticate", "/checkout/confirm") and self.command != "POST":
            self._send(405, b"POST only", headers={"Allow": "POST"})
        elif path == "/authenticate":
            # Locust's examples add this route to its own web UI: a welcome for the posted username.
            username = self._posted_username()
            if username:
                self._json({"message": f"Welcome {username}!"})
            else:
                self._json({"error": "a JSON body with a username is required"}, status=400)
        elif path == "/checkout/confirm":
            self._json({"orderId": 42})
        elif path == "/stats/requests":
            self._json(_request_stats())
        elif path == "/response-headers":
            # httpbin's route: the query's pairs come back as response headers and as the JSON body.
            pairs = {name: values[-1] for name, values in query.items() if _settable_header(name, values[-1])}
            self._json(pairs, headers=pairs)
        else:
            return False
        return True

    def _posted_username(self) -> str | None:
        """The ``username`` of a POSTed JSON object or form, if any."""
        if self.command != "POST" or not self.body:
            return None
        try:
            if "json" in (self.headers.get("Content-Type") or ""):
                data = json.loads(self.body)
                username = data.get("username") if isinstance(data, dict) else None
            else:
                username = parse_qs(self.body.decode("utf-8", "replace")).get("username", [None])[0]
        except ValueError:
            return None
        return username if isinstance(username, str) and username else None

    def _logged_in(self) -> bool:
        cookies = SimpleCookie()
        try:
            cookies.load(self.headers.get("Cookie") or "")
        except CookieError:
            return False
        token = cookies["session"].value if "session" in cookies else ""
        username = unquote(token.rpartition(".")[0])
        return bool(username) and hmac.compare_digest(token, _session_token(username))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _route


def _session_token(username: str) -> str:
    """A session cookie value: the username, signed with this process's key (nothing to store)."""
    signature = hmac.new(_session_key, username.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{quote(username, safe='')}.{signature}"


def _settable_header(name: str, value: str) -> bool:
    """A header a query may set: a plain token name, one line, and not one this server writes itself."""
    return (re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", name) is not None and "\r" not in value
            and "\n" not in value and name.lower() not in ("content-length", "content-type", "transfer-encoding"))


def _request_stats() -> dict:
    """What this target has answered so far, in the keys of Locust's web UI ``/stats/requests``."""
    with _served_lock:
        served = dict(_served)
    rows: dict[tuple[str, str], dict] = {}
    for (method, path, failed), count in sorted(served.items()):
        row = rows.setdefault((method, path), {"method": method, "name": path, "num_requests": 0, "num_failures": 0})
        row["num_requests"] += count
        row["num_failures"] += count if failed else 0
    total = sum(row["num_requests"] for row in rows.values())
    failures = sum(row["num_failures"] for row in rows.values())
    aggregated = {"method": "", "name": "Aggregated", "num_requests": total, "num_failures": failures}
    return {"state": "running", "stats": [*rows.values(), aggregated], "errors": [],
            "fail_ratio": failures / total if total else 0.0}


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


# -- /slow-after: a target that slows down mid-run (the open-model tests, docs/open-model.md) --

_slow_after_started: dict[str, float] = {}  # key -> when its first request came (time.monotonic())
_slow_after_lock = threading.Lock()


def slow_after_delay(query: dict[str, list[str]]) -> float:
    """Seconds to wait before answering: 0 until ``after`` seconds have passed since the first request
    with this ``key`` (each test picks its own key), then ``ms`` milliseconds."""
    key = query.get("key", [""])[0]
    after = float(query.get("after", ["1"])[0])
    ms = float(query.get("ms", ["200"])[0])
    now = time.monotonic()
    with _slow_after_lock:
        first = _slow_after_started.setdefault(key, now)
    return ms / 1000 if now - first >= after else 0.0



# --- An OpenAI-compatible endpoint (issue 23: contrib.oai's OpenAIUser and Locust's openai example) ---
# POST /v1/chat/completions and POST /v1/responses answer like OpenAI's API, without a model: the
# reply repeats the last words of the prompt. The model name steers the answer for tests:
#   "slow-MS"    waits MS milliseconds first;   "error-NNN"  answers status NNN with an OpenAI error body.
# GET /v1/models lists the one model. Each answer counts in /stats/requests like any other route.

def _openai_reply(handler: TargetHandler, path: str) -> bool:
    """Answer ``path`` if it is one of the OpenAI routes; False: it is not."""
    if path == "/v1/models":
        handler._json({"object": "list", "data": [{"id": "loadhooks-echo", "object": "model", "owned_by": "target"}]})
        return True
    if path not in ("/v1/chat/completions", "/v1/responses"):
        return False
    if handler.command != "POST":
        handler._send(405, b"POST only", headers={"Allow": "POST"})
        return True
    try:
        request = json.loads(handler.body or b"{}")
        model = str(request.get("model", ""))
    except (ValueError, AttributeError):
        handler._json(_openai_error("the body is not a JSON object"), status=400)
        return True
    if model.startswith("slow-") and model[5:].isdigit():
        time.sleep(int(model[5:]) / 1000)
    if model.startswith("error-") and model[6:].isdigit():
        handler._json(_openai_error(f"the model {model} fails on purpose"), status=int(model[6:]))
    elif request.get("stream"):
        handler._json(_openai_error("streaming is not served here"), status=400)
    else:
        handler._json(_openai_answer(path, model, _openai_prompt(request)))
    return True


def _openai_prompt(request: dict) -> str:
    """The prompt's text: the chat messages' contents, or the Responses API's input."""
    if isinstance(request.get("messages"), list):
        return " ".join(str(m.get("content", "")) for m in request["messages"] if isinstance(m, dict))
    return str(request.get("input", ""))


def _openai_error(message: str) -> dict:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}


def _openai_answer(path: str, model: str, prompt: str) -> dict:
    text = "Echo: " + " ".join(prompt.split()[-8:])
    n, now = next(_counter), int(time.time())
    input_tokens, output_tokens = len(prompt.split()), len(text.split())
    if path == "/v1/chat/completions":
        return {"id": f"chatcmpl-{n}", "object": "chat.completion", "created": now, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": input_tokens, "completion_tokens": output_tokens,
                          "total_tokens": input_tokens + output_tokens}}
    return {"id": f"resp_{n}", "object": "response", "created_at": now, "status": "completed", "model": model,
            "output": [{"type": "message", "id": f"msg_{n}", "status": "completed", "role": "assistant",
                        "content": [{"type": "output_text", "text": text, "annotations": []}]}],
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                      "total_tokens": input_tokens + output_tokens}}


_routes_before_openai = TargetHandler._locust_example_route


def _with_openai_routes(self: TargetHandler, path: str, query: dict[str, list[str]]) -> bool:
    return _openai_reply(self, path) or _routes_before_openai(self, path, query)


TargetHandler._locust_example_route = _with_openai_routes

if __name__ == "__main__":
    main()
