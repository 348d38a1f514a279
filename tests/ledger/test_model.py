"""Instruments, amounts and prices: ids, units, display, bad and hostile amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gep.ledger.errors import InvalidAmount, InvalidRequest, UnitMismatch
from gep.ledger.model import Instrument, format_amount, parse_amount, parse_price
from tests.ledger.helpers import unchanged


CAP = "capacity/1/COD/2024"


def test_instrument_ids():
    cap = Instrument.parse("capacity/3/NH3-N/2024")
    assert (cap.kind, cap.vintage, cap.get("catchment"), cap.get("pollutant")) == ("capacity", 2024, "3", "NH3-N")
    assert (cap.base_unit, cap.display_unit) == ("kg/yr", "t/yr")
    car = Instrument.parse("carbon/lishui-a/2022")
    assert (car.base_unit, car.display_unit, car.get("project")) == ("kgCO2e", "tCO2e", "lishui-a")
    for bad in ("capacity/3/COD", "carbon/p/22", "water/1/2020", "carbon/a b/2022", "capacity/1/COD/2024/x"):
        with pytest.raises(InvalidRequest):
            Instrument.parse(bad)


@pytest.mark.parametrize("text,kg", [("250", 250), ("250 kg", 250), ("1.5 t", 1500), ("1.5t", 1500), ("1.5 t/yr", 1500),
                                     ("2000 g", 2), ("1e3 kg", 1000), (7, 7)])
def test_capacity_amounts(text, kg):
    assert parse_amount(text, Instrument.parse("capacity/1/COD/2024")) == kg


@pytest.mark.parametrize("text,kg", [("2 tCO2e", 2000), ("2 t", 2000), ("3 kgCO2", 3), ("0.001 t", 1)])
def test_carbon_amounts(text, kg):
    assert parse_amount(text, Instrument.parse("carbon/p/2022")) == kg


@pytest.mark.parametrize("text,exc", [("0", InvalidAmount), ("-1 t", InvalidAmount), ("0.5 kg", InvalidAmount), ("abc", InvalidAmount),
                                      ("1 ha", UnitMismatch), ("1 CNY", UnitMismatch), ("1 tC", UnitMismatch), ("1 furlong/fortnight", UnitMismatch),
                                      ("1 blorp", UnitMismatch)])
def test_bad_amounts(text, exc):
    with pytest.raises(exc):
        parse_amount(text, Instrument.parse("carbon/p/2022"))


def test_tonnes_of_carbon_hint_44_12():
    with pytest.raises(UnitMismatch, match="44/12"):
        parse_amount("1 tC", Instrument.parse("carbon/p/2022"))


def test_prices_are_decimals_per_display_unit():
    car = Instrument.parse("carbon/p/2022")
    assert parse_price("71.60", car) == Decimal("71.6")
    assert parse_price("0.0716 CNY/kg", car) == Decimal("71.6")
    assert parse_price("71.6 CNY/tCO2e", car) == Decimal("71.6")
    cap = Instrument.parse("capacity/1/COD/2024")
    assert parse_price("1186.71 wan_CNY/t", cap) == Decimal("11867100")
    for bad in ("0", "-3", "1 CNY/ha", "x"):
        with pytest.raises(InvalidAmount):
            parse_price(bad, car)


def test_display_rounding():
    assert format_amount(1500) == "1.5" and format_amount(-1000) == "-1" and format_amount(1) == "0.001"


# ----------------------------------------------------------------- bounded numbers
@pytest.mark.parametrize("amount", ["1e9999999 t", "1e99999999", "9" * 5000, "1e1000000", "1e41 kg", "0." + "0" * 300 + "1 t",
                                    "1 kg*1e9999999", "1 1e400*kg", "1 kg/nan", "1 g*" + "9" * 5000])
def test_hostile_amounts_refused_in_one_line(ledger, keyset, runs, amount, tmp_path):
    ledger.issue(keyset.registry, CAP, "100 kg", "alice", runs["capacity"])
    unchanged(ledger, lambda: ledger.transfer(keyset.alice, CAP, amount, "alice", "bob"), InvalidAmount)
    unchanged(ledger, lambda: ledger.transfer(keyset.alice, CAP, "1 kg", "alice", "bob", price=amount.replace(" t", "")), InvalidAmount)
