"""Shared arithmetic of the hand-computed service tests (tests/accounting/services/ and the valuation and account tests).

The tests build 2×2 or 2×3 grids of 30 m cells (A = 900 m² = 0.09 ha per
cell), run one service, and compare with arithmetic written out from
METHODS.md and the coefficient values in ``gep/data/coefficients/cn-2022/*.csv``.
Values are checked at 2022 prices through the CPI series, whose yearly values
(previous year = 100) are copied below from ``gep/data/coefficients/cn-2022/price_index.csv``.
"""

from __future__ import annotations

import math

from gep.accounting.catalogue import BY_ID
from gep.accounting.compute import compute_services
from gep.accounting.valuation import value

A = 900.0  # m² per cell (30 m × 30 m)
HA = 0.09  # the same in ha
CO2_C = 44.0 / 12.0

# National CPI, previous year = 100 (gep/data/coefficients/cn-2022/price_index.csv).
CPI = {
    2002: 99.2, 2003: 101.2, 2004: 103.9, 2005: 101.8, 2006: 101.5, 2007: 104.8, 2008: 105.9,
    2009: 99.3, 2010: 103.3, 2011: 105.4, 2012: 102.6, 2013: 102.6, 2014: 102.0, 2015: 101.4,
    2016: 102.0, 2017: 101.6, 2018: 102.1, 2019: 102.9, 2020: 102.5, 2021: 100.9, 2022: 102.0,
}


def chain(price_year: int, year: int = 2022) -> float:
    """Π_{price_year < s ≤ year} CPI_s / 100, computed here independently of gep.accounting.valuation."""
    return math.prod(CPI[s] / 100.0 for s in range(price_year + 1, year + 1))


def run(sid, ls, coef, method=None, switches=None, carbon="nep_rh"):
    """One service's result; a service it needs (oxygen by ``nep`` needs carbon) is computed first by ``carbon``."""
    methods = {"carbon_sequestration": carbon, sid: method or BY_ID[sid].default_method}
    return compute_services(ls, coef, [sid], methods, switches or {})[sid]


def qty(res, zone, eco):
    return float(res.quantity.sel(zone=zone, ecosystem=eco))


def values(res, coef, year=2022):
    """Valued components by name at ``year`` prices (a service split into parts of one name: see :func:`total_value`)."""
    names = [c.name for c in res.components]
    assert len(set(names)) == len(names), f"components share a name: {names}; sum them with total_value or part_value"
    return {c.name: value(c, coef.price_index, "cpi", year) for c in res.components}


def total_value(res, coef, year=2022):
    return sum(float(value(c, coef.price_index, "cpi", year).value.sum()) for c in res.components)


def part_value(res, coef, name, year=2022):
    """Value of every component called ``name`` (the parts of a component split by confidence or price year) [CNY]."""
    return sum(float(value(c, coef.price_index, "cpi", year).value.sum()) for c in res.components if c.name == name)


def monthly(name, values, unit):
    """The twelve grids of a monthly input (``name_01`` … ``name_12``) for ``make_landscape``: one value or 12 [unit]."""
    values = list(values) if isinstance(values, (list, tuple)) else [values] * 12
    return {f"{name}_{m:02d}": (v, unit) for m, v in zip(range(1, 13), values)}


def carbon_landscape(make_landscape, npp=(600.0, "gC/(m**2*yr)"), temperature=(16.0, "degC"), precipitation=(1400.0, "mm/yr")):
    """forest 211 | grassland 31 ; dry cropland 12 | urban 51, one zone; the same climate every month (P/12 a month)."""
    t, t_unit = temperature
    p, p_unit = precipitation
    p_month = p / 12 if p_unit == "mm/yr" else p
    inputs = {"npp": npp, "temperature": temperature, "precipitation": precipitation,
              **monthly("temperature_monthly", t, t_unit), **monthly("precipitation_monthly", p_month, "mm")}
    return make_landscape([[211, 31], [12, 51]], [[1, 1], [1, 1]], inputs)


# Rh (Pei et al. 2010) with T = 16 °C and P = 1400/12 = 116.667 mm in every month:
#   e^(0.0912 × 16) = e^1.4592 = 4.302516; ln(0.3145 × 116.667 + 1) = ln 37.691667 = 3.629439
#   monthly 0.22 × 7.931955 × 30 × 0.465 = 24.343170 gC/m² → × 12 = 292.118 gC/(m²·yr)
RH = 12 * 0.22 * (math.exp(0.0912 * 16) + math.log(0.3145 * 1400 / 12 + 1)) * 30 * 0.465
