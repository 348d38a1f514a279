#!/usr/bin/env python
"""Generate the SYNTHETIC monitoring data set of the demo basin (run from anywhere):

    python gep/data/demo/monitoring/generate.py

Writes next to this script (deterministic: one ``numpy.random.Generator(PCG64(20240))``,
byte-identical on every run with the same gep):

* ``sections.csv``: 14 monitoring sections: the control sections of the demo reaches
  and lakes (``reach`` column, for ``gep monitoring calibrate``), one section per
  remaining town (``zone`` = town id of ``../data/zones.csv``, for ``gep assess``), the
  Zhucao River where it enters the county from Anhui (``B06``, for the Liyang–Langxi
  demo agreement) and a stand-in for the Xin'an River's Jiekou section (``JIEKOU``).
* ``series.csv``: monthly samples 2020–2024 (CODMn, COD, NH3-N, TP, TN, DO, water
  temperature, flow) and twice-monthly samples 2008–2014 at ``JIEKOU`` (CODMn, NH3-N,
  TP, TN).

How the numbers are made (a "twin experiment": the truth is known)
------------------------------------------------------------------
At the linked sections, COD and NH3-N (rivers) and TP and TN (lakes) come from gep's
own calibration forward model (:func:`gep.monitoring.calibration.predict`) on the demo
basin (``scenarios/demo_capacity.toml``: its loads and reaches), with the decay rates and
export-coefficient multipliers in :data:`TRUTH` (not the values of ``reaches.csv``),
the flow drawn around the design flow with a seasonal cycle, and log-normal noise
(σ = 0.15). ``gep monitoring calibrate scenarios/demo_capacity_calibration.toml`` should find
:data:`TRUTH` back within its uncertainty. Every other value is drawn around a typical
level per section (log-normal). Results below the method detection limits in
:data:`DL` are written as the DL with flag ``L`` (HJ/T 91-2002); a few samples are
flagged ``M`` (missing) or ``X`` (rejected by QC), a few months are not sampled at
all (gaps), and one section reports TP in µg/L.

NOTHING HERE IS MEASURED: see ``README.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[3]
sys.path.insert(0, str(ROOT))  # the repository, for gep

from gep.jobs.capacity_basin import load as load_basin  # noqa: E402
from gep.monitoring.calibration import basin_loads, build, observations, predict  # noqa: E402

SEED = 20240
#: Method detection limits [mg/L] (recalled from the standard methods: CODMn GB 11892-89 0.5,
#: COD HJ 828-2017 4, NH3-N HJ 535-2009 0.025, TP GB 11893-89 0.01, TN HJ 636-2012 0.05).
DL = {"CODMn": 0.5, "COD": 4.0, "NH3-N": 0.025, "TP": 0.01, "TN": 0.05}
#: The "true" parameters behind the linked sections (decay [1/d], export multipliers [-]).
TRUTH = {
    "decay R1 COD": 0.26, "decay R1 NH3-N": 0.12, "decay R2 COD": 0.18, "decay R2 NH3-N": 0.19,
    "decay R3 COD": 0.30, "decay R3 NH3-N": 0.11, "decay R4 COD": 0.24, "decay R4 NH3-N": 0.17,
    "decay R5 COD": 0.20, "decay R5 NH3-N": 0.13, "decay L5 TN": 0.006,
    "export COD": 1.25, "export NH3-N": 0.80, "export TP": 1.15, "export TN": 0.90,
}
SIGMA = 0.15
# section, name, water_body, target_class, reach, zone, county
SECTIONS = [
    ("S01", "Nanhe at Licheng (R1 control)", "river", "III", "R1", 1, "Liyang"),
    ("S02", "Kunlun urban canal", "river", "III", "", 2, "Liyang"),
    ("S03", "Daitou outlet to Changdang Lake (R2 control)", "river", "III", "R2", 3, "Liyang"),
    ("S04", "Shanghuang canal (R3 control)", "river", "III", "R3", 4, "Liyang"),
    ("S05", "Daxi inflow river (R4 control)", "river", "III", "R4", 5, "Liyang"),
    ("L04", "Daxi reservoir (L4)", "lake", "II", "L4", 5, "Liyang"),
    ("S06", "Shahe inflow river (R5 control)", "river", "III", "R5", 6, "Liyang"),
    ("L05", "Shahe reservoir (L5)", "lake", "II", "L5", 6, "Liyang"),
    ("S07", "Bieqiao-Shangxing river (R6 control)", "river", "III", "R6", 7, "Liyang"),
    ("S08", "Shangxing town section", "river", "III", "", 8, "Liyang"),
    ("S09", "Zhuze-Shezhu river (R7 control)", "river", "III", "R7", 9, "Liyang"),
    ("S10", "Shezhu town section", "river", "III", "", 10, "Liyang"),
    ("B06", "Zhucao River at the Anhui-Jiangsu border", "river", "III", "", "", "Langxi"),
    ("JIEKOU", "Xin'an River at Jiekou (synthetic stand-in)", "river", "II", "", "", "Huangshan"),
]
#: Typical levels [mg/L] (median) of the drawn values per section kind; DO and temperature separate.
LEVELS = {
    "urban": {"CODMn": 5.5, "COD": 19.0, "NH3-N": 1.05, "TP": 0.19, "TN": 2.6},
    "town": {"CODMn": 4.2, "COD": 15.0, "NH3-N": 0.45, "TP": 0.12, "TN": 1.7},
    "river": {"TP": 0.11, "TN": 1.6},
    "lake": {"CODMn": 3.0, "COD": 12.0, "NH3-N": 0.2},
    "border": {"CODMn": 3.4, "COD": 12.0, "NH3-N": 0.32, "TP": 0.075, "TN": 1.35},
    "jiekou": {"CODMn": 2.2, "NH3-N": 0.12, "TP": 0.035, "TN": 1.25},
}
KIND = {"S02": "urban", "S08": "town", "S10": "town", "B06": "border", "JIEKOU": "jiekou", "L04": "lake", "L05": "lake"}


def sampling_days(years: range, per_month: int) -> pd.DatetimeIndex:
    days = [5] if per_month == 1 else [5, 20]
    return pd.DatetimeIndex([pd.Timestamp(y, m, d) for y in years for m in range(1, 13) for d in days])


def seasonal(times: pd.DatetimeIndex, amplitude: float, peak_doy: int = 196) -> np.ndarray:
    return amplitude * np.cos(2 * np.pi * (times.day_of_year.to_numpy() - peak_doy) / 365.25)


def main() -> None:
    rng = np.random.Generator(np.random.PCG64(SEED))
    sections = pd.DataFrame(SECTIONS, columns=["section", "name", "water_body", "target_class", "reach", "zone", "county"])
    b = load_basin(ROOT / "scenarios" / "demo_capacity.toml")
    reaches = b.reaches
    loads = basin_loads(b.landcover, b.catchments, b.cell_area, b.export, b.points, b.scenario.conversions, b.scenario.vintage)
    recent = sampling_days(range(2020, 2025), 1)
    rows = []

    def add(section: str, times: pd.DatetimeIndex, parameter: str, values: np.ndarray, unit: str = "mg/L", digits: int = 4) -> None:
        """Rows of one section and parameter (``digits`` significant digits; below the DL: the DL, flag L)."""
        values = np.asarray(values, dtype=float)
        flags = np.full(len(values), "", dtype=object)
        if parameter in DL:
            dl = DL[parameter] * (1000.0 if unit == "ug/L" else 1.0)
            below = values < dl
            values = np.where(below, dl, values)
            flags[below] = "L"
        text = [f"{v:.{digits}g}" for v in values]
        rows.extend(zip([section] * len(values), times.strftime("%Y-%m-%d"), [parameter] * len(values), text, [unit] * len(values), flags))

    # linked sections: flow, then model concentrations from the forward model
    linked = sections[sections["reach"] != ""]
    flow_rows, conc_rows = [], []
    design = dict(zip(reaches["id"].astype(str), pd.to_numeric(reaches.get("flow"), errors="coerce").fillna(pd.to_numeric(reaches.get("outflow"), errors="coerce"))))
    for r in linked.itertuples(index=False):  # 9 sections
        q = design[r.reach] * np.exp(0.45 + seasonal(recent, 0.55) + rng.normal(0.0, 0.25, len(recent)))
        flow_rows.append(pd.DataFrame({"section": r.section, "time": recent, "parameter": "flow", "value": q, "unit": "m**3/s", "status": "valid", "detection_limit": np.nan, "row": 0}))
        for pol in ("COD", "NH3-N", "TP", "TN"):
            conc_rows.append(pd.DataFrame({"section": r.section, "time": recent, "parameter": pol, "value": 1.0, "unit": "mg/L", "status": "valid", "detection_limit": np.nan, "row": 0}))
    twin = pd.concat(flow_rows + conc_rows, ignore_index=True)
    obs = observations(twin, sections, reaches)
    problem = build(obs, reaches, loads)
    theta = np.log(problem.params["parameter"].map(TRUTH).to_numpy(dtype=float))
    true_c = predict(problem, theta) * np.exp(rng.normal(0.0, SIGMA, len(obs)))
    for (section, pol), g in obs.assign(c=true_c).groupby(["section", "pollutant"], sort=True):
        add(section, pd.DatetimeIndex(g["time"]), pol, g["c"].to_numpy())
        if pol == "COD":  # permanganate index follows COD at the river control sections
            add(section, pd.DatetimeIndex(g["time"]), "CODMn", 0.28 * g["c"].to_numpy() * np.exp(rng.normal(0.0, 0.1, len(g))))
    for f in flow_rows:
        add(f["section"].iloc[0], recent, "flow", f["value"].to_numpy(), "m**3/s", 3)

    # every section: the parameters the model does not give, DO and water temperature
    modelled = set(zip(obs["section"], obs["pollutant"]))
    for r in sections.itertuples(index=False):
        if r.section == "JIEKOU":
            continue
        kind = KIND.get(r.section, "river")
        for pol, median in LEVELS[kind].items():
            if (r.section, pol) in modelled or (pol == "CODMn" and (r.section, "COD") in modelled):
                continue
            unit, scale = ("ug/L", 1000.0) if (r.section == "S09" and pol == "TP") else ("mg/L", 1.0)
            vals = median * np.exp(seasonal(recent, 0.15) + rng.normal(0.0, 0.25, len(recent)))
            if r.section == "B06":  # the border river improves after 2021 (the demo agreement's baseline years)
                vals = vals * np.where(recent.year >= 2022, 0.88, 1.0)
            add(r.section, recent, pol, vals * scale, unit)
        temp = 17.5 + seasonal(recent, 10.5) + rng.normal(0.0, 0.8, len(recent))
        add(r.section, recent, "temperature", temp, "degC", 3)
        do = (14.6 - 0.30 * temp) * (0.95 if kind in ("urban", "town") else 1.0) + rng.normal(0.0, 0.35, len(recent))
        add(r.section, recent, "DO", do, digits=3)
    jiekou = sampling_days(range(2008, 2015), 2)
    for pol, median in LEVELS["jiekou"].items():  # Xin'an stand-in: baseline 2008-2010, slightly better from 2012
        trend = np.where(jiekou.year >= 2012, 0.9, 1.0)
        add("JIEKOU", jiekou, pol, median * trend * np.exp(seasonal(jiekou, 0.12) + rng.normal(0.0, 0.2, len(jiekou))))

    out = pd.DataFrame(rows, columns=["section", "time", "parameter", "value", "unit", "flag"])
    # missing and rejected samples, and whole months not sampled (gaps)
    pick = rng.choice(len(out), 25, replace=False)
    out.loc[pick[:15], ["value", "flag"]] = ["", "M"]
    out.loc[pick[15:], "flag"] = "X"
    gap = (out["section"] == "S08") & out["time"].isin(["2021-07-05", "2021-08-05", "2023-02-05"])
    out = out[~gap]
    out = out.sort_values(["section", "time", "parameter"], kind="stable")
    header = ("# SYNTHETIC monitoring series of the gep demo basin (gep/data/demo/monitoring/README.md); not measured data.\n"
              "# Made by generate.py (seed 20240). Flags: L = below the detection limit (value = DL), M = missing, X = rejected by QC.\n")
    (HERE / "series.csv").write_text(header + out.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
    sec_header = ("# SYNTHETIC monitoring sections of the gep demo basin (README.md). reach = reach/lake id of ../capacity/reaches.csv\n"
                  "# whose control section this is (calibration); zone = town id of ../data/zones.csv (assessment).\n")
    (HERE / "sections.csv").write_text(sec_header + sections.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
    print(f"series.csv: {len(out)} rows, {out['section'].nunique()} sections; sections.csv: {len(sections)} rows")


if __name__ == "__main__":
    main()
