"""A DNS server under load with DNSUser (pytest_loadhooks.contrib.dns, dnspython).

    pip install 'pytest-loadhooks[dns]'
    python examples/other_systems/dns_zone_server.py --port 5353 &
    DNS_SERVER=127.0.0.1 DNS_PORT=5353 \
        pytest examples/other_systems/dns_loadtest.py --load-users=4 --load-run-time=10s

Point DNS_SERVER/DNS_PORT at your own server and change the names; load only servers you run.
"""

import os

import dns.message
import dns.rdatatype
import pytest

from pytest_loadhooks import between, task
from pytest_loadhooks.contrib.dns import DNSUser

pytestmark = pytest.mark.load

SERVER = os.getenv("DNS_SERVER", "127.0.0.1")
PORT = int(os.getenv("DNS_PORT", "5353"))


class Resolver(DNSUser):
    wait_time = between(0.05, 0.2)

    @task(4)
    def over_udp(self):
        query = dns.message.make_query("www.loadtest.test", dns.rdatatype.A)
        self.client.udp(query, SERVER, port=PORT, timeout=5)  # request "udp"

    @task(1)
    def over_tcp(self):
        query = dns.message.make_query("api.loadtest.test", dns.rdatatype.A)
        self.client.tcp(query, SERVER, port=PORT, timeout=5)  # request "tcp"

    @task(1)
    def unknown_name(self):
        # NXDOMAIN: no answer, so the request fails ("No answer in DNS response"), as in Locust.
        query = dns.message.make_query("missing.loadtest.test", dns.rdatatype.A)
        self.client.udp(query, SERVER, port=PORT, timeout=5, name="nxdomain")


@pytest.mark.thresholds("udp: fail_ratio == 0")
def test_known_names_resolve(load_result):
    assert load_result.entry("udp", method="DNS").num_requests > 0
    over_tcp, unknown = load_result.entry("tcp", method="DNS"), load_result.entry("nxdomain", method="DNS")
    assert over_tcp is None or over_tcp.num_failures == 0  # (a short run may pick no such task)
    assert unknown is None or unknown.fail_ratio == 1
