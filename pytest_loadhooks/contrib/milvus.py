"""MilvusUser: Locust's ``locust.contrib.milvus`` user, on pymilvus (``pip install pytest-loadhooks[milvus]``).

``MilvusUser(environment, uri=..., token=..., collection_name=..., db_name=..., timeout=...,
schema=..., index_params=..., **create_collection_kwargs)`` as in Locust: with a ``schema`` the
collection is created (unless it exists: every user asks). ``insert``, ``upsert``, ``search``, ``hybrid_search``, ``query`` and
``delete`` each fire the ``request`` event (``request_type="milvus"``, the method's name as
``name``, the client's error as ``exception``) and return Locust's result dict; a search with
``calculate_recall=True`` and ``ground_truth`` also fires ``name="recall"`` with the recall x 100
as its response time, as Locust does. A uri ending in ``.db`` is a Milvus Lite database
(``pip install milvus-lite``), which pymilvus starts inside this process.

pymilvus speaks gRPC, whose C core does its own I/O: importing this module in a load session
(gevent already patched) switches grpc to gevent (``grpc.experimental.gevent.init_gevent``),
so a slow server holds up only the user waiting for it. Locust's module patches gevent itself
at import; here the plugin has done that before test modules are imported, and a plain pytest
session is left unpatched.
"""

from __future__ import annotations

import os
from typing import Any

from gevent import monkey

from ..user.users import User
from ._extras import require
from ._results import fire_result, timed_call


# grpc (under pymilvus) turns its fork support on by default: it then restarts its poller in every child
# this process starts, which can abort the child between fork and exec (grpc/grpc issue 43055): a load
# run starts worker processes, and no child of it uses grpc across a fork. Set before grpc is imported;
# an explicit GRPC_ENABLE_FORK_SUPPORT wins.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

pymilvus = require("pymilvus", "milvus", __name__)
CollectionSchema, MilvusClient, MilvusException = (pymilvus.CollectionSchema, pymilvus.MilvusClient,
                                                   pymilvus.MilvusException)
IndexParams = require("pymilvus.milvus_client", "milvus", __name__).IndexParams
grpc_gevent = require("grpc.experimental.gevent", "milvus", __name__)

if monkey.is_module_patched("socket"):
    grpc_gevent.init_gevent()


def _no_hits(result: Any) -> bool:
    return len(result) == 0 or all(len(hits) == 0 for hits in result)


def recall(search_results: Any, ground_truth: list, limit: int | None = None) -> float:
    """The share of ``ground_truth[:limit]`` among the first query's hits (0.0 when it cannot tell)."""
    hits = search_results[0] if search_results and isinstance(search_results[0], list) else search_results or []
    found = {hit.get("id") for hit in hits if hasattr(hit, "get")}
    limit = len(found) if limit is None else limit
    if limit == 0 or len(ground_truth) < limit:
        return 0.0
    expected = set(ground_truth[:limit])
    return len(expected & found) / len(expected)


class MilvusV2Client:
    """A pymilvus ``MilvusClient`` bound to one collection; each call returns Locust's result dict."""

    def __init__(self, uri: str, collection_name: str, token: str = "root:Milvus", db_name: str = "default",
                 timeout: float = 60) -> None:
        self.uri, self.collection_name, self.token, self.db_name, self.timeout = (
            uri, collection_name, token, db_name, timeout)
        self.client = MilvusClient(uri=uri, token=token, db_name=db_name, timeout=timeout)

    def close(self) -> None:
        self.client.close()

    def create_collection(self, schema: Any, index_params: Any, **kwargs: Any) -> None:
        """Create the collection unless it exists: every user of a class asks for it, and Milvus Lite
        (unlike Milvus) refuses to create a collection twice."""
        if self.client.has_collection(self.collection_name):
            return
        try:
            self.client.create_collection(collection_name=self.collection_name, schema=schema,
                                          index_params=index_params, **kwargs)
        except MilvusException:
            if not self.client.has_collection(self.collection_name):  # not another user's creation: an error
                raise

    def insert(self, data: Any) -> dict[str, Any]:
        return timed_call(lambda: self.client.insert(collection_name=self.collection_name, data=data))

    def upsert(self, data: Any) -> dict[str, Any]:
        return timed_call(lambda: self.client.upsert(collection_name=self.collection_name, data=data))

    def search(self, data: Any, anns_field: str, limit: int, filter: str = "", search_params: Any = None,  # noqa: A002
               output_fields: list | None = None, calculate_recall: bool = False,
               ground_truth: list | None = None) -> dict[str, Any]:
        outcome = timed_call(lambda: self.client.search(
            collection_name=self.collection_name, data=data, anns_field=anns_field, filter=filter, limit=limit,
            search_params=search_params, output_fields=output_fields or ["id"]), empty=_no_hits)
        if calculate_recall and ground_truth is not None and outcome["success"]:
            outcome["recall"] = recall(outcome["result"], ground_truth, limit)
        return outcome

    def hybrid_search(self, reqs: Any, ranker: Any, limit: int, output_fields: list | None = None) -> dict[str, Any]:
        return timed_call(lambda: self.client.hybrid_search(
            collection_name=self.collection_name, reqs=reqs, ranker=ranker, limit=limit,
            output_fields=output_fields or ["id"], timeout=self.timeout), empty=_no_hits)

    def query(self, filter: str, output_fields: list | None = None) -> dict[str, Any]:  # noqa: A002
        return timed_call(lambda: self.client.query(collection_name=self.collection_name, filter=filter,
                                                    output_fields=output_fields or ["id"]),
                          empty=lambda result: len(result) == 0)

    def delete(self, filter: str) -> dict[str, Any]:  # noqa: A002
        return timed_call(lambda: self.client.delete(collection_name=self.collection_name, filter=filter))


class MilvusUser(User):
    """A user whose ``insert`` / ``upsert`` / ``search`` / ``hybrid_search`` / ``query`` / ``delete``
    are timed Milvus calls on one collection."""

    abstract = True

    def __init__(self, environment: Any, uri: str = "http://localhost:19530", token: str = "root:Milvus",
                 collection_name: str = "test_collection", db_name: str = "default", timeout: float = 60,
                 schema: CollectionSchema | None = None, index_params: IndexParams | None = None,
                 **kwargs: Any) -> None:
        super().__init__(environment)
        if uri is None:
            raise ValueError("'uri' must be provided for MilvusUser")
        if collection_name is None:
            raise ValueError("'collection_name' must be provided for MilvusUser")
        self.client_type = "milvus"
        self.client = MilvusV2Client(uri=uri, token=token, collection_name=collection_name, db_name=db_name,
                                     timeout=timeout)
        if schema is not None:
            self.client.create_collection(schema=schema, index_params=index_params, **kwargs)

    def _fire(self, name: str, result: dict[str, Any]) -> dict[str, Any]:
        fire_result(self.environment.events.request, self.client_type, name, result)
        return result

    def insert(self, data: Any) -> dict[str, Any]:
        return self._fire("insert", self.client.insert(data))

    def upsert(self, data: Any) -> dict[str, Any]:
        return self._fire("upsert", self.client.upsert(data))

    def search(self, data: Any, anns_field: str, limit: int, filter: str = "", search_params: Any = None,  # noqa: A002
               output_fields: list | None = None, calculate_recall: bool = False,
               ground_truth: list | None = None) -> dict[str, Any]:
        result = self._fire("search", self.client.search(
            data, anns_field, limit, filter=filter, search_params=search_params, output_fields=output_fields,
            calculate_recall=calculate_recall, ground_truth=ground_truth))
        if calculate_recall and "recall" in result:
            # Locust's convention: the recall, as a percentage, stands in the response time column.
            self.environment.events.request.fire(
                request_type=self.client_type, name="recall", response_time=int(result["recall"] * 100),
                response_length=0, response=None, context={}, exception=None, start_time=None, url=None)
        return result

    def hybrid_search(self, reqs: Any, ranker: Any, limit: int, output_fields: list | None = None) -> dict[str, Any]:
        return self._fire("hybrid_search", self.client.hybrid_search(reqs, ranker, limit, output_fields))

    def query(self, filter: str, output_fields: list | None = None) -> dict[str, Any]:  # noqa: A002
        return self._fire("query", self.client.query(filter=filter, output_fields=output_fields))

    def delete(self, filter: str) -> dict[str, Any]:  # noqa: A002
        return self._fire("delete", self.client.delete(filter))

    def on_stop(self) -> None:
        self.client.close()
