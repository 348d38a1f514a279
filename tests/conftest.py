"""Shared fixtures: the shipped coefficient set, a tiny in-memory landscape builder, scenarios on disk.

``make_landscape(codes, zones, inputs)`` builds a :class:`gep.accounting.landscape.Landscape`
the way :func:`gep.accounting.region.build` does, without files:

* ``codes``: land-cover codes per cell (0 = nodata);
* ``zones``: zone id per cell (0 = outside the region);
* ``inputs``: ``{name: (array or scalar, unit)}`` gridded inputs;
* every inside cell has area ``cell_size²`` m² (0 outside).

On disk: ``tiny`` (a 2×3 scenario, :class:`TinyScenario`), ``kit`` (a 6×6
scenario with changes, parcels and series, :class:`ScenarioKit`) and
``evidence_runs`` (runs a ledger issuance or a revenue file cites).

Ledgers (``tests/ledger`` and the ``gep ledger`` commands of ``tests/cli``): ``backend``
(every ledger test runs on SQLite and on PostgreSQL; PostgreSQL tests skip, with the
reason, only when no server answers at ``$GEP_TEST_POSTGRES_URL``), ``new_target`` and
``target`` (fresh databases), ``keyset`` (key pairs), ``runs`` (attested evidence runs),
``ledger_tools`` (the clock, tampering helpers and the ratio table of the ledger tests) and
``genesis_before_deal_terms`` (new ledgers get the genesis of one made before December 2026).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gep.accounting import coefficients
from gep.jobs.inputs import coefficient_set
from gep.accounting.landscape import Landscape
from gep.ledger import keys
from tests.ledger.helpers import earlier_genesis, make_runs, operator, pg_drop, pg_schema_url, pg_server

CN = "cn-2022"


def build_landscape(
    coef,
    codes,
    zones,
    inputs: dict | None = None,
    tables: dict | None = None,
    cell_size: float = 30.0,
    year: int = 2022,
    zone_ids=None,
) -> Landscape:
    """A landscape on a ``(y, x)`` grid from plain arrays (see the module docstring)."""
    codes = np.asarray(codes, dtype=np.int64)
    zvals = np.broadcast_to(np.asarray(zones, dtype=np.int64), codes.shape)
    ids = np.asarray(sorted(set(zvals[zvals > 0].tolist())) if zone_ids is None else sorted(zone_ids), dtype=np.int64)
    idx, _ = coefficients.class_index(coef.legend, codes)
    pos = np.searchsorted(ids, zvals)
    known = (zvals > 0) & (pos < len(ids)) & (ids[np.minimum(pos, len(ids) - 1)] == zvals)
    inside = (idx >= 0) & known
    class_index = np.where(inside, idx, -1).astype(np.int16)
    zone_index = np.where(inside, pos, -1).astype(np.int32)
    area = np.where(inside, float(cell_size) ** 2, 0.0)
    dims = ("y", "x")
    variables = {
        "class_index": (dims, class_index),
        "zone_index": (dims, zone_index),
        "cell_area": (dims, area, {"units": "m**2"}),
    }
    for name, (values, unit) in (inputs or {}).items():
        data = np.broadcast_to(np.asarray(values, dtype=np.float64), codes.shape).copy()
        variables[name] = (dims, data, {"units": unit})
    grid = xr.Dataset(variables, attrs={"cell_size_m": float(cell_size)})  # no y/x coordinates: services do not need them
    table = pd.DataFrame({"zone_id": ids, "name": [f"zone {i}" for i in ids], "name_zh": [f"区{i}" for i in ids]})
    present = np.unique(coef.legend.codes[class_index[class_index >= 0]])
    return Landscape(grid=grid, zones=table, tables=dict(tables or {}), legend=coef.legend, year=year, codes_present=present)


@pytest.fixture(scope="session")
def coef():
    """The shipped national coefficient set ``cn-2022`` (do not mutate; use ``with_overrides``)."""
    return coefficient_set(CN)


@pytest.fixture(scope="session")
def make_landscape(coef):
    """``make_landscape(codes, zones, inputs, tables=None, cell_size=30.0, ...)`` → Landscape."""

    def make(codes, zones, inputs=None, tables=None, cell_size=30.0, **kw):
        return build_landscape(kw.pop("coef", coef), codes, zones, inputs, tables, cell_size, **kw)

    return make


# --------------------------------------------------------------------------- scenarios on disk


def write_tif(path: Path, data: np.ndarray, units: str | None = None, nodata=None, x0: float = 640000.0, crs: str = "EPSG:32650") -> None:
    ny, nx = data.shape
    da = xr.DataArray(data, dims=("y", "x"), coords={"y": 3500000.0 - 15.0 - 30.0 * np.arange(ny), "x": x0 + 15.0 + 30.0 * np.arange(nx)})
    da = da.rio.write_crs(crs)
    if units:
        da.attrs["units"] = units
    if nodata is not None:
        da = da.rio.write_nodata(nodata)
    da.rio.to_raster(path)


class TinyScenario:
    """A 2×3 scenario on disk (GeoTIFFs + CSVs + TOML): fixture ``tiny``."""

    CODES = np.array([[211, 212, 11], [64, 43, 51]], dtype=np.uint16)
    ZONES = np.array([[1, 1, 2], [1, 2, 2]], dtype=np.uint8)
    write_tif = staticmethod(write_tif)

    def make(self, tmp: Path, codes: np.ndarray | None = None, extra_toml: str = "", precipitation: np.ndarray | None = None) -> Path:
        """Write a 2×3 scenario into ``tmp`` and return the scenario path."""
        import rioxarray  # noqa: F401  (registers .rio)

        codes = self.CODES if codes is None else codes
        d = tmp / "data"
        d.mkdir(parents=True, exist_ok=True)
        write_tif(d / "landcover.tif", codes.astype(np.uint16), nodata=0)
        write_tif(d / "zones.tif", self.ZONES, nodata=0)
        p = precipitation if precipitation is not None else np.full(codes.shape, 1200.0, dtype=np.float32)
        write_tif(d / "precipitation.tif", p.astype(np.float32), "mm/yr", nodata=np.nan)
        write_tif(d / "et.tif", np.full(codes.shape, 700.0, dtype=np.float32), "mm/yr", nodata=np.nan)
        (d / "zones.csv").write_text("zone_id,name,name_zh,gdp [yi_CNY]\n1,North,北镇,1\n2,South,南镇,2\n", encoding="utf-8")
        (d / "production.csv").write_text("zone_id,product,ecosystem,quantity,unit\n1,rice,cropland,10,t\n2,freshwater_fish,water,1,t\n", encoding="utf-8")
        text = f"""
[scenario]
name = "tiny"
year = 2022

[region]
landcover = "data/landcover.tif"
zones = "data/zones.tif"
zone_table = "data/zones.csv"

[inputs]
precipitation = "data/precipitation.tif"
et = "data/et.tif"

[tables]
production = "data/production.csv"

[services]
enabled = ["provisioning", "water_conservation"]
{extra_toml}
"""
        path = tmp / "tiny.toml"
        path.write_text(text, encoding="utf-8")
        return path


class ScenarioKit:
    """A small scenario on disk for the scenario-tool CLI tests (changes, parcels, series, compare).

    6 × 6 cells of 30 m (UTM 50N, upper-left corner 640000, 3500000), two zones:

    land cover                      zones
    211 211 211  11  11  11         1 1 1 2 2 2
    211 211  11  11  12  12         1 1 1 2 2 2
    212 212  11  43  12  12         1 1 1 2 2 2
    212  64  43  43  51  51         1 1 1 2 2 2
     31  64  43  11  51  52         1 1 1 2 2 2
     31  31  11  11  11  52         1 1 1 2 2 2

    Fixture ``kit``.
    """

    write_tif = staticmethod(write_tif)

    CODES = np.array([
        [211, 211, 211, 11, 11, 11],
        [211, 211, 11, 11, 12, 12],
        [212, 212, 11, 43, 12, 12],
        [212, 64, 43, 43, 51, 51],
        [31, 64, 43, 11, 51, 52],
        [31, 31, 11, 11, 11, 52],
    ], dtype=np.uint16)
    ZONES = np.array([[1, 1, 1, 2, 2, 2]] * 6, dtype=np.uint8)
    X0, Y0, CELL = 640000.0, 3500000.0, 30.0
    SERVICES = '["provisioning", "water_conservation", "flood_mitigation", "carbon_sequestration"]'

    def grid(self, value: float, codes: np.ndarray | None = None, scale: dict | None = None) -> np.ndarray:
        """A smooth-ish float field that differs by class (so class-dependent inputs matter)."""
        codes = self.CODES if codes is None else codes
        r, c = np.indices(codes.shape)
        base = value * (1 + 0.01 * r - 0.005 * c)
        for code, f in (scale or {}).items():
            base = np.where(codes == code, base * f, base)
        return base.astype(np.float32)

    def write_inputs(self, d: Path, codes: np.ndarray | None = None, x0: float = X0, crs: str = "EPSG:32650", y0: float = Y0, cell: float = CELL) -> None:
        import rioxarray  # noqa: F401

        codes = self.CODES if codes is None else codes
        d.mkdir(parents=True, exist_ok=True)
        kw = {"x0": x0, "crs": crs}
        write_tif(d / "landcover.tif", codes.astype(np.uint16), nodata=0, **kw)
        write_tif(d / "zones.tif", self.ZONES, nodata=0, **kw)
        write_tif(d / "precipitation.tif", self.grid(1200.0), "mm/yr", nodata=np.nan, **kw)
        write_tif(d / "et.tif", self.grid(650.0, codes, {51: 0.4, 52: 0.5, 43: 1.3, 64: 1.2}), "mm/yr", nodata=np.nan, **kw)
        write_tif(d / "storm_rainfall.tif", self.grid(250.0), "mm/yr", nodata=np.nan, **kw)
        write_tif(d / "npp.tif", self.grid(600.0, codes, {211: 1.4, 212: 1.3, 51: 0.1, 52: 0.15, 43: 0.05}), "gC/(m**2*yr)", nodata=np.nan, **kw)
        write_tif(d / "temperature.tif", self.grid(16.0), "degC", nodata=np.nan, **kw)
        (d / "zones.csv").write_text("zone_id,name,name_zh,gdp [yi_CNY]\n1,Hill,山镇,1\n2,Plain,平镇,3\n", encoding="utf-8")
        (d / "production.csv").write_text("zone_id,product,ecosystem,quantity,unit\n1,timber,forest,30,m**3\n2,rice,cropland,12,t\n2,freshwater_fish,water,2,t\n", encoding="utf-8")

    def scenario(self, tmp: Path, extra: str = "", name: str = "kit", region_extra: str = "", file: str | None = None) -> Path:
        """Write ``<file or name>.toml`` using ``data/`` (inputs written once per folder)."""
        if not (tmp / "data" / "landcover.tif").is_file():
            self.write_inputs(tmp / "data")
        text = f"""# kit scenario
[scenario]
name = "{name}"
year = 2022
base_year = 2020

[region]
landcover = "data/landcover.tif"
zones = "data/zones.tif"
zone_table = "data/zones.csv"
{region_extra}
[inputs]
precipitation = "data/precipitation.tif"
et = "data/et.tif"
storm_rainfall = "data/storm_rainfall.tif"
npp = "data/npp.tif"
temperature = "data/temperature.tif"

[tables]
production = "data/production.csv"

[services]
enabled = {self.SERVICES}

[methods]
carbon_sequestration = "nep_ratio"

[switches]
water_conservation_net_of_water_use = false
{extra}
"""
        path = tmp / f"{file or name}.toml"
        path.write_text(text, encoding="utf-8")
        return path

    @staticmethod
    def lonlat_polygon(path: Path, rings: list[list[tuple[float, float]]], names: list[str] | None = None) -> Path:
        """GeoJSON (WGS 84 lon/lat) of polygons given in UTM 50N (x, y)."""
        from pyproj import Transformer

        tr = Transformer.from_crs("EPSG:32650", "EPSG:4326", always_xy=True)
        feats = []
        for i, ring in enumerate(rings):
            pts = [list(tr.transform(x, y)) for x, y in ring]
            feats.append({"type": "Feature", "properties": {"name": (names or [f"p{i}"] * len(rings))[i]}, "geometry": {"type": "Polygon", "coordinates": [pts + [pts[0]]]}})
        path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
        return path

    @staticmethod
    def rect(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]

    def series(self, tmp: Path, extra: str = "") -> Path:
        """A ``[series]`` scenario of 2020 and 2022 (2020: two urban cells were paddy, 10 % less rain)."""
        import rioxarray  # noqa: F401

        codes_2020 = self.CODES.copy()
        codes_2020[3, 4] = 11  # urban 51 built on paddy since 2020
        codes_2020[4, 4] = 11
        write_tif(tmp / "data" / "landcover_2020.tif", codes_2020, nodata=0)
        return self.scenario(tmp, name="series", extra=f"""
[series]
base_year = 2020

[series.2020]
landcover = "data/landcover_2020.tif"

[[series.2020.changes]]
op = "input"
input = "precipitation"
scale = 0.9

[series.2022]
{extra}""")


@pytest.fixture(scope="session")
def tiny() -> TinyScenario:
    """``tiny.make(tmp, codes=None, extra_toml="", precipitation=None)`` → scenario path; ``tiny.write_tif``, ``tiny.CODES``."""
    return TinyScenario()


@pytest.fixture(scope="session")
def kit() -> ScenarioKit:
    """``kit.scenario(tmp, extra="", name="kit", ...)``, ``kit.series(tmp)``, ``kit.lonlat_polygon``, ``kit.rect``, ``kit.grid``."""
    return ScenarioKit()


@pytest.fixture
def evidence_runs(tmp_path) -> dict:
    """Runs a ledger issuance or a revenue file can cite: ``{'capacity': manifest, 'carbon': manifest}`` under ``tmp_path/runs``
    (written by the ledger tests' helper), attested by ``keyset.operator``."""
    return make_runs(tmp_path / "runs")


# --------------------------------------------------------------------------- ledgers

BACKENDS = ("sqlite", "postgres")


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    if request.param == "postgres" and pg_server()[0] is None:
        pytest.skip(pg_server()[1])
    return request.param


@pytest.fixture
def new_target(backend, tmp_path):
    """Factory of fresh, empty database targets of the current back end."""
    made: list[str] = []

    def make(name: str = "ledger") -> str:
        if backend == "sqlite":
            made.append(name)
            return str(tmp_path / f"{name}-{len(made)}.db")
        schema, url = pg_schema_url(pg_server()[0])
        made.append(schema)
        return url

    yield make
    if backend == "postgres":
        for schema in made:
            pg_drop(pg_server()[0], schema)


@pytest.fixture
def target(new_target) -> str:
    return new_target()


@pytest.fixture
def genesis_before_deal_terms(monkeypatch) -> None:
    """Ledgers the test makes get the genesis parameters of one made before December 2026 (no ``rules``; :func:`tests.ledger.helpers.earlier_genesis`)."""
    earlier_genesis(monkeypatch)


@pytest.fixture(scope="session")
def keyset() -> SimpleNamespace:
    """Key pairs: registry, alice, bob, carol, dave, mallory, witness, and the engine operator of the test runs."""
    return SimpleNamespace(operator=operator(), **{n: keys.generate() for n in ("registry", "alice", "bob", "carol", "dave", "mallory", "witness")})


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict:
    """Evidence: {'capacity': manifest path, 'carbon': manifest path}, attested by ``keyset.operator``."""
    return make_runs(tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="session")
def ledger_tools() -> SimpleNamespace:
    """``Clock`` (a ledger clock moved by hand), ``raw_execute`` and ``drop_append_only`` (tampering with the database),
    ``ratios`` (the shipped trading-ratio table folder)."""
    from tests.ledger.helpers import Clock, drop_append_only, raw_execute
    from tests.ledger.market_setup import RATIOS

    return SimpleNamespace(Clock=Clock, raw_execute=raw_execute, drop_append_only=drop_append_only, ratios=RATIOS)



# --------------------------------------------------------------------------- monitoring


@pytest.fixture(scope="session")
def monitoring_files() -> SimpleNamespace:
    """Small monitoring files (:mod:`tests.monitoring.helpers`): ``raw(rows)`` (a series as read),
    ``monthly(section, year, values)``, ``write_series(path, rows)``, ``index_agreement(path, ...)``."""
    from tests.monitoring.helpers import index_agreement, monthly, raw, write_series

    return SimpleNamespace(raw=raw, monthly=monthly, write_series=write_series, index_agreement=index_agreement)
