"""The requests-based HTTP client of HttpUser: every call fires the ``request`` event."""

from __future__ import annotations

import http.cookiejar as cookielib
import time
from datetime import timedelta
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar, cookiejar_from_dict, merge_cookies
from requests.exceptions import HTTPError, InvalidURL, RequestException
from requests.cookies import extract_cookies_to_jar
from requests.hooks import dispatch_hook
from requests.sessions import merge_hooks, preferred_clock
from requests.structures import CaseInsensitiveDict
from gevent import GreenletExit
from requests.utils import get_encoding_from_headers

from .exception import CatchResponseError, ResponseError
from .response_head import FastHeadHTTPResponse
from .telemetry import tracecontext

if TYPE_CHECKING:
    from .user.users import User


def absolute_url(base_url: str, url: str) -> str:
    """A path joined to the host; absolute URLs pass through untouched."""
    if "://" in url:
        return url
    return base_url.rstrip("/") + "/" + url.lstrip("/") if url else base_url


_names: dict[str, str] = {}


def note_unanswered(user: User | None) -> None:
    """A request cut off by its user's stop (killed while it waited for the answer): Locust records
    nothing for it, and neither do we, but the run's stats count it (``RequestStats.unanswered``)."""
    stats = getattr(getattr(user, "environment", None), "stats", None)
    if stats is not None:
        stats.unanswered += 1


def request_name(url: str) -> str:
    """The default stats name of a request: its path and query (remembered per URL)."""
    name = _names.get(url)
    if name is None:
        if len(_names) >= 10_000:  # many distinct URLs: keep the memo bounded
            _names.clear()
        name = _names[url] = _request_name(url)
    return name


def _request_name(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:  # a URL too broken to split (an unclosed [IPv6 literal): named as given
        return url
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def report_request(request_event: Any, user: User | None, method: str, name: str, response_time: float,
                   response_length: int, response: Any, context: dict[str, Any] | None, start_time: float,
                   url: str, catch_response: bool) -> Any:
    """The end of every client call, HttpUser's and FastHttpUser's alike; returns what the call returns.

    Builds the ``request`` event's keyword arguments (``request_meta``): ``context`` is the
    user's ``context()`` (asked per request) updated with the call's own ``context=``. With
    ``catch_response`` it returns the :class:`ResponseContextManager` that reports the request
    when its block ends; otherwise the request is reported at once, failed with what
    :func:`response_failure` finds (or not), and the response returned with its ``request_meta``.
    """
    user_context = user.context() if user is not None else {}
    request_meta = {
        "request_type": method,
        "name": name,
        "response_time": response_time,
        "response_length": response_length,
        "response": response,
        "context": {**user_context, **context} if context else dict(user_context),
        "exception": None if catch_response else response_failure(response, name),
        "start_time": start_time,
        "url": url,
    }
    if catch_response:
        return ResponseContextManager(response, request_event, request_meta)
    response.request_meta = request_meta
    request_event.fire(**request_meta)
    return response


# requests' wrappers around a failed connection: Locust records what is inside them.
_WRAPPING_ERRORS = (
    requests.exceptions.ConnectionError,
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.MaxRetryError,
    urllib3.exceptions.NewConnectionError,
)


def root_error(error: BaseException) -> BaseException:
    """The error at the bottom of requests' wrappers (a refused connection is recorded as
    ``ConnectionRefusedError(111, 'Connection refused')``, not urllib3's long chain), as Locust does."""
    while isinstance(error, _WRAPPING_ERRORS) and error.__context__ is not None:
        error = error.__context__
    return error


def response_failure(response: Any, name: str) -> BaseException | None:
    """What a response failed with when the task does not decide: the error that stopped the
    request (its root), or its HTTP error status, or None.

    The status error names the request by its ``name``, not its URL (Locust does the same),
    so ``get(f"/item/{id}", name="/item/[id]")`` failing 100 times is one failures row. A response
    with its own ``status_error()`` (FastHttpUser's: ``LocustBadStatusCode(code=404)``) says it itself.
    """
    error = getattr(response, "error", None)
    if error is not None:
        return root_error(error)
    status = response.status_code or 0
    if status < 400:
        return None
    status_error = getattr(response, "status_error", None)
    if status_error is not None:
        return status_error()
    reason = response.reason
    if isinstance(reason, bytes):
        try:
            reason = reason.decode("utf-8")
        except UnicodeDecodeError:
            reason = reason.decode("iso-8859-1")
    message = f"{status} {'Client' if status < 500 else 'Server'} Error: {reason} for url: {name}"
    if isinstance(response, requests.Response):
        return HTTPError(message, response=response)  # what requests' raise_for_status raises
    return ResponseError(message)


class FailedResponse(requests.Response):
    """Stands in for a response when the request never got one (refused, timed out, ...)."""

    def __init__(self, error: Exception, method: str, url: str) -> None:
        super().__init__()
        self.error = error
        self.status_code = 0
        self.url = url
        self._content = b""
        self.request = _prepared_anyway(method, url)

    def raise_for_status(self) -> None:
        raise self.error

    @property
    def ok(self) -> bool:
        # requests' ok only catches HTTPError: it would raise the ConnectionError (and so
        # would ``if response:``) in the middle of a task.
        return False


def _prepared_anyway(method: str, url: str) -> requests.PreparedRequest:
    """The request as prepared, or, for a URL requests refuses to prepare (a port out of range,
    an invalid host: the very error being recorded), one that carries the method and URL as given."""
    try:
        return requests.Request(method, url).prepare()
    except (RequestException, ValueError):
        prepared = requests.PreparedRequest()
        prepared.method = method.upper()
        prepared.url = url
        prepared.headers = requests.structures.CaseInsensitiveDict()
        return prepared


def _original_poll() -> Any:
    """select.poll as the OS has it, even after gevent patched the module (None without poll)."""
    try:
        from gevent.monkey import get_original

        return get_original("select", "poll")
    except (ImportError, AttributeError):
        import select

        return getattr(select, "poll", None)


_os_poll = _original_poll()
READABLE_NOW_AVAILABLE = _os_poll is not None
"""Whether :func:`readable_now` works here (the OS has ``poll()``): the clients make their pools'
kept-connection checks with it only then."""


def readable_now(sock: Any) -> bool:
    """Whether a socket has data (or EOF) waiting, asked without blocking or a gevent switch.

    urllib3 asks this of every pooled connection before reusing it; its own check goes
    through gevent's patched poll, which is several times dearer. A zero timeout never
    blocks, so the unpatched system call is safe under gevent.
    """
    poller = _os_poll()
    poller.register(sock.fileno(), 1)  # POLLIN
    return bool(poller.poll(0))


class _CheapCheckHTTPConnection(urllib3.connection.HTTPConnection):
    response_class = FastHeadHTTPResponse

    @property
    def is_connected(self) -> bool:
        if self.sock is None:
            return False
        return not readable_now(self.sock)


class _CheapCheckHTTPSConnection(urllib3.connection.HTTPSConnection):
    response_class = FastHeadHTTPResponse

    @property
    def is_connected(self) -> bool:
        if self.sock is None:
            return False
        return not readable_now(self.sock)


# Named as urllib3's own pools: a pool's class name is in the text of the errors it raises
# ("HTTPConnectionPool(host='...', port=80): Read timed out."), which the failures table shows.
class HTTPConnectionPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _CheapCheckHTTPConnection


class HTTPSConnectionPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _CheapCheckHTTPSConnection


def _origin(url: str) -> str:
    """The URL up to its path: scheme, credentials, host and port (what picks a connection pool)."""
    path_start = url.find("/", url.find("//") + 2)
    return url if path_start < 0 else url[:path_start]


class LoadHTTPAdapter(HTTPAdapter):
    """requests' adapter, with pools whose is-the-kept-connection-still-open check is cheap."""

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        """requests' own response, without the cookie extraction when the target set no cookie."""
        headers = getattr(resp, "headers", None)
        if headers is None or "set-cookie" in headers:  # urllib3's headers are case-insensitive
            return super().build_response(req, resp)
        response = requests.Response()
        response.status_code = getattr(resp, "status", None)
        response.headers = CaseInsensitiveDict(headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = resp
        response.reason = resp.reason
        response.url = req.url.decode("utf-8") if isinstance(req.url, bytes) else req.url
        response.request = req
        response.connection = self
        return response

    def get_connection_with_tls_context(self, request: requests.PreparedRequest, verify: Any,
                                        proxies: dict[str, str] | None = None, cert: Any = None) -> Any:
        """requests' own pool lookup; without proxies, not first asking which proxy applies (an
        ``urlparse`` of the URL per request, whose answer is always "none")."""
        if proxies:
            return super().get_connection_with_tls_context(request, verify, proxies, cert)
        # The pool for an origin, remembered while it is open and this adapter's manager's: finding it
        # again (parse the URL, build urllib3's pool key, take the manager's lock) is ~14 µs a request.
        # Only with one pool per adapter (HttpSession's), so no least-recently-used order is skipped,
        # and only for verify=True/False without a client cert (a CA path is looked up on disk per call).
        cacheable = cert is None and type(verify) is bool and self._pool_connections == 1
        if cacheable:
            key = (_origin(request.url), verify)
            cached = self._pools_by_origin.get(key)
            if cached is not None and cached[0] is self.poolmanager and cached[1].pool is not None:
                return cached[1]
        try:
            host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        except ValueError as error:
            raise InvalidURL(error, request=request) from None
        pool = self.poolmanager.connection_from_host(**host_params, pool_kwargs=pool_kwargs)
        if cacheable:
            if len(self._pools_by_origin) >= 100:  # many origins: keep the memo bounded
                self._pools_by_origin.clear()
            self._pools_by_origin[key] = (self.poolmanager, pool)
        return pool

    def request_url(self, request: requests.PreparedRequest, proxies: dict[str, str] | None) -> str:
        """The path requests sends; without proxies its own answer, without the proxy lookup."""
        if proxies:
            return super().request_url(request, proxies)
        url = request.path_url
        return f"/{url.lstrip('/')}" if url.startswith("//") else url

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self._pools_by_origin: dict[tuple[str, bool], tuple[Any, Any]] = {}
        if READABLE_NOW_AVAILABLE:
            self.poolmanager.pool_classes_by_scheme = {"http": HTTPConnectionPool, "https": HTTPSConnectionPool}


def _merge_setting(request_setting: Any, session_setting: Any, dict_class: type = OrderedDict) -> Any:
    """requests.sessions.merge_setting, the same merge without its per-call typing-Protocol check.

    requests runs ``isinstance(value, SupportsItems)`` (a runtime-checkable Protocol,
    several microseconds each on Python 3.11) up to six times per request; plain
    mappings need only their ``items()``.
    """
    if session_setting is None:
        return request_setting
    if request_setting is None:
        return session_setting
    if not (isinstance(session_setting, Mapping) and isinstance(request_setting, Mapping)):
        return request_setting
    if not request_setting and None not in session_setting.values():
        # Nothing to merge (requests.Request turns an absent headers=/params= into {}): the
        # session's own mapping, which every caller only reads (prepare_headers copies it).
        return session_setting
    merged = dict_class(session_setting.items())
    merged.update(request_setting.items())
    for key in [k for k, v in merged.items() if v is None]:
        del merged[key]
    return merged


_prepared_urls: dict[str, str] = {}


def _prepare_url(prepared: requests.PreparedRequest, url: Any, params: Any) -> None:
    """``prepared.prepare_url(url, params)``, remembered per URL when there are no params.

    requests' URL preparation (parse, IDNA host check, re-quoting) is a pure function of the
    URL and a tenth of a request's CPU; a load test sends the same few URLs over and over.
    Errors are not remembered: a bad URL raises as requests raises, every time.
    """
    if params or not isinstance(url, str):
        prepared.prepare_url(url, params)
        return
    cached = _prepared_urls.get(url)
    if cached is None:
        prepared.prepare_url(url, None)
        if len(_prepared_urls) >= 10_000:  # many distinct URLs: keep the memo bounded
            _prepared_urls.clear()
        _prepared_urls[url] = prepared.url
    else:
        prepared.url = cached


def _sets_cookies(raw: Any) -> bool:
    """Whether a urllib3 response carries a header the cookie jar reads (its headers are case-insensitive)."""
    headers = getattr(raw, "headers", None)
    return headers is None or "set-cookie" in headers or "set-cookie2" in headers


class HttpSession(requests.Session):
    """A requests Session that resolves paths against the host and reports each request."""

    def __init__(
        self,
        base_url: str,
        user: User | None = None,
        request_event: Any = None,
        timeout: float | tuple[float, float] | None = 60.0,
        pool_maxsize: int = 10,
    ) -> None:
        super().__init__()
        self.base_url = base_url
        self.user = user
        self.request_event = request_event if request_event is not None else user.environment.events.request
        self.default_timeout = timeout
        # As in Locust's HttpUser: no proxy, .netrc or CA-bundle lookups in the environment on
        # every request (they cost about a fifth of a request); load goes straight to the host.
        self.trust_env = False
        adapter = LoadHTTPAdapter(pool_connections=1, pool_maxsize=pool_maxsize)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        """requests' own preparation (same cookies, headers, params, auth, hooks), cheaper per call.

        The merges skip requests' slow Protocol checks, an empty cookie argument does not
        become a cookie jar of its own, and empty params are not encoded.
        """
        if self.trust_env:  # proxies/.netrc from the environment: requests' own path
            return super().prepare_request(request)
        if request.cookies or len(self.cookies):
            merged_cookies = merge_cookies(RequestsCookieJar(), self.cookies)
            if request.cookies:
                cookies = request.cookies
                if not isinstance(cookies, cookielib.CookieJar):
                    cookies = cookiejar_from_dict(cookies)
                merged_cookies = merge_cookies(merged_cookies, cookies)
        else:
            merged_cookies = None  # no cookie anywhere: no Cookie header to compute
        params = _merge_setting(request.params, self.params)
        # PreparedRequest.prepare(), step by step in its order, so that a request without
        # cookies skips building an empty Cookie header.
        prepared = requests.PreparedRequest()
        prepared.prepare_method(request.method)
        _prepare_url(prepared, request.url, params or None)
        prepared.prepare_headers(_merge_setting(request.headers, self.headers, dict_class=CaseInsensitiveDict))
        if merged_cookies is None:
            prepared._cookies = RequestsCookieJar()
        else:
            prepared.prepare_cookies(merged_cookies)
        prepared.prepare_body(request.data, request.files, request.json)
        auth = _merge_setting(request.auth, self.auth)
        if auth is not None or "@" in prepared.url:  # else requests finds no credentials in the URL either
            prepared.prepare_auth(auth, request.url)
        prepared.prepare_hooks(merge_hooks(request.hooks, self.hooks))
        return prepared

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """requests' Session.send, step by step, doing per response only what that response needs.

        The cookie jar reads a response only when it sets a cookie, and the redirect machinery
        starts only for a redirect (``get_redirect_target``: a 3xx with a Location): for any other response
        requests' own steps find nothing to do. Everything else (hooks, ``elapsed``, history,
        ``next``, reading the body unless streaming) is requests' own code, in its order.
        """
        if self.trust_env or "proxies" not in kwargs or not isinstance(request, requests.PreparedRequest):
            return super().send(request, **kwargs)
        kwargs.setdefault("stream", self.stream)
        kwargs.setdefault("verify", self.verify)
        kwargs.setdefault("cert", self.cert)
        allow_redirects = kwargs.pop("allow_redirects", True)
        adapter = self.get_adapter(url=request.url)
        start = preferred_clock()
        response = adapter.send(request, **kwargs)
        response.elapsed = timedelta(seconds=preferred_clock() - start)
        response = dispatch_hook("response", request.hooks, response, **kwargs)
        for earlier in response.history:  # history a response hook made
            extract_cookies_to_jar(self.cookies, earlier.request, earlier.raw)
        if _sets_cookies(response.raw):
            extract_cookies_to_jar(self.cookies, request, response.raw)
        if self.get_redirect_target(response):  # what resolve_redirects starts from
            if allow_redirects:
                history = list(self.resolve_redirects(response, request, **kwargs))
                if history:
                    history.insert(0, response)
                    response = history.pop()
                    response.history = history
            else:
                response._next = next(self.resolve_redirects(response, request, yield_requests=True, **kwargs), None)
        if not kwargs["stream"]:
            response.content
        return response

    def merge_environment_settings(self, url, proxies, stream, verify, cert):  # type: ignore[override]
        if self.trust_env:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        return {
            "proxies": _merge_setting(proxies, self.proxies),
            "stream": _merge_setting(stream, self.stream),
            "verify": _merge_setting(verify, self.verify),
            "cert": _merge_setting(cert, self.cert),
        }

    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        name: str | None = None,
        catch_response: bool = False,
        context: dict[str, Any] | None = None,
        **kwargs: Any,
    ):
        if tracecontext.ON:  # --load-otel: the W3C traceparent of this request's span (issue 22)
            kwargs["headers"] = tracecontext.outgoing_headers(kwargs.get("headers"))
        full_url = absolute_url(self.base_url, url)
        kwargs.setdefault("timeout", self.default_timeout)
        start_time = time.time()
        started = time.perf_counter()
        try:
            response = super().request(method, full_url, **kwargs)
        except RequestException as request_error:
            response = FailedResponse(request_error, method, full_url)
        except GreenletExit:
            note_unanswered(self.user)
            raise
        response_time = (time.perf_counter() - started) * 1000
        if name is None:
            name = request_name((response.history[0] if response.history else response).request.url)
        return report_request(self.request_event, self.user, method, name, response_time,
                              _response_length(response, kwargs.get("stream", False)), response, context,
                              start_time, full_url, catch_response)


def _response_length(response: requests.Response, stream: bool) -> int:
    if stream:
        return int(response.headers.get("content-length") or 0)
    return len(response.content or b"")


class ResponseContextManager:
    """What ``catch_response=True`` yields: decide yourself whether the request succeeded.

    Reported once, when the ``with`` block ends, as Locust does:

    - after :meth:`success` or :meth:`failure`, as that call said; an exception raised
      in the block after it still propagates;
    - when the block raises ``ResponseError``, as failed with it (and the task goes on);
    - when the block raises anything else, not at all: the exception propagates
      and the request is left out of the stats;
    - otherwise as the response says: the error that stopped it, or its status code.
    """

    def __init__(self, response: Any, request_event: Any, request_meta: dict[str, Any]) -> None:
        self._response = response
        self._request_event = request_event
        self.request_meta = request_meta
        self._manual_result: bool | BaseException | None = None
        self._reported = False
        response.request_meta = request_meta

    def __getattr__(self, name: str) -> Any:
        return getattr(self._response, name)

    def __enter__(self) -> ResponseContextManager:
        return self

    def __exit__(self, exc_type, exc_value, tb) -> bool:
        if self._manual_result is not None:
            self.request_meta["exception"] = None if self._manual_result is True else self._manual_result
            self._report()
            return exc_value is None
        if exc_value is not None:
            if not isinstance(exc_value, ResponseError):
                return False  # a bug in the block, not a verdict on the response: nothing recorded
            self.request_meta["exception"] = exc_value  # "mark failed": recorded, and the task goes on
            self._report()
            return True
        self.request_meta["exception"] = response_failure(self._response, self.request_meta["name"])
        self._report()
        return True

    def raise_for_status(self) -> None:
        """The response's own check, unless :meth:`success` or :meth:`failure` decided already."""
        if self._manual_result is None:
            self._response.raise_for_status()
        elif self._manual_result is not True:
            raise self._manual_result

    def _report(self) -> None:
        if not self._reported:
            self._reported = True
            self._request_event.fire(**self.request_meta)

    def success(self) -> None:
        """Mark the request successful, whatever its status code."""
        self._manual_result = True

    def failure(self, exc: Any) -> None:
        """Mark the request failed with ``exc`` (a message or an exception)."""
        if not isinstance(exc, BaseException):
            exc = CatchResponseError(exc)
        self._manual_result = exc

    @property
    def response(self) -> requests.Response:
        return self._response

    def __bool__(self) -> bool:
        return bool(self._response)

    def __repr__(self) -> str:
        return f"<ResponseContextManager {self._response!r}>"
