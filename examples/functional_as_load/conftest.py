"""Fixtures of a small API test suite: a client, an auth step and some data.

Nothing here knows about load: run as load tasks, the same fixtures are set up per iteration
(function scope) or once per process (module and session scope).
"""

import os

import pytest


@pytest.fixture(scope="session")
def load_base_url():
    """Where the functional run sends its requests (under load, --load-host wins)."""
    return os.environ.get("TARGET_URL", "http://127.0.0.1:8080")


@pytest.fixture
def api(load_client):
    """The client the tests use: load_client, with the headers every call of this API carries."""
    load_client.headers["Accept"] = "application/json"
    return load_client


@pytest.fixture
def logged_in(api):
    """Log in before the test (once per iteration under load): the session cookie is kept by the client."""
    response = api.post("/login", json={"username": "tester"})
    assert response.status_code == 200
    yield "tester"
    api.cookies.clear()  # log out: the next iteration logs in again, as the next functional test would


@pytest.fixture(scope="module")
def catalog():
    """Test data: read once per module (once per process under load) and shared by every iteration."""
    return [{"id": item_id} for item_id in ("1", "2", "3")]
