"""Bond analytics for ecological bonds and GEP-backed loans.

Modules (one concept each):

``daycount``
    Day-count conventions (ACT/ACT-ICMA, ACT/365F, ACT/365-NL, ACT/360, 30/360).
``calendar``
    Business-day calendars of the interbank market and the exchanges (QuantLib's
    China calendars, data range enforced) and date adjustment.
``schedule``
    The bond description (:class:`Bond`), its validation, coupon periods,
    payment dates and the cash flows left at a settlement date.
``pricing``
    Yield <-> price (China interbank convention), accrued interest, duration,
    convexity, DV01; vectorised over yields and bonds.
``curve``
    Zero and par-yield curves, bootstrapping, Z-spread, credit-risky prices.
``loan``
    GEP-backed loans (principal = lending ratio × GEP) as amortising bonds.
``debt``
    A bond or loan file with its structure (reserve, sweep, use of proceeds).
``revenue``
    Revenue streams (credit sales, government purchase, fees, costs), GBM
    price paths and their calibration to a price history.
``revenue_file``
    A revenue file's streams, with the runs, ledgers and price histories it
    references reached through a ``References`` protocol.
``coverage``
    Debt service, DSCR, LLCR, P(DSCR < 1), loan sizing over Monte Carlo paths.
``waterfall``
    Debt-service reserve account and cash sweep over the paths; sizing with them.
``green``
    Use of proceeds checked against the 2021 Green Bond Endorsed Projects Catalogue.
``impact``
    GEP change and credits attributable to a green bond, per 10⁴ CNY of proceeds.

The ``gep bond`` commands are in :mod:`gep.cli.bond`; the jobs that write
reports are :mod:`gep.jobs.bond_coverage` and :mod:`gep.jobs.bond_impact`.

Prices are per 100 of the outstanding face [CNY per 100 face]; money is CNY.
"""

from gep.finance.curve import (
    Curve,
    bootstrap_par,
    curve_dirty_price,
    risky_dirty_price,
    z_spread,
    zero_curve,
)
from gep.finance.daycount import DAY_COUNTS, day_count_days, year_fraction
from gep.finance.pricing import (
    BondAnalytics,
    accrued_interest,
    analytics,
    analytics_from_price,
    clean_price,
    dirty_price,
    dirty_prices,
    yield_from_price,
)
from gep.finance.schedule import Bond, Flows, Schedule, bond_from_dict, remaining_flows, schedule

__all__ = [
    "Bond",
    "BondAnalytics",
    "Curve",
    "DAY_COUNTS",
    "Flows",
    "Schedule",
    "accrued_interest",
    "analytics",
    "analytics_from_price",
    "bond_from_dict",
    "bootstrap_par",
    "clean_price",
    "curve_dirty_price",
    "day_count_days",
    "dirty_price",
    "dirty_prices",
    "remaining_flows",
    "risky_dirty_price",
    "schedule",
    "year_fraction",
    "yield_from_price",
    "z_spread",
    "zero_curve",
]
