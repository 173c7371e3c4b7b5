"""PostgresUser against a real PostgreSQL: counts match pg_stat_statements, bad SQL fails, gevent goes on."""

from __future__ import annotations

import psycopg  # the `postgres` extra, which the `test` extra pulls: missing, the module fails loudly
import pytest
from other_systems import PostgresServer, run_args, run_example
from request_log import REQUEST_RECORDER, read_requests, started_during

LOAD_MODULE = '''
import os
from pytest_loadhooks import constant, task
from pytest_loadhooks.contrib.postgres import PostgresUser

class Reader(PostgresUser):
    conn_string = os.environ["LOADTEST_PG_URL"]
    wait_time = constant(0.05)

    @task(4)
    def select(self):
        cursor = self.client.execute_query("SELECT %s::int AS loadtest_select", (7,))
        assert cursor.fetchone() == (7,)

    @task(1)
    def broken(self):
        assert self.client.execute_query("SELEC 1 AS loadtest_broken", name="bad_sql") is None

class Sleeper(PostgresUser):
    fixed_count = 1
    conn_string = os.environ["LOADTEST_PG_URL"]
    wait_time = constant(30)

    @task
    def sleep(self):
        self.client.execute_query("SELECT pg_sleep(1.5) AS loadtest_slow", name="slow")
'''


@pytest.fixture(scope="module")
def postgres():
    server = PostgresServer()
    yield server
    server.stop()


def server_calls(url: str, marker: str) -> int:
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE %s",
                                 (f"%AS {marker}",)).fetchone()
    return int(row[0])


def test_postgres_user_counts_failures_and_gevent(pytester, postgres, monkeypatch):
    with psycopg.connect(postgres.url, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        connection.execute("SELECT pg_stat_statements_reset()")
    monkeypatch.setenv("LOADTEST_PG_URL", postgres.url)
    pytester.makeconftest(REQUEST_RECORDER)
    pytester.makepyfile(test_pg_load=LOAD_MODULE)
    result = pytester.runpytest_subprocess(*run_args(users=4))
    result.assert_outcomes(passed=1)
    requests = read_requests(pytester.path)

    selects = [r for r in requests if r["name"] == "execute_query"]
    assert selects and all(r["type"] == "postgres_success" and r["exception"] is None for r in selects)
    assert len(selects) == server_calls(postgres.url, "loadtest_select")

    broken = [r for r in requests if r["name"] == "bad_sql"]
    assert broken and all(r["type"] == "postgres_failure" and "SyntaxError" in r["exception"] for r in broken)
    assert len(broken) == postgres.failed_statements("loadtest_broken")

    # gevent: while one user waited 1.5 s for pg_sleep, the other users' queries went on.
    (slow,) = [r for r in requests if r["name"] == "slow"]
    assert slow["type"] == "postgres_success" and slow["response_time"] >= 1400
    assert len(started_during(slow, requests)) >= 5, started_during(slow, requests)


def test_postgres_example_runs(postgres, tmp_path):
    env = {"PGHOST": "127.0.0.1", "PGPORT": str(postgres.port), "PGUSER": "postgres", "PGDATABASE": "postgres"}
    result = run_example("postgres", env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout and "postgres_success" in result.stdout
