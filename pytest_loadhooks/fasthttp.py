"""FastHttpUser: the same client API as HttpUser on geventhttpclient, for more load per core."""

from __future__ import annotations

import json as jsonlib
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from geventhttpclient import HTTPClient
from geventhttpclient.url import URL

from .clients import ResponseContextManager, absolute_url, request_name
from .exception import ResponseError
from .user.users import User

if TYPE_CHECKING:
    from .env import Environment


def insecure_ssl_context(*_args: Any, **_kwargs: Any):
    """A TLS context that checks neither the certificate nor the host name."""
    import gevent.ssl

    context = gevent.ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = gevent.ssl.CERT_NONE
    return context


class FastResponse:
    """A response with the parts of requests.Response that tasks use."""

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes, url: str,
                 error: Exception | None = None) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.url = url
        self.error = error
        self.request_meta: dict[str, Any] = {}

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code < 400

    def __bool__(self) -> bool:
        return self.ok

    def raise_for_status(self) -> None:
        if self.error is not None:
            raise self.error
        if self.status_code >= 400:
            raise ResponseError(f"{self.status_code} for url: {self.url}")


class FastHttpSession:
    """One keep-alive connection pool per host; every call fires the ``request`` event."""

    def __init__(self, base_url: str, user: "User | None", request_event: Any = None,
                 connection_timeout: float = 60.0, network_timeout: float = 60.0, concurrency: int = 1,
                 insecure: bool = True, ssl_context_factory: Any = None) -> None:
        self.base_url = base_url
        self.insecure = insecure
        # geventhttpclient's own insecure=True only skips the hostname check; the
        # certificate is still verified unless the context says CERT_NONE.
        self.ssl_context_factory = ssl_context_factory or (insecure_ssl_context if insecure else None)
        self.user = user
        self.request_event = request_event if request_event is not None else user.environment.events.request
        self.connection_timeout = connection_timeout
        self.network_timeout = network_timeout
        self.concurrency = concurrency
        self._clients: dict[tuple[str, str, int], HTTPClient] = {}

    def _client_for(self, url: URL) -> HTTPClient:
        key = (url.scheme, url.host, url.port)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = HTTPClient(
                url.host, url.port, ssl=url.scheme == "https", concurrency=self.concurrency,
                connection_timeout=self.connection_timeout, network_timeout=self.network_timeout,
                insecure=self.insecure, ssl_context_factory=self.ssl_context_factory,
            )
        return client

    def request(self, method: str, path: str, name: str | None = None, catch_response: bool = False,
                context: dict[str, Any] | None = None, data: Any = None, json: Any = None,
                headers: dict[str, str] | None = None, params: dict[str, Any] | None = None, **_kwargs: Any):
        full_url = absolute_url(self.base_url, path)
        if params:
            full_url += ("&" if "?" in full_url else "?") + urlencode(params)
        send_headers = dict(headers or {})
        body = data
        if json is not None:
            body = jsonlib.dumps(json).encode()
            send_headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, dict):
            body = urlencode(body).encode()
            send_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        url = URL(full_url)
        start_time = time.time()
        started = time.perf_counter()
        try:
            raw = self._client_for(url).request(method, url.request_uri, body=body, headers=send_headers)
            try:
                content = raw.read()
            finally:
                raw.release()
            response = FastResponse(raw.status_code, dict(raw.headers), content, full_url)
            error = None
        except Exception as request_error:  # noqa: BLE001 - any transport error is a failed request
            response = FastResponse(0, {}, b"", full_url, request_error)
            error = request_error
        response_time = (time.perf_counter() - started) * 1000
        user_context = self.user.context() if self.user is not None else {}
        request_meta = {
            "request_type": method,
            "name": name or request_name(full_url),
            "response_time": response_time,
            "response_length": len(response.content),
            "response": response,
            "context": {**user_context, **context} if context else dict(user_context),
            "exception": error,
            "start_time": start_time,
            "url": full_url,
        }
        if catch_response:
            return ResponseContextManager(response, self.request_event, request_meta)
        if error is None and response.status_code >= 400:
            request_meta["exception"] = ResponseError(f"{response.status_code} for url: {urlsplit(full_url).path}")
        response.request_meta = request_meta
        self.request_event.fire(**request_meta)
        return response

    def get(self, path: str, **kwargs: Any):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any):
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any):
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any):
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any):
        return self.request("DELETE", path, **kwargs)

    def head(self, path: str, **kwargs: Any):
        return self.request("HEAD", path, **kwargs)

    def options(self, path: str, **kwargs: Any):
        return self.request("OPTIONS", path, **kwargs)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


class FastHttpUser(User):
    """Like HttpUser, with a geventhttpclient-based ``self.client``."""

    abstract = True
    connection_timeout: float = 60.0
    network_timeout: float = 60.0
    concurrency: int = 1
    insecure: bool = True
    """Skip TLS certificate verification (Locust's default for FastHttpUser)."""
    ssl_context_factory: Any = None
    """A callable returning an ``ssl.SSLContext``, e.g. one that trusts your own CA file."""

    def __init__(self, environment: "Environment") -> None:
        super().__init__(environment)
        host = self.host or environment.host
        if not host:
            raise ValueError(f"{type(self).__name__} has no host: set .host, Environment(host=...) or --load-host")
        self.client = FastHttpSession(host, self, connection_timeout=self.connection_timeout,
                                      network_timeout=self.network_timeout, concurrency=self.concurrency,
                                      insecure=self.insecure, ssl_context_factory=type(self).ssl_context_factory)

    def _call_on_stop(self) -> None:
        super()._call_on_stop()
        self.client.close()
