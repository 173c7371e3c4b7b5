"""contrib.qdrant's QdrantUser on qdrant-client's local mode, and on a server that never answers (issue 23).

Qdrant's server is in neither Debian nor PyPI; qdrant-client's local mode (Qdrant's engine in
Python, kept in a directory) is the real engine the tests can run. One load run checks: each point
the upsert events count is a point the store holds (read back after the run; users finish their
task at the end); an upsert the engine rejects (wrong vector size) is a failure carrying its error;
and a user whose Qdrant server never answers (a socket that accepts and stays silent; its calls
time out after 1 s) does not hold up the others, who complete requests while it waits. No timing
assertions: only that others completed something while the silent server's call waited.
"""

from __future__ import annotations

import textwrap

import pytest

from contrib_b_support import StallingServer, ask_in_subprocess
from request_log import REQUEST_RECORDER, ended_during, read_requests

MODULE = textwrap.dedent('''
    import itertools, os, random
    from qdrant_client.models import Distance, PointStruct, VectorParams
    from pytest_loadhooks import constant, task
    from pytest_loadhooks.contrib.qdrant import QdrantUser

    _ids = itertools.count(1)

    def vector(size=8):
        return [random.random() for _ in range(size)]

    class Keeper(QdrantUser):
        fixed_count = 1  # a local-mode directory takes one client at a time
        url = os.environ["QDRANT_PATH"]
        collection_name = "items"
        vectors_config = VectorParams(size=8, distance=Distance.COSINE)
        wait_time = constant(0.01)

        @task(3)
        def add(self):
            self.upsert([PointStruct(id=next(_ids), vector=vector(), payload={"by": "keeper"})])

        @task(2)
        def nearest(self):
            self.search(query=vector(), limit=3)

        @task(1)
        def page(self):
            self.scroll(limit=5)

        @task(1)
        def wrong_size(self):
            self.upsert([PointStruct(id=next(_ids), vector=vector(3))])

    class Remote(QdrantUser):
        fixed_count = 1
        url = os.environ["QDRANT_SILENT_URL"]
        collection_name = "items"
        timeout = 1
        wait_time = constant(0)

        @task
        def nearest_far(self):
            self.search(query=vector(), limit=3)
''')


@pytest.fixture(scope="session")
def silent_server():
    server = StallingServer()
    yield server
    server.stop()


def test_qdrant_user_counts_failures_and_gevent(pytester, silent_server, monkeypatch):
    store = pytester.path / "qdrant-store"
    monkeypatch.setenv("QDRANT_PATH", str(store))
    monkeypatch.setenv("QDRANT_SILENT_URL", f"http://127.0.0.1:{silent_server.port}")
    pytester.makeconftest(REQUEST_RECORDER)
    pytester.makepyfile(test_qdrant_users=MODULE)
    result = pytester.runpytest_subprocess("--load-users=2", "--load-run-time=3s", "--load-stop-timeout=10s",
                                           "-p", "no:cacheprovider")
    requests = read_requests(pytester.path)
    output = result.stdout.str()[-3000:] + result.stderr.str()[-3000:]
    assert requests, output
    assert {r["type"] for r in requests} == {"qdrant"}
    assert {r["name"] for r in requests} == {"upsert", "search", "scroll"}

    stored = ask_in_subprocess(textwrap.dedent(f'''
        from qdrant_client import QdrantClient
        client = QdrantClient(path={str(store)!r})
        print(client.count("items").count)
        client.close()
    '''))
    upserts = [r for r in requests if r["name"] == "upsert"]
    assert stored == len([r for r in upserts if not r["failed"]]) > 0
    rejected = [r for r in upserts if r["failed"]]
    assert rejected and all("expected dim: 8, got 3" in r["exception"] for r in rejected), rejected[:3]

    silent = [r for r in requests if r["name"] == "search" and r["failed"]]
    assert silent and all("timed out" in r["exception"] for r in silent), silent[:3]
    assert len(ended_during(silent[0], requests)) >= 3, (silent[0], len(requests))
