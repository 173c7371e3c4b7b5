"""A load test of a Milvus vector database with MilvusUser (issue 23):

    pip install 'pytest-loadhooks[milvus]'
    pytest examples/other_systems/milvus --load-users=5 --load-run-time=10s --load-host=http://127.0.0.1:19530

No Milvus at hand? Milvus Lite's server stands in (``pip install milvus-lite``):
``milvus-lite server --data-dir ./milvus-data --host 127.0.0.1 --port 19530 &``.
Each insert, search and query is one request (type ``milvus``, the call as its name).
"""

import itertools
import random

from pymilvus import CollectionSchema, DataType, FieldSchema
from pymilvus.milvus_client import IndexParams

from pytest_loadhooks import between, task
from pytest_loadhooks.contrib.milvus import MilvusUser

DIMENSION = 16
_ids = itertools.count(1)


def schema_and_index():
    schema = CollectionSchema(fields=[FieldSchema(name="id", dtype=DataType.INT64, is_primary=True),
                                      FieldSchema(name="vector", dtype=DataType.FLOAT_VECTOR, dim=DIMENSION),
                                      FieldSchema(name="title", dtype=DataType.VARCHAR, max_length=64)])
    index = IndexParams()
    index.add_index(field_name="vector", index_type="FLAT", metric_type="L2")
    return schema, index


def random_vector():
    return [random.random() for _ in range(DIMENSION)]


class Librarian(MilvusUser):
    wait_time = between(0.05, 0.2)

    def __init__(self, environment):
        schema, index = schema_and_index()
        super().__init__(environment, uri=environment.host or "http://127.0.0.1:19530", collection_name="books",
                         schema=schema, index_params=index, consistency_level="Strong")

    @task(2)
    def add_book(self):
        number = next(_ids)
        self.insert([{"id": number, "vector": random_vector(), "title": f"book {number}"}])

    @task(5)
    def similar_books(self):
        self.search(data=[random_vector()], anns_field="vector", limit=5, output_fields=["title"])

    @task(1)
    def early_books(self):
        self.query(filter="id < 100", output_fields=["title"])
