"""Water ecological capacity (水生态容量, assimilative capacity) models.

Pure, vectorised functions: every argument may be a scalar, a numpy array or an
:class:`xarray.DataArray` (numpy- or dask-backed) carrying a unit, and all of them
broadcast, so one call evaluates many reaches or lakes at once. Units are checked
and converted at the boundary by :func:`gep.units.unitful`; the formulas below
work on magnitudes in the declared units (concentrations mg/L = g/m³, flows m³/s,
decay 1/s, lengths m, velocities m/s, volumes m³, areas m², temperatures °C).

Every model returns the allowable load ``W`` in t/yr. A negative ``W`` is a
deficit (the water body is already over-loaded) and is returned as is, never
clamped to zero.

Year convention
---------------
Chinese capacity practice (GB/T 25173-2010, SL 348) converts (mg/L)·(m³/s) = g/s to
t/yr with the factor 31.536, i.e. a 365-day accounting year. All models here use
that same year (:data:`SECONDS_PER_YEAR`), including the Dillon model, whose
empirical retention formulas need per-year rates. pint's ``yr`` is the Julian year
(365.25 d): converting the returned ``t/yr`` to a per-second rate with pint, or
passing an argument in ``m**3/yr`` to an argument declared in ``m**3/s``, differs
from the 365-day convention by 0.068 %.

References
----------
* GB/T 25173-2010 《水域纳污能力计算规程》 (Code for calculating the pollutant
  carrying capacity of water areas), Ministry of Water Resources / SAC.
* SL 348-2006 《水域纳污能力计算规程》 (water-resources industry standard).
* Chapra, S. C. (1997). *Surface Water-Quality Modeling*. McGraw-Hill, ch. 1-3
  (first-order decay, plug flow), ch. 29 (phosphorus loading of lakes).
* Dillon, P. J. & Rigler, F. H. (1974). A test of a simple nutrient budget model
  predicting the phosphorus concentration in lake water. *J. Fish. Res. Board Can.*
  31, 1771-1778.
* Kirchner, W. B. & Dillon, P. J. (1975). An empirical method of estimating the
  retention of phosphorus in lakes. *Water Resour. Res.* 11, 182-183.
* Larsen, D. P. & Mercier, H. T. (1976). Phosphorus retention capacity of lakes.
  *J. Fish. Res. Board Can.* 33, 1742-1750.
* Zhejiang practice (DB33 local standards and provincial water-function-zone
  capacity reports): load spread evenly along the reach with a non-uniformity
  coefficient ``b``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd
import pint
import xarray as xr

from gep.errors import InputError, UnitError
from gep.units import magnitude, unitful

__all__ = [
    "SECONDS_PER_YEAR",
    "T_PER_YR_PER_G_PER_S",
    "MODELS",
    "CapacityModel",
    "decay_at_temperature",
    "zero_dimensional",
    "one_d_downstream",
    "one_d_head",
    "one_d_mid",
    "one_d_outfall",
    "zhejiang_uniform",
    "lake_mixed",
    "retention_kirchner_dillon",
    "retention_larsen_mercier",
    "dillon",
    "dillon_kd",
    "dillon_lm",
    "target_concentration",
    "normalise_class",
]

#: Seconds in the 365-day accounting year of GB/T 25173-2010 [s/yr].
SECONDS_PER_YEAR = 365 * 86400
#: (mg/L)·(m³/s) = g/s expressed in t per 365-day year: 31.536 [t·s/(g·yr)].
T_PER_YR_PER_G_PER_S = SECONDS_PER_YEAR / 1e6


# --------------------------------------------------------------------------- helpers


def _is_lazy(x: Any) -> bool:
    data = x.data if isinstance(x, xr.DataArray) else x
    return hasattr(data, "dask") or type(data).__module__.startswith("dask")


def _require(ok: Any, message: str, hint: str, fn: str) -> None:
    """Raise :class:`InputError` unless ``ok`` holds everywhere (eager arrays only).

    Lazy (dask) inputs are not computed here: the check would force a compute.
    """
    if ok is None or _is_lazy(ok):
        return
    arr = np.asarray(ok)
    if arr.all():
        return
    bad = int(arr.size - np.count_nonzero(arr))
    where = f"{fn}" + (f" ({bad} of {arr.size} values)" if arr.size > 1 else "")
    raise InputError(message + " (NaN is invalid too)", hint=hint, where=where)


def _scalar_or_array(x: Any, name: str, fn: str) -> Any:
    """Dimensionless argument (θ, b): a number, array, DataArray or dimensionless Quantity."""
    if isinstance(x, pint.Quantity):
        return magnitude(x, "dimensionless", f"argument '{name}' of {fn}")
    if isinstance(x, xr.DataArray):
        if "units" in x.attrs:
            return magnitude(x, "dimensionless", f"argument '{name}' of {fn}")
        return x
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.number):
        raise UnitError(f"argument '{name}' of {fn} must be a number, got {x!r}", hint=f"give {name} as a plain number")
    return arr if arr.ndim else float(arr)


def _where(cond: Any, a: Any, b: Any) -> Any:
    if any(isinstance(v, xr.DataArray) for v in (cond, a, b)):
        return xr.where(cond, a, b)
    return np.where(cond, a, b)


def _x_over_one_minus_exp(a: Any) -> Any:
    """``a / (1 − e^(−a))``, equal to 1 at ``a = 0`` (its limit), for ``a ≥ 0``."""
    small = abs(a) < 1e-12
    safe = _where(small, 1.0, a)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        val = safe / -np.expm1(-safe)
    return _where(small, 1.0 + 0.5 * a, val)


def decay_at_temperature(k20: Any, temperature: Any, theta: Any) -> Any:
    """Temperature-corrected first-order decay rate (magnitudes).

    ``k_T = k_20 · θ^(T − 20)``

    Parameters
    ----------
    k20 : array_like
        Decay rate at 20 °C [1/s].
    temperature : array_like
        Water temperature [°C].
    theta : array_like
        Temperature coefficient [-], typically 1.02-1.08.

    Returns
    -------
    array_like
        Decay rate at ``temperature`` [1/s].

    References
    ----------
    Chapra (1997), *Surface Water-Quality Modeling*, sec. 2.7 (Arrhenius-type
    correction, θ form).
    """
    return k20 * theta ** (temperature - 20.0)


def _decay(decay: Any, temperature: Any, theta: Any, fn: str) -> Any:
    """Validate ``decay`` and apply the temperature correction if asked for."""
    _require(decay >= 0, "decay coefficient k must be >= 0", "give k as a positive rate such as '0.2/d'", fn)
    if temperature is None and theta is None:
        return decay
    if temperature is None or theta is None:
        missing = "temperature" if temperature is None else "theta"
        raise InputError(
            f"temperature correction needs both temperature and theta; {missing} is missing",
            hint="give both (k_T = k20·θ^(T−20)) or neither (k used as given)",
            where=fn,
        )
    theta = _scalar_or_array(theta, "theta", fn)
    _require(theta > 0, "theta must be > 0", "typical θ is 1.02-1.08", fn)
    return decay_at_temperature(decay, temperature, theta)


def _check_river(fn: str, cs: Any, c0: Any, flow: Any, effluent_flow: Any = None) -> None:
    _require(cs >= 0, "target concentration Cs must be >= 0", "check the standard/target value", fn)
    _require(c0 >= 0, "upstream concentration C0 must be >= 0", "check the upstream concentration", fn)
    _require(flow >= 0, "design flow Q must be >= 0", "use the 90 % guaranteed driest-month flow", fn)
    if effluent_flow is not None:
        _require(effluent_flow >= 0, "effluent flow q must be >= 0", "give the outfall discharge", fn)


def _check_reach(fn: str, velocity: Any, length: Any) -> None:
    _require(velocity > 0, "velocity u must be > 0", "give the mean design-flow velocity, e.g. '0.3 m/s'", fn)
    _require(length >= 0, "reach length must be >= 0", "give the reach length, e.g. '10 km'", fn)


# --------------------------------------------------------------------------- rivers

_RIVER_UNITS = dict(cs="mg/L", c0="mg/L", flow="m**3/s", effluent_flow="m**3/s")
_REACH_UNITS = dict(_RIVER_UNITS, decay="1/s", velocity="m/s", length="m", temperature="degC")


@unitful(returns="t/yr", **_RIVER_UNITS)
def zero_dimensional(cs: Any, c0: Any, flow: Any, effluent_flow: Any) -> Any:
    """Zero-dimensional (fully mixed) river capacity.

    ``W = 31.536 · (Cs − C0) · (Q + q)``

    Parameters
    ----------
    cs : Quantity or DataArray
        Target concentration of the water-function zone [mg/L].
    c0 : Quantity or DataArray
        Upstream (background) concentration [mg/L].
    flow : Quantity or DataArray
        Design flow of the river, usually the 90 % guaranteed driest-month flow [m³/s].
    effluent_flow : Quantity or DataArray
        Outfall discharge [m³/s].

    Returns
    -------
    Quantity or DataArray
        Capacity [t/yr]; negative when ``C0 > Cs`` (deficit).

    Notes
    -----
    This GB/T form treats the whole mixed flow ``Q + q`` as raised from ``C0`` to
    ``Cs``. The 1-D forms below at ``k → 0`` give ``Cs·(Q+q) − C0·Q`` instead,
    which exceeds this by ``31.536·C0·q``; the two agree when ``q = 0``.

    References
    ----------
    GB/T 25173-2010, sec. 6 (河段零维模型); SL 348-2006.
    """
    _check_river("zero_dimensional", cs, c0, flow, effluent_flow)
    return T_PER_YR_PER_G_PER_S * (cs - c0) * (flow + effluent_flow)


def _reach_exponent(decay: Any, velocity: Any, length: Any, temperature: Any, theta: Any, fn: str) -> Any:
    _check_reach(fn, velocity, length)
    k = _decay(decay, temperature, theta, fn)
    return k * length / velocity


@unitful(returns="t/yr", **_REACH_UNITS)
def one_d_downstream(
    cs: Any, c0: Any, flow: Any, effluent_flow: Any, decay: Any, velocity: Any, length: Any,
    temperature: Any = None, theta: Any = None,
) -> Any:
    """One-dimensional steady-state capacity, outfall lumped at the downstream end.

    ``W = 31.536 · (Cs·(Q+q) − C0·Q·e^(−kx/u))``

    The upstream water decays along the reach, ``C(x) = C0·e^(−kx/u)``, and the
    load enters at the control section.

    Parameters
    ----------
    cs, c0 : Quantity or DataArray
        Target and upstream concentrations [mg/L].
    flow, effluent_flow : Quantity or DataArray
        Design river flow Q and outfall discharge q [m³/s].
    decay : Quantity or DataArray
        First-order decay rate k at 20 °C (or at the water temperature if no
        correction is asked for) [1/s; 1/d accepted].
    velocity : Quantity or DataArray
        Mean velocity at design flow [m/s].
    length : Quantity or DataArray
        Reach length x [m; km accepted].
    temperature : Quantity or DataArray, optional
        Water temperature [°C or K]; with ``theta`` gives ``k_T = k·θ^(T−20)``.
    theta : float or array_like, optional
        Temperature coefficient θ [-].

    Returns
    -------
    Quantity or DataArray
        Capacity [t/yr]; negative is a deficit.

    Notes
    -----
    The three lumped placements are related exactly: with ``a = kx/u``,
    ``W_mid = e^(a/2)·W_downstream`` and ``W_head = e^(a)·W_downstream``. Hence
    downstream ≤ mid ≤ head when the capacity is positive (and the reverse for a
    deficit). The choice changes W by tens of per cent and must be recorded.

    References
    ----------
    GB/T 25173-2010, sec. 6 (河段一维模型); SL 348-2006; Chapra (1997) ch. 1 (plug flow).
    """
    fn = "one_d_downstream"
    _check_river(fn, cs, c0, flow, effluent_flow)
    a = _reach_exponent(decay, velocity, length, temperature, theta, fn)
    return T_PER_YR_PER_G_PER_S * (cs * (flow + effluent_flow) - c0 * flow * np.exp(-a))


@unitful(returns="t/yr", **_REACH_UNITS)
def one_d_head(
    cs: Any, c0: Any, flow: Any, effluent_flow: Any, decay: Any, velocity: Any, length: Any,
    temperature: Any = None, theta: Any = None,
) -> Any:
    """One-dimensional capacity, outfall at the head of the reach, control at the end.

    ``W = 31.536 · (Cs·(Q+q)·e^(kx/u) − C0·Q)``

    The load and the upstream water mix at the head and decay together, so the
    concentration at the downstream control section must not exceed ``Cs``.
    Parameters and units as :func:`one_d_downstream`.

    Returns
    -------
    Quantity or DataArray
        Capacity [t/yr]; negative is a deficit.

    References
    ----------
    GB/T 25173-2010, sec. 6; SL 348-2006; Chapra (1997) ch. 1.
    """
    fn = "one_d_head"
    _check_river(fn, cs, c0, flow, effluent_flow)
    a = _reach_exponent(decay, velocity, length, temperature, theta, fn)
    return T_PER_YR_PER_G_PER_S * (cs * (flow + effluent_flow) * np.exp(a) - c0 * flow)


@unitful(returns="t/yr", **_REACH_UNITS)
def one_d_mid(
    cs: Any, c0: Any, flow: Any, effluent_flow: Any, decay: Any, velocity: Any, length: Any,
    temperature: Any = None, theta: Any = None,
) -> Any:
    """One-dimensional capacity, outfall lumped at mid-reach.

    ``W = 31.536 · (Cs·(Q+q)·e^(kx/2u) − C0·Q·e^(−kx/2u))``

    Parameters and units as :func:`one_d_downstream`.

    Returns
    -------
    Quantity or DataArray
        Capacity [t/yr]; negative is a deficit.

    References
    ----------
    GB/T 25173-2010, sec. 6 (排污口概化于河段中点); SL 348-2006.
    """
    fn = "one_d_mid"
    _check_river(fn, cs, c0, flow, effluent_flow)
    a = _reach_exponent(decay, velocity, length, temperature, theta, fn)
    return T_PER_YR_PER_G_PER_S * (cs * (flow + effluent_flow) * np.exp(0.5 * a) - c0 * flow * np.exp(-0.5 * a))


@unitful(returns="t/yr", **_REACH_UNITS)
def one_d_outfall(
    cs: Any, c0: Any, flow: Any, effluent_flow: Any, decay: Any = None, velocity: Any = None,
    length: Any = None, temperature: Any = None, theta: Any = None,
) -> Any:
    """One-dimensional model with the control section right below the outfall.

    No decay acts between outfall and control, so this is the zero-dimensional
    model: ``W = 31.536 · (Cs − C0) · (Q + q)``. ``decay``, ``velocity``,
    ``length``, ``temperature`` and ``theta`` are accepted (and unit-checked)
    for a uniform call signature but do not enter the result.

    Returns
    -------
    Quantity or DataArray
        Capacity [t/yr]; negative is a deficit.

    References
    ----------
    GB/T 25173-2010, sec. 6; SL 348-2006.
    """
    _check_river("one_d_outfall", cs, c0, flow, effluent_flow)
    return T_PER_YR_PER_G_PER_S * (cs - c0) * (flow + effluent_flow)


@unitful(returns="t/yr", cs="mg/L", c0="mg/L", flow="m**3/s", decay="1/s", velocity="m/s", length="m",
         temperature="degC")
def zhejiang_uniform(
    cs: Any, c0: Any, flow: Any, decay: Any, velocity: Any, length: Any, b: Any = 1.0,
    temperature: Any = None, theta: Any = None,
) -> Any:
    """One-dimensional capacity with the load spread evenly along the reach (Zhejiang practice).

    ``W = 31.536 · b · (Cs − C0·e^(−kL/u)) · (Q·k·L/u) / (1 − e^(−kL/u))``

    As ``k → 0`` the factor ``(kL/u)/(1 − e^(−kL/u))`` tends to 1 and
    ``W → 31.536·b·(Cs − C0)·Q``; the limit is evaluated exactly.

    Parameters
    ----------
    cs, c0 : Quantity or DataArray
        Target and upstream concentrations [mg/L].
    flow : Quantity or DataArray
        Design flow Q [m³/s].
    decay : Quantity or DataArray
        Decay rate k [1/s; 1/d accepted].
    velocity : Quantity or DataArray
        Mean velocity u [m/s].
    length : Quantity or DataArray
        Reach length L [m; km accepted].
    b : float or array_like, default 1.0
        Non-uniformity coefficient of the load distribution [-] (1 = perfectly even;
        the value used must be recorded as an input).
    temperature, theta : optional
        Temperature correction as in :func:`one_d_downstream`.

    Returns
    -------
    Quantity or DataArray
        Capacity [t/yr]; negative is a deficit.

    References
    ----------
    Zhejiang provincial practice for water-function-zone capacity (DB33 series and
    provincial capacity-verification reports); derivation from the 1-D steady-state
    equation with a uniformly distributed source, Chapra (1997) ch. 1.
    """
    fn = "zhejiang_uniform"
    _check_river(fn, cs, c0, flow)
    b = _scalar_or_array(b, "b", fn)
    _require(b > 0, "non-uniformity coefficient b must be > 0", "b is usually between 0 and 1", fn)
    a = _reach_exponent(decay, velocity, length, temperature, theta, fn)
    return T_PER_YR_PER_G_PER_S * b * (cs - c0 * np.exp(-a)) * flow * _x_over_one_minus_exp(a)


# --------------------------------------------------------------------------- lakes


@unitful(returns="t/yr", cs="mg/L", c0="mg/L", outflow="m**3/s", volume="m**3", decay="1/s", temperature="degC")
def lake_mixed(
    cs: Any, c0: Any, outflow: Any, volume: Any, decay: Any, temperature: Any = None, theta: Any = None,
) -> Any:
    """Fully mixed lake or reservoir capacity.

    ``W = 31.536 · (Cs·(Q + k·V) − C0·Q)``

    Parameters
    ----------
    cs : Quantity or DataArray
        Target concentration [mg/L].
    c0 : Quantity or DataArray
        Inflow (background) concentration [mg/L].
    outflow : Quantity or DataArray
        Design outflow Q [m³/s].
    volume : Quantity or DataArray
        Design volume V [m³].
    decay : Quantity or DataArray
        Decay rate k [1/s; 1/d accepted].
    temperature, theta : optional
        Temperature correction ``k_T = k·θ^(T−20)``.

    Returns
    -------
    Quantity or DataArray
        Capacity [t/yr]; negative is a deficit.

    References
    ----------
    GB/T 25173-2010, sec. 7 (湖库均匀混合模型); SL 348-2006; Chapra (1997) ch. 3
    (continuously stirred tank reactor).
    """
    fn = "lake_mixed"
    _check_river(fn, cs, c0, outflow)
    _require(volume > 0, "lake volume V must be > 0", "give the design volume, e.g. '2e7 m**3'", fn)
    k = _decay(decay, temperature, theta, fn)
    return T_PER_YR_PER_G_PER_S * (cs * (outflow + k * volume) - c0 * outflow)


@unitful(areal_hydraulic_load="m/yr")
def retention_kirchner_dillon(areal_hydraulic_load: Any) -> Any:
    """Kirchner-Dillon phosphorus retention coefficient.

    ``R = 0.426·e^(−0.271·qs) + 0.574·e^(−0.00949·qs)``

    Parameters
    ----------
    areal_hydraulic_load : Quantity or DataArray
        ``qs = Qa/A``, annual outflow over lake area [m/yr].

    Returns
    -------
    array_like
        Retention R [-], in (0, 1].

    References
    ----------
    Kirchner & Dillon (1975), *Water Resour. Res.* 11, 182-183.
    """
    qs = areal_hydraulic_load
    return 0.426 * np.exp(-0.271 * qs) + 0.574 * np.exp(-0.00949 * qs)


@unitful(flushing_rate="1/yr")
def retention_larsen_mercier(flushing_rate: Any) -> Any:
    """Larsen-Mercier phosphorus retention coefficient.

    ``R = 1 / (1 + √ρ)``

    Parameters
    ----------
    flushing_rate : Quantity or DataArray
        ``ρ = Qa/V`` [1/yr].

    Returns
    -------
    array_like
        Retention R [-], in (0, 1].

    References
    ----------
    Larsen & Mercier (1976), *J. Fish. Res. Board Can.* 33, 1742-1750.
    """
    return 1.0 / (1.0 + np.sqrt(flushing_rate))


RETENTION = ("kirchner-dillon", "larsen-mercier")


@unitful(returns="t/yr", cs="mg/L", volume="m**3", area="m**2", outflow="m**3/s", depth="m")
def dillon(
    cs: Any, volume: Any, area: Any, outflow: Any, depth: Any = None, retention: str = "kirchner-dillon",
) -> Any:
    """Dillon model: allowable nutrient (TP/TN) load of a lake or reservoir.

    ``L_s = Ps·h·ρ / (1 − R)`` and ``W = L_s · A``

    with ``ρ = Qa/V`` the flushing rate, ``h`` the mean depth and ``R`` the
    retention coefficient from :func:`retention_kirchner_dillon`
    (``qs = Qa/A``) or :func:`retention_larsen_mercier`.

    Parameters
    ----------
    cs : Quantity or DataArray
        Target in-lake concentration Ps [mg/L].
    volume : Quantity or DataArray
        Lake volume V [m³].
    area : Quantity or DataArray
        Lake surface area A [m²; km², ha accepted].
    outflow : Quantity or DataArray
        Mean outflow Qa [m³/s]; an annual volume such as ``m**3/yr`` is accepted
        (see the year convention in the module notes).
    depth : Quantity or DataArray, optional
        Mean depth h [m]; default ``V/A``.
    retention : {"kirchner-dillon", "larsen-mercier"}
        Retention formula.

    Returns
    -------
    Quantity or DataArray
        Total allowable load [t/yr]. This is the whole load the lake can take, not
        a remainder: subtract existing loads (see :mod:`gep.capacity.credits`).

    References
    ----------
    Dillon & Rigler (1974); Kirchner & Dillon (1975); Larsen & Mercier (1976);
    GB/T 25173-2010, sec. 7 (狄龙模型); Chapra (1997) ch. 29.
    """
    fn = "dillon"
    if retention not in RETENTION:
        raise InputError(f"unknown retention formula {retention!r}", hint=f"use one of {', '.join(RETENTION)}", where=fn)
    _require(cs >= 0, "target concentration Cs must be >= 0", "check the standard/target value", fn)
    _require(volume > 0, "lake volume V must be > 0", "give the volume, e.g. '2e7 m**3'", fn)
    _require(area > 0, "lake area A must be > 0", "give the surface area, e.g. '5 km**2'", fn)
    _require(outflow > 0, "outflow Qa must be > 0 for the Dillon model", "give the mean outflow", fn)
    if depth is None:
        depth = volume / area
    _require(depth > 0, "mean depth h must be > 0", "give the mean depth or omit it (V/A)", fn)
    rho = outflow / volume  # [1/s]
    if retention == "kirchner-dillon":
        qs = outflow * SECONDS_PER_YEAR / area  # [m/yr]
        r = 0.426 * np.exp(-0.271 * qs) + 0.574 * np.exp(-0.00949 * qs)
    else:
        r = 1.0 / (1.0 + np.sqrt(rho * SECONDS_PER_YEAR))
    areal = cs * depth * rho / (1.0 - r)  # [g/(m²·s)]
    return T_PER_YR_PER_G_PER_S * areal * area


def dillon_kd(cs: Any, volume: Any, area: Any, outflow: Any, depth: Any = None) -> Any:
    """:func:`dillon` with the Kirchner-Dillon (1975) retention [t/yr]."""
    return dillon(cs, volume, area, outflow, depth, retention="kirchner-dillon")


def dillon_lm(cs: Any, volume: Any, area: Any, outflow: Any, depth: Any = None) -> Any:
    """:func:`dillon` with the Larsen-Mercier (1976) retention [t/yr]."""
    return dillon(cs, volume, area, outflow, depth, retention="larsen-mercier")


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class CapacityModel:
    """One entry of the capacity-model registry.

    ``inputs`` are the keyword arguments the model needs; ``optional`` the ones
    it accepts but does not require; ``extra["pollutants"]``, if present, the
    only pollutants the model applies to (Dillon: TP, TN).
    """

    name: str
    kind: str  # "river" or "lake"
    function: Callable[..., Any]
    inputs: tuple[str, ...]
    optional: tuple[str, ...] = ()
    description: str = ""
    reference: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_REACH_IN = ("cs", "c0", "flow", "effluent_flow", "decay", "velocity", "length")
_TEMP = ("temperature", "theta")

#: Registry of capacity models by name; the CLI and the basin runner read it.
MODELS: dict[str, CapacityModel] = {
    m.name: m
    for m in (
        CapacityModel("0d", "river", zero_dimensional, ("cs", "c0", "flow", "effluent_flow"),
                      description="zero-dimensional, fully mixed", reference="GB/T 25173-2010"),
        CapacityModel("1d-downstream", "river", one_d_downstream, _REACH_IN, _TEMP,
                      description="1-D, outfall at the downstream end", reference="GB/T 25173-2010"),
        CapacityModel("1d-head", "river", one_d_head, _REACH_IN, _TEMP,
                      description="1-D, outfall at the head, control at the end", reference="GB/T 25173-2010"),
        CapacityModel("1d-mid", "river", one_d_mid, _REACH_IN, _TEMP,
                      description="1-D, outfall at mid-reach", reference="GB/T 25173-2010"),
        CapacityModel("1d-outfall", "river", one_d_outfall, ("cs", "c0", "flow", "effluent_flow"),
                      description="1-D, control right below the outfall (= 0-D)", reference="GB/T 25173-2010"),
        CapacityModel("zhejiang", "river", zhejiang_uniform, ("cs", "c0", "flow", "decay", "velocity", "length"),
                      ("b",) + _TEMP, description="1-D, load spread evenly along the reach (coefficient b)",
                      reference="Zhejiang DB33 practice"),
        CapacityModel("mixed", "lake", lake_mixed, ("cs", "c0", "outflow", "volume", "decay"), _TEMP,
                      description="fully mixed lake/reservoir", reference="GB/T 25173-2010"),
        CapacityModel("dillon-kd", "lake", dillon_kd, ("cs", "volume", "area", "outflow"), ("depth",),
                      description="Dillon, Kirchner-Dillon retention", reference="Dillon & Rigler 1974; Kirchner & Dillon 1975",
                      extra={"pollutants": ("TP", "TN")}),
        CapacityModel("dillon-lm", "lake", dillon_lm, ("cs", "volume", "area", "outflow"), ("depth",),
                      description="Dillon, Larsen-Mercier retention", reference="Dillon & Rigler 1974; Larsen & Mercier 1976",
                      extra={"pollutants": ("TP", "TN")}),
    )
}


# --------------------------------------------------------------------------- targets

_WATER_BODY = {"river": "river", "stream": "river", "lake": "lake", "reservoir": "lake", "lake/reservoir": "lake"}
_CLASSES = {"I": "I", "II": "II", "III": "III", "IV": "IV", "V": "V", "1": "I", "2": "II", "3": "III", "4": "IV", "5": "V"}


def normalise_class(water_class: Any) -> str:
    """``'iii'``, ``'3'`` or ``'III'`` → ``'III'``; raise :class:`InputError` for anything else."""
    cls = _CLASSES.get(str(water_class).strip().upper())
    if cls is None:
        raise InputError(f"unknown water-quality class {water_class!r}", hint="use I, II, III, IV or V", key="water_class")
    return cls


def _norm_param(text: str) -> str:
    return "".join(ch for ch in str(text).upper() if ch.isalnum())


def target_concentration(standards: pd.DataFrame, parameter: str, water_class: str, water_body: str = "river") -> pint.Quantity:
    """Target concentration Cs from a GB 3838-2002 standards table.

    Parameters
    ----------
    standards : pandas.DataFrame
        Tidy table with columns ``parameter, class, water_body, value, unit, bound``
        (see :func:`gep.io.capacity_tables.read_standards`).
    parameter : str
        Pollutant, e.g. ``"COD"``, ``"NH3-N"``, ``"TP"`` (case and punctuation ignored).
    water_class : str
        Water-quality class ``I``-``V`` (or 1-5).
    water_body : {"river", "lake"}
        ``reservoir`` is treated as ``lake``.

    Returns
    -------
    pint.Quantity
        The upper limit [mg/L].

    Raises
    ------
    InputError
        Unknown parameter, class or water body; a lower-bound parameter (DO);
        a parameter the standard does not set for this water body (TN in rivers).

    References
    ----------
    GB 3838-2002 《地表水环境质量标准》, Table 1.
    """
    from gep.units import Q_

    cls = normalise_class(water_class)
    body = _WATER_BODY.get(str(water_body).strip().lower())
    if body is None:
        raise InputError(f"unknown water-body type {water_body!r}", hint="use river or lake (reservoir = lake)", key="water_body")
    key = _norm_param(parameter)
    params = standards["parameter"].astype(str)
    norm = params.map(_norm_param)
    if not (norm == key).any():
        known = ", ".join(sorted(params.unique()))
        raise InputError(f"no GB 3838-2002 standard for pollutant {parameter!r}", hint=f"use one of {known}, or give the target concentration", key="pollutant")
    rows = standards[(norm == key) & (standards["class"].astype(str) == cls) & (standards["water_body"].astype(str) == body)]
    if rows.empty:
        bodies = ", ".join(sorted(standards.loc[norm == key, "water_body"].astype(str).unique()))
        raise InputError(
            f"GB 3838-2002 sets no class {cls} limit for {parameter} in a {body} (only: {bodies})",
            hint="give the target concentration instead of a class", key="pollutant",
        )
    row = rows.iloc[0]
    if str(row["bound"]) != "max":
        raise InputError(
            f"{row['parameter']} is a lower bound (bound = {row['bound']}); capacity models need an upper limit",
            hint="choose a pollutant with a maximum concentration (COD, CODMn, BOD5, NH3-N, TP, TN)", key="pollutant",
        )
    return Q_(float(row["value"]), str(row["unit"])).to("mg/L")
