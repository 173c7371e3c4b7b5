"""contrib.milvus's MilvusUser against Milvus Lite's real gRPC server (issue 23).

``milvus-lite server`` (PyPI: Milvus's API on a pure-Python engine) is started once per session on
127.0.0.1. One load run checks: each row the insert events count is a row the server holds
(``count(*)``; users finish their task at the end); a filter the server rejects is a failure
carrying the server's error; searches asked for their recall add Locust's ``recall`` entry; and a
user whose server is slow (every answer held back 0.3 s by a proxy in front of the same server)
does not hold up the others: pymilvus's gRPC runs on gevent (``grpc.experimental.gevent``), so they
complete requests while its calls wait. No timing assertions: only that others completed something
while one slow call waited.
"""

from __future__ import annotations

import textwrap


from contrib_b_support import DelayProxy, ask_in_subprocess
from request_log import REQUEST_RECORDER, ended_during, read_requests

MODULE = textwrap.dedent('''
    import itertools, os, random
    import gevent
    from pymilvus import CollectionSchema, DataType, FieldSchema
    from pymilvus.milvus_client import IndexParams
    from pytest_loadhooks import constant, task
    from pytest_loadhooks.contrib.milvus import MilvusUser

    _ids = itertools.count()
    SCHEMA = CollectionSchema(fields=[FieldSchema(name="id", dtype=DataType.INT64, is_primary=True),
                                      FieldSchema(name="vector", dtype=DataType.FLOAT_VECTOR, dim=8)])
    INDEX = IndexParams()
    INDEX.add_index(field_name="vector", index_type="FLAT", metric_type="L2")

    def vector():
        return [random.random() for _ in range(8)]

    class Indexer(MilvusUser):
        wait_time = constant(0.02)

        def __init__(self, environment):
            super().__init__(environment, uri=os.environ["MILVUS_URI"], collection_name="items", schema=SCHEMA,
                             index_params=INDEX, consistency_level="Strong", timeout=30)

        @task(3)
        def add(self):
            self.insert([{"id": next(_ids), "vector": vector()}])

        @task(2)
        def nearest(self):
            self.search(data=[vector()], anns_field="vector", limit=3, calculate_recall=True, ground_truth=[0, 1, 2])

        @task(1)
        def bad_filter(self):
            self.query(filter="id === 1")

    class FarIndexer(MilvusUser):
        fixed_count = 1
        wait_time = constant(0)

        def __init__(self, environment):
            super().__init__(environment, uri=os.environ["MILVUS_SLOW_URI"], collection_name="items", timeout=30)

        def on_start(self):  # the other users create the collection
            while not self.client.client.has_collection("items"):
                gevent.sleep(0.1)

        @task
        def add_far(self):
            self.insert([{"id": 1_000_000 + next(_ids), "vector": vector()}])
''')



def test_milvus_user_counts_failures_and_gevent(pytester, milvus_server, monkeypatch):
    proxy = DelayProxy(milvus_server.port, delay=0.3)
    monkeypatch.setenv("MILVUS_URI", f"http://127.0.0.1:{milvus_server.port}")
    monkeypatch.setenv("MILVUS_SLOW_URI", f"http://127.0.0.1:{proxy.port}")
    pytester.makeconftest(REQUEST_RECORDER)
    pytester.makepyfile(test_milvus_users=MODULE)
    try:
        result = pytester.runpytest_subprocess("--load-users=4", "--load-run-time=3s", "--load-stop-timeout=20s",
                                               "-p", "no:cacheprovider")
    finally:
        proxy.stop()
    requests = read_requests(pytester.path)
    output = result.stdout.str()[-3000:] + result.stderr.str()[-3000:]
    assert requests, output
    assert {r["type"] for r in requests} == {"milvus"}
    assert not [r for r in requests if r["name"] in ("insert", "search") and r["failed"]], output

    rows, far_rows = ask_in_subprocess(textwrap.dedent(f'''
        import json
        from pymilvus import MilvusClient
        server = MilvusClient(uri="http://127.0.0.1:{milvus_server.port}", timeout=30)
        rows = server.query(collection_name="items", filter="", output_fields=["count(*)"])[0]["count(*)"]
        far_rows = len(server.query(collection_name="items", filter="id >= 1000000", output_fields=["id"]))
        print(json.dumps([rows, far_rows]))
    '''))
    inserts = [r for r in requests if r["name"] == "insert"]
    assert rows == len(inserts)
    assert far_rows >= 1  # the slow user's inserts reached the server too

    # Locust's recall entry: one per search that found something, the recall in percent as its "time".
    recalls = [r for r in requests if r["name"] == "recall"]
    assert 0 < len(recalls) <= len([r for r in requests if r["name"] == "search"])  # none while the collection is empty
    assert all(0 <= r["response_time"] <= 100 and not r["failed"] for r in recalls)

    queries = [r for r in requests if r["name"] == "query"]
    assert queries and all(r["failed"] and "unexpected character '='" in r["exception"] for r in queries), queries[:3]

    slow = max(requests, key=lambda r: r["response_time"])
    assert slow["response_time"] >= 300
    assert len(ended_during(slow, requests)) >= 3, (slow, len(requests))


def test_children_of_a_milvus_user_process_survive(milvus_server):
    """A process whose MilvusUser has talked to the server starts children that live to exec.

    With grpc's default fork support, about one child in 25 died of SIGABRT between fork and exec
    here (grpc/grpc issue 43055); a load run starts its worker processes that way. 120 children.
    """
    crashed = ask_in_subprocess(textwrap.dedent(f'''
        from gevent import monkey
        monkey.patch_all()
        import json, subprocess
        from pytest_loadhooks import Environment
        from pytest_loadhooks.contrib.milvus import MilvusUser

        class Probe(MilvusUser):
            pass

        user = Probe(Environment(user_classes=[Probe]), uri="http://127.0.0.1:{milvus_server.port}", timeout=30)
        user.client.client.list_collections()
        codes = [subprocess.run(["true"]).returncode for _ in range(120)]
        print(json.dumps(sum(code != 0 for code in codes)))
    '''))
    assert crashed == 0
