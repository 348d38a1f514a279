"""Water ecological capacity models: hand-worked numbers, properties, units, standards table."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from gep.capacity import models as m
from gep.errors import InputError, UnitError
from gep.io.capacity_tables import read_standards
from gep.units import Q_

# A reach used throughout: Cs = 20 mg/L (COD class III), C0 = 12 mg/L, Q = 10 m3/s, q = 0.5 m3/s,
# k = 0.2 /d, u = 0.3 m/s, x = 10 km.
#   k = 0.2 / 86400 = 2.3148e-6 /s
#   a = k x / u = 2.3148e-6 * 10000 / 0.3 = 0.0771604938
#   e^-a = 0.9257412659, e^(a/2) = 1.0393341284, e^(-a/2) = 0.9621544917, e^a = 1.0802154304
#   Cs (Q+q) = 20 * 10.5 = 210 g/s;  C0 Q = 12 * 10 = 120 g/s
REACH = dict(
    cs=Q_(20.0, "mg/L"), c0=Q_(12.0, "mg/L"), flow=Q_(10.0, "m**3/s"), effluent_flow=Q_(0.5, "m**3/s"),
    decay=Q_(0.2, "1/d"), velocity=Q_(0.3, "m/s"), length=Q_(10.0, "km"),
)
A = 0.2 / 86400 * 10000 / 0.3


def t_per_yr(q) -> float:
    assert f"{q.units:~}" in ("t / a", "t / yr")
    return float(q.magnitude)


# --------------------------------------------------------------------------- hand-worked numbers


def test_factor_is_365_day_year():
    # (mg/L)(m3/s) = g/s; 86400 s/d * 365 d / 1e6 g/t = 31.536
    assert m.T_PER_YR_PER_G_PER_S == pytest.approx(31.536, rel=1e-15)


def test_zero_dimensional_hand_number():
    # W = 31.536 * (20 - 12) * (10 + 0.5) = 31.536 * 8 * 10.5 = 2649.024 t/yr
    w = m.zero_dimensional(REACH["cs"], REACH["c0"], REACH["flow"], REACH["effluent_flow"])
    assert t_per_yr(w) == pytest.approx(2649.024, rel=1e-12)


def test_one_d_downstream_hand_number():
    # W = 31.536 * (210 - 120 * e^-a) = 31.536 * (210 - 111.0889519) = 31.536 * 98.9110481 = 3119.2588 t/yr
    w = m.one_d_downstream(**REACH)
    assert t_per_yr(w) == pytest.approx(31.536 * (210 - 120 * math.exp(-A)), rel=1e-12)
    assert t_per_yr(w) == pytest.approx(3119.2588125, rel=1e-9)


def test_one_d_head_hand_number():
    # W = 31.536 * (210 * e^a - 120) = 31.536 * (226.8452403 - 120) = 31.536 * 106.8452403 = 3369.4715 t/yr
    w = m.one_d_head(**REACH)
    assert t_per_yr(w) == pytest.approx(3369.4715007, rel=1e-9)


def test_one_d_mid_hand_number():
    # W = 31.536 * (210 * e^(a/2) - 120 * e^(-a/2)) = 31.536 * (218.2601670 - 115.4585390)
    #   = 31.536 * 102.8016280 = 3241.9521 t/yr
    w = m.one_d_mid(**REACH)
    assert t_per_yr(w) == pytest.approx(3241.9521391, rel=1e-9)


def test_one_d_outfall_is_zero_dimensional():
    # control right below the outfall: no decay in between -> 0-D, 2649.024 t/yr
    assert t_per_yr(m.one_d_outfall(**REACH)) == pytest.approx(2649.024, rel=1e-12)


def test_zhejiang_hand_number():
    # b = 0.8; a/(1 - e^-a) = 0.0771605 / 0.0742587 = 1.0390763
    # Cs - C0 e^-a = 20 - 12 * 0.9257413 = 8.8911048
    # W = 31.536 * 0.8 * 8.8911048 * 10 * 1.0390763 = 2330.7719 t/yr
    args = {k: REACH[k] for k in ("cs", "c0", "flow", "decay", "velocity", "length")}
    w = m.zhejiang_uniform(**args, b=0.8)
    assert t_per_yr(w) == pytest.approx(2330.7719391, rel=1e-9)


def test_zhejiang_k_zero_limit_is_exact():
    # k = 0: a/(1-e^-a) -> 1, W = 31.536 * b * (Cs - C0) * Q = 31.536 * 1 * 8 * 10 = 2522.88 t/yr
    args = {k: REACH[k] for k in ("cs", "c0", "flow", "velocity", "length")}
    w0 = m.zhejiang_uniform(**args, decay=Q_(0.0, "1/d"))
    assert t_per_yr(w0) == pytest.approx(2522.88, rel=1e-12)
    w_tiny = m.zhejiang_uniform(**args, decay=Q_(1e-9, "1/d"))
    assert t_per_yr(w_tiny) == pytest.approx(2522.88, rel=1e-9)


def test_temperature_correction_hand_number():
    # k_25 = 0.2 * 1.047^(25-20) = 0.2 * 1.2581529 = 0.2516306 /d; a_T = 0.0970797
    # mid: W = 31.536 * (210 e^(a_T/2) - 120 e^(-a_T/2)) = 3346.9310 t/yr
    w = m.one_d_mid(**REACH, temperature=Q_(25.0, "degC"), theta=1.047)
    assert t_per_yr(w) == pytest.approx(3346.9310296, rel=1e-9)
    # at 20 degC the correction is the identity
    w20 = m.one_d_mid(**REACH, temperature=Q_(20.0, "degC"), theta=1.047)
    assert t_per_yr(w20) == pytest.approx(t_per_yr(m.one_d_mid(**REACH)), rel=1e-13)


def test_lake_mixed_hand_number():
    # Cs = 0.05 mg/L (TP class III lake), C0 = 0.08, Q = 2 m3/s, V = 2e7 m3, k = 0.01 /d
    # k V = 0.01/86400 * 2e7 = 2.3148148 m3/s
    # W = 31.536 * (0.05 * (2 + 2.3148148) - 0.08 * 2) = 31.536 * (0.2157407 - 0.16) = 31.536 * 0.0557407
    #   = 1.75784 t/yr
    w = m.lake_mixed(Q_(0.05, "mg/L"), Q_(0.08, "mg/L"), Q_(2.0, "m**3/s"), Q_(2e7, "m**3"), Q_(0.01, "1/d"))
    assert t_per_yr(w) == pytest.approx(1.75784, rel=1e-9)


LAKE = dict(cs=Q_(0.05, "mg/L"), volume=Q_(2e7, "m**3"), area=Q_(5.0, "km**2"), outflow=Q_(2.0, "m**3/s"))


def test_dillon_kirchner_dillon_hand_number():
    # Qa = 2 m3/s * 31.536e6 s/yr = 6.3072e7 m3/yr; A = 5e6 m2; V = 2e7 m3; h = V/A = 4 m
    # qs = Qa/A = 12.6144 m/yr; rho = Qa/V = 3.1536 /yr
    # R = 0.426 e^(-0.271*12.6144) + 0.574 e^(-0.00949*12.6144)
    #   = 0.426 * 0.0327615 + 0.574 * 0.8871771 = 0.0139564 + 0.5092397 = 0.5231960
    # L = Ps h rho / (1-R) = 0.05 * 4 * 3.1536 / 0.4768040 = 1.3228078 g/(m2 yr)
    # W = L * A = 1.3228078 * 5e6 g/yr = 6.614039 t/yr
    assert m.retention_kirchner_dillon(Q_(12.6144, "m/yr")) == pytest.approx(0.5231960375, rel=1e-9)
    assert t_per_yr(m.dillon_kd(**LAKE)) == pytest.approx(6.6140390, rel=1e-7)


def test_dillon_larsen_mercier_hand_number():
    # R = 1/(1 + sqrt(3.1536)) = 1/2.7758378 = 0.3602516
    # L = 0.63072 / 0.6397484 = 0.9858876 g/(m2 yr); W = 0.9858876 * 5e6 g/yr = 4.929438 t/yr
    assert m.retention_larsen_mercier(Q_(3.1536, "1/yr")) == pytest.approx(0.3602515929, rel=1e-9)
    assert t_per_yr(m.dillon_lm(**LAKE)) == pytest.approx(4.9294378, rel=1e-7)


def test_dillon_explicit_depth_and_area_units():
    # explicit h = V/A gives the same; area in ha converts at the boundary
    w = m.dillon(LAKE["cs"], LAKE["volume"], Q_(500.0, "ha"), LAKE["outflow"], depth=Q_(4.0, "m"))
    assert t_per_yr(w) == pytest.approx(t_per_yr(m.dillon_kd(**LAKE)), rel=1e-12)


# --------------------------------------------------------------------------- errors


def test_wrong_dimension_names_the_argument():
    bad = dict(REACH, length=Q_(10.0, "m**3/s"))
    with pytest.raises(UnitError, match="length"):
        m.one_d_mid(**bad)


def test_bare_number_is_rejected():
    with pytest.raises(UnitError, match="flow"):
        m.zero_dimensional(REACH["cs"], REACH["c0"], 10.0, REACH["effluent_flow"])


def test_temperature_needs_theta():
    with pytest.raises(InputError, match="theta"):
        m.one_d_mid(**REACH, temperature=Q_(25.0, "degC"))


@pytest.mark.parametrize("name,value", [("velocity", Q_(0.0, "m/s")), ("decay", Q_(-0.1, "1/d")), ("flow", Q_(-1.0, "m**3/s"))])
def test_invalid_inputs_raise(name, value):
    with pytest.raises(InputError):
        m.one_d_downstream(**dict(REACH, **{name: value}))


def test_invalid_values_counted_in_arrays():
    with pytest.raises(InputError, match="2 of 3"):
        m.one_d_downstream(**dict(REACH, velocity=Q_(np.array([0.3, 0.0, -1.0]), "m/s")))


def test_dillon_unknown_retention():
    with pytest.raises(InputError, match="retention"):
        m.dillon(**LAKE, retention="vollenweider")


# --------------------------------------------------------------------------- vectorisation


def test_vectorised_over_reaches_matches_scalar_calls():
    flows = np.array([1.0, 5.0, 10.0, 40.0])
    lengths = np.array([2.0, 10.0, 25.0, 3.0])
    w = m.one_d_mid(**dict(REACH, flow=Q_(flows, "m**3/s"), length=Q_(lengths, "km")))
    singles = [t_per_yr(m.one_d_mid(**dict(REACH, flow=Q_(f, "m**3/s"), length=Q_(x, "km")))) for f, x in zip(flows, lengths)]
    np.testing.assert_allclose(w.magnitude, singles, rtol=1e-13)


def test_dataarray_in_dataarray_out():
    flow = xr.DataArray(np.array([1.0, 10.0]), dims="reach", coords={"reach": ["a", "b"]}, attrs={"units": "m**3/s"})
    w = m.zhejiang_uniform(REACH["cs"], REACH["c0"], flow, REACH["decay"], REACH["velocity"], REACH["length"])
    assert isinstance(w, xr.DataArray)
    assert w.attrs["units"] == "t/yr"
    assert list(w["reach"].values) == ["a", "b"]


def test_negative_capacity_is_not_clamped():
    # C0 = 25 > Cs = 20: W = 31.536 * (20 - 25) * 10.5 = -1655.64 t/yr (a deficit)
    w = m.zero_dimensional(Q_(20.0, "mg/L"), Q_(25.0, "mg/L"), REACH["flow"], REACH["effluent_flow"])
    assert t_per_yr(w) == pytest.approx(-1655.64, rel=1e-12)


# --------------------------------------------------------------------------- properties
# Each hypothesis example is a batch of reaches evaluated in one vectorised call.

N = st.integers(1, 12)


def _arr(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@st.composite
def batches(draw, c0_le_cs=False, c0_gt_cs=False):
    n = draw(N)
    col = lambda lo, hi: np.array(draw(st.lists(_arr(lo, hi), min_size=n, max_size=n)))  # noqa: E731
    cs = col(0.01, 50.0)
    if c0_le_cs:
        c0 = cs * col(0.0, 1.0)
    elif c0_gt_cs:
        c0 = cs + col(0.01, 50.0)
    else:
        c0 = col(0.0, 50.0)
    return dict(cs=cs, c0=c0, flow=col(0.01, 500.0), effluent_flow=col(0.0, 20.0), decay=col(0.0, 1.0),
                velocity=col(0.02, 3.0), length=col(0.0, 60.0))


UNITS = dict(cs="mg/L", c0="mg/L", flow="m**3/s", effluent_flow="m**3/s", decay="1/d", velocity="m/s", length="km")
ONE_D = [m.one_d_downstream, m.one_d_mid, m.one_d_head, m.one_d_outfall, m.zero_dimensional]


def _q(b):
    return {k: Q_(v, UNITS[k]) for k, v in b.items()}


def _w(fn, b):
    r = _q(b)
    if fn is m.zero_dimensional:
        return np.asarray(fn(r["cs"], r["c0"], r["flow"], r["effluent_flow"]).magnitude)
    if fn is m.zhejiang_uniform:
        return np.asarray(fn(r["cs"], r["c0"], r["flow"], r["decay"], r["velocity"], r["length"]).magnitude)
    return np.asarray(fn(**r).magnitude)


def _with(b, **kw):
    return dict(b, **kw)


@settings(max_examples=30, deadline=None)
@given(b=batches(c0_le_cs=True), dq=_arr(0.01, 100.0))
def test_capacity_increases_with_flow(b, dq):
    for fn in ONE_D + [m.zhejiang_uniform]:
        lo, hi = _w(fn, b), _w(fn, _with(b, flow=b["flow"] + dq))
        slack = 1e-12 * 31.536 * b["cs"] * (b["flow"] + dq + b["effluent_flow"])  # rounding of W near 0 where C0·e^−a ≈ Cs
        assert (hi >= lo - 1e-9 * np.abs(lo) - slack).all()


@settings(max_examples=30, deadline=None)
@given(b=batches(), dcs=_arr(0.01, 10.0), dc0=_arr(0.01, 10.0))
def test_capacity_increases_with_target_and_decreases_with_upstream(b, dcs, dc0):
    for fn in ONE_D + [m.zhejiang_uniform]:
        base = _w(fn, b)
        assert (_w(fn, _with(b, cs=b["cs"] + dcs)) > base).all()
        # non-strict: where e^(-k x / u) < 1e-15 the upstream term is below floating-point resolution
        assert (_w(fn, _with(b, c0=b["c0"] + dc0)) <= base).all()


@settings(max_examples=30, deadline=None)
@given(b=batches())
def test_one_d_with_no_decay_equals_zero_dimensional(b):
    # with q = 0 the 1-D forms (and Zhejiang with b = 1) at k = 0 are exactly the 0-D model
    b0 = _with(b, decay=0.0 * b["decay"], effluent_flow=0.0 * b["flow"])
    w0 = _w(m.zero_dimensional, b0)
    for fn in (m.one_d_downstream, m.one_d_mid, m.one_d_head, m.one_d_outfall, m.zhejiang_uniform):
        np.testing.assert_allclose(_w(fn, b0), w0, rtol=1e-12, atol=1e-9)
    # with q > 0 the 1-D forms exceed 0-D by exactly 31.536 * C0 * q (documented in zero_dimensional)
    bq = _with(b, decay=0.0 * b["decay"])
    diff = _w(m.one_d_downstream, bq) - _w(m.zero_dimensional, bq)
    np.testing.assert_allclose(diff, 31.536 * b["c0"] * b["effluent_flow"], rtol=1e-9, atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(b=batches(c0_le_cs=True))
def test_placement_order_downstream_mid_head(b):
    down, mid, head = (_w(fn, b) for fn in (m.one_d_downstream, m.one_d_mid, m.one_d_head))
    slack = 1e-12 * 31.536 * b["cs"] * (b["flow"] + b["effluent_flow"]) + 1e-12  # rounding of W = 31.536·(Cs − C0·e^−a)·Q near 0
    assert (down <= mid * (1 + 1e-12) + slack).all()
    assert (mid <= head * (1 + 1e-12) + slack).all()
    # exact relations: mid = e^(a/2) * downstream, head = e^a * downstream, a = k x / u
    a = b["decay"] / 86400 * b["length"] * 1000 / b["velocity"]
    np.testing.assert_allclose(mid, np.exp(a / 2) * down, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(head, np.exp(a) * down, rtol=1e-9, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(b=batches(c0_gt_cs=True), v=_arr(1e5, 1e9))
def test_negative_when_upstream_exceeds_target(b, v):
    b0 = _with(b, decay=0.0 * b["decay"])
    assert (_w(m.zero_dimensional, b) < 0).all()
    assert (_w(m.one_d_outfall, b) < 0).all()
    bnq = _with(b0, effluent_flow=0.0 * b["flow"])
    for fn in (m.one_d_downstream, m.one_d_mid, m.one_d_head, m.zhejiang_uniform):
        assert (_w(fn, bnq) < 0).all()
    lake = m.lake_mixed(Q_(b["cs"], "mg/L"), Q_(b["c0"], "mg/L"), Q_(b["flow"], "m**3/s"), Q_(v, "m**3"), Q_(0.0, "1/d"))
    np.testing.assert_allclose(lake.magnitude, 31.536 * (b["cs"] - b["c0"]) * b["flow"], rtol=1e-12)
    assert (lake.magnitude < 0).all()


@settings(max_examples=30, deadline=None)
@given(b=batches(), t=_arr(0.0, 35.0), theta=_arr(1.0, 1.1))
def test_units_decay_length_temperature_equivalent(b, t, theta):
    base = _q(b)
    other = dict(base, decay=Q_(b["decay"] / 86400.0, "1/s"), length=Q_(b["length"] * 1000.0, "m"))
    for fn in (m.one_d_downstream, m.one_d_mid, m.one_d_head):
        np.testing.assert_allclose(fn(**base).magnitude, fn(**other).magnitude, rtol=1e-12, atol=1e-9)
        c = fn(**base, temperature=Q_(t, "degC"), theta=theta)
        kel = fn(**other, temperature=Q_(t + 273.15, "K"), theta=theta)
        np.testing.assert_allclose(c.magnitude, kel.magnitude, rtol=1e-10, atol=1e-9)


# --------------------------------------------------------------------------- registry and standards


def test_registry_functions_accept_their_declared_inputs():
    given_all = dict(REACH, outflow=Q_(2.0, "m**3/s"), volume=Q_(2e7, "m**3"), area=Q_(5.0, "km**2"))
    for name, entry in m.MODELS.items():
        out = entry.function(**{k: given_all[k] for k in entry.inputs})
        assert np.isfinite(t_per_yr(out)), name


@pytest.fixture(scope="module")
def standards():
    return read_standards()


@pytest.mark.parametrize(
    "parameter,cls,body,value",
    [
        ("COD", "III", "river", 20.0), ("COD", "I", "lake", 15.0), ("CODMn", "IV", "river", 10.0),
        ("BOD5", "V", "river", 10.0), ("NH3-N", "II", "river", 0.5), ("nh3n", "3", "river", 1.0),
        ("TP", "III", "river", 0.2), ("TP", "III", "lake", 0.05), ("TP", "II", "reservoir", 0.025),
        ("TN", "V", "lake", 2.0), ("TP", "I", "lake", 0.01),
    ],
)
def test_target_concentration(standards, parameter, cls, body, value):
    assert m.target_concentration(standards, parameter, cls, body).to("mg/L").magnitude == pytest.approx(value)


def test_standards_table_shape(standards):
    # 5 shared parameters x 5 classes x 2 water bodies + TP river 5 + TP lake 5 + TN lake 5 = 65 rows
    assert len(standards) == 65
    do = standards[standards["parameter"] == "DO"]
    assert set(do["bound"]) == {"min"}
    assert set(standards.loc[standards["parameter"] != "DO", "bound"]) == {"max"}
    assert do.loc[(do["class"] == "I") & (do["water_body"] == "river"), "value"].item() == 7.5
    assert set(standards["confidence"]) <= {"verified", "derived", "recalled", "assumed"}


@pytest.mark.parametrize(
    "parameter,cls,body,match",
    [("TN", "III", "river", "TN"), ("DO", "II", "river", "lower bound"), ("PCB", "II", "river", "PCB"),
     ("COD", "VI", "river", "class"), ("COD", "II", "sea", "water-body")],
)
def test_target_concentration_errors(standards, parameter, cls, body, match):
    with pytest.raises(InputError, match=match):
        m.target_concentration(standards, parameter, cls, body)
