"""The response-time histogram: exact counts in a flat amount of memory (issue #13).

A plain ``{bucket(value): count}`` dict is the reference every test compares with: the array
and outlier store must hold exactly those counts, whatever order or range the values come in.
"""

from __future__ import annotations

import json
import math
import pickle
import random
from array import array
from decimal import ROUND_HALF_UP, Decimal

import pytest

from pytest_loadhooks.histogram import (
    DENSE_LIMIT,
    ResponseTimeHistogram,
    bucket,
    bucket_index,
    bucket_value,
    percentile_of,
)
from pytest_loadhooks.stats import RequestStats, StatsEntry


def tally(values) -> dict[float, int]:
    counts: dict[float, int] = {}
    for value in values:
        counts[bucket(value)] = counts.get(bucket(value), 0) + 1
    return counts


def histogram_of(values) -> ResponseTimeHistogram:
    histogram = ResponseTimeHistogram()
    for value in values:
        histogram.add(value)
    return histogram


def mixed_values(rng: random.Random, n: int) -> list[float]:
    """Busy middles, long tails, sub-millisecond times, zero, a negative time and a huge one."""
    values = [rng.lognormvariate(math.log(20), 1.2) for _ in range(n)]
    values += [rng.uniform(0, 1) for _ in range(n // 10)]
    values += [0.0, -3.2, -0.0004, 7.5e6, 4.2e13, 999.6, 9.9996, 99.96]
    rng.shuffle(values)
    return values


def test_indexes_and_values_are_one_ordered_sequence():
    previous = -math.inf
    for index in range(-2500, DENSE_LIMIT + 3000):
        value = bucket_value(index)
        assert value > previous, index
        previous = value
        assert bucket_index(value) == index, (index, value)
        assert bucket(value) == value


def three_significant_digits(value: float) -> float:
    """The bucket rule written independently: microseconds below 1 ms, 3 significant digits above."""
    exact = Decimal(repr(value))
    if value < 1:
        return float(exact.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))
    step = Decimal(1).scaleb(exact.adjusted() - 2)
    return float((exact / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bucket_is_the_three_significant_digit_rounding(seed):
    rng = random.Random(seed)
    for _ in range(20_000):
        value = rng.lognormvariate(math.log(30), 2.5)
        expected = three_significant_digits(value)
        if bucket(value) != expected:  # only a value on the exact half, which binary floats round either way
            assert math.isclose(value, (bucket(value) + expected) / 2, rel_tol=1e-9), value
        assert abs(bucket(value) - value) <= 0.005 * value + 0.0005


def test_a_time_that_is_not_finite_is_refused_in_one_line():
    for value in (math.inf, math.nan):
        with pytest.raises(ValueError, match="finite number of milliseconds"):
            bucket_index(value)


@pytest.mark.parametrize("seed", [4, 5])
def test_counts_equal_the_plain_dict_in_every_view(seed):
    values = mixed_values(random.Random(seed), 30_000)
    histogram = histogram_of(values)
    reference = tally(values)
    assert histogram == reference and reference == histogram
    assert list(histogram.items()) == sorted(reference.items())
    assert list(histogram) == sorted(reference)
    assert len(histogram) == len(reference)
    assert histogram.total() == len(values)
    assert sum(histogram.values()) == len(values)
    for value, count in reference.items():
        assert histogram[value] == count and value in histogram
    assert 12.345 not in histogram and 0.0005 not in histogram and histogram.get(12.345) is None
    for q in (0, 0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 1):
        assert histogram.percentile(len(values), q) == percentile_of(reference, len(values), q)
    assert histogram.counts, "a busy histogram keeps its buckets in the array"


def test_a_quiet_endpoint_stays_in_the_small_dict():
    histogram = histogram_of([3.0, 250.0, 4100.0])
    assert len(histogram.counts) == 0 and len(histogram.outliers) == 3
    assert histogram.memory_bytes() < 300


def test_a_busy_endpoint_reaches_its_memory_early_and_stays_there():
    """What the soak run needs: after the first tenth of a long run the store no longer grows,
    while the number of distinct buckets keeps rising as the tails fill in."""
    rng = random.Random(6)
    histogram = ResponseTimeHistogram()
    sizes = []
    for checkpoint in range(10):
        for _ in range(50_000):
            histogram.add(rng.lognormvariate(math.log(15), 0.9))
        sizes.append((histogram.memory_bytes(), len(histogram)))
    first_bytes, first_buckets = sizes[0]
    last_bytes, last_buckets = sizes[-1]
    assert last_buckets > first_buckets * 1.2, sizes  # the tails did keep filling in
    assert last_bytes - first_bytes <= 8 * 1024, sizes  # at most a few array slots more
    assert last_bytes < 64 * last_buckets / 2, "smaller than a float-keyed dict of the same buckets"


def test_merging_and_windows_are_exact():
    rng = random.Random(7)
    first, second = mixed_values(rng, 8_000), mixed_values(rng, 300)
    merged = histogram_of(first)
    merged.update(histogram_of(second))
    assert merged == tally(first + second)
    from_dict = histogram_of(second)
    from_dict.update(tally(first))
    assert from_dict == tally(first + second)

    # The live window: a copy taken earlier, subtracted from the histogram as it is now, even
    # after the array grew over buckets that were outliers in the copy.
    growing = histogram_of(second)
    earlier = growing.copy()
    assert earlier == growing and earlier.counts is not growing.counts
    for value in first:
        growing.add(value)
    assert len(growing.counts) > len(earlier.counts)
    window = growing.since(earlier)
    assert window == tally(first)
    assert earlier == tally(second), "the copy did not move"


def test_serialized_forms_rebuild_the_same_counts():
    values = mixed_values(random.Random(8), 5_000)
    histogram = histogram_of(values)
    assert pickle.loads(pickle.dumps(histogram)) == histogram
    through_json = json.loads(json.dumps(histogram.to_dict()))  # keys become strings
    assert ResponseTimeHistogram(through_json) == histogram
    assert ResponseTimeHistogram(sorted(histogram.to_dict().items())) == histogram  # the older pairs wire
    assert eval(repr(histogram), {"ResponseTimeHistogram": ResponseTimeHistogram}) == histogram


def test_stats_entries_count_through_the_histogram_and_merge_exactly():
    rng = random.Random(9)
    values = mixed_values(rng, 4_000)
    stats = RequestStats()
    halves = RequestStats(), RequestStats()
    for i, value in enumerate(values):
        stats.log_request("GET", f"/n{i % 3}", value, 10)
        halves[i % 2].log_request("GET", f"/n{i % 3}", value, 10)
    assert stats.total.response_times == tally(values)
    entry = stats.get("/n0", "GET")
    rebuilt = StatsEntry.unserialize(json.loads(json.dumps(entry.serialize())))
    assert rebuilt.response_times == entry.response_times
    assert rebuilt.exact_percentile(0.95) == entry.exact_percentile(0.95)
    merged = RequestStats()
    for half in halves:
        merged.merge(json.loads(json.dumps(half.serialize())))
    assert merged.total.response_times == stats.total.response_times
    for q in (0.5, 0.95, 0.999):
        assert merged.total.exact_percentile(q) == stats.total.exact_percentile(q)


def test_a_window_against_a_wider_histogram_is_still_exact():
    """The total is re-summed from its endpoints: a window may start from a copy laid out wider."""
    rng = random.Random(10)
    first, second = mixed_values(rng, 6_000), mixed_values(rng, 50)
    wide = histogram_of(first)
    narrow = ResponseTimeHistogram()  # the same counts and more, every bucket kept as an outlier
    narrow.outliers = {bucket_index(value): count for value, count in tally(first + second).items()}
    assert narrow == tally(first + second) and len(narrow.counts) < len(wide.counts)
    assert narrow.since(wide) == tally(second)


def test_the_sum_of_many_histograms_is_exact():
    """The run's total is its endpoints' histograms added together, arrays and outliers alike."""
    rng = random.Random(11)
    parts = [mixed_values(rng, rng.choice((3, 40, 3_000))) for _ in range(12)]
    combined = ResponseTimeHistogram.sum_of(histogram_of(values) for values in parts)
    assert combined == tally([value for values in parts for value in values])
    assert ResponseTimeHistogram.sum_of([]) == {}


def test_histograms_without_an_array_share_none_of_their_counts():
    """Every histogram starts with the same empty array; one that grows gets its own."""
    quiet, busy = ResponseTimeHistogram(), ResponseTimeHistogram()
    assert quiet.counts is busy.counts and len(quiet.counts) == 0
    for value in mixed_values(random.Random(12), 5_000):
        busy.add(value)
    assert len(busy.counts) > 0 and len(quiet.counts) == 0 and ResponseTimeHistogram().counts == array("Q")
    quiet.add(20.0)
    assert quiet == {20.0: 1} and len(quiet.counts) == 0


def test_the_request_path_counts_a_quiet_endpoint_as_outliers_and_a_busy_one_in_its_array():
    stats = RequestStats()
    values = mixed_values(random.Random(13), 20_000)
    for value in values:
        stats.log_request("GET", "/busy", value, 1)
    for value in values[:10]:
        stats.log_request("GET", "/quiet", value, 1)
    busy, quiet = stats.get("/busy", "GET").response_times, stats.get("/quiet", "GET").response_times
    assert len(busy.counts) > 0 and busy == tally(values)
    assert len(quiet.counts) == 0 and quiet == tally(values[:10])
