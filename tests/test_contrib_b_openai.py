"""contrib.oai's OpenAIUser against the OpenAI-compatible endpoint of the example target (issue 23).

examples/target_app.py answers /v1/chat/completions and /v1/responses as OpenAI's API does (its
model names steer it: ``slow-MS`` waits, ``error-NNN`` fails). One load run checks: the request
events per path and their failures equal what the target counted (its /stats/requests, before
and after); a 500 from the server is a failure carrying the HTTP error; renamed requests keep
their name; the output tokens are the response length; and a user whose model is slow (1.5 s an
answer) does not hold up the others, who complete requests while it waits. No timing assertions.
"""

from __future__ import annotations

import textwrap
from collections import Counter

import requests as http

from request_log import REQUEST_RECORDER, ended_during, read_requests

MODULE = textwrap.dedent('''
    import openai
    from pytest_loadhooks import constant, task
    from pytest_loadhooks.contrib.oai import OpenAIUser

    class Chatter(OpenAIUser):
        client_kwargs = {"api_key": "not-a-real-key", "max_retries": 0}
        wait_time = constant(0.02)

        @task(4)
        def chat(self):
            self.client.chat.completions.create(
                model="loadhooks-echo", messages=[{"role": "user", "content": "How are load tests judged?"}])

        @task(2)
        def respond_renamed(self):
            with self.client.rename_request("mini"):
                self.client.responses.create(model="loadhooks-echo", instructions="Be brief.", input="Hi there")

        @task(1)
        def failing_model(self):
            try:
                self.client.chat.completions.create(model="error-500", messages=[{"role": "user", "content": "x"}])
            except openai.InternalServerError:
                pass  # the request event has recorded it

    class Patient(OpenAIUser):  # its key from OPENAI_API_KEY, as in Locust's example; the SDK's retries off
        fixed_count = 1
        client_kwargs = {"max_retries": 0}
        wait_time = constant(0)

        @task
        def slow_answer(self):
            self.client.chat.completions.create(model="slow-1500", messages=[{"role": "user", "content": "wait"}])
''')


def served(target: str) -> Counter:
    """(path, failed) -> answers, from the target's own counts."""
    rows = http.get(f"{target}/stats/requests", timeout=10).json()["stats"]
    counts = Counter()
    for row in rows:
        if row["name"].startswith("/v1/"):
            counts[(row["name"], False)] += row["num_requests"] - row["num_failures"]
            counts[(row["name"], True)] += row["num_failures"]
    return counts


def test_openai_user_counts_failures_and_gevent(pytester, target, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "not-a-real-key-either")
    pytester.makeconftest(REQUEST_RECORDER)
    pytester.makepyfile(test_openai_users=MODULE)
    before = served(target)
    result = pytester.runpytest_subprocess("--load-users=4", "--load-run-time=3s", "--load-stop-timeout=10s",
                                           f"--load-host={target}/v1", "-p", "no:cacheprovider")
    after = served(target)
    requests = read_requests(pytester.path)
    output = result.stdout.str()[-3000:] + result.stderr.str()[-3000:]
    assert requests, output
    assert {r["type"] for r in requests} == {"POST"}

    by_path = Counter((("/v1/responses" if r["name"] == "mini" else r["name"]), r["failed"]) for r in requests)
    assert by_path == after - before
    assert {r["name"] for r in requests} == {"/v1/chat/completions", "mini"}

    failed = [r for r in requests if r["failed"]]
    assert failed and all("500 Internal Server Error" in r["exception"] for r in failed), failed[:3]
    answered = [r for r in requests if not r["failed"]]
    assert all(r["length"] > 0 for r in answered)  # the output tokens, as in Locust

    slow = max(requests, key=lambda r: r["response_time"])
    assert slow["response_time"] >= 1500
    assert len(ended_during(slow, requests)) >= 3, (slow, len(requests))
