"""DNSUser against a real DNS server (dnspython's, examples/other_systems/dns_zone_server.py), with
CsvRequestLogger writing a row per request: counts match the server's, NXDOMAIN/REFUSED fail,
other users go on during a slow answer, and the CSV holds exactly the requests fired."""

from __future__ import annotations

import csv
import json

import pytest
from other_systems import ExampleServer, run_args, run_example
from request_log import REQUEST_RECORDER, read_requests, started_during

LOAD_MODULE = '''
import os
import dns.message
import dns.rdatatype
from pytest_loadhooks import constant, events, task
from pytest_loadhooks.contrib.csv_request_logger import CsvRequestLogger
from pytest_loadhooks.contrib.dns import DNSUser

PORT = int(os.environ["LOADTEST_DNS_PORT"])
LOGGER = CsvRequestLogger(os.environ["LOADTEST_CSV"], flush_interval=5)

@events.init.add_listener
def _register(environment, **kwargs):
    LOGGER.register(environment)

def query(name):
    return dns.message.make_query(name, dns.rdatatype.A)

class Resolver(DNSUser):
    wait_time = constant(0.05)

    @task(3)
    def www(self):
        response = self.client.udp(query("www.loadtest.test"), "127.0.0.1", port=PORT, timeout=5)
        assert response.answer[0][0].address == "127.0.0.1"

    @task(1)
    def over_tcp(self):
        self.client.tcp(query("api.loadtest.test"), "127.0.0.1", port=PORT, timeout=5)

    @task(1)
    def missing(self):
        self.client.udp(query("nothing.loadtest.test"), "127.0.0.1", port=PORT, timeout=5, name="nxdomain")

    @task(1)
    def elsewhere(self):
        self.client.udp(query("example.com"), "127.0.0.1", port=PORT, timeout=5, name="refused")

class SlowResolver(DNSUser):
    fixed_count = 1
    wait_time = constant(30)

    @task
    def slow(self):
        self.client.udp(query("slow.loadtest.test"), "127.0.0.1", port=PORT, timeout=10, name="slow")
'''


@pytest.fixture(scope="module")
def dns_server(tmp_path_factory):
    counts = tmp_path_factory.mktemp("dns") / "counts.json"
    server = ExampleServer("dns_zone_server.py", "--counts-file", str(counts))
    server.counts = counts
    yield server
    server.stop()


def test_dns_user_counts_failures_gevent_and_csv_log(pytester, dns_server, monkeypatch):
    csv_path = pytester.path / "requests.csv"
    monkeypatch.setenv("LOADTEST_DNS_PORT", str(dns_server.port))
    monkeypatch.setenv("LOADTEST_CSV", str(csv_path))
    pytester.makeconftest(REQUEST_RECORDER)
    pytester.makepyfile(test_dns_load=LOAD_MODULE)
    result = pytester.runpytest_subprocess(*run_args(users=4))
    result.assert_outcomes(passed=1)
    requests = read_requests(pytester.path)
    assert requests and all(r["type"] == "DNS" for r in requests)
    by_name = {name: [r for r in requests if r["name"] == name] for name in ("udp", "tcp", "nxdomain", "refused")}

    server = json.loads(dns_server.counts.read_text())
    assert len(requests) == server["total"]
    assert len(by_name["udp"]) == server["by_name"]["www.loadtest.test."]
    assert len(by_name["tcp"]) == server["by_name"]["api.loadtest.test."]
    assert len(by_name["nxdomain"]) == server["by_rcode"]["NXDOMAIN"]
    assert len(by_name["refused"]) == server["by_rcode"]["REFUSED"]
    assert all(r["exception"] is None for r in by_name["udp"] + by_name["tcp"])
    failed = by_name["nxdomain"] + by_name["refused"]
    assert failed and all("No answer in DNS response" in r["exception"] for r in failed)

    (slow,) = [r for r in requests if r["name"] == "slow"]
    assert slow["exception"] is None and slow["response_time"] >= 1400
    assert len(started_during(slow, requests)) >= 5, started_during(slow, requests)

    # CsvRequestLogger: one row per request event, closed (so flushed) at quitting.
    with csv_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(requests)
    assert sorted(r["name"] for r in rows) == sorted(r["name"] for r in requests)
    assert {r["status_code"] for r in rows} == {"0"}
    assert {r["exception"] for r in rows if r["name"] in ("nxdomain", "refused")} == {"No answer in DNS response"}
    assert all(r["exception"] == "" for r in rows if r["name"] in ("udp", "tcp", "slow"))
    assert float(next(r for r in rows if r["name"] == "slow")["response_time_ms"]) >= 1400


def test_dns_example_runs(dns_server, tmp_path):
    result = run_example("dns", {"DNS_SERVER": "127.0.0.1", "DNS_PORT": str(dns_server.port)}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout and "DNS   udp" in result.stdout
