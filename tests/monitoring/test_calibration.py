"""Calibration of the basin model: the forward model by hand, its exact inverse of every capacity model,
a twin experiment that finds known parameters back, intervals, and applying the values to a basin."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gep.capacity.models import MODELS
from gep.errors import InputError
from gep.monitoring.calibration import apply, build, fit, observations, predict
from gep.units import Q_

UNITS = {"flow": "m**3/s", "effluent_flow": "m**3/s", "upstream": "mg/L", "decay": "1/d", "velocity": "m/s", "length": "km",
         "volume": "m**3", "area": "km**2", "outflow": "m**3/s", "depth": "m"}


def reaches(rows: list[dict]) -> pd.DataFrame:
    cols = ["id", "catchment", "water_body", "model", "pollutant", "class", "flow", "effluent_flow", "upstream", "decay", "velocity",
            "length", "volume", "area", "depth", "outflow", "b"]
    df = pd.DataFrame([{c: r.get(c, np.nan) for c in cols} for r in rows])
    df.attrs["units"] = dict(UNITS)
    return df


REACHES = reaches([
    {"id": "R1", "catchment": 1, "water_body": "river", "model": "1d-mid", "pollutant": "COD", "class": "III", "flow": 10.0, "effluent_flow": 0.0,
     "upstream": 2.0, "decay": 0.2, "velocity": 0.5, "length": 10.0},
    {"id": "R2", "catchment": 2, "water_body": "river", "model": "0d", "pollutant": "COD", "class": "III", "flow": 5.0, "effluent_flow": 0.5, "upstream": 3.0},
])
LOADS = pd.DataFrame({"catchment": [1, 2], "pollutant": ["COD", "COD"], "point_t_per_yr": [100.0, 50.0], "nonpoint_t_per_yr": [200.0, 100.0]})
SECTIONS = pd.DataFrame({"section": ["S1", "S2", "S3"], "reach": ["R1", "R2", ""]})


def series(flows: np.ndarray, conc: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """A normalised series: flow and COD at S1 and S2 at the same times."""
    times = pd.date_range("2023-01-10", periods=len(flows), freq="14D")
    rows = []
    for sec, f in (("S1", flows), ("S2", flows / 2)):
        c = (conc or {}).get(sec, np.ones(len(flows)))
        rows.append(pd.DataFrame({"section": sec, "time": times, "parameter": "flow", "value": f, "unit": "m**3/s", "status": "valid", "detection_limit": np.nan}))
        rows.append(pd.DataFrame({"section": sec, "time": times, "parameter": "COD", "value": c, "unit": "mg/L", "status": "valid", "detection_limit": np.nan}))
    out = pd.concat(rows, ignore_index=True)
    out["row"] = np.arange(1, len(out) + 1)
    return out


def test_forward_model_by_hand():
    obs = observations(series(np.array([10.0, 20.0])), SECTIONS, REACHES)
    prob = build(obs, REACHES, LOADS)
    c = predict(prob, prob.theta0)
    # R1, 1-D mid-reach: a = k·x/u = (0.2/86400 s⁻¹)·10000 m/0.5 m/s; L = 300 t/yr = 300/31.536 g/s
    a = 0.2 / 86400 * 10000 / 0.5
    for q, got in zip((10.0, 20.0), c[obs["section"] == "S1"]):
        assert got == pytest.approx((300 / 31.536 + 2.0 * q * math.exp(-a / 2)) * math.exp(-a / 2) / q, rel=1e-12)
    # R2, zero-dimensional: C = L/(31.536·(Q + q)) + C0 with Q = 5 and 10 (half the S1 flow), q = 0.5, L = 150 t/yr
    for q, got in zip((5.0, 10.0), c[obs["section"] == "S2"]):
        assert got == pytest.approx(150 / (31.536 * (q + 0.5)) + 3.0, rel=1e-12)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_forward_model_inverts_every_capacity_model(name):
    """A load equal to the capacity W(Cs) gives back Cs at the control section."""
    entry = MODELS[name]
    lake = entry.kind == "lake"
    pol = "TP" if "pollutants" in entry.extra else "COD"
    row = {"id": "X", "catchment": 1, "water_body": entry.kind, "model": name, "pollutant": pol, "upstream": 0.02 if lake else 2.0,
           "decay": 0.3, "velocity": 0.4, "length": 8.0, "effluent_flow": 0.3, "b": 0.8, "volume": 2e7, "area": 4.0, "depth": 5.0,
           ("outflow" if lake else "flow"): 6.0}
    table = reaches([row])
    kwargs = {"cs": Q_(0.07 if lake else 17.0, "mg/L")}
    for arg in entry.inputs + entry.optional:
        col = {"c0": "upstream"}.get(arg, arg)
        if arg != "cs" and col in row and arg not in ("temperature", "theta"):
            kwargs[arg] = row[col] if arg == "b" else Q_(row[col], UNITS[col])
    w = float(entry.function(**kwargs).to("t/yr").magnitude)
    obs = observations(series(np.array([6.0])).replace({"COD": pol}), pd.DataFrame({"section": ["S1"], "reach": ["X"]}), table)
    loads = pd.DataFrame({"catchment": [1], "pollutant": [pol], "point_t_per_yr": [w], "nonpoint_t_per_yr": [0.0]})
    prob = build(obs, table, loads, decay="decay" in entry.inputs)
    assert predict(prob, prob.theta0)[0] == pytest.approx(kwargs["cs"].magnitude, rel=1e-9)


def _twin(noise: float, n: int = 40):
    rng = np.random.Generator(np.random.PCG64(7))
    flows = 10.0 * np.exp(rng.normal(0.4, 0.5, n))
    obs = observations(series(flows), SECTIONS, REACHES)
    prob = build(obs, REACHES, LOADS)
    truth = np.log(np.array([0.35, 1.4]))  # decay R1 COD [1/d], export multiplier COD
    assert list(prob.params["parameter"]) == ["decay R1 COD", "export COD"]
    c = predict(prob, truth) * np.exp(rng.normal(0.0, noise, len(obs)))
    conc = {s: c[(obs["section"] == s).to_numpy()] for s in ("S1", "S2")}
    obs = observations(series(flows, conc), SECTIONS, REACHES)
    return fit(build(obs, REACHES, LOADS), profile=noise > 0), np.exp(truth)


def test_twin_experiment_without_noise_finds_the_truth():
    res, truth = _twin(0.0)
    assert res["parameters"]["estimate"].to_numpy() == pytest.approx(truth, rel=1e-6)
    assert res["stats"]["converged"] and res["stats"]["identifiable"] and res["stats"]["ssr"] < 1e-16


def test_twin_experiment_intervals_cover_the_truth():
    res, truth = _twin(0.1)
    p = res["parameters"]
    assert ((p["ci_low"] < truth) & (truth < p["ci_high"])).all()
    assert ((p["profile_low"] < truth) & (truth < p["profile_high"])).all()
    # the Wald interval is exp(θ ± t·SE_θ): symmetric in log space around the estimate
    assert np.log(p["ci_high"] / p["estimate"]).to_numpy() == pytest.approx(np.log(p["estimate"] / p["ci_low"]).to_numpy())
    assert res["stats"]["s"] == pytest.approx(0.1, rel=0.3)
    assert res["correlation"].shape == (2, 2)


def test_below_dl_samples_are_censored_one_sided():
    obs = observations(series(np.array([10.0, 10.0])), SECTIONS, REACHES)
    obs.loc[obs.index[0], ["status", "detection_limit", "observed"]] = ["below_dl", 50.0, 50.0]
    prob = build(obs, REACHES, LOADS)
    from gep.monitoring.calibration import residuals

    r = residuals(prob, prob.theta0)
    assert r[0] == 0.0  # the fit (≈ 3 mg/L) is below the DL of 50 mg/L: no residual


def test_bad_links_and_too_few_observations():
    with pytest.raises(InputError, match="reach 'R9', which is not in the reaches table"):
        observations(series(np.array([10.0])), pd.DataFrame({"section": ["S1"], "reach": ["R9"]}), REACHES)
    with pytest.raises(InputError, match="no 'reach' column"):
        observations(series(np.array([10.0])), pd.DataFrame({"section": ["S1"]}), REACHES)
    obs = observations(series(np.array([10.0])), SECTIONS, REACHES)
    with pytest.raises(InputError, match="2 observation\\(s\\) for 2 parameter\\(s\\)"):
        fit(build(obs, REACHES, LOADS))


def test_apply_calibrated_values_to_a_basin():
    params = pd.DataFrame({"kind": ["decay", "export", "decay"], "reach": ["R1", "", "R9"], "pollutant": ["COD", "COD", "COD"],
                           "estimate": [0.35, 1.4, 0.1], "parameter": ["decay R1 COD", "export COD", "decay R9 COD"]})
    export = pd.DataFrame({"landcover": [11, 21, 11], "pollutant": ["COD", "COD", "TP"], "value": [10.0, 2.0, 0.5], "unit": ["kg/(ha*yr)"] * 3})
    table = REACHES.copy()
    table.attrs = dict(REACHES.attrs, units={**UNITS, "decay": "1/s"})   # the table keeps its own decay unit
    new, exp, applied = apply(table, export, params)
    assert new.loc[new["id"] == "R1", "decay"].iloc[0] == pytest.approx(0.35 / 86400)
    assert exp["value"].tolist() == pytest.approx([14.0, 2.8, 0.5])
    assert {a["parameter"]: a["rows"] for a in applied} == {"decay R1 COD": 1, "export COD": 2, "decay R9 COD": 0}
