"""A market ledger for the tests: accounts in zones, cash, defined rights and the shipped ratio table.

Zones follow ``gep/data/coefficients/market-2026/ratios.csv`` (the SYNTHETIC demo basin): catchment 4
(Daxi reservoir) is upstream of catchment 1 (Licheng), so 4 → 1 trades 1:1 and 1 → 4 is
forbidden; the demo catchments and Langxi county trade 1:1.2 both ways.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from gep.audit.evidence import RunFiles
from gep.io.ledger_files import read_ratio_file
from gep.ledger.ratios import table as ratio_table
from gep.ledger import keys
from gep.ledger.ledger import Ledger
from gep.ledger.market import Market
from tests.ledger.helpers import Clock

RATIOS = Path(__file__).resolve().parents[2] / "gep" / "data" / "coefficients" / "market-2026"
EMISSION = "emission/4/COD/2026"
ENERGY = "energy/liyang/2026"
#: account -> (key name in the keyset or "gov", zone, role)
ACCOUNTS = {"alice": ("alice", "4", None), "bob": ("bob", "1", None), "carol": ("carol", "1", None), "dave": ("dave", "langxi", None),
            "treasury": ("gov", None, None), "reserve": ("gov", "1", "reserve")}
#: cash deposited [CNY]
CASH = {"alice": 300_000, "bob": 500_000, "carol": 500_000, "dave": 500_000, "reserve": 1_000_000}


def build(target: str, keyset: SimpleNamespace, ratios: bool = True) -> SimpleNamespace:
    """A fresh market ledger at ``target`` (see the module docstring); alice holds 20 t of EMISSION and 1000 tce of ENERGY."""
    clk = Clock()
    gov = keys.generate()
    led = Ledger.init(target, keyset.registry, operators=[keyset.operator.public], clock=clk, files=RunFiles())
    ks = {**{n: getattr(keyset, n) for n in ("registry", "alice", "bob", "carol", "dave", "mallory")}, "gov": gov}
    for acc, (key, zone, role) in ACCOUNTS.items():
        led.open_account(keyset.registry, acc, ks[key].public, id=f"open-{acc}", zone=zone, role=role)
    m = Market(led)
    m.define(keyset.registry, EMISSION, "100 t", "2026-01-01", "2030-12-31", "test allocation plan", fee="2000", fee_years=5, fee_payee="treasury", id="def-em")
    m.define(keyset.registry, ENERGY, "10000 tce", "2026-01-01", "2027-06-30", "test energy quota", id="def-en")
    for acc, cny in CASH.items():
        m.deposit(keyset.registry, acc, f"{cny} CNY", reference=f"bank-{acc}", id=f"dep-{acc}")
    m.allocate(keyset.registry, EMISSION, "20 t", "alice", id="alloc-em")  # fee 20 × 2000 × 5 = 200000 CNY to treasury
    m.allocate(keyset.registry, ENERGY, "1000 tce", "alice", id="alloc-en")
    if ratios:
        m.publish_ratios(keyset.registry, ratio_table(read_ratio_file(RATIOS)), id="ratios-1")
    return SimpleNamespace(led=led, m=m, clk=clk, k=SimpleNamespace(**ks), reg=keyset.registry)


def balance(led: Ledger, account: str, instrument: str) -> int:
    rows = led.balances(account, instrument)
    return rows[0]["amount"] if rows else 0
