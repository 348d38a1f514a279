"""The GEP account: physical quantity and value by zone × service × ecosystem type.

GEP = provisioning + regulating + cultural value, each Σ quantity × price.
The account is an :class:`xarray.Dataset` with the tidy tables derived from it.

References
----------
NDRC & NBS (2022) 生态产品总值核算规范（试行）, account structure;
UN SEEA Ecosystem Accounting (2021), ecosystem services flow account.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from gep.accounting.catalogue import BY_ID, CATEGORIES
from gep.accounting.coefficients import CONFIDENCE, ECOSYSTEMS
from gep.accounting.services.result import ServiceResult
from gep.accounting.valuation import Valuation, Valued


@dataclass(frozen=True)
class GepAccount:
    """A computed GEP account with its tidy tables (not a ledger account: :class:`gep.ledger.model.Account`)."""

    data: xr.Dataset
    components: pd.DataFrame
    extras: dict[str, xr.DataArray] = field(default_factory=dict)
    #: Per-feature totals of a parcel file with several features (``feature, area_in_region_ha, <category>_cny, gep_cny``).
    parcels: pd.DataFrame | None = None

    @property
    def gep(self) -> float:
        """GEP total at current prices [CNY]."""
        return float(self.data["value"].sum())

    def category_totals(self, var: str = "value") -> dict[str, float]:
        by = self.data[var].sum(("zone", "ecosystem")).groupby(self.data["category"]).sum()
        out = {c: 0.0 for c in CATEGORIES}
        out.update({str(k): float(v) for k, v in zip(by["category"].values, by.values)})
        return out

    def confidence_share(self) -> dict[str, float]:
        """Fractions of GEP resting on values of each confidence [-], summing to 1.

        Each valued component counts under the weakest confidence among the
        coefficient rows of its quantity and price and the price-index rows that
        moved its price (:class:`gep.accounting.valuation.Valued`). Empty when the
        account was not valued from coefficients.
        """
        if "value_by_confidence" not in self.data:
            return {}
        by = self.data["value_by_confidence"].sum(("zone", "service", "ecosystem"))
        total = float(by.sum())
        return {str(c): (float(v) / total if total else 0.0) for c, v in zip(by["confidence"].values, by.values)}

    def _confidence_columns(self, by: xr.DataArray, value: np.ndarray) -> dict[str, np.ndarray]:
        """``<confidence>_share`` columns: the share of each row's value resting on that confidence."""
        out = {}
        for c in CONFIDENCE:
            part = by.sel(confidence=c).values if c in by["confidence"].values else np.zeros_like(value)
            out[f"{c}_share"] = np.divide(part, value, out=np.zeros_like(value, dtype=float), where=value != 0)
        return out

    def table(self) -> pd.DataFrame:
        """Tidy account rows: zone × service × ecosystem with quantity, value and shares
        (of the category, of the total, and by the confidence of the coefficients behind the value)."""
        ds = self.data
        df = ds[["quantity", "value"] + (["value_comparable"] if "value_comparable" in ds else [])].to_dataframe().reset_index()
        if "value_by_confidence" in ds:
            by = ds["value_by_confidence"].transpose("zone", "service", "ecosystem", "confidence")
            shares = self._confidence_columns(by.stack(row=("zone", "service", "ecosystem")).transpose("confidence", "row"), ds["value"].stack(row=("zone", "service", "ecosystem")).values)
            for name, col in shares.items():
                df[name] = col
        df = df[(df["quantity"].fillna(0) != 0) | (df["value"] != 0)].copy()
        cat_tot = df.groupby("category")["value"].transform("sum")
        total = df["value"].sum()
        df["share_of_category"] = np.where(cat_tot != 0, df["value"] / cat_tot, 0.0)
        df["share_of_total"] = df["value"] / total if total else 0.0
        df.insert(0, "year", int(ds.attrs["year"]))
        cols = ["year", "zone", "zone_name", "zone_name_zh", "category", "service", "name_zh", "ecosystem", "quantity", "unit", "value"]
        cols += ["value_comparable"] if "value_comparable" in df else []
        cols += ["share_of_category", "share_of_total"] + [f"{c}_share" for c in CONFIDENCE if f"{c}_share" in df]
        out = df[cols].rename(columns={"value": "value_cny", "value_comparable": "value_cny_comparable"})
        return out.sort_values(["zone", "category", "service", "ecosystem"]).reset_index(drop=True)

    def zone_table(self) -> pd.DataFrame:
        """Per zone: value by category, GEP, and GEP/GDP where GDP is known."""
        ds = self.data
        by = ds["value"].sum("ecosystem").groupby(ds["category"]).sum().to_pandas()
        if isinstance(by, pd.Series):
            by = by.to_frame()
        by = by.T if "zone" not in by.index.names else by
        df = pd.DataFrame({"zone": ds["zone"].values, "zone_name": ds["zone_name"].values})
        for c in CATEGORIES:
            df[f"{c}_cny"] = by[c].reindex(ds["zone"].values).to_numpy() if c in by else 0.0
        df["gep_cny"] = df[[f"{c}_cny" for c in CATEGORIES]].sum(axis=1)
        if "value_by_confidence" in ds:
            by = ds["value_by_confidence"].sum(("service", "ecosystem")).transpose("confidence", "zone")
            for name, col in self._confidence_columns(by, ds["value"].sum(("service", "ecosystem")).values).items():
                df[name] = col
        if "gdp" in ds:
            df["gdp_cny"] = ds["gdp"].values
            df["gep_gdp_ratio"] = df["gep_cny"] / df["gdp_cny"]
        return df


def _zone_frame(ds: xr.Dataset) -> pd.DataFrame:
    return pd.DataFrame({"zone": ds["zone"].values, "zone_name": ds["zone_name"].values})


def carbon_stock_table(account: GepAccount) -> pd.DataFrame | None:
    """Carbon stock per zone and pool [t C] (InVEST carbon model pools; not part of GEP), None without a carbon service.

    Columns ``zone, zone_name, c_above_tc, c_below_tc, c_soil_tc, c_dead_tc, total_tc``.
    """
    ex = account.extras
    if "carbon_stock" not in ex:
        return None
    df = _zone_frame(account.data)
    for pool in ("c_above", "c_below", "c_soil", "c_dead"):
        df[f"{pool}_tc"] = ex[f"carbon_stock_{pool}"].sum("ecosystem").values if f"carbon_stock_{pool}" in ex else np.nan
    df["total_tc"] = ex["carbon_stock"].sum("ecosystem").values
    return df


def water_yield_table(account: GepAccount) -> pd.DataFrame | None:
    """InVEST's annual water yield per zone, on every land cell (not only the GEP service's ecosystems), None unless
    water conservation ran by the Budyko method.

    Columns ``zone, zone_name, area_ha``, the means over the zone's cells ``precip_mn, pet_mn, aet_mn, wyield_mn``
    [mm/yr] and the volume ``wyield_vol_m3`` [m³/yr] (= wyield_mn × the area of the zone's cells: unlike InVEST's
    ``wyield_vol``, which multiplies by the polygon's area, cells without data are not counted).
    """
    ex = account.extras
    if "water_yield" not in ex:
        return None
    df = _zone_frame(account.data)
    area = ex["water_yield_area"].sum("ecosystem").values
    df["area_ha"] = area / 1e4
    for name, key in (("precip_mn", "water_yield_precipitation"), ("pet_mn", "water_yield_pet"), ("aet_mn", "water_yield_aet"), ("wyield_mn", "water_yield")):
        vol = ex[key].sum("ecosystem").values
        df[name] = np.divide(vol, area, out=np.full(len(area), np.nan), where=area > 0) * 1e3
    df["wyield_vol_m3"] = ex["water_yield"].sum("ecosystem").values
    return df


def assemble(
    results: dict[str, ServiceResult],
    methods: dict[str, str],
    zones: pd.DataFrame,
    valuation: Valuation,
    gdp_cny: np.ndarray | None = None,
    parcels: pd.DataFrame | None = None,
) -> GepAccount:
    """Value every service's components and stack them into the account.

    Parameters
    ----------
    results : dict
        Service id → :class:`ServiceResult`, in catalogue order.
    methods : dict
        Service id → method used.
    zones : DataFrame
        Zone table (``zone_id``, ``name``, optional ``name_zh``).
    valuation : Valuation
        Price index series, accounting year (current prices) and base year (comparable prices).
    gdp_cny : array, optional
        GDP per zone [CNY].
    parcels : DataFrame, optional
        Per-feature totals of a parcel file with several features.
    """
    year, base_year = valuation.year, valuation.base_year
    ids = list(results)
    zone_ids = zones["zone_id"].to_numpy()
    shape = (len(zone_ids), len(ids), len(ECOSYSTEMS))
    quantity = np.zeros(shape)
    current = np.zeros(shape)
    by_confidence = np.zeros(shape + (len(CONFIDENCE),))
    comparable = np.zeros(shape) if base_year is not None else None
    units, rows = [], []
    for j, sid in enumerate(ids):
        res = results[sid]
        if res.quantity is None:
            quantity[:, j, :] = np.nan
            units.append("various")
        else:
            quantity[:, j, :] = res.quantity.values
            units.append(res.quantity.attrs.get("units", ""))
        for comp in res.components:
            v: Valued = valuation.current(comp)
            current[:, j, :] += v.value.values
            by_confidence[:, j, :, CONFIDENCE.index(v.confidence)] += v.value.values
            vb = valuation.comparable(comp)
            if vb is not None:
                comparable[:, j, :] += vb.value.values
            frame = comp.quantity.to_dataframe(name="quantity").reset_index()
            frame = frame[frame["quantity"] != 0]
            frame["value_cny"] = frame["quantity"] * v.unit_price * v.index_factor
            frame.insert(0, "component", comp.name)
            frame.insert(0, "service", sid)
            frame["unit"] = comp.quantity.attrs.get("units", "")
            frame["price"] = f"{comp.price:~P}"
            frame["price_year"] = comp.price_year
            frame["price_source"] = comp.price_source
            frame["cny_per_unit_at_price_year"] = v.unit_price
            frame["index_factor"] = v.index_factor
            frame["confidence"] = v.confidence
            frame["coefficients"] = " ".join(sorted(f"{p}[{k}]" if k else p for p, k in (comp.uses or ())))
            rows.append(frame)
    coords = {
        "zone": zone_ids,
        "service": ids,
        "ecosystem": list(ECOSYSTEMS),
        "zone_name": ("zone", zones["name"].astype(str).to_numpy()),
        "zone_name_zh": ("zone", zones.get("name_zh", zones["name"]).astype(str).to_numpy()),
        "category": ("service", [BY_ID[s].category for s in ids]),
        "name_zh": ("service", [BY_ID[s].name_zh for s in ids]),
        "unit": ("service", units),
        "method": ("service", [methods[s] for s in ids]),
        "confidence": list(CONFIDENCE),
    }
    data = xr.Dataset(
        {
            "quantity": (("zone", "service", "ecosystem"), quantity, {"long_name": "physical quantity (功能量)", "units": "see unit(service)"}),
            "value": (("zone", "service", "ecosystem"), current, {"long_name": "value at current prices (价值量)", "units": "CNY", "price_year": year}),
            "value_by_confidence": (("zone", "service", "ecosystem", "confidence"), by_confidence,
                                    {"long_name": "value at current prices by the weakest confidence of the coefficients it rests on", "units": "CNY", "price_year": year}),
        },
        coords=coords,
        attrs={"year": year, "currency": "CNY", "price_year": year, "index_series": valuation.series},
    )
    if comparable is not None:
        data["value_comparable"] = (("zone", "service", "ecosystem"), comparable, {"long_name": "value at comparable prices", "units": "CNY", "price_year": base_year})
        data.attrs["base_year"] = base_year
    if gdp_cny is not None:
        data["gdp"] = ("zone", np.asarray(gdp_cny, dtype=float), {"units": "CNY"})
    by_category = data["value"].sum("ecosystem").groupby("category").sum()
    data["value_by_category"] = by_category.rename({"category": "category_name"}).assign_attrs(units="CNY", long_name="value by zone and category")
    data.attrs["gep_total_cny"] = float(data["value"].sum())
    extras = {}
    for res in results.values():
        extras.update(res.extras)
    comps = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    return GepAccount(data=data, components=comps, extras=extras, parcels=parcels)
