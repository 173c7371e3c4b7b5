"""Request statistics: percentiles against an exact computation, the RPS window,
failures and errors, reset, history, and exact serialize / merge.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter

import msgpack
import pytest

from pytest_loadhooks.stats import (
    AGGREGATED_NAME,
    RequestStats,
    StatsEntry,
    StatsError,
    bucket,
    error_text,
    percentile_label,
)

QUANTILES = (0.0, 0.01, 0.1, 0.25, 0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0)


def nearest_rank(values: list[float], q: float) -> float:
    """The exact nearest-rank percentile: the ceil(q*n)-th smallest value (the smallest for q=0)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def response_times(rng: random.Random, n: int) -> list[float]:
    """Latency-like data from 1 ms to 60 s: a log-normal body and a long tail."""
    values = []
    for _ in range(n):
        if rng.random() < 0.02:
            values.append(rng.uniform(1000, 60000))
        else:
            values.append(min(max(rng.lognormvariate(3.5, 1.0), 1.0), 60000.0))
    return values


def feed(stats: RequestStats, observations) -> None:
    for method, name, response_time, length, error in observations:
        stats.on_request(request_type=method, name=name, response_time=response_time, response_length=length,
                         exception=error, response=None, context={}, start_time=0.0, url=None)


def observations(seed: int, n: int) -> list[tuple]:
    rng = random.Random(seed)
    names = [("GET", "/"), ("GET", "/page"), ("POST", "/cart"), ("GET", "/api/data")]
    errors = [None] * 17 + [ValueError("bad value"), ConnectionError("refused"), RuntimeError("500 for /cart")]
    out = []
    for value in response_times(rng, n):
        method, name = rng.choice(names)
        out.append((method, name, value, rng.randint(0, 5000), rng.choice(errors)))
    return out


# -- percentiles ------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_are_within_one_percent_of_the_exact_nearest_rank(seed):
    rng = random.Random(seed)
    values = response_times(rng, 20_000)
    stats = RequestStats()
    feed(stats, [("GET", "/", v, 10, None) for v in values])
    entry = stats.get("/", "GET")
    for q in QUANTILES:
        exact = nearest_rank(values, q)
        for measured in (entry.exact_percentile(q), stats.total.exact_percentile(q)):
            assert abs(measured - exact) <= 0.01 * exact, (q, measured, exact)
        # Locust's call gives Locust's type: the same figure, to the nearest whole millisecond.
        assert entry.get_response_time_percentile(q) == round(entry.exact_percentile(q))
    median = nearest_rank(values, 0.5)
    assert abs(entry.exact_median_response_time - median) <= 0.01 * median
    assert entry.median_response_time == round(entry.exact_median_response_time)
    # min, max, average and count are exact, not bucketed.
    assert entry.min_response_time == min(values)
    assert entry.max_response_time == max(values)
    assert entry.avg_response_time == pytest.approx(sum(values) / len(values), rel=1e-9)
    assert entry.num_requests == len(values)


def test_percentiles_of_small_and_sub_millisecond_samples():
    stats = RequestStats()
    feed(stats, [("GET", "/", v, 0, None) for v in (0.25, 0.5, 0.75, 3.0, 250.0)])
    entry = stats.get("/", "GET")
    assert entry.exact_percentile(0.2) == pytest.approx(0.25, abs=0.001)
    assert entry.exact_percentile(0.5) == pytest.approx(0.75, abs=0.001)
    assert entry.exact_percentile(1.0) == 250.0
    assert StatsEntry("empty").exact_percentile(0.95) == 0.0
    # Locust's call rounds to whole milliseconds, an int, as Locust's bucket keys are.
    assert [entry.get_response_time_percentile(q) for q in (0.2, 0.5, 1.0)] == [0, 1, 250]
    assert all(type(entry.get_response_time_percentile(q)) is int for q in (0.2, 0.5, 1.0))
    assert StatsEntry("empty").get_response_time_percentile(0.95) == 0
    with pytest.raises(ValueError):
        entry.get_response_time_percentile(1.5)


def test_bucket_keeps_three_significant_digits():
    rng = random.Random(7)
    for _ in range(5000):
        value = rng.uniform(1, 1_000_000)
        assert abs(bucket(value) - value) <= 0.005 * value


def test_percentile_labels():
    assert percentile_label(0.95) == "95"
    assert percentile_label(0.5) == "50"
    assert percentile_label(0.999) == "99.9"
    summary = StatsEntry("x").summary(percentiles=(0.5, 0.999))
    assert "p50" in summary and "p99.9" in summary


# -- RPS window -------------------------------------------------------------------------------------------

def _ramping_entry(until: int) -> StatsEntry:
    """An entry with 5 requests in second 1000, 6 in 1001, ... up to second ``until`` (excluded)."""
    entry = StatsEntry("/", "GET", rps_window=10)
    entry.start_time = 1000.0
    for second in range(1000, until):
        for i in range(second - 995):
            entry.log(10.0, 1, now=second + i / 100)
    return entry


def test_current_rps_counts_completed_seconds_of_the_window():
    entry = _ramping_entry(1020)
    # Window at 1020.5: seconds 1010..1019 hold 15..24 requests.
    assert entry.current_rps_at(1020.5) == pytest.approx(sum(range(15, 25)) / 10)
    # Long after the last request the rate falls to zero.
    assert entry.current_rps_at(1100.0) == 0.0
    assert entry.num_requests == sum(range(5, 25))
    # The second in progress does not count: at 1015.99 the window is 1005..1014 (1015 is under way).
    assert _ramping_entry(1016).current_rps_at(1015.99) == pytest.approx(sum(range(10, 20)) / 10)
    # Early in a run the window is only as long as the run: 1000..1002.
    assert _ramping_entry(1004).current_rps_at(1003.2) == pytest.approx((5 + 6 + 7) / 3)
    # In the first second nothing is complete yet.
    assert _ramping_entry(1001).current_rps_at(1000.7) == 0.0


def test_per_second_counts_are_kept_for_the_window_only():
    # The live rates need the window's seconds; the run's long view is its history. Kept for a
    # whole run they grew by a counter a second per endpoint (hours-long soaks: gigabytes).
    entry = _ramping_entry(1020)
    assert min(entry.num_reqs_per_sec) >= 1020 - 1 - entry.rps_window - 2
    assert len(entry.num_reqs_per_sec) <= entry.rps_window + 3


def test_current_fail_per_sec_uses_the_same_window():
    entry = StatsEntry("/", "GET", rps_window=5)
    entry.start_time = 2000.0
    for second in range(2000, 2010):
        entry.log(1.0, 0, now=second + 0.5)
        entry.log(1.0, 0, now=second + 0.6)
        if second % 2 == 0:
            entry.log_error(now=second + 0.6)
    assert entry.current_rps_at(2010.1) == pytest.approx(2.0)
    # Seconds 2005..2009: failures in 2006 and 2008.
    assert entry.current_fail_per_sec_at(2010.1) == pytest.approx(2 / 5)
    assert entry.fail_ratio == pytest.approx(5 / 20)


def test_pruning_old_seconds_keeps_the_current_window():
    entry = StatsEntry("/", "GET", rps_window=3)
    entry.start_time = 100.0
    for second in range(100, 200):
        entry.log(1.0, 0, now=second + 0.1)
    before = entry.current_rps_at(200.5)
    entry.prune_per_second(200.5)
    assert len(entry.num_reqs_per_sec) <= 6
    assert entry.current_rps_at(200.5) == before == 1.0


def test_total_rps_over_the_whole_run():
    entry = StatsEntry("/", "GET")
    entry.start_time = 50.0
    for i in range(40):
        entry.log(1.0, 0, now=50.0 + i * 0.25)
    assert entry.total_rps == pytest.approx(40 / 9.75)


# -- failures, errors, exceptions -------------------------------------------------------------------------

def test_failures_are_grouped_by_method_name_and_error():
    stats = RequestStats()

    class Weird:
        pass  # its repr holds its memory address

    feed(stats, [
        ("GET", "/a", 1.0, 0, ValueError("boom")),
        ("GET", "/a", 1.0, 0, ValueError("boom")),
        ("POST", "/a", 1.0, 0, ValueError("boom")),
        ("GET", "/a", 1.0, 0, KeyError("other")),
        ("GET", "/b", 1.0, 0, None),
    ])
    stats.log_failure("GET", "/c", Weird())
    stats.log_failure("GET", "/c", Weird())  # different address, same error once addresses are masked
    occurrences = {(r.method, r.name, r["error"]): r["occurrences"] for r in stats.errors.values()}
    weird = f"<{Weird.__module__}.{Weird.__qualname__} object at 0x....>"
    assert occurrences == {
        ("GET", "/a", "ValueError('boom')"): 2,
        ("POST", "/a", "ValueError('boom')"): 1,
        ("GET", "/a", "KeyError('other')"): 1,
        ("GET", "/c", weird): 2,
    }
    assert stats.get("/a", "GET").num_failures == 3 and stats.get("/b", "GET").num_failures == 0
    assert stats.total.num_failures == 4 and stats.total.num_requests == 5
    assert stats.fail_ratio == pytest.approx(0.8)
    assert error_text("plain message") == "plain message"
    # Keyed as Locust keys them, each row Locust's serialized record.
    key = StatsError.create_key("GET", "/a", ValueError("boom"))
    assert stats.serialize_errors()[key]["error"] == "ValueError('boom')"
    assert stats.serialize_errors()[key]["occurrences"] == 2


def test_user_exceptions_are_counted_per_traceback():
    stats = RequestStats()
    error = RuntimeError("x")
    stats.log_exception(error, "Traceback A")
    stats.log_exception(error, "Traceback A", node="worker-1")
    stats.log_exception(error, "Traceback B")
    assert stats.exceptions["Traceback A"]["count"] == 2
    assert stats.exceptions["Traceback A"]["nodes"] == ["local", "worker-1"]
    assert stats.exceptions["Traceback B"]["count"] == 1


# -- reset -----------------------------------------------------------------------------------------------

def test_reset_zeroes_everything():
    stats = RequestStats()
    feed(stats, observations(11, 500))
    stats.log_exception(RuntimeError("x"), "tb")
    stats.sample_history(3)
    assert stats.total.num_requests == 500 and stats.errors and stats.exceptions and stats.history
    stats.reset_all()
    assert stats.total.num_requests == 0 and stats.total.num_failures == 0
    assert stats.total.response_times == {} and stats.total.min_response_time is None
    assert stats.entries == {} and stats.errors == {} and stats.exceptions == {} and stats.history == []
    assert stats.serialize_stats() == []
    feed(stats, [("GET", "/", 4.0, 1, None)])
    assert stats.total.num_requests == 1 and stats.total.get_response_time_percentile(0.5) == 4.0

    entry = StatsEntry("/x", "GET")
    entry.log(5.0, 10, now=entry.start_time)
    entry.log_error(now=entry.start_time)
    entry.reset()
    assert (entry.num_requests, entry.num_failures, entry.total_content_length, entry.response_times) == (0, 0, 0, {})


# -- history -----------------------------------------------------------------------------------------------

def test_history_rows_hold_windowed_percentiles():
    stats = RequestStats(rps_window=2)
    now = 5000.0
    stats.total.start_time = now
    feed(stats, [("GET", "/", 10.0, 0, None)] * 50)
    first = stats.sample_history(4, now=now + 1.0)
    assert first["user_count"] == 4 and first["num_requests"] == 50
    assert first["response_time_percentile_0.5"] == 10.0 and first["response_time_percentile_0.95"] == 10.0
    feed(stats, [("GET", "/", 200.0, 0, None)] * 50)
    second = stats.sample_history(4, now=now + 2.0)
    # Two seconds in, the 2 s window still reaches back to the start: half are fast.
    assert second["response_time_percentile_0.5"] == 10.0
    assert stats.windowed_percentile(0.5, now=now + 2.5) == 10.0  # between samples too (the live line)
    third = stats.sample_history(4, now=now + 3.0)
    # The last two seconds hold only the slower requests.
    assert third["response_time_percentile_0.5"] == 200.0
    # Overall, half are fast.
    assert stats.total.get_response_time_percentile(0.5) == 10.0
    assert stats.history == [first, second, third]


# -- serialize and merge ------------------------------------------------------------------------------------

def entry_figures(entry: StatsEntry) -> dict:
    return {
        "num_requests": entry.num_requests,
        "num_failures": entry.num_failures,
        "min": entry.min_response_time,
        "max": entry.max_response_time,
        "content": entry.total_content_length,
        "histogram": dict(entry.response_times),
        # Per-second counters are keyed by wall-clock second (which differs between the
        # feeds): their sums must agree, and merging must add them key by key (checked below).
        "per_second_total": sum(entry.num_reqs_per_sec.values()),
        "fail_per_second_total": sum(entry.num_fail_per_sec.values()),
        "percentiles": [entry.get_response_time_percentile(q) for q in QUANTILES],
    }


@pytest.mark.parametrize("transport", ["plain", "json", "msgpack"])
@pytest.mark.parametrize("seed", [21, 22])
def test_split_serialize_merge_equals_one_stats_fed_everything(seed, transport):
    data = observations(seed, 8000)
    rng = random.Random(seed + 100)
    left, right = [], []
    for item in data:
        (left if rng.random() < 0.4 else right).append(item)

    whole, part_a, part_b = RequestStats(), RequestStats(), RequestStats()
    feed(whole, data)
    feed(part_a, left)
    feed(part_b, right)

    def carry(serialized):
        if transport == "json":
            return json.loads(json.dumps(serialized))
        if transport == "msgpack":
            return msgpack.unpackb(msgpack.packb(serialized), strict_map_key=False)
        return serialized

    merged = RequestStats()
    merged.merge(carry(part_a.serialize()))
    merged.merge(carry(part_b.serialize()))
    # A master's way: each report rebuilt (checked) first, then added as it is.
    extended = RequestStats()
    extended.extend(RequestStats.from_serialized(carry(part_a.serialize())))
    extended.extend(RequestStats.from_serialized(carry(part_b.serialize())))
    for key, entry in merged.entries.items():
        assert entry_figures(extended.entries[key]) == entry_figures(entry), key
    assert entry_figures(extended.total) == entry_figures(merged.total)
    assert extended.errors.keys() == merged.errors.keys()
    assert [e.occurrences for e in extended.errors.values()] == [e.occurrences for e in merged.errors.values()]

    assert set(merged.entries) == set(whole.entries)
    for key, entry in whole.entries.items():
        assert entry_figures(merged.entries[key]) == entry_figures(entry), key
        assert merged.entries[key].total_response_time == pytest.approx(entry.total_response_time, rel=1e-12)
    assert entry_figures(merged.total) == entry_figures(whole.total)
    assert merged.total.num_reqs_per_sec == dict(
        Counter(part_a.total.num_reqs_per_sec) + Counter(part_b.total.num_reqs_per_sec)
    )
    assert merged.total.num_fail_per_sec == dict(
        Counter(part_a.total.num_fail_per_sec) + Counter(part_b.total.num_fail_per_sec)
    )
    assert merged.total.name == AGGREGATED_NAME
    assert {k: (r.to_dict()['error'], r.occurrences) for k, r in merged.errors.items()} == {
        k: (r.to_dict()['error'], r.occurrences) for k, r in whole.errors.items()}
    assert merged.fail_ratio == whole.fail_ratio
    assert [e["name"] for e in merged.serialize_stats()] == [e["name"] for e in whole.serialize_stats()]

    # from_serialized gives the same as merging into an empty RequestStats.
    copy = RequestStats.from_serialized(carry(whole.serialize()))
    assert entry_figures(copy.total) == entry_figures(whole.total)


def test_serialize_stats_is_plain_data_of_every_entry():
    stats = RequestStats()
    feed(stats, observations(5, 300))
    serialized = stats.serialize_stats()
    assert {(e["method"], e["name"]) for e in serialized} == set((m, n) for (n, m) in stats.entries)
    assert sum(e["num_requests"] for e in serialized) == 300
    # Locust's shape: distributions are dicts keyed by number (JSON makes the keys strings,
    # and unserialize reads them back).
    first = serialized[0]
    assert set(first) == {
        "name", "method", "last_request_timestamp", "start_time", "num_requests", "num_none_requests",
        "num_failures", "total_response_time", "max_response_time", "min_response_time",
        "total_content_length", "response_times", "num_reqs_per_sec", "num_fail_per_sec",
    }
    assert StatsEntry.unserialize(first).serialize() == first
    assert StatsEntry.unserialize(json.loads(json.dumps(first))).serialize() == first
