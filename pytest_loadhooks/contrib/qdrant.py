"""QdrantUser: Locust's ``locust.contrib.qdrant`` user, on qdrant-client (``pip install pytest-loadhooks[qdrant]``).

Class attributes as in Locust: ``url``, ``api_key``, ``collection_name`` (required), ``timeout``,
``vectors_config`` (the collection is created when it does not exist), ``client_kwargs`` and
``collection_kwargs``. ``upsert``, ``search``, ``scroll`` and ``delete`` each fire the ``request``
event (``request_type="qdrant"``, the method's name as ``name``, the client's error as
``exception``) and return Locust's result dict (``success``, ``response_time``, ``result`` or
``exception``; searches and scrolls that find nothing are ``empty``).

Beyond Locust: ``url = ":memory:"`` or a directory path (no ``http(s)://``) runs qdrant-client's
local mode, the engine inside this process, so a suite runs without a Qdrant server
(``--load-host=:memory:`` with Locust's example). Against a server, qdrant-client's HTTP calls go
through sockets gevent patches, so a slow server holds up only the user waiting for it; local mode
does no I/O at all and runs each call to its end in the calling user.
"""

from __future__ import annotations

import os
from typing import Any

from ..user.users import User
from ._extras import require
from ._results import fire_result, timed_call


# grpc (under qdrant-client) turns its fork support on by default: it then restarts its poller in every child
# this process starts, which can abort the child between fork and exec (grpc/grpc issue 43055): a load
# run starts worker processes, and no child of it uses grpc across a fork. Set before grpc is imported;
# an explicit GRPC_ENABLE_FORK_SUPPORT wins.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

QdrantClient = require("qdrant_client", "qdrant", __name__).QdrantClient
VectorParams = require("qdrant_client.models", "qdrant", __name__).VectorParams


def client_location(url: str | None) -> dict[str, Any]:
    """QdrantClient's keyword for ``url``: a server URL, ``:memory:`` or a local-mode directory."""
    if url is None or url == ":memory:":
        return {"location": ":memory:"}
    if "://" not in url:
        return {"path": url}
    return {"url": url}


class QdrantLocustClient:
    """One QdrantClient bound to one collection; each call returns Locust's result dict."""

    def __init__(self, url: str | None, collection_name: str, api_key: str | None = None, timeout: int = 60,
                 **kwargs: Any) -> None:
        self.url = url
        self.collection_name = collection_name
        self.api_key = api_key
        self.timeout = timeout
        location = client_location(url)
        if "url" in location:
            kwargs = {"api_key": api_key, "timeout": timeout, **kwargs}
        self.client = QdrantClient(**location, **kwargs)

    def close(self) -> None:
        self.client.close()

    def create_collection(self, vectors_config: Any, **kwargs: Any) -> None:
        if not self.client.collection_exists(collection_name=self.collection_name):
            self.client.create_collection(collection_name=self.collection_name, vectors_config=vectors_config,
                                          **kwargs)

    def upsert(self, points: Any) -> dict[str, Any]:
        return timed_call(lambda: self.client.upsert(collection_name=self.collection_name, points=points))

    def search(self, query: Any, limit: int = 10, query_filter: Any = None, search_params: Any = None,
               with_payload: bool = True) -> dict[str, Any]:
        return timed_call(lambda: self.client.query_points(
            collection_name=self.collection_name, query=query, limit=limit, query_filter=query_filter,
            search_params=search_params, with_payload=with_payload), empty=lambda result: not result.points)

    def scroll(self, scroll_filter: Any = None, limit: int = 10, with_payload: bool = True) -> dict[str, Any]:
        outcome = timed_call(lambda: self.client.scroll(collection_name=self.collection_name,
                                                        scroll_filter=scroll_filter, limit=limit,
                                                        with_payload=with_payload),
                             empty=lambda result: not result[0])
        if "result" in outcome:  # Locust's shape: the records, and the offset to go on from
            outcome["result"], outcome["next_offset"] = outcome["result"]
        return outcome

    def delete(self, points_selector: Any) -> dict[str, Any]:
        return timed_call(lambda: self.client.delete(collection_name=self.collection_name,
                                                     points_selector=points_selector))


class QdrantUser(User):
    """A user whose ``upsert`` / ``search`` / ``scroll`` / ``delete`` are timed Qdrant calls."""

    abstract = True

    url: str | None = "http://localhost:6333"
    api_key: str | None = None
    collection_name: str | None = None
    timeout: int = 60
    vectors_config: VectorParams | None = None
    client_kwargs: dict | None = None
    collection_kwargs: dict | None = None

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        if self.collection_name is None:
            raise ValueError("'collection_name' must be provided for QdrantUser")
        self.client_type = "qdrant"
        self.client = QdrantLocustClient(url=self.url, api_key=self.api_key, collection_name=self.collection_name,
                                         timeout=self.timeout, **(self.client_kwargs or {}))
        if self.vectors_config is not None:
            self.client.create_collection(vectors_config=self.vectors_config, **(self.collection_kwargs or {}))

    def _fire(self, name: str, result: dict[str, Any]) -> dict[str, Any]:
        fire_result(self.environment.events.request, self.client_type, name, result)
        return result

    def upsert(self, points: Any) -> dict[str, Any]:
        return self._fire("upsert", self.client.upsert(points))

    def search(self, query: Any, limit: int = 10, query_filter: Any = None, search_params: Any = None,
               with_payload: bool = True) -> dict[str, Any]:
        return self._fire("search", self.client.search(query=query, limit=limit, query_filter=query_filter,
                                                       search_params=search_params, with_payload=with_payload))

    def scroll(self, scroll_filter: Any = None, limit: int = 10, with_payload: bool = True) -> dict[str, Any]:
        return self._fire("scroll", self.client.scroll(scroll_filter=scroll_filter, limit=limit,
                                                       with_payload=with_payload))

    def delete(self, points_selector: Any) -> dict[str, Any]:
        return self._fire("delete", self.client.delete(points_selector))

    def on_stop(self) -> None:
        self.client.close()
