"""A writer killed with SIGKILL in the middle of market settlement, on SQLite and PostgreSQL.

The worker (``_worker.py market``) commits rounds of linked requests: the settlement of the
previous round's ascending auction, a listing of 20 kg filled by 20 delivery-versus-payment
bids, and a new auction with its bid. Killed at a random point, the ledger must hold every
reported round whole and no partial one: verify replays it (escrow invariant included), every
fixed listing has all its 20 trades or does not exist, every auction is settled with its one
trade or still open with its bid in escrow, and the balances add up.
"""

from __future__ import annotations

import random

from gep.ledger import keys
from gep.ledger.ledger import Ledger
from gep.ledger.market import Market
from gep.ledger.verify import verify_ledger
from tests.ledger.helpers import run_and_kill
from tests.ledger.market_setup import EMISSION, balance, build


def test_killed_settlement_leaves_every_round_whole_or_absent(target, keyset, tmp_path):
    env = build(target, keyset)
    bob_before = balance(env.led, "bob", EMISSION)
    env.led.close()
    paths = []
    for name in ("alice", "registry", "bob"):
        path = tmp_path / f"{name}.key"
        keys.write_keypair(getattr(keyset, name), path)
        paths.append(str(path))
    committed = run_and_kill(["market", target, *paths], 4, random.uniform(0.0, 0.4), timeout=60)
    with Ledger.open(target) as led:
        assert verify_ledger(led)["ok"]
        m = Market(led)
        listings = m.listings()
        fixed = [x for x in listings if x["mechanism"] == "fixed"]
        auctions = [x for x in listings if x["mechanism"] == "ascending"]
        rounds = len(fixed)
        assert rounds >= len(committed) and len(auctions) == rounds
        trades = m.trades()
        per_listing: dict[int, int] = {}
        for t in trades:
            per_listing[t["listing"]] = per_listing.get(t["listing"], 0) + 1
        assert all(per_listing.get(x["id"]) == 20 and x["status"] == "filled" for x in fixed)
        settled = [x for x in auctions if x["status"] == "settled"]
        assert all(per_listing.get(x["id"]) == 1 for x in settled)
        assert [x["status"] for x in auctions if x not in settled] == ["open"]  # the last round's, awaiting the next
        assert len(settled) == rounds - 1
        assert balance(led, "bob", EMISSION) == bob_before + 20 * rounds + 5 * len(settled)
        assert balance(led, "sys:market", EMISSION) == 5 and balance(led, "sys:market", "cash/CNY") == 500  # the open auction's lot and bid
