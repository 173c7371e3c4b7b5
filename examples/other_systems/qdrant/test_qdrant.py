"""A load test of a Qdrant vector database with QdrantUser (issue 23):

    pip install 'pytest-loadhooks[qdrant]'
    QDRANT_URL=http://127.0.0.1:6333 pytest examples/other_systems/qdrant --load-users=5 --load-run-time=10s

Without QDRANT_URL it runs on qdrant-client's local mode (``:memory:``: Qdrant's engine inside the
test process, one store per user), so the example runs anywhere. Each upsert, search and scroll is one
request (type ``qdrant``, the call as its name).
"""

import itertools
import os
import random

from qdrant_client.models import Distance, PointStruct, VectorParams

from pytest_loadhooks import between, task
from pytest_loadhooks.contrib.qdrant import QdrantUser

DIMENSION = 16
_ids = itertools.count(1)


def random_vector():
    return [random.random() for _ in range(DIMENSION)]


class Curator(QdrantUser):
    url = os.environ.get("QDRANT_URL", ":memory:")
    collection_name = "pictures"
    vectors_config = VectorParams(size=DIMENSION, distance=Distance.COSINE)
    wait_time = between(0.05, 0.2)

    @task(2)
    def add_picture(self):
        self.upsert([PointStruct(id=next(_ids), vector=random_vector(), payload={"tag": random.choice("abc")})])

    @task(5)
    def similar_pictures(self):
        self.search(query=random_vector(), limit=5)

    @task(1)
    def browse(self):
        self.scroll(limit=10)
