"""OpenAIUser: Locust's ``locust.contrib.oai`` user, on the openai SDK (``pip install pytest-loadhooks[openai]``).

``self.client`` is an :class:`OpenAIClient`, the SDK's ``OpenAI`` client whose every HTTP request
fires the ``request`` event: the HTTP method as ``request_type``, the URL's path as ``name``
(or the name given with ``with self.client.rename_request("name"):``), the time to the end of
the body, the answer's output tokens as ``response_length`` (more telling than its bytes, as in
Locust) and an ``httpx.HTTPStatusError`` as ``exception`` for a 4xx/5xx answer. The SDK's own
retries are requests of their own, each counted, as the server sees them.

Where it goes: ``client_kwargs`` (a class attribute, beyond Locust: ``base_url``, ``api_key``,
``max_retries``, ``timeout`` ...) first, then the run's host (``--load-host``, e.g. an
OpenAI-compatible server's ``http://127.0.0.1:8000/v1``), then the SDK's own ``OPENAI_BASE_URL``
and ``OPENAI_API_KEY`` variables. httpx talks through sockets gevent patches, so a slow model
holds up only the user waiting for it.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from contextlib import contextmanager
from typing import Any

from ..event import events
from ..user.users import User
from ._extras import require

OpenAI = require("openai", "openai", __name__).OpenAI
httpx = require("httpx", "openai", __name__)  # the openai SDK's own HTTP client


def output_tokens(response: httpx.Response) -> int:
    """The answer's output tokens: Responses API ``output_tokens``, Chat ``completion_tokens``, else 0."""
    try:
        usage = response.json().get("usage") or {}
    except (ValueError, AttributeError):  # not JSON, or JSON that is not an object
        return 0
    return int(usage.get("output_tokens") or usage.get("completion_tokens") or 0)


class OpenAIClient(OpenAI):
    """The SDK's client on an httpx client whose hooks report each request."""

    def __init__(self, request_event: Any = None, user: User | None = None, *args: Any, **kwargs: Any) -> None:
        self.request_name: str | None = None  # set by rename_request: replaces the URL path as the name
        self.user = user
        request_event = request_event if request_event is not None else events.request
        if "http_client" not in kwargs:  # the SDK's copy() / with_options() hand the hooked client back in
            kwargs["http_client"] = httpx.Client(event_hooks={"request": [self._request_start],
                                                              "response": [self._reporter(request_event)]})
        super().__init__(*args, **kwargs)

    @staticmethod
    def _request_start(request: httpx.Request) -> None:
        request.loadhooks_start = (time.time(), time.perf_counter())

    def _reporter(self, request_event: Any) -> Any:
        def request_end(response: httpx.Response) -> None:
            response.read()
            start_time, start = getattr(response.request, "loadhooks_start", (time.time(), time.perf_counter()))
            exception = None
            try:
                response.raise_for_status()
            except httpx.HTTPStatusError as error:
                exception = error
            request_event.fire(request_type=response.request.method, name=self.request_name or response.url.path,
                               context={}, response=response, exception=exception, start_time=start_time,
                               response_time=(time.perf_counter() - start) * 1000,
                               response_length=output_tokens(response), url=str(response.url))
        return request_end

    @contextmanager
    def rename_request(self, name: str) -> Generator[None, None, None]:
        """Report the requests made inside the ``with`` block under ``name``."""
        self.request_name = name
        try:
            yield
        finally:
            self.request_name = None


class OpenAIUser(User):
    """A user with an :class:`OpenAIClient` as ``self.client``."""

    abstract = True
    client_kwargs: dict | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options = dict(self.client_kwargs or {})
        if self.host and "base_url" not in options:
            options["base_url"] = self.host
        self.client = OpenAIClient(self.environment.events.request, user=self, **options)
