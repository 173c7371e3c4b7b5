"""FastHttpUser: HttpUser's client API on geventhttpclient, for several times the load per core.

``self.client`` takes the same calls as HttpUser's requests-based client: ``get``,
``post`` ... with ``name=``, ``catch_response=`` (``success()`` / ``failure()`` and
``request_meta``), ``context=``, ``params=``, ``data=``, ``json=``, ``headers=``,
``auth=``, ``cookies=``, ``allow_redirects=``, ``timeout=`` and ``stream=``. Each
user keeps its connections open between requests (one keep-alive pool per host),
keeps the cookies the target sets, follows redirects like requests does, and speaks
HTTPS (without certificate checks unless ``insecure = False``). Every call fires the
``request`` event once, with all its arguments, as HttpUser's client does.

What makes it cheap per request: calls with a bytes body or none and no ``stream`` take
the lean wire path of :mod:`.fastwire` on geventhttpclient's pooled sockets (the request head
prebuilt as bytes, the response head read with bytes operations, its case-insensitive headers
built only when asked for); URLs are resolved once per distinct path, and there is no cookie
work while the target sets no cookies. ``stream=True``, file or iterable bodies and the
headers the wire path leaves to it go through geventhttpclient's client, as before.
"""

from __future__ import annotations

import json as jsonlib
import os
import re
import sys
import time
import traceback
import zlib
from base64 import b64encode
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.cookiejar import CookieJar
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlencode, urljoin, urlsplit, urlunsplit
from urllib.request import Request as CookieRequest

import gevent
import gevent.ssl
from geventhttpclient import HTTPClient
from geventhttpclient.header import Headers
from geventhttpclient.useragent import ConnectionError as GeventConnectionError
from requests.utils import requote_uri

from ..clients import (
    READABLE_NOW_AVAILABLE,
    ResponseContextManager,
    absolute_url,
    note_unanswered,
    readable_now,
    report_request,
    request_name,
)
from ..telemetry import tracecontext
from . import fastwire
from .fastwire import WireResponse
from ..user.users import User

if TYPE_CHECKING:
    from ..env import Environment

REDIRECT_CODES = frozenset((301, 302, 303, 307, 308))
DEFAULT_PORTS = {"http": 80, "https": 443}
_URL_CACHE_SIZE = 2000
_HEADS_CACHE_SIZE = 16
# What geventhttpclient sends first unless the call or the user's default headers replace it.
_DEFAULT_FIELDS = {"User-Agent": HTTPClient.DEFAULT_HEADERS["User-Agent"]}
_perf_counter = time.perf_counter
# geventhttpclient's Headers is a dict keyed by lower-case field names: asking the dict directly
# skips a lower() per lookup (with a plain ``in`` should a future version change that).
_has_field = dict.__contains__ if issubclass(Headers, dict) else (lambda headers, name: name in headers)


class TooManyRedirects(Exception):
    """More redirects than the user's ``max_redirects`` allows."""


class RequestTimeout(TimeoutError):
    """No complete response within the call's ``timeout=``."""


class LocustBadStatusCode(GeventConnectionError):
    """A response whose HTTP status is an error (400 and up), under Locust's name and in its texts:
    ``repr`` is ``LocustBadStatusCode(code=404)`` (what the failures table and CSV show, one row
    for every URL of a request name) and ``str`` is ``URL http://host/path: code=404``.

    As Locust's, it is geventhttpclient's ``ConnectionError`` (``.url``, ``.code``), not a
    ``ResponseError``: raised by ``raise_for_status()`` in a ``catch_response`` block, it propagates.
    """

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code})"


class FastResponse:
    """The parts of ``requests.Response`` that tasks use, over a geventhttpclient response.

    ``headers`` is case-insensitive (a header sent twice reads as a list);
    ``status_code`` is 0 and ``error`` holds the cause when no response came.
    """

    __slots__ = (
        "__dict__",
        "_content",
        "_headers",
        "_raw",
        "_wire",
        "error",
        "history",
        "reason",
        "request_meta",
        "status_code",
        "url",
    )

    def __init__(self, status_code: int, reason: str, headers: Any, content: bytes | None, url: str,
                 error: BaseException | None = None) -> None:
        self.status_code = status_code
        self.reason = reason
        self._headers = headers
        self._wire: WireResponse | None = None
        self._content = content
        self.url = url
        self.error = error
        self.request_meta: dict[str, Any] = {}
        self.history: list[FastResponse] = []
        self._raw = None

    @property
    def headers(self) -> Any:
        """The header fields, case-insensitive (built from the raw head on first use on the wire path)."""
        headers = self._headers
        if headers is None and self._wire is not None:
            headers = self._headers = self._wire.headers()
            self._wire = None
        return headers

    @headers.setter
    def headers(self, headers: Any) -> None:
        self._headers = headers
        self._wire = None

    @property
    def content(self) -> bytes:
        if self._content is None:  # stream=True: the body is read on first use
            raw, self._raw = self._raw, None
            try:
                self._content = _decoded(raw.read(), self.headers) if raw is not None else b""
            finally:
                if raw is not None:
                    raw.release()
        return self._content

    @property
    def encoding(self) -> str | None:
        content_type = self.headers.get("content-type") if self.headers else None
        if isinstance(content_type, str):
            for part in content_type.split(";")[1:]:
                key, _, value = part.strip().partition("=")
                if key.lower() == "charset" and value:
                    return value.strip("\"'")
        return None

    @property
    def text(self) -> str:
        encoding = self.encoding or "utf-8"
        try:
            return self.content.decode(encoding, errors="replace")
        except LookupError:  # a charset Python does not know
            return self.content.decode("utf-8", errors="replace")

    def json(self, **kwargs: Any) -> Any:
        return jsonlib.loads(self.content, **kwargs)

    @property
    def ok(self) -> bool:
        return self.error is None and 0 < self.status_code < 400

    def __bool__(self) -> bool:
        return self.ok

    @property
    def is_redirect(self) -> bool:
        return self.status_code in REDIRECT_CODES and bool(self.headers) and "location" in self.headers

    def raise_for_status(self) -> None:
        if self.error is not None:
            raise self.error
        if self.status_code >= 400:
            raise self.status_error()

    def status_error(self) -> LocustBadStatusCode:
        """What an error status is recorded and raised as (Locust's exception for it)."""
        return LocustBadStatusCode(self.url, code=self.status_code)

    def close(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            raw.release()

    def __repr__(self) -> str:
        return f"<FastResponse [{self.status_code}]>"


_HOME = re.compile(r"/(?:home|Users)/\w*/")


def _where(error: BaseException) -> str:
    """Where an error in a ``rest()`` block was raised, as Locust's failure text says it: each frame
    from the block down, ``file:line in function``, comma-separated, a home directory as ``~/``."""
    return ", ".join(f"{_HOME.sub('~/', frame.filename)}:{frame.lineno} in {frame.name}"
                     for frame in traceback.extract_tb(error.__traceback__) if frame.filename.startswith("/"))


def _decoded(body: bytes, headers: Any) -> bytes:
    """The body with gzip/deflate content encoding undone (only when the target used one)."""
    if body and _has_field(headers, "content-encoding"):
        encoding = headers.get("content-encoding")
        if isinstance(encoding, str):
            encoding = encoding.strip().lower()
            if encoding in ("gzip", "x-gzip"):
                return zlib.decompress(body, 16 + zlib.MAX_WBITS)
            if encoding == "deflate":
                try:
                    return zlib.decompress(body)
                except zlib.error:  # raw deflate, without the zlib header
                    return zlib.decompress(body, -zlib.MAX_WBITS)
    return body


def _socket_alive(sock: Any) -> bool:
    """geventhttpclient's kept-connection check (open, and nothing unread while idle), without a switch."""
    if sock is None:
        return False
    try:
        if sock.fileno() < 0:
            return False
        return not readable_now(sock)
    except (OSError, ValueError):
        return False


def _unverified_context(*_args: Any, **_kwargs: Any) -> gevent.ssl.SSLContext:
    """A TLS client context that checks neither certificates nor host names (``insecure = True``, as
    Locust's FastHttpUser), built with the public ssl API as ``ssl._create_unverified_context()`` builds
    it (same protocol, options, ciphers; the stdlib's key log file too), of gevent's cooperative
    ``SSLContext``, the one geventhttpclient expects (under monkey-patching the stdlib's is gevent's
    anyway). geventhttpclient passes ``cafile=``: unused, nothing is verified."""
    context = gevent.ssl.SSLContext(gevent.ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = gevent.ssl.CERT_NONE
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and not sys.flags.ignore_environment and hasattr(context, "keylog_filename"):
        context.keylog_filename = keylog  # for Wireshark, as every stdlib context does
    return context


def _check_connections_cheaply(client: HTTPClient) -> None:
    """Make ``client``'s pool check a kept connection before each reuse with one non-blocking
    ``poll()`` (:func:`_socket_alive`) instead of gevent's ``select()``, at a fraction of the cost.

    geventhttpclient offers no public way to do it (``HTTPClient`` builds its pool itself and takes
    no pool class): ``_connection_pool`` and ``_is_socket_alive`` are its internals, listed with
    the reason in tests/house_rules.py. A version without them keeps its own check.
    """
    if not READABLE_NOW_AVAILABLE:
        return
    try:
        pool = client._connection_pool
    except AttributeError:
        return
    if hasattr(pool, "_is_socket_alive"):
        pool._is_socket_alive = _socket_alive


def basic_auth(username: str | bytes, password: str | bytes) -> str:
    if isinstance(username, str):
        username = username.encode("latin-1")
    if isinstance(password, str):
        password = password.encode("latin-1")
    return "Basic " + b64encode(username + b":" + password).decode("ascii")


def _has_header(headers: dict[str, Any] | None, name: str) -> bool:
    return bool(headers) and any(key.lower() == name for key in headers)


class _CookieResponse:
    """What http.cookiejar needs of a response: its Set-Cookie headers."""

    __slots__ = ("_headers",)

    def __init__(self, headers: Any) -> None:
        self._headers = headers

    def info(self) -> _CookieResponse:
        return self

    def get_all(self, name: str, default: Any = None) -> Any:
        values = self._headers.getlist(name)
        return values if values else default


class _Target:
    """A URL resolved once: which connection pool it goes to and what the request line says."""

    __slots__ = ("heads", "host", "key", "name", "port", "request_uri", "scheme", "url")

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"cannot request {url!r}: FastHttpUser speaks http:// and https:// URLs")
        self.url = url
        self.scheme = scheme
        self.host = parts.hostname
        self.port = parts.port or DEFAULT_PORTS[scheme]
        self.key = (scheme, self.host, self.port)
        # Characters a request line may not carry are percent-encoded, as requests does.
        self.request_uri = requote_uri((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        self.name = request_name(url)
        self.heads: dict[tuple[str, int], bytes | None] = {}  # the wire path's prebuilt request heads


class FastHttpSession:
    """One keep-alive connection pool per host; every call fires the ``request`` event."""

    def __init__(
        self,
        base_url: str,
        user: User | None = None,
        request_event: Any = None,
        *,
        connection_timeout: float = 60.0,
        network_timeout: float = 60.0,
        concurrency: int = 10,
        insecure: bool = True,
        max_redirects: int = 30,
        default_headers: dict[str, str] | None = None,
        ssl_context_factory: Callable | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        self.auth_header: str | None = None
        if parts.username is not None:
            # Credentials in the host URL become Basic auth, as in Locust; the URL keeps the rest.
            self.auth_header = basic_auth(unquote(parts.username), unquote(parts.password or ""))
            netloc = parts.netloc.rpartition("@")[2]
            base_url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
        self.base_url = base_url
        self.user = user
        self.request_event = request_event if request_event is not None else user.environment.events.request
        self.connection_timeout = connection_timeout
        self.network_timeout = network_timeout
        self.concurrency = concurrency
        self.insecure = insecure
        self.max_redirects = max_redirects
        self.default_headers = dict(default_headers or {})
        self.ssl_context_factory = ssl_context_factory
        self.cookiejar = CookieJar()
        self._cookies_seen = False  # no cookie work at all until the target sets one
        self._clients: dict[tuple[str, str, int], HTTPClient] = {}
        self._targets: dict[str, _Target] = {}

    # -- connections --
    def _client_for(self, target: _Target) -> HTTPClient:
        client = self._clients.get(target.key)
        if client is None:
            options: dict[str, Any] = {}
            if target.scheme == "https":
                options["insecure"] = self.insecure
                factory = self.ssl_context_factory
                if factory is None and self.insecure:
                    factory = _unverified_context  # no certificate checks at all, as Locust's FastHttpUser
                if factory is not None:
                    options["ssl_context_factory"] = factory
            client = self._clients[target.key] = HTTPClient(
                target.host, target.port, ssl=target.scheme == "https", concurrency=self.concurrency,
                connection_timeout=self.connection_timeout, network_timeout=self.network_timeout,
                headers=self.default_headers or None, **options,
            )
            _check_connections_cheaply(client)
        return client

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is None:
            if len(self._targets) >= _URL_CACHE_SIZE:  # many distinct URLs: keep the cache bounded
                self._targets.clear()
            target = self._targets[url] = _Target(url)
        return target

    # -- the call --
    def request(
        self,
        method: str,
        url: str,
        name: str | None = None,
        catch_response: bool = False,
        context: dict[str, Any] | None = None,
        *,
        params: Any = None,
        data: Any = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        cookies: dict[str, str] | None = None,
        allow_redirects: bool = True,
        stream: bool = False,
        timeout: float | None = None,
        **unsupported: Any,
    ):
        if unsupported:
            raise TypeError(
                f"FastHttpUser's client does not take {', '.join(sorted(unsupported))}= "
                "(it takes name, catch_response, context, params, data, json, headers, auth, cookies, "
                "allow_redirects, stream, timeout); use HttpUser for the rest of requests' arguments"
            )
        if tracecontext.ON:  # --load-otel: the W3C traceparent of this request's span (issue 22)
            headers = tracecontext.outgoing_headers(headers)
        full_url = absolute_url(self.base_url, url)
        if params:
            query = urlencode(params, doseq=True) if not isinstance(params, (str, bytes)) else params
            if isinstance(query, bytes):
                query = query.decode()
            if query:
                full_url += ("&" if "?" in full_url else "?") + query
        method = method.upper()
        body = None
        if data is not None or json is not None or auth is not None or cookies or self.auth_header:
            headers, body = self._prepare(headers, data, json, auth, cookies)
        target = None
        start_time = time.time()
        started = _perf_counter()
        try:
            target = self._target(full_url)
            if timeout is None:
                response = self._send(method, target, body, headers, allow_redirects, stream)
            else:
                with gevent.Timeout(timeout, RequestTimeout(f"no complete response within {timeout} s")):
                    response = self._send(method, target, body, headers, allow_redirects, stream)
            error = None
        except Exception as request_error:  # noqa: BLE001 - any transport error is a recorded failure
            response = FastResponse(0, "", Headers(), b"", full_url, request_error)
            error = request_error
        except gevent.GreenletExit:
            note_unanswered(self.user)
            raise
        if stream and error is None:
            length = response.headers.get("content-length")
            response_length = int(length) if isinstance(length, str) and length.isdigit() else 0
        else:
            response_length = len(response._content)
        response_time = (_perf_counter() - started) * 1000
        if name is None:
            name = target.name if target is not None else request_name(full_url)
        return report_request(self.request_event, self.user, method, name, response_time, response_length,
                              response, context, start_time, full_url, catch_response)

    def _prepare(self, headers, data, json, auth, cookies) -> tuple[dict[str, str], Any]:
        """Headers and body of a call that sends a body, credentials or cookies."""
        headers = dict(headers) if headers else {}
        body = None
        if data is not None:
            if isinstance(data, dict) or (isinstance(data, (list, tuple)) and data and isinstance(data[0], tuple)):
                body = urlencode(data, doseq=True).encode()
                if not _has_header(headers, "content-type"):
                    headers["Content-Type"] = "application/x-www-form-urlencoded"
            elif isinstance(data, str):
                body = data.encode("utf-8")
            else:
                body = data
        elif json is not None:
            body = jsonlib.dumps(json).encode()
            if not _has_header(headers, "content-type"):
                headers["Content-Type"] = "application/json"
        if auth is not None:
            headers["Authorization"] = basic_auth(*auth)
        elif self.auth_header and not _has_header(headers, "authorization"):
            headers["Authorization"] = self.auth_header
        if cookies:
            extra = "; ".join(f"{key}={value}" for key, value in cookies.items())
            headers["Cookie"] = f"{headers['Cookie']}; {extra}" if headers.get("Cookie") else extra
        return headers, body

    def _send(self, method: str, target: _Target, body: Any, headers: dict[str, str] | None,
              allow_redirects: bool, stream: bool) -> FastResponse:
        history: list[FastResponse] = []
        while True:
            send_headers = headers
            if self._cookies_seen:
                send_headers = self._with_cookies(target.url, method, headers)
            wire_request = None
            if not stream and (body is None or type(body) is bytes):
                wire_request = self._wire_request(method, target, body, send_headers)
            if wire_request is not None:
                response, follow = self._wire_exchange(method, target, wire_request, allow_redirects)
            else:
                response, follow = self._client_exchange(method, target, body, send_headers, allow_redirects, stream)
            response_headers = response.headers if follow else None
            status = response.status_code
            if not follow:
                if history:
                    response.history = history
                return response
            history.append(response)
            if len(history) > self.max_redirects:
                raise TooManyRedirects(f"more than {self.max_redirects} redirects, last to {target.url}")
            location = response_headers.get("location")
            if isinstance(location, list):
                location = location[0]
            next_target = self._target(urljoin(target.url, location))
            # As browsers and requests do: 303 (and 301/302 after a POST) go on as GET without the body.
            if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
                method, body = "GET", None
                if headers:
                    headers = {k: v for k, v in headers.items()
                               if k.lower() not in ("content-type", "content-length", "transfer-encoding")}
            if headers and next_target.key[1:] != target.key[1:] and _has_header(headers, "authorization"):
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}  # not to another host
            target = next_target

    def _client_exchange(self, method: str, target: _Target, body: Any, headers: dict[str, str] | None,
                         allow_redirects: bool, stream: bool) -> tuple[FastResponse, bool]:
        """One request and response through geventhttpclient (any call the wire path does not take)."""
        raw = self._client_for(target).request(method, target.request_uri, body=body, headers=headers)
        response_headers = raw.info()
        if self._cookies_seen or _has_field(response_headers, "set-cookie"):
            self._keep_cookies(target, method, response_headers)
        status = raw.status_code
        follow = allow_redirects and status in REDIRECT_CODES and _has_field(response_headers, "location")
        if stream and not follow:
            response = FastResponse(status, raw.status_message, response_headers, None, target.url)
            response._raw = raw
        else:
            try:
                content = _decoded(raw.read(), response_headers)
            finally:
                raw.release()
            response = FastResponse(status, raw.status_message, response_headers, content, target.url)
        return response, follow

    def _wire_request(self, method: str, target: _Target, body: bytes | None,
                      headers: dict[str, str] | None) -> bytes | None:
        """The bytes of a request, or None when the call goes through geventhttpclient (a method,
        URI or header the wire path leaves to it). HTTPS takes the same path: the pool's sockets
        are then its TLS sockets, with the same send and recv."""
        body_length = len(body) if body else 0
        if headers:
            head = fastwire.request_head(method, target.request_uri, target.host, target.port, body_length,
                                         _DEFAULT_FIELDS, self.default_headers, headers)
            if head is None or self._wire_pool(target) is None:
                return None
        else:  # the common call: its head is the same every time
            heads = target.heads
            head = heads.get((method, body_length), False)
            if head is False:
                head = None
                if self._wire_pool(target) is not None:
                    head = fastwire.request_head(method, target.request_uri, target.host, target.port,
                                                 body_length, _DEFAULT_FIELDS, self.default_headers)
                if len(heads) >= _HEADS_CACHE_SIZE:  # many body lengths: keep the cache bounded
                    heads.clear()
                heads[(method, body_length)] = head
            if head is None:
                return None
        return head + body if body else head

    def _wire_pool(self, target: _Target) -> Any:
        """geventhttpclient's connection pool of the target's client, when it has the calls the wire path uses."""
        try:
            pool = self._client_for(target)._connection_pool
        except AttributeError:
            return None
        if all(hasattr(pool, name) for name in ("get_socket", "return_socket", "release_socket", "size")):
            return pool
        return None

    def _wire_exchange(self, method: str, target: _Target, request: bytes,
                       allow_redirects: bool) -> tuple[FastResponse, bool]:
        """One request and response on the lean wire path (:mod:`.fastwire`)."""
        wire = fastwire.exchange(self._client_for(target)._connection_pool, method, request)
        response = FastResponse(wire.status, wire.reason, None, wire.body, target.url)
        response._wire = wire
        if self._cookies_seen or wire.has(b"set-cookie"):
            self._keep_cookies(target, method, response.headers)
        if wire.body and wire.has(b"content-encoding"):
            response._content = _decoded(wire.body, response.headers)
        follow = allow_redirects and wire.status in REDIRECT_CODES and wire.has(b"location")
        return response, follow

    def _keep_cookies(self, target: _Target, method: str, response_headers: Any) -> None:
        self._cookies_seen = True
        self.cookiejar.extract_cookies(_CookieResponse(response_headers), CookieRequest(target.url, method=method))

    def _with_cookies(self, url: str, method: str, headers: dict[str, str] | None) -> dict[str, str] | None:
        request = CookieRequest(url, method=method)
        self.cookiejar.add_cookie_header(request)
        cookie = request.get_header("Cookie")
        if not cookie:
            return headers
        merged = dict(headers) if headers else {}
        merged["Cookie"] = f"{merged['Cookie']}; {cookie}" if merged.get("Cookie") else cookie
        return merged

    # -- the verbs --
    def get(self, url: str, **kwargs: Any):
        return self.request("GET", url, **kwargs)

    def post(self, url: str, data: Any = None, json: Any = None, **kwargs: Any):
        return self.request("POST", url, data=data, json=json, **kwargs)

    def put(self, url: str, data: Any = None, **kwargs: Any):
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url: str, data: Any = None, **kwargs: Any):
        return self.request("PATCH", url, data=data, **kwargs)

    def delete(self, url: str, **kwargs: Any):
        return self.request("DELETE", url, **kwargs)

    def head(self, url: str, **kwargs: Any):
        kwargs.setdefault("allow_redirects", False)  # as requests does
        return self.request("HEAD", url, **kwargs)

    def options(self, url: str, **kwargs: Any):
        return self.request("OPTIONS", url, **kwargs)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


class RestResponseContextManager(ResponseContextManager):
    """What :meth:`FastHttpUser.rest` yields: a ``catch_response`` response with its JSON body
    parsed into ``js`` (None when the body was empty or not JSON)."""

    js: Any = None


def _json_headers(headers: dict[str, str] | None) -> dict[str, str]:
    headers = dict(headers) if headers else {}
    for field in ("Content-Type", "Accept"):
        if not _has_header(headers, field.lower()):
            headers[field] = "application/json"
    return headers


class FastHttpUser(User):
    """Like HttpUser, with a geventhttpclient-based ``self.client`` (same calls, far less CPU)."""

    abstract = True
    connection_timeout: float = 60.0
    """Seconds to wait for a connection before the request counts as failed."""
    network_timeout: float = 60.0
    """Seconds to wait for data on an open connection before the request counts as failed."""
    concurrency: int = 10
    """Connections a user may hold open per host (for greenlets a task spawns itself)."""
    insecure: bool = True
    """Don't verify HTTPS certificates (as Locust's FastHttpUser); set False to verify."""
    max_redirects: int = 30
    default_headers: dict[str, str] | None = None
    """Headers sent with every request (a call's ``headers=`` win)."""
    ssl_context_factory: Callable | None = None

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        host = self.host or environment.host
        if not host:
            raise ValueError(f"{type(self).__name__} has no host: set .host, Environment(host=...) or --load-host")
        self.client = FastHttpSession(
            host, self, connection_timeout=self.connection_timeout, network_timeout=self.network_timeout,
            concurrency=self.concurrency, insecure=self.insecure, max_redirects=self.max_redirects,
            default_headers=self.default_headers, ssl_context_factory=self.ssl_context_factory,
        )

    def _call_on_stop(self) -> None:
        super()._call_on_stop()
        self.client.close()

    @contextmanager
    def rest(self, method: str, url: str, headers: dict[str, str] | None = None,
             **kwargs: Any) -> Iterator[RestResponseContextManager]:
        """A JSON request in a ``with`` block, as Locust's ``FastHttpUser.rest``.

        Sends JSON ``Content-Type`` and ``Accept`` headers unless given, always catches the
        response, and parses its body into ``resp.js``. The request is marked failed when
        it got no response, when its body is not JSON, when an ``assert`` in the block
        fails (with the assertion's message) or when the block raises anything else (the
        error is recorded, not raised: the task goes on).
        """
        with self.client.request(method, url, catch_response=True, headers=_json_headers(headers),
                                 **kwargs) as response:
            response.__class__ = RestResponseContextManager  # the same object, with ``js``
            response.js = None
            if response.error is not None:
                response.failure(str(response.error))
            elif response.text:
                try:
                    response.js = response.json()
                except ValueError as error:
                    response.failure(f"Could not parse response as JSON. {response.text[:250]}, "
                                     f"response code {response.status_code}, error {error}")
            try:
                yield response
            except AssertionError as error:
                message = str(error.args[0]) if error.args else "Assertion failed"
                if message.endswith(","):  # Locust's convention: "msg," asks for the response's start
                    message = f"{message[:-1]}, response was {response.text[:200]}"
                response.failure(message)
            except Exception as error:  # noqa: BLE001 - Locust's rest() records any error in the block as the failure
                response.failure(f"{type(error).__name__}: {error} at {_where(error)}. "
                                 f"Response was {response.text[:200]}")

    @contextmanager
    def rest_(self, method: str, url: str, name: str | None = None,
              **kwargs: Any) -> Iterator[RestResponseContextManager]:
        """:meth:`rest` with a ``_=<milliseconds>`` query parameter that defeats caches, named
        ``<url>?_=...`` unless ``name`` is given (Locust's ``rest_``)."""
        separator = "&" if "?" in url else "?"
        name = name if name is not None else f"{url}{separator}_=..."
        with self.rest(method, f"{url}{separator}_={int(time.time() * 1000)}", name=name, **kwargs) as response:
            yield response
