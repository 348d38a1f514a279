"""GEP-backed loans: principal = lending ratio × annual GEP, amortising schedule.

Published GEP-backed credit lines (Lishui, Nanping, Liyang and others) ranged
from 0.1 % to 48 % of the area's annual GEP (docs/bonds.md, lending ratio),
so the lending ratio is a declared parameter of each loan, never a constant.

A loan is expressed as a :class:`~gep.finance.schedule.Bond` (face = principal,
coupon = interest rate, coupon dates = instalment dates, amortisation = the
principal part of each instalment), so the bond schedule, pricing and coverage
code apply unchanged.  Repayment profiles, with ``i = r/f`` the periodic rate,
``n`` instalments of which the first ``g`` are interest-only (grace) and
``m = n − g`` amortising:

``annuity`` (等额本息)
    level instalment ``A = P·i / (1 − (1 + i)^−m)`` (``P/m`` when ``i = 0``);
    principal of amortising instalment ``j = 1…m`` is ``(A − P·i)(1 + i)^(j−1)``.
``equal_principal`` (等额本金)
    ``P/m`` of principal each amortising instalment, interest on the balance.
``bullet``
    interest only, principal at maturity.

References
----------
Brealey, R. A., Myers, S. C. & Allen, F., *Principles of Corporate Finance*,
ch. 2 (annuities).
People's Bank of China, 《贷款通则》 (1996): instalment repayment of loans.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from gep.errors import InputError
from gep.finance import daycount as dc
from gep.finance.schedule import Bond, schedule

__all__ = ["REPAYMENTS", "PUBLISHED_LENDING_RATIOS", "Loan", "loan_bond"]

#: Repayment profiles of a loan.
REPAYMENTS = ("annuity", "equal_principal", "bullet")
#: Range of lending ratios of published GEP-backed credit lines [-] (docs/bonds.md).
PUBLISHED_LENDING_RATIOS = (0.001, 0.48)


@dataclass(frozen=True)
class Loan:
    """Terms of an amortising loan.

    Attributes
    ----------
    principal : float
        Amount lent [CNY] (``lending_ratio × gep`` when sized on GEP).
    rate : float
        Annual interest rate [1/yr], paid ``frequency`` times a year on the balance.
    frequency : int
        Instalments per year: 1, 2 or 4.
    start_date : datetime.date
        Drawdown date (interest accrues from it).
    term_years : float
        Tenor [years]; a whole number of instalment periods.
    repayment : str
        One of :data:`REPAYMENTS`.
    grace_years : float
        Interest-only period at the start [years]; a whole number of periods.
    day_count : str
        Accrual of an irregular first period (regular periods pay ``r/f``).
    name : str
    lending_ratio : float, optional
        Principal / annual GEP [-], when sized on GEP.
    gep : float, optional
        Annual GEP the loan is sized on [CNY/yr].
    """

    principal: float
    rate: float
    frequency: int
    start_date: date
    term_years: float
    repayment: str = "annuity"
    grace_years: float = 0.0
    day_count: str = dc.ACT_365F
    name: str = ""
    lending_ratio: float | None = None
    gep: float | None = None

    def as_dict(self) -> dict:
        out = {"principal_cny": self.principal, "rate": self.rate, "frequency": self.frequency,
               "start_date": self.start_date.isoformat(), "term_years": self.term_years,
               "repayment": self.repayment, "grace_years": self.grace_years, "day_count": self.day_count}
        if self.lending_ratio is not None:
            lo, hi = PUBLISHED_LENDING_RATIOS
            out.update(lending_ratio=self.lending_ratio, gep_cny_per_yr=self.gep,
                       lending_ratio_within_published_range=bool(lo <= self.lending_ratio <= hi))
        return out


def _periods(years: float, frequency: int, key: str, source: str) -> int:
    n = years * frequency
    if not np.isfinite(n) or abs(n - round(n)) > 1e-9:
        raise InputError(f"{key} = {years} is not a whole number of {12 // frequency}-month periods",
                         hint=f"give a multiple of {1 / frequency:g} year", where=f"{source}, key {key}")
    return int(round(n))


def loan_bond(loan: Loan, source: str = "loan") -> Bond:
    """The loan as a bond: face = principal, coupon = rate, amortisation = principal instalments.

    Parameters
    ----------
    loan : Loan
    source : str
        File name for error messages.

    Returns
    -------
    gep.finance.schedule.Bond

    Raises
    ------
    gep.errors.InputError
        A term or grace period that is not a whole number of periods, a grace
        period as long as the term, or an unknown repayment profile.
    """
    if loan.repayment not in REPAYMENTS:
        raise InputError(f'unknown repayment "{loan.repayment}"', hint="use " + ", ".join(REPAYMENTS),
                         where=f"{source}, key loan.repayment")
    n = _periods(loan.term_years, loan.frequency, "loan.term_years", source)
    g = _periods(loan.grace_years, loan.frequency, "loan.grace_years", source)
    if n < 1:
        raise InputError("loan.term_years must be positive", hint="e.g. term_years = 10",
                         where=f"{source}, key loan.term_years")
    if g >= n and loan.repayment != "bullet":
        raise InputError(f"grace period ({loan.grace_years} years) is not shorter than the term "
                         f"({loan.term_years} years)", hint="shorten grace_years or use repayment = \"bullet\"",
                         where=f"{source}, key loan.grace_years")
    maturity = dc.add_months(loan.start_date, n * 12 // loan.frequency)
    base = Bond(face=loan.principal, coupon_rate=loan.rate, frequency=loan.frequency,
                issue_date=loan.start_date, maturity_date=maturity, day_count=loan.day_count,
                name=loan.name, source=source)
    if loan.repayment == "bullet":
        return base
    dates = schedule(base).end
    m = len(dates) - g
    i = loan.rate / loan.frequency
    p = loan.principal
    if loan.repayment == "equal_principal":
        parts = np.full(m, p / m)
    elif i == 0.0:
        parts = np.full(m, p / m)
    else:
        level = p * i / (1.0 - (1.0 + i) ** (-m))
        parts = (level - p * i) * (1.0 + i) ** np.arange(m)
    amort = tuple((d, float(a)) for d, a in zip(dates[g:-1], parts[:-1]))
    return replace(base, amortization=amort)
