"""DNSUser: dnspython's ``dns.query`` functions as a client whose every call is a ``request``.

As Locust's ``locust.contrib.dns``: ``self.client.udp(message, "127.0.0.1", port=53)``,
``.tcp(...)``, ``.https(...)`` ... call the dnspython function of that name and fire one
``request`` event of type ``DNS``, named after the function unless ``name=`` says otherwise.
The request fails with dnspython's error (a timeout, a bad response ...) or, when the answer
section is empty (NXDOMAIN, REFUSED, no record of that type), with "No answer in DNS
response". The response is returned either way (None when dnspython raised).

gevent: dnspython's sockets are the standard library's, which gevent patches, so a slow
server keeps only its own user waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..event import EventHook
from ..exception import LocustError
from ..user.users import User
from ._extras import require

dns_query = require("dns.query", "dns", __name__)
dns_exception = require("dns.exception", "dns", __name__)

REQUEST_TYPE = "DNS"


class DNSClient:
    """Every attribute is the ``dns.query`` function of that name, reporting each call."""

    def __init__(self, request_event: EventHook) -> None:
        self.request_event = request_event

    def __getattr__(self, function_name: str) -> Callable[..., Any]:
        query = getattr(dns_query, function_name)

        def reported(message: Any, *args: Any, name: str | None = None, **kwargs: Any) -> Any:
            return self._call(query, name or function_name, message, *args, **kwargs)

        return reported

    def _call(self, query: Callable[..., Any], name: str, message: Any, *args: Any, **kwargs: Any) -> Any:
        request_meta: dict[str, Any] = {
            "request_type": REQUEST_TYPE, "name": name, "start_time": time.time(), "response_length": 0,
            "context": {}, "exception": None, "url": None,
        }
        started = time.perf_counter()
        response = None
        try:
            response = query(message, *args, **kwargs)
        except dns_exception.DNSException as error:
            request_meta["exception"] = error
        else:
            if not response.answer:
                request_meta["exception"] = LocustError("No answer in DNS response")
        request_meta["response_time"] = (time.perf_counter() - started) * 1000
        request_meta["response"] = response
        self.request_event.fire(**request_meta)
        return response


class DNSUser(User):
    """A user whose ``self.client`` is a :class:`DNSClient` (see the module's docstring)."""

    abstract = True

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.client = DNSClient(environment.events.request)
