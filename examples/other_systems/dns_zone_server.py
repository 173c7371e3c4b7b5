"""A small authoritative DNS server for the DNS example and tests, built with dnspython on gevent.

    python examples/other_systems/dns_zone_server.py --port 5353 [--counts-file counts.json]

Serves the zone ``loadtest.test.`` on 127.0.0.1 over UDP and TCP: ``www`` and ``api`` answer
A 127.0.0.1, ``slow`` answers A 127.0.0.2 after ``--slow-seconds`` (1.5), every other name
is NXDOMAIN and a name outside the zone is REFUSED. Each query is answered in its own
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


def answer(wire: bytes, counts: Counts, slow_seconds: float) -> bytes:
    query = dns.message.from_wire(wire)
    response = dns.message.make_response(query)
    question = query.question[0]
    name = question.name
    label = name.relativize(ZONE).to_text() if name.is_subdomain(ZONE) else None
    if label is None:
        response.set_rcode(dns.rcode.REFUSED)
    elif label in RECORDS:
        if label == "slow":
            gevent.sleep(slow_seconds)
        if question.rdtype == dns.rdatatype.A:
            response.answer.append(dns.rrset.from_text(name, 60, "IN", "A", RECORDS[label]))
    else:
        response.set_rcode(dns.rcode.NXDOMAIN)
    counts.record(name.to_text(), response.rcode())
    return response.to_wire()


def serve(port: int, counts: Counts, slow_seconds: float) -> list:
    def on_datagram(data: bytes, address) -> None:
        udp.sendto(answer(data, counts, slow_seconds), address)

    def on_stream(sock, address) -> None:
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
                reply = answer(data, counts, slow_seconds)
                sock.sendall(struct.pack("!H", len(reply)) + reply)

    udp = DatagramServer(("127.0.0.1", port), on_datagram)
    tcp = StreamServer(("127.0.0.1", port), on_stream)
    udp.start()
    tcp.start()
    return [udp, tcp]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5353)
    parser.add_argument("--counts-file")
    parser.add_argument("--slow-seconds", type=float, default=1.5)
    parser.add_argument("--max-seconds", type=float, default=3600)
    args = parser.parse_args()
    servers = serve(args.port, Counts(args.counts_file), args.slow_seconds)
    print(f"DNS server for {ZONE} on 127.0.0.1:{args.port} (udp, tcp)", flush=True)
    gevent.sleep(args.max_seconds)
    for server in servers:
        server.stop()


if __name__ == "__main__":
    main()
