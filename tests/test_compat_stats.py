"""Locust 2.x compatibility of the stats and the HTTP clients, difference by difference.

Each test states what Locust does (its StatsEntry, StatsError, ResponseContextManager
and the stats helpers of library mode) and checks that a locustfile relying on it gets
the same here. HTTP tests hit the real target on 127.0.0.1 with both clients.
"""

from __future__ import annotations

import json
import logging
import re

import gevent
import msgpack
import pytest

from engine_support import make_env
from pytest_loadhooks import FastHttpUser, HttpUser, constant, task
from pytest_loadhooks.contrib.fasthttp import RestResponseContextManager
from pytest_loadhooks.exception import CatchResponseError, ResponseError
from pytest_loadhooks.stats import (
    RequestStats,
    StatsEntry,
    StatsError,
    print_error_report,
    print_percentile_stats,
    print_stats,
    stats_history,
    stats_printer,
)

# The keys Locust's StatsEntry.to_dict() returns (locust/stats.py, PERCENTILES_TO_STATISTICS = 0.95, 0.99).
LOCUST_TO_DICT_KEYS = [
    "method", "name", "num_requests", "num_failures", "min_response_time", "max_response_time",
    "current_rps", "current_fail_per_sec", "avg_response_time", "median_response_time", "total_rps",
    "total_fail_per_sec", "response_time_percentile_0.95", "response_time_percentile_0.99", "avg_content_length",
]
# The keys of Locust's StatsEntry.serialize() (its StatsEntryDict) and StatsError.serialize() (StatsErrorDict).
LOCUST_SERIALIZE_KEYS = {
    "name", "method", "last_request_timestamp", "start_time", "num_requests", "num_none_requests",
    "num_failures", "total_response_time", "max_response_time", "min_response_time", "total_content_length",
    "response_times", "num_reqs_per_sec", "num_fail_per_sec",
}
LOCUST_ERROR_KEYS = {"name", "method", "error", "occurrences", "first_seen", "last_seen"}


def fire(stats: RequestStats, name: str, response_time: float | None, exception=None, method: str = "GET",
         length: int = 10) -> None:
    stats.on_request(request_type=method, name=name, response_time=response_time, response_length=length,
                     response=None, context={}, exception=exception, start_time=0.0, url=None)


# -- StatsEntry: serialize / unserialize, to_dict, num_none_requests -----------------------------------------

def test_to_dict_has_locusts_keys_and_figures():
    stats = RequestStats()
    for value in (10.0, 20.0, 30.0, 40.0):
        fire(stats, "/a", value)
    fire(stats, "/a", 50.0, exception=ValueError("x"))
    data = stats.get("/a", "GET").to_dict()
    assert list(data) == LOCUST_TO_DICT_KEYS
    assert (data["num_requests"], data["num_failures"]) == (5, 1)
    assert (data["min_response_time"], data["max_response_time"]) == (10.0, 50.0)
    assert data["avg_response_time"] == 30.0 and data["median_response_time"] == 30
    assert data["response_time_percentile_0.95"] == 50 and data["avg_content_length"] == 10
    # Locust's types: the median and percentiles are whole milliseconds (its bucket keys are ints).
    assert type(data["median_response_time"]) is int and type(data["response_time_percentile_0.95"]) is int
    assert list(stats.total.to_dict()) == LOCUST_TO_DICT_KEYS
    assert stats.total.to_dict()["name"] == "Aggregated"


@pytest.mark.parametrize("transport", ["plain", "json", "msgpack"])
def test_serialize_and_unserialize_rebuild_an_entry_exactly(transport):
    stats = RequestStats()
    for value in (1.5, 12.25, 150.0, 2300.0, None):
        fire(stats, "/b", value, method="POST")
    fire(stats, "/b", 3.0, exception=ValueError("x"), method="POST")
    entry = stats.get("/b", "POST")
    data = entry.serialize()
    assert set(data) == LOCUST_SERIALIZE_KEYS
    if transport == "json":
        data = json.loads(json.dumps(data))
    elif transport == "msgpack":
        data = msgpack.unpackb(msgpack.packb(data), strict_map_key=False)
    copy = StatsEntry.unserialize(data, stats)  # Locust's signature: (data, stats)
    assert copy.serialize() == entry.serialize()
    timeless = [key for key in LOCUST_TO_DICT_KEYS if not key.startswith("current_")]
    assert [copy.to_dict()[k] for k in timeless] == [entry.to_dict()[k] for k in timeless]
    assert copy.get_response_time_percentile(0.99) == entry.get_response_time_percentile(0.99)


def test_requests_without_a_response_time_are_counted_apart():
    # Locust: a None response time counts in num_requests and num_none_requests, and is left
    # out of the total time, min, max, average, median and percentiles.
    stats = RequestStats()
    fire(stats, "/async", 100.0)
    fire(stats, "/async", 300.0)
    fire(stats, "/async", None)
    fire(stats, "/async", None, exception=RuntimeError("lost"))
    entry = stats.get("/async", "GET")
    assert (entry.num_requests, entry.num_none_requests, entry.num_failures) == (4, 2, 1)
    assert entry.total_response_time == 400.0
    assert (entry.min_response_time, entry.max_response_time) == (100.0, 300.0)
    assert entry.avg_response_time == 200.0
    assert entry.median_response_time == 100.0 and entry.get_response_time_percentile(1.0) == 300.0
    assert sum(entry.response_times.values()) == 2
    assert entry.total_content_length == 40 and entry.fail_ratio == 0.25
    # The total and RequestStats say the same, and an entry of None only has no times at all.
    assert stats.num_none_requests == stats.total.num_none_requests == 2
    assert stats.total.avg_response_time == 200.0
    fire(stats, "/only-none", None)
    only = stats.get("/only-none", "GET")
    assert only.avg_response_time == 0.0 and only.min_response_time is None and only.median_response_time == 0.0
    # Merging keeps them apart too.
    merged = RequestStats.from_serialized(stats.serialize())
    assert merged.get("/async", "GET").num_none_requests == 2 and merged.total.num_none_requests == 3


def test_entry_log_and_the_request_listener_count_alike():
    # StatsEntry.log (Locust's per-entry call) and the request event count a request the same way.
    stats = RequestStats()
    standalone = StatsEntry("/c", "GET")
    standalone.start_time = stats.total.start_time
    for value in (0.4, 7.77, 42.0, 420.0, 4200.0, None):
        fire(stats, "/c", value, length=3)
        standalone.log(value, 3)
    standalone.log_error(ValueError("x"))  # Locust's signature: log_error(error)
    fire(stats, "/d", 1.0, exception=ValueError("x"))
    listened = stats.get("/c", "GET")
    for attr in ("num_requests", "num_none_requests", "total_response_time", "min_response_time",
                 "max_response_time", "total_content_length", "response_times"):
        assert getattr(standalone, attr) == getattr(listened, attr), attr
    assert standalone.num_failures == 1
    # The total is the sum of its endpoints, so it cannot be logged into alone.
    assert stats.total.num_requests == 7 and stats.total.num_failures == 1
    with pytest.raises(TypeError, match="log_request"):
        stats.total.log(1.0, 0)
    # Locust's RequestStats calls.
    stats.log_request("GET", "/e", 5.0, 1)
    stats.log_error("GET", "/e", "refused")
    assert stats.get("/e", "GET").num_failures == 1 and stats.total.num_requests == 8
    assert stats.total.num_failures == 2


def test_fail_ratio_of_failures_without_requests_is_one():
    entry = StatsEntry("/f", "GET")
    entry.log_error(None)
    assert entry.fail_ratio == 1.0  # as Locust


# -- environment.stats.errors -----------------------------------------------------------------------------

def test_errors_are_locusts_stats_error_records():
    stats = RequestStats()
    error = ValueError("bad")
    fire(stats, "/g", 1.0, exception=error)
    fire(stats, "/g", 1.0, exception=ValueError("bad"))
    [record] = stats.errors.values()
    assert isinstance(record, StatsError)
    assert (record.method, record.name, record.occurrences) == ("GET", "/g", 2)
    assert record.error is error  # the exception itself, as in Locust's standalone mode
    assert record.first_seen <= record.last_seen
    assert record.to_dict() == {"method": "GET", "name": "/g", "error": "ValueError('bad')", "occurrences": 2,
                                "first_seen": record.first_seen, "last_seen": record.last_seen}
    assert record.to_name() == "GET /g: ValueError('bad')"
    # The mapping access the outputs use.
    assert (record["method"], record["name"], record["error"], record["occurrences"]) == (
        "GET", "/g", "ValueError('bad')", 2)
    with pytest.raises(KeyError):
        record["nope"]
    # serialize_errors: Locust's shape, keyed by Locust's key.
    serialized = stats.serialize_errors()
    assert list(serialized) == [StatsError.create_key("GET", "/g", error)]
    assert set(serialized[StatsError.create_key("GET", "/g", error)]) == LOCUST_ERROR_KEYS


def test_merged_errors_keep_the_first_and_last_seen_of_all_parts():
    part_a, part_b = RequestStats(), RequestStats()
    part_a.log_failure("GET", "/h", ValueError("x"), now=100.0)
    part_a.log_failure("GET", "/h", ValueError("x"), now=105.0)
    part_b.log_failure("GET", "/h", ValueError("x"), now=90.0)
    part_b.log_failure("GET", "/h", ValueError("x"), now=103.0)
    merged = RequestStats()
    merged.merge(json.loads(json.dumps(part_a.serialize())))
    merged.merge(json.loads(json.dumps(part_b.serialize())))
    [record] = merged.errors.values()
    assert (record.occurrences, record.first_seen, record.last_seen) == (4, 90.0, 105.0)
    assert record.error == "ValueError('x')"  # from elsewhere, the error is its recorded text (as in Locust)
    assert list(merged.errors) == list(part_a.errors)  # the same failure meets under the same key


def test_catch_response_failures_keep_locusts_wrapper_except_in_the_error_report():
    # Locust's console error report shows response.failure("rejected") as "rejected"; its failures
    # tables (web UI, HTML report), its CSV, to_dict and the wire show "CatchResponseError('rejected')".
    stats = RequestStats()
    fire(stats, "/i", 1.0, exception=CatchResponseError("rejected"))
    [record] = stats.errors.values()
    assert record["error"] == record.to_dict()["error"] == "CatchResponseError('rejected')"
    assert record.message == "rejected" and record.to_name() == "GET /i: rejected"
    assert repr(record.error) == "CatchResponseError('rejected')"
    # The same once the record came from a worker as text.
    [remote] = RequestStats.from_serialized(stats.serialize()).errors.values()
    assert remote.error == remote["error"] == "CatchResponseError('rejected')" and remote.message == "rejected"


# -- printing and history in library mode -------------------------------------------------------------------

def test_print_helpers_log_the_tables(caplog):
    stats = RequestStats()
    for value in (10.0, 20.0, 30.0):
        fire(stats, "/j", value)
    fire(stats, "/k", 5.0, exception=CatchResponseError("rejected"), method="POST")
    with caplog.at_level(logging.INFO, logger="pytest_loadhooks.stats_logger"):
        print_stats(stats)
        print_percentile_stats(stats)
        print_error_report(stats)
    text = caplog.text
    assert "GET /j" in text and "POST /k" in text and "Aggregated" in text
    assert "Response time percentiles" in text and "99.99%" in text
    assert "Error report" in text and "POST /k: rejected" in text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="pytest_loadhooks.stats_logger"):
        print_error_report(RequestStats())
    assert caplog.text == ""  # nothing failed: no report


def test_an_entrys_percentile_row_is_in_whole_milliseconds():
    # Locust's StatsEntry.percentile(): the entry's row of the percentile table, ints.
    stats = RequestStats()
    for value in (10.4, 20.6, 30.2):
        fire(stats, "/j", value)
    row = stats.get("/j", "GET").percentile().split()
    assert row[:2] == ["GET", "/j"] and row[-1] == "3"
    assert row[2:-1] == ["21", "21", "30", "30", "30", "30", "30", "30", "30", "30", "30"]
    with pytest.raises(ValueError, match="no requests"):
        StatsEntry("/none", "GET").percentile()


def test_stats_printer_prints_until_its_greenlet_is_killed(caplog, monkeypatch):
    monkeypatch.setattr("pytest_loadhooks.stats.CONSOLE_STATS_INTERVAL_SEC", 0.05)
    stats = RequestStats()
    fire(stats, "/l", 1.0)
    with caplog.at_level(logging.INFO, logger="pytest_loadhooks.stats_logger"):
        printer = gevent.spawn(stats_printer(stats))
        gevent.sleep(0.3)
        printer.kill()
    assert printer.dead
    tables = [r for r in caplog.records if "# reqs" in r.getMessage()]
    assert len(tables) >= 2  # printed again and again while it ran


def test_stats_history_ends_with_the_run_and_adds_no_rows():
    class Quick(HttpUser):
        host = "http://127.0.0.1:9"
        wait_time = constant(0.1)

        @task
        def idle(self):
            pass

    env = make_env(Quick)
    runner = env.create_local_runner()
    history = gevent.spawn(stats_history, env.runner)  # as Locust's use_as_lib.py example does
    runner.start(1, spawn_rate=10)
    gevent.sleep(1.3)
    assert not history.dead  # it lives while the run does
    runner.quit()
    history.join(timeout=5)
    assert history.dead and history.successful()
    times = [row["time"] for row in env.stats.history]
    assert times and len(times) == len(set(times))  # the runner's rows only, one per sample
    killed = gevent.spawn(stats_history, type("Running", (), {"state": "running"})())
    gevent.sleep(0)
    killed.kill()
    assert killed.dead


# -- failures as Locust groups and shows them, on real requests ---------------------------------------------

@pytest.fixture(params=["HttpUser", "FastHttpUser"])
def user_base(request):
    return {"HttpUser": HttpUser, "FastHttpUser": FastHttpUser}[request.param]


def client_user(base: type, host: str):
    cls = type("CompatUser", (base,), {"host": host, "noop": task(lambda self: None)})
    env = make_env(cls)
    seen: list[dict] = []
    env.events.request.add_listener(lambda **kwargs: seen.append(kwargs))
    return cls(env), env, seen


def test_failures_group_by_request_name_not_by_url(user_base, target):
    user, env, _seen = client_user(user_base, target)
    for item in range(20):
        user.client.get(f"/status/404?item={item}", name="/status/404?item=[n]")
    with user.client.get("/status/500?item=1", name="/status/500?item=[n]", catch_response=True):
        pass
    rows = {(r.name, r.occurrences, r["error"]) for r in env.stats.errors.values()}
    if user_base is HttpUser:
        assert rows == {
            ("/status/404?item=[n]", 20, "HTTPError('404 Client Error: Not Found for url: /status/404?item=[n]')"),
            ("/status/500?item=[n]", 1,
             "HTTPError('500 Server Error: Internal Server Error for url: /status/500?item=[n]')"),
        }
    else:  # Locust's FastHttpUser: its LocustBadStatusCode, whose repr holds the code alone
        assert rows == {("/status/404?item=[n]", 20, "LocustBadStatusCode(code=404)"),
                        ("/status/500?item=[n]", 1, "LocustBadStatusCode(code=500)")}


def test_catch_response_failures_as_locust_records_them(user_base, target):
    user, env, seen = client_user(user_base, target)
    for _ in range(3):
        with user.client.get("/page", name="/page", catch_response=True) as response:
            response.failure("rejected")
    [record] = env.stats.errors.values()
    assert isinstance(seen[0]["exception"], CatchResponseError)
    assert (repr(seen[0]["exception"]), str(seen[0]["exception"])) == ("CatchResponseError('rejected')", "rejected")
    assert (record.occurrences, record["error"], record.to_name()) == (
        3, "CatchResponseError('rejected')", "GET /page: rejected")


def test_a_refused_connection_is_recorded_as_its_root_error(user_base, refused_url):
    user, env, seen = client_user(user_base, refused_url)
    user.client.get("/page")
    with user.client.get("/page", catch_response=True):
        pass
    assert all(isinstance(k["exception"], ConnectionRefusedError) for k in seen) and len(seen) == 2
    [record] = env.stats.errors.values()
    assert record.occurrences == 2
    assert record["error"] == "ConnectionRefusedError(111, 'Connection refused')"


# -- exceptions inside catch_response blocks ------------------------------------------------------------------

def test_an_exception_without_a_verdict_records_nothing_and_propagates(user_base, target):
    user, env, seen = client_user(user_base, target)
    with pytest.raises(KeyError):
        with user.client.get("/page", catch_response=True):
            raise KeyError("bug in the task")
    assert seen == [] and env.stats.total.num_requests == 0 and env.stats.errors == {}


def test_a_verdict_given_before_an_exception_is_recorded_and_the_exception_propagates(user_base, target):
    user, env, seen = client_user(user_base, target)
    with pytest.raises(KeyError):
        with user.client.get("/page", name="failed first", catch_response=True) as response:
            response.failure("rejected")
            raise KeyError("then a bug")
    with pytest.raises(KeyError):
        with user.client.get("/status/500", name="passed first", catch_response=True) as response:
            response.success()
            raise KeyError("then a bug")
    # Locust: even a ResponseError propagates once failure() or success() decided.
    with pytest.raises(ResponseError):
        with user.client.get("/page", name="decided then ResponseError", catch_response=True) as response:
            response.failure("first")
            raise ResponseError("second")
    verdicts = {k["name"]: k["exception"] for k in seen}
    assert str(verdicts["failed first"]) == "rejected"
    assert verdicts["passed first"] is None
    assert str(verdicts["decided then ResponseError"]) == "first"
    assert env.stats.total.num_requests == 3 and env.stats.total.num_failures == 2


def test_response_error_in_the_block_marks_the_request_failed(user_base, target):
    user, env, seen = client_user(user_base, target)
    with user.client.get("/page", name="checked", catch_response=True):
        raise ResponseError("wrong content")  # swallowed: the task goes on
    [record] = env.stats.errors.values()
    assert record["error"] == "ResponseError('wrong content')" and seen[0]["exception"] is not None


def test_raise_for_status_follows_the_verdict(user_base, target):
    user, _env, _seen = client_user(user_base, target)
    with user.client.get("/status/500", catch_response=True) as response:
        response.success()
        response.raise_for_status()  # decided successful: no error
    with user.client.get("/page", catch_response=True) as response:
        response.failure("rejected")
        with pytest.raises(CatchResponseError):
            response.raise_for_status()


# -- FastHttpUser.rest ----------------------------------------------------------------------------------------

def test_fast_http_user_rest_parses_json_and_turns_errors_into_failures(target):
    user, env, seen = client_user(FastHttpUser, target)
    with user.rest("GET", "/page") as response:
        assert response.js == {"path": "/page", "ok": True}
    with user.rest("POST", "/cart", json={"sku": 1}) as response:
        if response.js["ok"]:  # raised by hand: pytest rewrites the messages of this file's asserts
            raise AssertionError("cart not ok")
    with user.rest("GET", "/page", name="trailing comma") as response:
        if response.js["ok"]:
            raise AssertionError("not ok,")
    with user.rest("GET", "/page", name="bug") as response:
        response.js["missing"]  # noqa: B018 - a KeyError in the block: recorded, not raised
    with user.rest("GET", "/", name="not json"):
        pass
    with user.rest_("GET", "/page") as response:
        assert response.js["ok"] is True
    verdicts = {k["name"]: k["exception"] for k in seen}
    assert verdicts["/page"] is None and verdicts["/page?_=..."] is None
    assert str(verdicts["/cart"]) == "cart not ok"
    assert str(verdicts["trailing comma"]).startswith("not ok, response was {")
    # Locust's text: the error, where it was raised (from the rest() block down), then the response.
    where = re.fullmatch(r"KeyError: 'missing' at (.*)\. Response was \{.*", str(verdicts["bug"]))
    frames = where.group(1).split(", ")
    assert frames[0].endswith(" in rest") and "/contrib/fasthttp.py:" in frames[0]
    assert frames[-1].endswith(" in test_fast_http_user_rest_parses_json_and_turns_errors_into_failures")
    assert "test_compat_stats.py:" in frames[-1] and len(frames) == 2
    assert str(verdicts["not json"]).startswith("Could not parse response as JSON. hello")
    assert isinstance(response, RestResponseContextManager)
    assert env.stats.total.num_requests == 6 and env.stats.total.num_failures == 4


def test_an_exception_record_keeps_locusts_message_across_the_wire():
    # runner.exceptions: msg is the repr (the type named, for our outputs), message Locust's str(exception),
    # which the exceptions CSV writes; a worker's record reaches the master with both.
    stats = RequestStats()
    stats.log_exception(KeyError("sku"), "Traceback (most recent call last):\n  ...\nKeyError: 'sku'\n")
    [record] = stats.exceptions.values()
    assert (record["msg"], record["message"], record["count"]) == ("KeyError('sku')", "'sku'", 1)
    wire = msgpack.unpackb(msgpack.packb(stats.serialize()), strict_map_key=False)
    [remote] = RequestStats.from_serialized(wire).exceptions.values()
    assert (remote["msg"], remote["message"]) == ("KeyError('sku')", "'sku'")
