"""Market data: VWAP and volume per period from settled trades (by hand), and `gep bond coverage` calibrating on them."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from gep.errors import InputError
from gep.finance.revenue import calibrate_gbm
from gep.finance.revenue_file import revenue_from_dict
from gep.io.files import read_toml
from gep.jobs.references import FileReferences
from tests.ledger.market_setup import EMISSION, build

CARBON = "carbon/p1/2022"


@pytest.fixture
def traded(new_target, keyset, runs):
    """Carbon sold by alice to bob on the market on six Beijing days, with stated-price transfers in between."""
    env = build(new_target(), keyset)
    m, clk, led = env.m, env.clk, env.led
    led.issue(env.reg, CARBON, "10 t", "alice", runs["carbon"], zone="1")  # 8 t after the 20 % buffer
    trades = []
    for day, (price, kg) in enumerate([("60", 500), ("62.5", 250), ("61", 1000), ("65", 400), ("63.2", 600), ("66", 300)]):
        lst = m.create_listing(env.k.alice, "alice", CARBON, f"{kg} kg", price, closes=clk.at(hours=6)).seq
        m.bid(env.k.bob, lst, "bob", CARBON, f"{kg // 2} kg", price)
        m.bid(env.k.carol, lst, "carol", CARBON, f"{kg - kg // 2} kg", price)
        led.transfer(env.k.alice, CARBON, "1 kg", "alice", "dave", price=str(10 * (day + 1)))  # a stated price, far from the market
        trades.append((clk.t.date(), price, kg))
        clk.advance(days=1)
    yield env, trades
    env.led.close()


def test_vwap_volume_and_ohlc_per_period(traded):
    env, trades = traded
    m = env.m
    daily = m.index(CARBON, "day")
    assert [d["period"] for d in daily] == [d.isoformat() for d, _, _ in trades]  # 01:00 UTC: the same Beijing date
    assert [d["trades"] for d in daily] == [2] * 6 and [d["volume"] for d in daily] == [kg for _, _, kg in trades]
    week = m.index(CARBON, "week")
    first = [(p, kg) for d, p, kg in trades if date.fromisoformat(week[0]["start"]) <= d <= date.fromisoformat(week[0]["end"])]
    volume = sum(kg for _, kg in first)
    paid = sum((Decimal(p) * kg / 1000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) for p, kg in first)  # a listing's fills add up to its whole
    assert week[0]["volume"] == volume and Decimal(week[0]["value_cny"]) == paid
    assert week[0]["vwap"] == str((sum(Decimal(p) * kg for p, kg in first) / volume).quantize(Decimal("0.0001")))
    assert (week[0]["open"], week[0]["high"], week[0]["low"], week[0]["close"]) == (first[0][0], max((p for p, _ in first), key=Decimal),
                                                                                     min((p for p, _ in first), key=Decimal), first[-1][0])
    year = m.index(CARBON, "year")
    assert len(year) == 1 and year[0]["volume"] == sum(kg for _, _, kg in trades) and year[0]["unit"] == "tCO2e"
    assert m.index(EMISSION, "month") == []


def test_bond_coverage_calibrates_on_market_trades(traded, tmp_path):
    env, trades = traded
    target = env.led.store.url if env.led.store.dialect == "postgresql" else str(env.led.store.path)
    path = tmp_path / "revenue.toml"

    def load(trades_key):
        extra = f'trades = "{trades_key}"\n' if trades_key else ""
        path.write_text(f"""[[stream]]
name = "carbon"
kind = "credit_sales"
[stream.volume]
amount = 100
unit = "tCO2e"
[stream.price]
ledger = "{target}"
instrument = "{CARBON}"
{extra}""", encoding="utf-8")
        return revenue_from_dict(read_toml(path, "revenue file"), path, FileReferences()).streams[0].price.calibration

    market = load("market")
    want = calibrate_gbm([d for d, _, kg in trades for _ in (0, 1)], [float(p) for _, p, _ in trades for _ in (0, 1)],
                         [float(q) for _, _, kg in trades for q in (kg // 2, kg - kg // 2)])
    assert market.n_trades == 12 and market.volatility == pytest.approx(want.volatility, rel=1e-12) and market.last_price == 66.0
    transfers = load("transfers")
    assert transfers.n_trades == 6 and transfers.last_price == 60.0
    assert load(None).n_trades == 18  # default: both
    with pytest.raises(InputError, match="trades = 'auction'"):
        load("auction")
