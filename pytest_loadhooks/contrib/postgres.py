"""PostgresUser: queries against PostgreSQL through psycopg 3, each fired as a ``request`` event.

As Locust's ``locust.contrib.postgres``: a user class sets ``conn_string`` and calls
``self.client.execute_query(sql)``; a query that succeeds is recorded as request type
``postgres_success``, one that fails (bad SQL, a broken connection ...) as
``postgres_failure`` with the error as the request's exception, both under the name
``execute_query`` unless ``name=`` says otherwise.

Differences from Locust, each for a reason:
- the connection is in autocommit mode: Locust's stays inside one never-committed
  transaction, so after the first failed query every later one fails too
  (``InFailedSqlTransaction``) and nothing a user writes is ever committed;
- ``execute_query`` returns the cursor (``None`` when the query failed), so a task can read
  rows (Locust's own example reads them, its client returns nothing); ``params=`` passes
  query parameters.

gevent: psycopg 3 notices gevent's monkey-patching and then waits for the server on gevent's
selectors, so a slow query keeps only its own user waiting.
"""

from __future__ import annotations

import time
from typing import Any

from ..event import EventHook, events
from ..user.users import User
from ._extras import require

psycopg = require("psycopg", "postgres", __name__)

SUCCESS = "postgres_success"
FAILURE = "postgres_failure"


class PostgresClient:
    """One psycopg connection whose ``execute_query`` fires the ``request`` event."""

    def __init__(self, conn_string: str, request_event: EventHook | None = None) -> None:
        self.request_event = request_event if request_event is not None else events.request
        self.connection = psycopg.connect(conn_string, autocommit=True)

    def execute_query(self, query: Any, params: Any = None, *, name: str = "execute_query") -> Any:
        """Run ``query``; fire one ``request`` event; return the cursor, or None if it failed."""
        start_time = time.time()
        started = time.perf_counter()
        cursor = None
        exception: Exception | None = None
        try:
            cursor = self.connection.execute(query, params)
        except Exception as error:  # noqa: BLE001 - recorded as the request's failure, as in Locust
            exception = error
        self.request_event.fire(
            request_type=FAILURE if exception else SUCCESS, name=name,
            response_time=(time.perf_counter() - started) * 1000, response_length=0,
            exception=exception, context={}, start_time=start_time, response=cursor, url=None,
        )
        return cursor

    def close(self) -> None:
        self.connection.close()


class PostgresUser(User):
    """A user with ``self.client``, a :class:`PostgresClient` connected to ``conn_string``."""

    abstract = True
    conn_string: str = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = PostgresClient(conn_string=self.conn_string, request_event=self.environment.events.request)

    def on_stop(self) -> None:
        self.client.close()
