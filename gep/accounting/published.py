"""Published accounts: re-value a published physical account (功能量) with a coefficient set's prices.

A published GEP account prints, for every service, a physical quantity, a unit
price and a value (价值量). Re-valuing its quantities with gep's prices and
price indexing, and comparing with the published values service by service,
tests gep's valuation (prices, price years, CPI indexing, units) against an
account an institute published, independently of gep's physical models.

References
----------
Bai Ma Zhuo Ga (白玛卓嘎), Xiao Yi, Ouyang Zhiyun, Wang Liyan (2017) 甘孜藏族自治州
生态系统生产总值核算研究. 生态学报 37(19): 6302–6312, Table 3 (quantity, unit price
and value of every service, 2010).
"""

from __future__ import annotations

import pandas as pd
import xarray as xr

from gep.accounting.coefficients import CoefficientSet
from gep.accounting.services.result import Component
from gep.accounting.valuation import Valuation
from gep.errors import InputError

#: Columns a published account table needs (one row per priced component).
COLUMNS = ("service", "component", "ecosystem", "quantity", "quantity_unit", "value")


def revalue(account: pd.DataFrame, coef: CoefficientSet, year: int, prices: dict[str, str], where: str = "published account") -> pd.DataFrame:
    """Value the published quantities of ``account`` with the prices of ``coef`` at ``year`` prices.

    Parameters
    ----------
    account : DataFrame
        The published account: :data:`COLUMNS` (quantity in ``quantity_unit``,
        value in CNY).
    coef : CoefficientSet
        The set whose prices and price index value the quantities.
    year : int
        The account's year: the prices are indexed from their price year to it.
    prices : dict
        ``"<service>.<component>"`` → the set's price parameter that values it
        (e.g. ``"soil_retention.N": "price.soil_n_treatment"``); rows not named
        are not re-valued.
    where : str
        The account's name, for errors.

    Returns
    -------
    DataFrame
        One row per re-valued component: ``service, component, ecosystem,
        quantity, quantity_unit, published_cny, price_parameter,
        cny_per_unit_at_price_year, price_year, index_factor, gep_cny,
        ratio`` (gep ÷ published) [CNY at ``year`` prices].
    """
    missing = [c for c in COLUMNS if c not in account]
    if missing:
        raise InputError(f"{where}: missing column(s) {', '.join(missing)}", hint=f"a published account has the columns {', '.join(COLUMNS)}")
    valuation = Valuation.of(coef, year)
    keys = account["service"].astype(str) + "." + account["component"].astype(str)
    unknown = sorted(set(prices) - set(keys))
    if unknown:
        raise InputError(f"{where}: no row for {', '.join(unknown)}", hint=f"rows are {', '.join(dict.fromkeys(keys))}")
    rows = []
    for (i, row), key in zip(account.iterrows(), keys):
        if key not in prices:
            continue
        quantity, unit = row["quantity"], str(row["quantity_unit"])
        if pd.isna(quantity) or pd.isna(row["value"]):
            raise InputError(f"{where}, line {i + 2}: {key} needs a quantity and a published value to be re-valued", hint="leave the component out of [prices], or fill the row")
        price, price_year = coef.price(prices[key])
        amount = xr.DataArray(float(quantity), attrs={"units": unit})
        valued = valuation.current(Component(key, amount, price, price_year, prices[key]))
        gep = float(valued.value)
        rows.append({
            "service": row["service"], "component": row["component"], "ecosystem": row["ecosystem"],
            "quantity": float(quantity), "quantity_unit": unit, "published_cny": float(row["value"]),
            "price_parameter": prices[key], "cny_per_unit_at_price_year": valued.unit_price, "price_year": price_year,
            "index_factor": valued.index_factor, "gep_cny": gep, "ratio": gep / float(row["value"]) if float(row["value"]) else float("nan"),
        })
    return pd.DataFrame(rows)
