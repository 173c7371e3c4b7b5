"""A small authoritative DNS server for the DNS example and tests, built with dnspython on gevent.

    python examples/other_systems/dns_zone_server.py --port 5353 [--counts-file counts.json]

Serves the zone ``loadtest.test.`` on 127.0.0.1 over UDP and TCP: ``www`` and ``api`` answer
A 127.0.0.1, ``slow`` answers A 127.0.0.2 after ``--slow-seconds`` (1.5), every other name
is NXDOMAIN and a name outside the zone is REFUSED. ``--zone`` serves another zone with the
same names, ``--record LABEL=ADDRESS`` adds a name, ``--address`` listens elsewhere than
127.0.0.1 (scripts/locust_examples.py runs Locust's dns_ex.py against it as ``com.`` on
8.8.8.8 and 1.1.1.1, inside a network namespace of its own). Each query is answered in its own
greenlet, so a slow answer holds up no other. With ``--counts-file`` it rewrites that file
(JSON: queries in all, by name and by response code) after every answer, so a test can
compare what its users reported with what the server saw. It stops by itself after
``--max-seconds`` (a safety net; tests stop it).
"""

from __future__ import annotations

import argparse
import json
import os
import struct
from collections import Counter

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import gevent
from gevent.server import DatagramServer, StreamServer

ZONE = dns.name.from_text("loadtest.test.")
RECORDS = {"www": "127.0.0.1", "api": "127.0.0.1", "slow": "127.0.0.2"}


class Counts:
    def __init__(self, path: str | None) -> None:
        self.path = path
        self.total = 0
        self.by_name: Counter[str] = Counter()
        self.by_rcode: Counter[str] = Counter()

    def record(self, name: str, rcode: int) -> None:
        self.total += 1
        self.by_name[name] += 1
        self.by_rcode[dns.rcode.to_text(rcode)] += 1
        if self.path:
            temporary = self.path + ".tmp"
            with open(temporary, "w") as handle:
                json.dump({"total": self.total, "by_name": self.by_name, "by_rcode": self.by_rcode}, handle)
            os.replace(temporary, self.path)


def answer(wire: bytes, counts: Counts, slow_seconds: float, zone: dns.name.Name = ZONE,
           records: dict[str, str] = RECORDS) -> bytes:
    query = dns.message.from_wire(wire)
    response = dns.message.make_response(query)
    question = query.question[0]
    name = question.name
    label = name.relativize(zone).to_text() if name.is_subdomain(zone) else None
    if label is None:
        response.set_rcode(dns.rcode.REFUSED)
    elif label in records:
        if label == "slow":
            gevent.sleep(slow_seconds)
        if question.rdtype == dns.rdatatype.A:
            response.answer.append(dns.rrset.from_text(name, 60, "IN", "A", records[label]))
    else:
        response.set_rcode(dns.rcode.NXDOMAIN)
    counts.record(name.to_text(), response.rcode())
    return response.to_wire()


def serve(port: int, counts: Counts, slow_seconds: float, address: str = "127.0.0.1", zone: dns.name.Name = ZONE,
          records: dict[str, str] = RECORDS) -> list:
    def reply_to(data: bytes) -> bytes:
        return answer(data, counts, slow_seconds, zone, records)

    def on_datagram(data: bytes, peer) -> None:
        udp.sendto(reply_to(data), peer)

    def on_stream(sock, peer) -> None:
        with sock:
            while True:
                header = sock.recv(2)
                if len(header) < 2:
                    return
                (length,) = struct.unpack("!H", header)
                data = b""
                while len(data) < length:
                    chunk = sock.recv(length - len(data))
                    if not chunk:
                        return
                    data += chunk
                reply = reply_to(data)
                sock.sendall(struct.pack("!H", len(reply)) + reply)

    udp = DatagramServer((address, port), on_datagram)
    tcp = StreamServer((address, port), on_stream)
    udp.start()
    tcp.start()
    return [udp, tcp]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5353)
    parser.add_argument("--counts-file")
    parser.add_argument("--slow-seconds", type=float, default=1.5)
    parser.add_argument("--max-seconds", type=float, default=3600)
    parser.add_argument("--zone", default=ZONE.to_text(), help="the zone served (default loadtest.test.)")
    parser.add_argument("--record", action="append", default=[], metavar="LABEL=ADDRESS", help="one more A record")
    parser.add_argument("--address", action="append", help="an address to listen on (default 127.0.0.1)")
    args = parser.parse_args()
    zone = dns.name.from_text(args.zone)
    records = {**RECORDS, **dict(record.split("=", 1) for record in args.record)}
    counts = Counts(args.counts_file)
    addresses = args.address or ["127.0.0.1"]
    servers = [server for address in addresses
               for server in serve(args.port, counts, args.slow_seconds, address, zone, records)]
    print(f"DNS server for {zone} on {', '.join(addresses)} port {args.port} (udp, tcp)", flush=True)
    gevent.sleep(args.max_seconds)
    for server in servers:
        server.stop()


if __name__ == "__main__":
    main()
