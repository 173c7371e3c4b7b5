"""A load test of a MongoDB database with MongoDBUser (issue 23):

    pip install 'pytest-loadhooks[mongodb]'
    MONGODB_URI=mongodb://127.0.0.1:27017/ pytest examples/other_systems/mongodb --load-users=10 --load-run-time=10s

No mongod at hand? NX-27017 (``pip install nx-27017``; MongoDB's wire protocol on SQLite) stands in:
``nx-27017 --db memory -p 27017 &``. Each insert and query is one request (type MONGODB).
"""

import itertools
import os

from pytest_loadhooks import between, task
from pytest_loadhooks.contrib.mongodb import MongoDBUser

_order_numbers = itertools.count(1)


class Shop(MongoDBUser):
    conn_string = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/")
    db_name = "shop"
    wait_time = between(0.05, 0.2)

    @task(2)
    def place_order(self):
        self.client.execute_insert("orders", {"number": next(_order_numbers), "items": ["tea"], "paid": False})

    @task(5)
    def unpaid_orders(self):
        self.client.execute_query("orders", {"paid": False})
