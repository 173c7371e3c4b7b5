"""Soak runs (issue #13): hours of history through the real sampling code, on synthetic time.

Memory stays bounded (per-second counters kept to the RPS window, history summarised past its
recent part, window snapshots few) while the history CSV keeps every row, the report's charts
still span the whole run, spikes survive summarising, and totals and percentiles stay exact.
"""

from __future__ import annotations

import csv
import math
import random
from types import SimpleNamespace

import pytest

from pytest_loadhooks import Environment, Events
from pytest_loadhooks import stats as stats_module
from pytest_loadhooks.history import MAX_SUMMARIES, RECENT_ROWS, History
from pytest_loadhooks.report import ReportWriter, read_json
from pytest_loadhooks.report.html import view_model
from pytest_loadhooks.stats import RequestStats, bucket, percentile_of

START = 1_800_000_000.0
EIGHT_HOURS = 8 * 3600  # the soak
FOUR_HOURS = 4 * 3600  # long enough to fold and halve summaries several times, half the test's time
SPIKE_SECOND = 1800  # half an hour in: one second of very slow responses
NAMES = ("/cart", "/page", "/api/data")
HISTORY_BOUND = RECENT_ROWS + MAX_SUMMARIES + 1


class Clock:
    """The stats module's time: ``time.time()`` and the request listener's ``_now``."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(stats_module, "time", SimpleNamespace(time=clock))
    monkeypatch.setattr(stats_module, "_now", clock)
    return clock


def soak(clock: Clock, sample, stats: RequestStats, seconds: int) -> list[float]:
    """``seconds`` of traffic, three names, two requests a second each (one slow second at
    ``SPIKE_SECOND``), a failure every 10 s; ``sample()`` at the end of every second, as the
    runners' history loop does. Returns every response time recorded."""
    rng = random.Random(13)
    # A few dozen distinct times: the histograms stay small, so hours of samples take seconds.
    usual = [round(rng.lognormvariate(math.log(20), 0.4), 1) for _ in range(40)]
    recorded = []
    for second in range(seconds):
        for index, name in enumerate(NAMES):
            for half in (0.25, 0.75):
                clock.now = START + second + half
                response_time = 4000.0 + 100 * index if second == SPIKE_SECOND else rng.choice(usual)
                failed = second % 10 == 0 and half == 0.25 and index == 0
                stats.on_request("GET", name, response_time, 100, exception=RuntimeError("boom") if failed else None)
                recorded.append(response_time)
        clock.now = START + second + 1.0
        sample()
    return recorded


def assert_exact(stats: RequestStats, recorded: list[float], seconds: int) -> None:
    """Totals and percentiles are what every recorded request makes them, bucket for bucket."""
    histogram: dict[float, int] = {}
    for value in recorded:
        histogram[bucket(value)] = histogram.get(bucket(value), 0) + 1
    assert stats.total.num_requests == len(recorded)
    assert stats.total.num_failures == seconds // 10
    assert stats.total.response_times == histogram
    assert stats.total.total_response_time == pytest.approx(sum(recorded))
    assert stats.total.max_response_time == max(recorded)
    for q in (0.5, 0.95, 0.99, 0.999, 1.0):
        assert stats.total.exact_percentile(q) == percentile_of(histogram, len(recorded), q)
    assert stats.total.exact_percentile(1.0) == 4200.0  # the spike, half a run ago


def assert_bounded(stats: RequestStats) -> None:
    for entry in stats.entries.values():
        assert len(entry.num_reqs_per_sec) <= stats.rps_window + 3
        assert len(entry.num_fail_per_sec) <= stats.rps_window + 3
    assert len(stats._window_snapshots) <= stats.rps_window + 2
    assert len(stats.history) <= HISTORY_BOUND


def assert_spans_the_run(history, seconds: int, spike: bool = True) -> None:
    """The rows cover the whole run: every sample is in exactly one row, the first from its first second."""
    rows = list(history)
    assert sum(row.get("samples", 1) for row in rows) == seconds
    first = rows[0]
    assert first.get("min", first)["time"] == START + 1.0
    assert rows[-1]["time"] == START + seconds
    times = [row["time"] for row in rows]
    assert times == sorted(times)
    if not spike:
        return
    # The spike's second was folded into a summary long ago; its maximum is still there.
    holding = [row for row in rows if row.get("min", row)["time"] <= START + SPIKE_SECOND + 1 <= row["time"]]
    assert len(holding) == 1 and holding[0]["samples"] > 1
    assert holding[0]["max"]["response_time_percentile_0.95"] >= 4000.0


def test_eight_hours_of_history_stay_bounded_span_the_run_and_leave_the_numbers_exact(clock):
    stats = RequestStats()
    recorded = soak(clock, lambda: stats.sample_history(4), stats, EIGHT_HOURS)
    assert stats.history.sampled == EIGHT_HOURS
    assert_bounded(stats)
    assert_spans_the_run(stats.history, EIGHT_HOURS)
    assert_exact(stats, recorded, EIGHT_HOURS)
    # The newest ten minutes are the rows as sampled, one a second.
    recent = list(stats.history)[-RECENT_ROWS:]
    assert [row["time"] for row in recent] == [START + s + 1.0 for s in range(EIGHT_HOURS - RECENT_ROWS, EIGHT_HOURS)]
    assert all("samples" not in row for row in recent)
    # A summary's run-so-far figures are exact at its end; its levels are averages within min..max.
    summary = stats.history[0]
    assert summary["num_requests"] == int(summary["time"] - START) * len(NAMES) * 2
    for key in ("current_rps", "response_time_percentile_0.5", "user_count"):
        assert summary["min"][key] <= summary[key] <= summary["max"][key]


def test_a_run_sampled_by_its_runner_streams_every_row_to_csv_and_its_report_spans_the_whole_run(
        clock, tmp_path):
    environment = Environment(user_classes=[], events=Events())
    runner = environment.create_local_runner()
    environment.stats.reset_all()  # as a run's start does, on the synthetic clock
    runner.start_time = START
    writer = ReportWriter(html=tmp_path / "report.html", csv_prefix=tmp_path / "soak", json_path=tmp_path / "r.json")
    writer.attach(runner)
    recorded = soak(clock, runner.sample_history, environment.stats, FOUR_HOURS)
    runner.stop_time = clock.now
    writer.finish(environment, {"users": 4, "spawn_rate": 4, "run_time": FOUR_HOURS})

    # The CSV on disk: every sampled row, at full resolution, from the first second to the last.
    with open(tmp_path / "soak_stats_history.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == FOUR_HOURS
    assert [int(rows[0]["Timestamp"]), int(rows[-1]["Timestamp"])] == [int(START) + 1, int(START) + FOUR_HOURS]
    assert int(rows[-1]["Total Request Count"]) == len(recorded)
    assert max(float(row["95%"]) for row in rows) >= 4000.0

    # The document (and so the JSON and HTML): bounded, spanning the run, the spike kept.
    data = read_json(tmp_path / "r.json")  # validated against the schema on reading
    assert len(data["history"]) <= HISTORY_BOUND
    assert_spans_the_run(data["history"], FOUR_HOURS)
    assert data["total"]["num_requests"] == len(recorded)
    assert data["total"]["percentiles"]["100"] == 4200.0
    timeline = view_model(data)["charts"]["timeline"]
    assert len(timeline["time"]) == len(data["history"])
    span = timeline["time"][-1] - timeline["time"][0]
    assert span == pytest.approx(FOUR_HOURS - data["history"][0]["samples"], abs=1)
    assert max(timeline["p95"]) >= 4000.0  # the spike is on the chart
    assert timeline["rps"][0] == pytest.approx(6.0, rel=0.01)  # 6 requests a second, averaged per sample
    assert "4,200" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_a_master_merging_worker_reports_for_hours_stays_bounded_and_exact(clock):
    """What a master does (``stats.merge`` of each worker's report, history sampled every second), and what a
    worker's running tally of everything it reported does (``reported_stats.merge``, never sampled)."""
    master = RequestStats()
    tally = RequestStats()
    workers = [RequestStats(), RequestStats()]
    recorded: list[float] = []
    for second in range(0, FOUR_HOURS, 3):  # a report every 3 s from each worker
        chunk = []
        for worker in workers:
            chunk += soak_slice(clock, worker, second)
            report = worker.serialize()
            worker.reset_all()
            master.merge(report)
            tally.merge(report)
        recorded += chunk
        for tick in range(3):
            clock.now = START + second + tick + 1.0
            master.sample_history(8)
    assert_bounded(master)
    for entry in tally.entries.values():
        assert len(entry.num_reqs_per_sec) <= tally.rps_window + 3
    assert master.total.num_requests == tally.total.num_requests == len(recorded)
    assert master.total.response_times == tally.total.response_times
    assert master.history.sampled == FOUR_HOURS and len(master.history) <= HISTORY_BOUND
    assert_spans_the_run(master.history, FOUR_HOURS, spike=False)


def soak_slice(clock: Clock, worker: RequestStats, second: int) -> list[float]:
    recorded = []
    for tick in range(3):
        for name in NAMES:
            clock.now = START + second + tick + 0.5
            value = 10.0 + (second + tick) % 50
            worker.on_request("GET", name, value, 10)
            recorded.append(value)
    return recorded


def test_an_endpoint_that_stops_receiving_traffic_keeps_no_seconds_beyond_the_window(clock):
    stats = RequestStats()
    for second in range(30):
        clock.now = START + second + 0.5
        stats.on_request("GET", "/early", 10.0, 1, exception=RuntimeError("x"))
    for second in range(30, 300):
        clock.now = START + second + 0.5
        stats.on_request("GET", "/late", 10.0, 1)
        clock.now = START + second + 1.0
        stats.sample_history(1)
    early = stats.entries[("/early", "GET")]
    assert early.num_reqs_per_sec == {} and early.num_fail_per_sec == {}
    assert early.num_requests == early.num_failures == 30  # its counts stay: only the per-second detail goes
    assert stats.total.current_rps_at(clock.now) == pytest.approx(1.0)


def test_history_reads_like_the_list_it_replaces():
    rows = [{"time": float(t), "user_count": t % 3, "current_rps": 1.0, "current_fail_per_sec": 0.0,
             "num_requests": t, "num_failures": 0, "total_avg_response_time": 5.0} for t in range(50)]
    history = History(rows, recent_rows=100)
    assert history == rows and len(history) == 50 and history[-1] is rows[-1] and history[:2] == rows[:2]
    history.clear()
    assert history == [] and not history and history.sampled == 0
    small = History(rows, recent_rows=5, max_summaries=4)
    assert len(small) <= 5 + 4 + 1 and small[-5:] == rows[-5:]
    assert sum(row.get("samples", 1) for row in small) == 50
    assert small[0]["min"]["time"] == 0.0 and small[0]["max"]["user_count"] == 2
