"""A row per request in a CSV file with CsvRequestLogger (pytest_loadhooks.contrib.csv_request_logger).

    python examples/target_app.py --port 8080 &
    REQUESTS_CSV=requests.csv pytest examples/other_systems/csv_request_logger_loadtest.py \
        --load-host=http://127.0.0.1:8080 --load-users=4 --load-run-time=5s

Works with any user (HTTP here); the columns are timestamp, request_type, name,
response_time_ms, response_length, status_code and exception.
"""

import csv
import os

import pytest

from pytest_loadhooks import HttpUser, between, events, task
from pytest_loadhooks.contrib.csv_request_logger import CsvRequestLogger

pytestmark = pytest.mark.load

CSV_PATH = os.getenv("REQUESTS_CSV", "requests.csv")
request_log = CsvRequestLogger(CSV_PATH, flush_interval=20)


@events.init.add_listener
def start_the_log(environment, **kwargs):
    request_log.register(environment)  # the file starts anew; it is closed when the session quits


class Browser(HttpUser):
    wait_time = between(0.05, 0.2)

    @task(3)
    def page(self):
        self.client.get("/page")

    @task(1)
    def missing(self):
        self.client.get("/status/404", name="/status/404")


def test_every_request_has_a_row(load_result):
    request_log.close()  # flush now to read it here (quitting would close it later)
    with open(CSV_PATH, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == load_result.num_requests
    assert all(row["status_code"] == "200" for row in rows if row["name"] == "/page")
    assert all(row["status_code"] == "404" and row["exception"] for row in rows if row["name"] == "/status/404")
