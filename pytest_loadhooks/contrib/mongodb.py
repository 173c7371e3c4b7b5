"""MongoDBUser: Locust's ``locust.contrib.mongodb`` user, on pymongo (``pip install pytest-loadhooks[mongodb]``).

A user class sets ``conn_string`` and ``db_name``; ``self.client`` is a :class:`MongoDBClient`
(a ``pymongo.MongoClient``) whose ``execute_query(collection, query)`` runs a find and fires
the ``request`` event with ``request_type="MONGODB"``, ``name="QUERY"`` and the pymongo error,
if any, as ``exception`` (a server error such as an unknown operator is a failure).

Two deliberate differences from Locust's version, both so that the server does the work the
statistics claim: the query's cursor is read to its end (Locust's ``find`` returns an unread,
lazy cursor, so no query reaches the server), and the queries go to ``db_name`` itself.
``execute_insert(collection, document)`` is added beside it (``name="INSERT"``).
pymongo talks through Python sockets, which gevent patches: a slow server holds up only the
user waiting for it.
"""

from __future__ import annotations

import time
from typing import Any

from ..event import events
from ..user.users import User
from ._extras import require

pymongo = require("pymongo", "mongodb", __name__)
MongoClient = pymongo.MongoClient
PyMongoError = require("pymongo.errors", "mongodb", __name__).PyMongoError

REQUEST_TYPE = "MONGODB"


class MongoDBClient(MongoClient):
    """A MongoClient bound to one database whose calls fire the ``request`` event."""

    def __init__(self, conn_string: str, db_name: str, request_event: Any = None, **kwargs: Any) -> None:
        super().__init__(conn_string, **kwargs)
        self.db = self[db_name]
        # Locust fires the global events; a user hands its own Environment's hook here.
        self._request_event = request_event if request_event is not None else events.request

    def execute_query(self, collection_name: str, query: dict) -> list[dict] | None:
        """Find ``query`` in ``collection_name``; the documents found, or None when it failed."""
        return self._timed("QUERY", lambda: list(self.db[collection_name].find(query)))

    def execute_insert(self, collection_name: str, document: dict) -> Any:
        """Insert one document; its ``_id``, or None when it failed."""
        return self._timed("INSERT", lambda: self.db[collection_name].insert_one(document).inserted_id)

    def _timed(self, name: str, call: Any) -> Any:
        start_time = time.time()
        start = time.perf_counter()
        result, exception = None, None
        try:
            result = call()
        except PyMongoError as error:
            exception = error
        length = len(result) if isinstance(result, list) else 0  # documents returned (Locust reports 0)
        self._request_event.fire(request_type=REQUEST_TYPE, name=name,
                                 response_time=(time.perf_counter() - start) * 1000, response_length=length,
                                 response=result, context={}, exception=exception, start_time=start_time, url=None)
        return result


class MongoDBUser(User):
    """A user with a :class:`MongoDBClient` as ``self.client``; set ``conn_string`` and ``db_name``."""

    abstract = True
    conn_string: str = "mongodb://localhost:27017/"
    db_name: str = "test"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = MongoDBClient(conn_string=self.conn_string, db_name=self.db_name,
                                    request_event=self.environment.events.request)

    def on_stop(self) -> None:
        self.client.close()
