"""contrib.mongodb's MongoDBUser against a real MongoDB wire-protocol server (issue 23).

The server is NX-27017 (PyPI: MongoDB's wire protocol on SQLite), started once per session on
127.0.0.1: MongoDB's own mongod is in neither Debian nor PyPI (docs/other-systems.md#mongodb). pymongo
talks to it exactly as to mongod. One load run checks: each insert the events count is a document
the server holds (users finish their task at the end: --load-stop-timeout); a query the server rejects is a failure carrying the server's error; and a user
whose server is slow (every answer held back 0.4 s by a proxy in front of the same server) does
not hold up the others, who complete requests while its calls wait. No timing assertions: only
that others completed something while a slow call waited (a 1.5 s window at the least).
"""

from __future__ import annotations

import textwrap

from pymongo import MongoClient

from contrib_b_support import DelayProxy
from request_log import REQUEST_RECORDER, ended_during, read_requests

MODULE = textwrap.dedent('''
    import itertools, os
    from pytest_loadhooks import constant, task
    from pytest_loadhooks.contrib.mongodb import MongoDBUser

    _ids = itertools.count()

    class Shopper(MongoDBUser):
        conn_string = os.environ["MONGO_URI"]
        db_name = os.environ["MONGO_DB"]
        wait_time = constant(0.02)

        @task(3)
        def add_item(self):
            self.client.execute_insert("items", {"n": next(_ids), "by": "shopper"})

        @task(3)
        def find_items(self):
            self.client.execute_query("items", {"by": "shopper"})

        @task(1)
        def bad_query(self):
            self.client.execute_query("items", {"n": {"$nosuchoperator": 1}})

    class FarShopper(MongoDBUser):
        fixed_count = 1
        conn_string = os.environ["MONGO_SLOW_URI"]
        db_name = os.environ["MONGO_DB"]
        wait_time = constant(0)

        @task
        def add_far_item(self):
            self.client.execute_insert("far_items", {"by": "far"})
''')



def test_mongodb_user_counts_failures_and_gevent(pytester, mongo_server, monkeypatch):
    proxy = DelayProxy(mongo_server.port, delay=0.4)
    monkeypatch.setenv("MONGO_URI", f"mongodb://127.0.0.1:{mongo_server.port}/")
    monkeypatch.setenv("MONGO_SLOW_URI", f"mongodb://127.0.0.1:{proxy.port}/?serverSelectionTimeoutMS=20000")
    monkeypatch.setenv("MONGO_DB", "loadrun")
    pytester.makeconftest(REQUEST_RECORDER)
    pytester.makepyfile(test_mongo_users=MODULE)
    try:
        result = pytester.runpytest_subprocess("--load-users=4", "--load-run-time=3s", "--load-stop-timeout=10s", "-p", "no:cacheprovider")
    finally:
        proxy.stop()
    requests = read_requests(pytester.path)
    assert requests, result.stdout.str()[-3000:]
    assert all(r["type"] == "MONGODB" for r in requests)

    server = MongoClient(f"mongodb://127.0.0.1:{mongo_server.port}/", serverSelectionTimeoutMS=5000)
    try:
        db = server["loadrun"]
        inserted = [r for r in requests if r["name"] == "INSERT" and not r["failed"]]
        assert db["items"].count_documents({}) + db["far_items"].count_documents({}) == len(inserted)
        assert db["far_items"].count_documents({}) >= 1  # the slow user's inserts reached the server too
    finally:
        server.close()

    queries = [r for r in requests if r["name"] == "QUERY"]
    failed = [r for r in queries if r["failed"]]
    assert failed and all("$nosuchoperator" in r["exception"] for r in failed), failed[:3]
    assert any(not r["failed"] for r in queries)
    assert not [r for r in requests if r["name"] == "INSERT" and r["failed"]]

    # The slow user's calls each waited for answers held back 0.4 s (several of them per call);
    # the other users went on meanwhile.
    slow = max(requests, key=lambda r: r["response_time"])
    assert slow["response_time"] >= 400
    assert len(ended_during(slow, requests)) >= 3, (slow, len(requests))
    assert "passed" in result.stdout.str() or result.ret == 0, result.stdout.str()[-3000:]
