"""examples/target_app.py answers the routes Locust's own example locustfiles request, as the
services those examples were written for answer them (Locust's web UI on 127.0.0.1:8089 with
the routes the examples add to it, httpbin, a site with a login), so that
scripts/locust_examples.py loads a real service and not a wall of 404s. Over real HTTP, against
the `target` fixture (a real examples/target_app.py process).
"""

from __future__ import annotations

import requests


def test_the_quickstart_and_debugging_examples_pages_answer(target):
    for path in ("/hello", "/world", "/hello1", "/hello2"):
        answer = requests.get(target + path, timeout=5)
        assert (answer.status_code, answer.text) == (200, path[1:])
    assert requests.get(f"{target}/item?id=7", timeout=5).json() == {"id": "7"}


def test_authenticate_welcomes_the_posted_username_and_checkout_gives_an_order(target):
    # What response_validations.py and testdata_from_csv.py add to Locust's web UI and check.
    welcome = requests.post(f"{target}/authenticate", json={"username": "foo", "password": "bar"}, timeout=5)
    assert (welcome.status_code, welcome.json()) == (200, {"message": "Welcome foo!"})
    order = requests.post(f"{target}/checkout/confirm", json={"foo": "bar"}, timeout=5)
    assert (order.status_code, order.json()) == (200, {"orderId": 42})


def test_authenticate_refuses_what_the_example_route_would_not_take(target):
    no_name = requests.post(f"{target}/authenticate", json={"password": "bar"}, timeout=5)
    assert no_name.status_code == 400 and "error" in no_name.json()
    for path in ("/authenticate", "/checkout/confirm"):
        answer = requests.get(target + path, timeout=5)
        assert (answer.status_code, answer.headers["Allow"]) == (405, "POST")


def test_the_protected_resource_needs_a_login_with_a_username(target):
    session = requests.Session()
    assert session.get(f"{target}/protected/resource", timeout=5).status_code == 401
    nameless = session.post(f"{target}/login", timeout=5)
    assert nameless.json() == {"path": "/login", "ok": True} and "Set-Cookie" not in nameless.headers
    assert session.get(f"{target}/protected/resource", timeout=5).status_code == 401
    login = session.post(f"{target}/login", data={"username": "user3", "password": "password"}, timeout=5)
    assert login.json() == {"path": "/login", "ok": True}  # the body /login always had
    assert session.get(f"{target}/protected/resource", timeout=5).status_code == 200
    assert requests.get(f"{target}/protected/resource", cookies={"session": "user3.forged"},
                        timeout=5).status_code == 401


def test_a_json_login_opens_a_session_too(target):
    session = requests.Session()
    session.post(f"{target}/login", json={"username": "foo", "password": "bar"}, timeout=5)  # the quickstart's
    assert session.get(f"{target}/protected/resource", timeout=5).status_code == 200


def test_response_headers_echoes_its_query_as_httpbin_does(target):
    answer = requests.get(f"{target}/response-headers?X-Cache=HIT", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["X-Cache"] == "HIT" and answer.json() == {"X-Cache": "HIT"}
    smuggled = requests.get(f"{target}/response-headers?X-A=1%0D%0AX-B:%202&Content-Length=0", timeout=5)
    assert smuggled.json() == {} and "X-B" not in smuggled.headers and "X-A" not in smuggled.headers


def test_stats_requests_counts_what_the_target_answered_in_locusts_keys(target):
    def rows() -> dict[tuple[str, str], dict]:
        document = requests.get(f"{target}/stats/requests", timeout=5).json()
        assert document["state"] == "running" and document["errors"] == []
        assert document["stats"][-1]["name"] == "Aggregated"
        return {(row["method"], row["name"]): row for row in document["stats"]}

    before = rows()
    requests.get(f"{target}/hello1", timeout=5)
    requests.get(f"{target}/hello1", timeout=5)
    requests.post(f"{target}/stats-test-missing", timeout=5)
    after = rows()
    hello = after[("GET", "/hello1")]
    assert hello["num_requests"] - before.get(("GET", "/hello1"), {"num_requests": 0})["num_requests"] == 2
    assert hello["num_failures"] == 0
    assert after[("POST", "/stats-test-missing")] == {"method": "POST", "name": "/stats-test-missing",
                                                       "num_requests": 1, "num_failures": 1}
    total = after[("", "Aggregated")]
    assert total["num_requests"] == sum(row["num_requests"] for key, row in after.items() if key[1] != "Aggregated")


def test_a_path_an_example_means_to_miss_still_misses(target):
    # basic.py's page404 task and stop_on_threshold.py's /error expect failures.
    for path in ("/does_not_exist", "/error"):
        assert requests.get(target + path, timeout=5).status_code == 404
