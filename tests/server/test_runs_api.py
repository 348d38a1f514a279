"""The runs API: GEP tables, comparisons, zone GeoJSON, maps and credits, checked against the files the runs wrote."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def client(runs_dir):
    from starlette.testclient import TestClient

    from gep.server.app import create_app
    from gep.server.config import ServerConfig

    return TestClient(create_app(ServerConfig(db=None, runs=runs_dir)))


def test_lists_every_kind_of_run(client):
    runs = {r["id"]: r for r in client.get("/api/v1/runs").json()}
    assert runs["tiny"]["kind"] == "gep run" and runs["tiny"]["year"] == 2022
    assert runs["wet"]["kind"] == "gep compare" and (runs["wet"]["base"], runs["wet"]["alt"]) == ("tiny", "tiny-wet")
    assert runs["series"]["kind"] == "gep series" and runs["series"]["years"] == [2021, 2022]
    assert runs["capacity-run"]["kind"] == "gep capacity basin"
    assert {"wet/base", "wet/alt", "series/2021", "series/2022"} <= set(runs)  # the sides and years are runs too


def test_gep_by_zone_and_service_equals_the_account_table(client, runs_dir):
    doc = client.get("/api/v1/runs/tiny/gep").json()
    rows = pd.DataFrame(doc["rows"])
    acc = pd.read_csv(runs_dir / "tiny" / "account.csv", encoding="utf-8-sig")
    expect = acc.groupby(["zone", "service"])["value_cny"].sum()
    got = rows.set_index(["zone", "service"])["value_cny"]
    pd.testing.assert_series_equal(got.sort_index(), expect.sort_index(), check_names=False, rtol=1e-9)
    assert doc["years"] == [2022]
    assert doc["totals"][0]["gep_cny"] == pytest.approx(acc["value_cny"].sum(), rel=1e-9)
    assert {z["zone_name_zh"] for z in doc["zones"]} == {"北镇", "南镇"}
    units = {s["service"]: s["unit"] for s in doc["services"]}
    assert units["water_conservation"] == "m**3/yr"
    # a quantity of mixed units (provisioning: tonnes of rice and of fish) is not summed
    assert all(r["quantity"] is None for r in doc["rows"] if r["service"] == "provisioning")


def test_series_gives_one_table_per_year(client, runs_dir):
    doc = client.get("/api/v1/runs/series/gep").json()
    assert doc["years"] == [2021, 2022]
    for y in (2021, 2022):
        acc = pd.read_csv(runs_dir / "series" / str(y) / "account.csv", encoding="utf-8-sig")
        total = sum(r["value_cny"] for r in doc["rows"] if r["year"] == y)
        assert total == pytest.approx(acc["value_cny"].sum(), rel=1e-9)


def test_comparison_is_the_tables_gep_compare_wrote(client, runs_dir):
    doc = client.get("/api/v1/runs/wet/comparison").json()
    by_zone = pd.read_csv(runs_dir / "wet" / "delta_by_zone.csv", encoding="utf-8-sig")
    assert [r["delta_value_cny"] for r in doc["by_zone"]] == pytest.approx(by_zone["delta_value_cny"].tolist())
    assert doc["totals"]["delta_gep_cny"] == pytest.approx(doc["totals"]["gep_alt_cny"] - doc["totals"]["gep_base_cny"])
    assert doc["totals"]["delta_gep_cny"] > 0  # more rain, more water conservation


def test_zones_as_rfc7946_geojson_and_in_the_grid_crs(client):
    geo = client.get("/api/v1/runs/tiny/zones")
    assert geo.headers["content-type"] == "application/geo+json"
    doc = geo.json()
    assert [f["properties"]["zone"] for f in doc["features"]] == [1, 2]
    lon, lat = np.array(doc["features"][0]["geometry"]["coordinates"][0]).T
    assert ((118.4 < lon) & (lon < 118.5) & (31.6 < lat) & (lat < 31.7)).all()  # UTM 50N (117°E) x = 640 km, y = 3,500 km
    assert "crs" not in doc  # RFC 7946: WGS 84 only
    native = client.get("/api/v1/runs/tiny/zones?crs=native").json()
    assert native["crs"]["properties"]["name"] == "EPSG:32650"
    # 2 × 3 cells of 30 m: zone 1 is an L of three cells, zone 2 the other three; every cell edge kept
    from shapely.geometry import box, shape

    l_shape = box(640000, 3499940, 640060, 3500000).difference(box(640030, 3499940, 640060, 3499970))
    assert shape(native["features"][0]["geometry"]).normalize().equals_exact(l_shape.normalize(), 1e-6)
    assert [shape(f["geometry"]).area for f in native["features"]] == pytest.approx([2700.0, 2700.0])
    gep = client.get("/api/v1/runs/tiny/gep").json()
    for f in native["features"]:
        z = f["properties"]["zone"]
        assert f["properties"]["gep_cny"] == pytest.approx(sum(r["value_cny"] for r in gep["rows"] if r["zone"] == z))


def test_comparison_zones_carry_the_change(client):
    feats = client.get("/api/v1/runs/wet/zones").json()["features"]
    assert all("delta_value_cny" in f["properties"] for f in feats)


def test_maps_are_pngs_of_the_cell_grid(client):
    names = client.get("/api/v1/runs/tiny/maps").json()
    assert "gep_value" in names and "zone_index" not in names
    r = client.get("/api/v1/runs/tiny/maps/gep_value.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    from PIL import Image

    img = Image.open(io.BytesIO(r.content))
    assert img.size == (3, 2) and img.mode == "RGBA"
    assert client.get("/api/v1/runs/wet/maps/delta_gep_value.png").status_code == 200


def test_credits_of_a_basin_run(client):
    doc = client.get("/api/v1/runs/capacity-run/credits").json()
    assert {(r["catchment"], r["pollutant"]) for r in doc["credits"]} >= {(1, "COD"), (2, "COD")}


@pytest.mark.parametrize("url, status, kind", [
    ("/api/v1/runs/nope/gep", 404, "NotFound"),
    ("/api/v1/runs/../../etc/gep", 404, "NotFound"),
    ("/api/v1/runs/%2e%2e/gep", 404, "NotFound"),
    ("/api/v1/runs/capacity-run/gep", 404, "NotFound"),
    ("/api/v1/runs/tiny/maps/zone_index.png", 404, "NotFound"),
    ("/api/v1/runs/tiny/zones?crs=mercator", 422, "BadParameter"),
    ("/api/v1/nothing", 404, "NotFound"),
])
def test_bad_requests_get_one_clear_json_error(client, url, status, kind):
    r = client.get(url)
    assert r.status_code == status
    err = r.json()["error"]
    assert err["type"] == kind and err["message"]


def test_runs_restricted_to_readers(runs_dir):
    from starlette.testclient import TestClient

    from gep.ledger import keys
    from gep.server.app import create_app
    from gep.server.auth import sign_read
    from gep.server.config import ServerConfig

    auditor, other = keys.generate(), keys.generate()
    c = TestClient(create_app(ServerConfig(db=None, runs=runs_dir, runs_access="readers", readers=(auditor.public,))))
    assert c.get("/api/v1/runs").status_code == 401
    assert c.get("/api/v1/runs", headers={"Authorization": sign_read(other, "GET", "/api/v1/runs")}).status_code == 403
    assert c.get("/api/v1/runs", headers={"Authorization": sign_read(auditor, "GET", "/api/v1/runs")}).status_code == 200
    # a signature is good for one URL only
    assert c.get("/api/v1/runs/tiny/gep", headers={"Authorization": sign_read(auditor, "GET", "/api/v1/runs")}).status_code == 401
