"""PostgreSQL under load with PostgresUser (pytest_loadhooks.contrib.postgres, psycopg 3).

    pip install 'pytest-loadhooks[postgres]'
    PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres PGPASSWORD=... \
        pytest examples/other_systems/postgres_loadtest.py --load-users=5 --load-run-time=10s

The connection comes from the usual PG* variables (defaults: postgres@localhost:5432/postgres).
"""

import os

import pytest

from pytest_loadhooks import between, task
from pytest_loadhooks.contrib.postgres import PostgresUser

pytestmark = pytest.mark.load

CONN_STRING = "postgresql://{user}:{password}@{host}:{port}/{database}".format(
    user=os.getenv("PGUSER", "postgres"), password=os.getenv("PGPASSWORD", ""),
    host=os.getenv("PGHOST", "localhost"), port=os.getenv("PGPORT", "5432"),
    database=os.getenv("PGDATABASE", "postgres"),
)


class CatalogReader(PostgresUser):
    conn_string = CONN_STRING
    wait_time = between(0.05, 0.2)

    @task(5)
    def count_tables(self):
        cursor = self.client.execute_query("SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = %s",
                                           ("pg_catalog",), name="count tables")
        if cursor is not None:  # None: the query failed, and its request was recorded as such
            assert cursor.fetchone()[0] > 0

    @task(1)
    def server_time(self):
        self.client.execute_query("SELECT now()", name="now")


@pytest.mark.thresholds("fail_ratio == 0", "count tables: p95 < 500")
def test_queries_answer(load_result):
    assert load_result.entry("count tables", method="postgres_success").num_requests > 0
