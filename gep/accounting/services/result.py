"""What a service returns: physical quantities by zone × ecosystem, and the
components that valuation prices."""

from __future__ import annotations

from dataclasses import dataclass, field

import pint
import xarray as xr


@dataclass(frozen=True)
class Component:
    """One priced part of a service (a pollutant, a nutrient, a product).

    Parameters
    ----------
    name : str
        Component name, e.g. ``"COD"`` or ``"sediment"``.
    quantity : xarray.DataArray
        Physical quantity by ``(zone, ecosystem)`` with ``attrs['units']``.
    price : pint.Quantity
        Unit price in CNY per unit of a quantity with the same dimension.
    price_year : int
        Year whose CNY the price is in.
    price_source : str
        Coefficient parameter(s) the price comes from.
    """

    name: str
    quantity: xr.DataArray
    price: pint.Quantity
    price_year: int
    price_source: str


@dataclass
class ServiceResult:
    """Result of one service for one landscape.

    ``quantity`` is the reported physical quantity (功能量) by zone ×
    ecosystem in the service's output unit (``None`` when the service sums
    products of different units, as provisioning does); ``components`` are what
    valuation prices; ``cells`` are per-cell maps for the NetCDF output;
    ``extras`` are further reported quantities that are not part of GEP
    (e.g. the carbon stock).
    """

    quantity: xr.DataArray | None
    components: list[Component]
    cells: dict[str, xr.DataArray] = field(default_factory=dict)
    extras: dict[str, xr.DataArray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
