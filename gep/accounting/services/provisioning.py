"""Provisioning services (物质供给): products of ecosystems from statistics.

Value = Σ output_i × price_i × ecosystem share_i, or the gross output value
given directly (a ``value`` column in CNY). Products marked ``origin =
outside`` (grown on inputs from outside the region) are excluded under the
``exclude_outside_origin`` switch (GB/T 46869-2025).

References
----------
NDRC & NBS (2022) 生态产品总值核算规范（试行）, provisioning.
GB/T 46869-2025 (products originating outside the region are subtracted).
UN SEEA Ecosystem Accounting (2021), resource rent share.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gep.accounting.coefficients import CoefficientSet
from gep.errors import InputError
from gep.accounting.landscape import Landscape
from gep.accounting.services.result import Component, ServiceResult, money_components, row_price_years
from gep.accounting.switches import value as switch
from gep.units import Q_, convert

COLUMNS = ("zone_id", "product", "ecosystem", "quantity", "unit")


def account_statistics(ls: Landscape, coef: CoefficientSet, switches: dict) -> ServiceResult:
    """One priced component per product, by zone × ecosystem."""
    table = ls.table("production", "provisioning")
    path = table.attrs.get("path", "production table")
    missing = [c for c in COLUMNS if c not in table]
    if missing:
        raise InputError(f"{path} lacks column(s) {', '.join(missing)}", hint=f"the header must contain {', '.join(COLUMNS)}")
    if switch(switches, "exclude_outside_origin") and "origin" in table:
        table = table[table["origin"].fillna("").astype(str).str.lower() != "outside"]
    qty = pd.to_numeric(table["quantity"], errors="coerce")
    if qty.isna().any() or (qty < 0).any():
        row = int(np.flatnonzero((qty.isna() | (qty < 0)).to_numpy())[0]) + 2
        raise InputError(f"{path}, line {row}: quantity must be a non-negative number", hint="fill in the yearly output")
    components = []
    has_value = "value" in table
    for product, rows in table.groupby(table["product"].astype(str), sort=True):
        where = f"{path} ({product})"
        with coef.recording() as reads:
            share = coef.scalar("provisioning.ecosystem_share", "dimensionless", product)
            if has_value and rows["value"].notna().all():
                vunit = table.attrs.get("units", {}).get("value", "CNY")
                money = convert(pd.to_numeric(rows["value"]).to_numpy(), vunit, "CNY", f"{where} value") * share
                place = lambda m, rows=rows, where=where: ls.by_zone_eco(rows["zone_id"], rows["ecosystem"].astype(str), m, where, "CNY/yr")  # noqa: E731
                components += money_components(product, money, row_price_years(rows, ls.year), place, f"production table ({path}): gross output value × provisioning.ecosystem_share[{product}]", reads.rows)
                continue
            price, year = coef.price(f"price.product.{product}")
        per = _denominator(price)
        amounts = np.array([convert(v, u, per, f"{where} quantity") for v, u in zip(rows["quantity"], rows["unit"].astype(str))], dtype=float)
        q = ls.by_zone_eco(rows["zone_id"], rows["ecosystem"].astype(str), amounts * share, where, f"{per}/yr")
        components.append(Component(product, q, price, year, f"price.product.{product} × provisioning.ecosystem_share[{product}]", uses=reads.rows))
    return ServiceResult(quantity=None, components=components)


def _denominator(price) -> str:
    """The physical unit a price is per, e.g. ``t`` for CNY/t."""
    per = (Q_(1.0, "CNY") / price).units
    return f"{per}"
