"""An ordinary API test module. The load_task markers give weights; without --load-* they change nothing."""

import pytest


@pytest.mark.smoke
@pytest.mark.load_task(weight=5)
def test_browse_catalog(api, catalog):
    response = api.get("/api/data")
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert len(catalog) == 3


@pytest.mark.load_task(weight=2)
@pytest.mark.parametrize("item_id", ["1", "2", "3"])
def test_item_details(api, item_id):
    response = api.get("/item", params={"id": item_id}, name="/item?id=[id]")
    assert response.json() == {"id": item_id}


@pytest.mark.load_task(weight=1)
def test_protected_resource_needs_login(api, logged_in):
    response = api.get("/protected/resource")
    assert response.status_code == 200, f"logged in as {logged_in}, got {response.status_code}"


@pytest.mark.smoke
def test_health(api):
    # Not marked: a functional test only, unless --load-tests chooses it (e.g. --load-tests=smoke).
    assert api.get("/").text == "hello"
