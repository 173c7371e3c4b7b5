"""Issue 24: a worker's report travels with packed histograms and the master adds it without
rebuilding it; what is counted must not change (exact, whole or not at all)."""

from __future__ import annotations

import random

import msgpack
import pytest

from pytest_loadhooks.histogram import DENSE_LIMIT, ResponseTimeHistogram, packed_parts
from pytest_loadhooks.rpc.protocol import Message, decode, encode
from pytest_loadhooks.runners.master import _checked_stats
from pytest_loadhooks.stats import RequestStats


def random_histogram(rng: random.Random, size: int) -> ResponseTimeHistogram:
    histogram = ResponseTimeHistogram()
    for _ in range(size):
        value = rng.choice([rng.lognormvariate(3, 1.5), rng.lognormvariate(4, 0.4), -rng.random() * 5,
                            rng.random() * 1e7, 1e12, 0.0004])
        histogram.add(value, rng.choice([1, 1, 1, 300, 70_000, 2**40]))
    return histogram


def over_the_wire(value):
    return msgpack.unpackb(msgpack.packb(value, use_bin_type=True), raw=False, strict_map_key=False)


@pytest.mark.parametrize("seed", range(6))
def test_a_packed_histogram_reads_back_and_adds_exactly(seed):
    rng = random.Random(seed)
    for size in (0, 1, 2, 5, 60, 400, 3000):
        reported = random_histogram(rng, size)
        packed = over_the_wire(reported.to_packed())
        assert dict(ResponseTimeHistogram.from_packed(packed).items()) == dict(reported.items())
        master = random_histogram(rng, rng.choice([0, 10, 2000]))
        expected = dict(master.items())
        for value, count in reported.items():
            expected[value] = expected.get(value, 0) + count
        master.add_packed(*packed_parts(packed))
        assert dict(master.items()) == expected
        assert master.total() == sum(expected.values())


def filled(seed: int, endpoints: int = 12) -> RequestStats:
    rng = random.Random(seed)
    stats = RequestStats()
    for i in range(endpoints * 150):
        name = f"/e{i % endpoints}"
        stats.log_request("GET" if i % 3 else "POST", name, rng.lognormvariate(3.5, 0.6), rng.randint(0, 900))
        if i % 40 == 0:
            stats.log_error("GET", name, "boom")
    stats.log_request("GET", "/async", None, 0)
    return stats


def test_adding_reports_counts_what_rebuilding_them_counted():
    reports = [over_the_wire({"stats": filled(seed).serialize(compact=True)})["stats"] for seed in range(4)]
    rebuilt, added = RequestStats(), RequestStats()
    for report in reports:
        rebuilt.extend(_checked_stats(report))
        assert added.add_report(report) == report["total"]["num_requests"]
    assert set(added.entries) == set(rebuilt.entries)
    for key, entry in rebuilt.entries.items():
        other = added.entries[key]
        assert dict(other.response_times.items()) == dict(entry.response_times.items())
        assert other.serialize() == entry.serialize()
    assert added.total.serialize() == rebuilt.total.serialize()
    assert added.serialize_errors() == rebuilt.serialize_errors()
    for q in (0.5, 0.95, 0.99, 0.999):
        assert added.total.exact_percentile(q) == rebuilt.total.exact_percentile(q)


def test_the_uncompact_and_index_keyed_forms_are_added_too():
    stats = filled(7)
    for data in (stats.serialize(), over_the_wire(stats.serialize())):
        added = RequestStats()
        added.add_report(data)
        assert added.total.serialize()["response_times"] == stats.total.serialize()["response_times"]
        assert added.total.num_requests == stats.total.num_requests


@pytest.mark.parametrize("breakage", [
    ("response_time_packed", [0, 3, b"\x01\x02\x03", {}]),
    ("response_time_packed", [DENSE_LIMIT, 1, b"\x01", {}]),
    ("response_time_packed", [-1, 1, b"\x01", {}]),
    ("response_time_packed", [0, 2, b"\x01\x02\x03", {}]),
    ("response_time_packed", [0, 1, b"", {1200: -1}]),
    ("response_time_packed", [0, 1, b"", {"x": 1}]),
    ("response_time_packed", [0, 1, "text", {}]),
    ("response_time_packed", "garbage"),
    ("num_requests", "12"),
    ("max_response_time", None),
    ("name", 5),
    ("num_reqs_per_sec", 7),
])
def test_a_malformed_report_adds_nothing(breakage):
    key, bad = breakage
    master = RequestStats()
    master.add_report(over_the_wire(filled(1).serialize(compact=True)))
    before = master.serialize()
    report = over_the_wire(filled(2).serialize(compact=True))
    report["entries"][-1][key] = bad
    with pytest.raises(ValueError) as caught:
        master.add_report(report)
    assert "\n" not in str(caught.value)
    assert master.serialize() == before


def test_a_report_missing_a_figure_or_not_a_mapping_is_refused():
    master = RequestStats()
    report = filled(3).serialize(compact=True)
    del report["entries"][0]["total_response_time"]
    with pytest.raises(ValueError, match="malformed stats entry"):
        master.add_report(report)
    with pytest.raises(ValueError, match="not a mapping"):
        master.add_report([1, 2])
    assert master.total.num_requests == 0 and not master.entries


def test_a_compact_report_is_smaller_than_the_plain_one():
    stats = filled(4)
    compact = len(encode(Message("stats", stats.serialize(compact=True), "w1")))
    plain = len(encode(Message("stats", stats.serialize(), "w1")))
    assert compact < plain * 0.6  # response times spread wide: the index-keyed form took about half
    assert decode(encode(Message("stats", stats.serialize(compact=True), "w1"))).data["entries"]


def test_a_total_over_many_endpoints_is_summed_exactly_with_numpy():
    """From NUMPY_SUM_FROM arrays on, a run's total is summed in numpy views (10x faster than packed
    integers at 200 endpoints); the counts are those of a plain dict sum."""
    from pytest_loadhooks.histogram import NUMPY_SUM_FROM

    rng = random.Random(11)
    histograms = [random_histogram(rng, rng.choice([0, 2, 2500, 2500])) for _ in range(NUMPY_SUM_FROM * 3)]
    assert sum(1 for histogram in histograms if histogram.counts) >= NUMPY_SUM_FROM
    expected: dict[float, int] = {}
    for histogram in histograms:
        for value, count in histogram.items():
            expected[value] = expected.get(value, 0) + count
    summed = ResponseTimeHistogram.sum_of(histograms)
    assert dict(summed.items()) == expected


def test_quiet_endpoints_reports_do_not_lay_out_arrays_on_the_master():
    """10,000 names hit a few times each must not cost the master an array each (their buckets stay
    the small dict they would be on a worker); a busy endpoint's reports do lay one out."""
    master, everything = RequestStats(), RequestStats()
    for report_number in range(5):
        worker = RequestStats()
        for stats in (worker, everything):
            for name in range(300):
                stats.log_request("GET", f"/quiet-{name}", 500 + report_number, 10)
                stats.log_request("GET", f"/quiet-{name}", 501 + report_number, 10)
            for i in range(3000):
                stats.log_request("GET", "/busy", 20 + (i % 400) / 10, 10)
        master.add_report(over_the_wire(worker.serialize(compact=True)))
    quiet = master.entries[("/quiet-7", "GET")].response_times
    assert dict(quiet.items()) == dict(everything.entries[("/quiet-7", "GET")].response_times.items())
    assert len(quiet) == 6 and not quiet.counts and quiet.memory_bytes() < 1000
    busy = master.entries[("/busy", "GET")].response_times
    assert len(busy.counts) > 0 and busy.total() == 15000
    assert dict(busy.items()) == dict(everything.entries[("/busy", "GET")].response_times.items())


def test_an_open_model_report_adds_its_counts_and_a_malformed_one_adds_nothing():
    """An arrival-rate worker's iterations travel in its stats report (issue 21): the master's add_report
    counts them, as merge() does; broken counts refuse the whole report."""
    from pytest_loadhooks.open_model import OpenModelStats

    worker = filled(5)
    worker.open_model = OpenModelStats()
    worker.open_model.iterations, worker.open_model.dropped_iterations = 7, 2
    master = RequestStats()
    master.add_report(over_the_wire(worker.serialize(compact=True)))
    assert (master.open_model.iterations, master.open_model.dropped_iterations) == (7, 2)
    before = master.serialize()
    report = over_the_wire(worker.serialize(compact=True))
    report["open_model"]["iterations"] = "many"
    with pytest.raises(ValueError, match="malformed open-model counts"):
        master.add_report(report)
    assert master.serialize() == before
