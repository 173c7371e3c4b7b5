"""Issue 24: workers report their endpoints as columns (one binary array per figure across the
endpoints) and the master adds them with a few numpy operations. What is counted must not change:
a columnar report adds exactly what the per-entry form adds, whole or not at all."""

from __future__ import annotations

import math
import random
import subprocess
import sys

import msgpack
import pytest

from pytest_loadhooks.histogram import DENSE_LIMIT
from pytest_loadhooks.runners.master import _checked_stats
from pytest_loadhooks.stats import RequestStats, columnar_report


def over_the_wire(value):
    return msgpack.unpackb(msgpack.packb(value, use_bin_type=True), raw=False, strict_map_key=False)


def busy(seed: int, endpoints: int = 15) -> RequestStats:
    """Endpoints of every kind a report carries: busy and quiet, failures only, async (None) requests,
    negative and huge response times (histogram outliers), per-second counts over several seconds."""
    rng = random.Random(seed)
    stats = RequestStats()
    second = 1_796_000_000
    for i in range(endpoints * 120):
        name = f"/e{i % endpoints}"
        now = second + rng.randint(0, 2) + rng.random()
        stats.get(name, "GET" if i % 3 else "POST").log(rng.lognormvariate(math.log(5 + 20 * (i % endpoints)), 0.5),
                                                        rng.randint(0, 900), now=now)
        if i % 37 == 0:
            stats.log_error("GET", name, f"boom {i % 3}")
    stats.log_request("GET", "/async", None, 0)
    for value in (-3.5, 1e9, 7_000_000.0, 0.0004):
        stats.log_request("GET", "/odd", value, 10)
    stats.log_error("DELETE", "/only-failures", "refused")
    stats.log_exception(RuntimeError("user code"), "Traceback ...", node="local")
    return stats


def added(reports, form) -> RequestStats:
    master = RequestStats()
    master.total.start_time = 0.0  # the masters compared must not differ by when they were made
    for stats in reports:
        master.add_report(over_the_wire(form(stats)))
    return master


def test_a_columnar_report_adds_exactly_what_the_per_entry_one_adds():
    reports = [busy(seed) for seed in range(4)]
    by_entry = added(reports, lambda stats: stats.serialize(compact=True))
    by_column = added(reports, columnar_report)
    assert by_column.serialize() == by_entry.serialize()
    assert by_column.total.num_requests == sum(stats.total.num_requests for stats in reports)
    entry = by_column.entries[("/odd", "GET")]
    assert entry.min_response_time == -3.5 and entry.max_response_time == 1e9
    assert by_column.entries[("/only-failures", "DELETE")].min_response_time is None
    for q in (0.5, 0.95, 0.99, 0.999):
        assert by_column.total.exact_percentile(q) == by_entry.total.exact_percentile(q)


def test_merge_and_the_rebuilt_form_read_a_columnar_report():
    stats = busy(11)
    report = over_the_wire(columnar_report(stats))
    merged = RequestStats()
    merged.total.start_time = 0.0
    merged.merge(report)
    assert merged.serialize() == added([stats], lambda s: s.serialize()).serialize()
    assert _checked_stats(report).total.num_requests == stats.total.num_requests


def test_an_empty_report_adds_nothing_but_its_counts():
    master = RequestStats()
    assert master.add_report(over_the_wire(columnar_report(RequestStats()))) == 0
    assert not master.entries and master.total.num_requests == 0


def broken(columns: dict, key: str, value) -> dict:
    columns = dict(columns)
    columns[key] = value
    return columns


BREAKAGES = [
    ("names", "not a list"),
    ("names", None),
    ("methods", ["GET"]),
    ("counts", b"\x00" * 7),
    ("counts", "text"),
    ("times", b""),
    ("seconds", [1.5]),
    ("seconds", ["x"]),
    ("per_second", b"\x01"),
    ("firsts", b"\xff" * 8),
    ("lengths", None),
    ("widths", b"\x03" * 20),
    ("widths", 3),
    ("dense", b"\x01\x02\x03"),
    ("dense", "text"),
    ("outliers", [b"", b""]),
    ("outliers", "garbage"),
]


@pytest.mark.parametrize("breakage", BREAKAGES, ids=[f"{key}-{index}" for index, (key, _) in enumerate(BREAKAGES)])
def test_a_malformed_columnar_report_adds_nothing(breakage):
    key, bad = breakage
    master = RequestStats()
    master.add_report(over_the_wire(columnar_report(busy(1))))
    before = master.serialize()
    report = over_the_wire(columnar_report(busy(2)))
    report["columns"] = broken(report["columns"], key, bad)
    with pytest.raises(ValueError, match="malformed columnar stats report") as caught:
        master.add_report(report)
    assert "\n" not in str(caught.value)
    assert master.serialize() == before


def column_of(values, code: str) -> bytes:
    from array import array

    column = array(code, values)
    if sys.byteorder == "big":
        column.byteswap()
    return column.tobytes()


def test_values_a_worker_never_sends_are_refused_whole():
    stats = busy(3, endpoints=3)
    master = RequestStats()
    master.add_report(over_the_wire(columnar_report(stats)))
    before = master.serialize()
    good = over_the_wire(columnar_report(stats))["columns"]
    size = len(good["names"])
    negative_requests = column_of([-1] * size + [0] * (3 * size), "q")
    nan_total = column_of([math.nan] * (5 * size), "d")
    beyond = column_of([DENSE_LIMIT] * size, "q")
    more_outliers_than_sent = [column_of([1000] * size, "q"), 2, column_of([5], "h"), 1, b"\x01"]
    odd_width = [column_of([0] * size, "q"), 3, b"", 1, b""]
    negative_held = [column_of([-1] + [0] * (size - 1), "q"), 2, b"", 1, b""]
    odd_widths = bytes([3] * size)
    widest_first = bytes([8] + [1] * (size - 1))
    for key, bad in (("counts", negative_requests), ("times", nan_total), ("firsts", beyond), ("widths", odd_widths),
                     ("widths", widest_first),
                     ("outliers", more_outliers_than_sent), ("outliers", odd_width), ("outliers", negative_held)):
        report = over_the_wire(columnar_report(stats))
        report["columns"] = broken(good, key, bad)
        with pytest.raises(ValueError, match="malformed columnar stats report"):
            master.add_report(report)
    assert master.serialize() == before


def test_a_worker_builds_its_columnar_report_without_numpy():
    code = ("import sys, msgpack\n"
            "from pytest_loadhooks.stats import RequestStats, columnar_report\n"
            "stats = RequestStats()\n"
            "for i in range(3000):\n"
            "    stats.log_request('GET', f'/e{i % 50}', 5 + i % 400, 10)\n"
            "report = msgpack.packb(columnar_report(stats), use_bin_type=True)\n"
            "assert 'numpy' not in sys.modules, 'numpy imported'\n"
            "print(len(report))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 0


def test_a_columnar_report_is_no_bigger_than_the_per_entry_one():
    stats = busy(5, endpoints=40)
    columnar = len(msgpack.packb(columnar_report(stats), use_bin_type=True))
    by_entry = len(msgpack.packb(stats.serialize(compact=True), use_bin_type=True))
    assert columnar < by_entry


def test_a_report_of_one_second_adds_exactly_too():
    """A report a second mostly covers one second (the master reads that per-second column on a shorter path)."""
    reports = []
    for seed in range(3):
        stats, rng = RequestStats(), random.Random(seed)
        for i in range(500):
            stats.get(f"/e{i % 7}", "GET").log(rng.lognormvariate(3, 0.5), 10, now=1_796_000_000.5)
        stats.get("/failing", "POST").log_error("refused", now=1_796_000_000.7)
        reports.append(stats)
    assert len(over_the_wire(columnar_report(reports[0]))["columns"]["seconds"]) == 1
    by_column = added(reports, columnar_report)
    assert by_column.serialize() == added(reports, lambda stats: stats.serialize(compact=True)).serialize()
    assert by_column.entries[("/e0", "GET")].num_reqs_per_sec == {1_796_000_000: 3 * 72}


def test_a_worker_takes_its_counts_whole_and_counts_on_afresh():
    stats = busy(8, endpoints=4)
    before = stats.serialize()
    taken = stats.take_counts()
    assert taken.serialize()["entries"] == before["entries"]
    assert taken.serialize_errors() == before["errors"] and taken.total.num_requests == before["total"]["num_requests"]
    assert not stats.entries and not stats.errors and not stats.exceptions and stats.total.num_requests == 0
    stats.log_request("GET", "/after", 12.0, 5)
    assert ("/after", "GET") not in taken.entries and stats.total.num_requests == 1
    master = RequestStats()
    master.add_report(over_the_wire(columnar_report(taken)))
    assert master.total.num_requests == before["total"]["num_requests"]


def test_reports_added_together_add_exactly_what_they_add_one_by_one():
    """A master adds the reports it has already received in one batch (their endpoints summed with numpy,
    then one step an endpoint): the same counts, extremes, float totals (added in report order),
    histograms, per-second counts and endpoint start times as adding them one after the other."""
    reports = [busy(seed, endpoints=5 + seed) for seed in range(6)]  # endpoints new in later reports too
    reports[2].total.start_time = -5.0  # a report's start moves the total's, and later new endpoints'
    one_by_one = added(reports, columnar_report)
    together = RequestStats()
    together.total.start_time = 0.0
    outcomes = together.add_reports([over_the_wire(columnar_report(stats)) for stats in reports])
    assert outcomes == [stats.total.num_requests for stats in reports]
    assert together.serialize() == one_by_one.serialize()
    for key, entry in one_by_one.entries.items():
        mine = together.entries[key]
        assert (mine.start_time, mine.total_response_time, mine.last_request_timestamp) == \
            (entry.start_time, entry.total_response_time, entry.last_request_timestamp)
        assert mine.response_times.to_indexes() == entry.response_times.to_indexes()
        assert (mine.num_reqs_per_sec, mine.num_fail_per_sec) == (entry.num_reqs_per_sec, entry.num_fail_per_sec)
    for q in (0.5, 0.99, 0.999):
        assert together.total.exact_percentile(q) == one_by_one.total.exact_percentile(q)


def test_a_malformed_report_in_a_batch_adds_nothing_and_spoils_none_of_the_others():
    reports = [busy(seed) for seed in range(5)]  # enough to be added together (BATCH_FROM)
    wire = [over_the_wire(columnar_report(stats)) for stats in reports]
    broken = over_the_wire(columnar_report(busy(9)))
    broken["columns"]["counts"] = broken["columns"]["counts"][:-8]  # a column one item short
    master = RequestStats()
    master.total.start_time = 0.0
    outcomes = master.add_reports([wire[0], broken, "not a report", *wire[1:]])
    assert [type(outcome) for outcome in outcomes] == [int, ValueError, ValueError, int, int, int, int]
    assert "malformed columnar stats report" in str(outcomes[1]) and "\n" not in str(outcomes[1])
    assert master.serialize() == added(reports, columnar_report).serialize()


def test_a_batch_mixes_columnar_and_per_entry_reports_and_a_lone_report():
    reports = [busy(seed) for seed in range(3)]
    expected = added(reports, lambda stats: stats.serialize(compact=True)).serialize()
    master = RequestStats()
    master.total.start_time = 0.0
    master.add_reports([over_the_wire(columnar_report(reports[0])), over_the_wire(reports[1].serialize(compact=True)),
                        over_the_wire(columnar_report(reports[2]))])
    assert master.serialize() == expected
    lone = RequestStats()
    lone.total.start_time = 0.0
    for stats in reports:
        lone.add_reports([over_the_wire(columnar_report(stats))])
    assert lone.serialize() == expected


def test_a_master_adds_a_burst_of_reports_together_each_still_its_own():
    """Real master, real zmq clients speaking the protocol: a burst of reports (added in one batch) counts
    exactly what they hold; a malformed one among them is dropped alone; ``worker_report`` fires once a
    report with its data, each worker's in the order it sent them; each worker's requests are booked."""
    import gevent

    from pytest_loadhooks import Environment, __version__
    from pytest_loadhooks.rpc import Message
    from pytest_loadhooks.rpc.transport import Client

    env = Environment(user_classes=[])
    master = env.create_master_runner("127.0.0.1", 0)
    env.stats.total.start_time = 0.0
    seen = []
    env.events.worker_report.add_listener(lambda client_id, data, **_: seen.append((client_id, data["n"])))
    clients = [Client("127.0.0.1", master.master_bind_port, f"w{i}") for i in range(3)]
    try:
        for client in clients:
            client.send(Message("client_ready", {"version": __version__}, client.identity))
        for _ in range(200):
            if master.worker_count == 3:
                break
            gevent.sleep(0.05)
        reports = [busy(seed) for seed in range(6)]
        broken = over_the_wire(columnar_report(busy(9)))
        broken["columns"]["times"] = broken["columns"]["times"][:-8]
        for n, stats in enumerate(reports):
            client = clients[n % 3]
            client.send(Message("stats", {"stats": columnar_report(stats), "user_classes_count": {}, "n": n},
                                client.identity))
            if n == 2:
                client.send(Message("stats", {"stats": broken, "user_classes_count": {}, "n": -1}, client.identity))
        for _ in range(200):
            if len(seen) == 6 and master.dropped_messages:
                break
            gevent.sleep(0.05)
        assert sorted(seen) == sorted((f"w{n % 3}", n) for n in range(6))
        for worker in range(3):
            assert [n for client_id, n in seen if client_id == f"w{worker}"] == [worker, worker + 3]
        assert master.dropped_messages == 1
        expected = added(reports, columnar_report)
        assert env.stats.serialize()["entries"] == expected.serialize()["entries"]
        assert master.clients["w0"].requests_counted == reports[0].total.num_requests + reports[3].total.num_requests
    finally:
        master.quit()
        for client in clients:
            client.close(linger=0)
