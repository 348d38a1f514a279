"""Worker process of the crash and concurrency tests (run as a script, not collected by pytest).

usage (REGKEY: the registry key, which signs the tree head of every commit):
  _worker.py crash TARGET KEYFILE REGKEY   linked batches of 20 transfers alice -> bob, forever;
                                           prints "committed <batch>" after each commit
  _worker.py freeze TARGET KEYFILE REGKEY  one transfer alice -> bob inside a write transaction that
                                           never ends: prints "locked", then sleeps holding the lock
  _worker.py race TARGET KEYFILE REGKEY NAME N START SHARED
                                           at time START, submit the pre-signed SHARED request (the
                                           same for every worker), then try N transfers of 1 kg
                                           alice -> bob (ids NAME-i);
                                           prints one JSON line with the outcomes
  _worker.py market TARGET ALICEKEY REGKEY BOBKEY
                                           market settlement, forever: each linked commit settles the
                                           previous round's ascending auction, lists 20 kg at a fixed
                                           price and fills it with 20 bids of 1 kg by bob, and opens a
                                           new auction with bob's bid; prints "committed <round>"
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gep.ledger.errors import LedgerError  # noqa: E402
from gep.ledger.keys import load_private  # noqa: E402
from gep.ledger.ledger import Ledger, Signed  # noqa: E402

INS = "capacity/2/COD/2024"


def crash(target: str, keyfile: str, regkey: str) -> None:
    key = load_private(keyfile)
    led = Ledger.open(target, load_private(regkey))
    batch = 0
    while True:
        batch += 1
        items = [led.transfer_request(key, INS, 1, "alice", "bob", id=f"b{batch}-{k}") for k in range(20)]
        led.submit_many(items, linked=True)
        print(f"committed {batch}", flush=True)


def freeze(target: str, keyfile: str, regkey: str) -> None:
    from gep.ledger.ledger import _append

    key = load_private(keyfile)
    led = Ledger.open(target, load_private(regkey))
    item = led.transfer_request(key, INS, 1, "alice", "bob", id="frozen")

    def hold(tx):
        _append(tx, [item], True, led.head_key)
        print("locked", flush=True)
        time.sleep(3600)

    led.store.write(hold)


def race(target: str, keyfile: str, regkey: str, name: str, n: int, start: float, shared: str) -> None:
    key = load_private(keyfile)
    led = Ledger.open(target, load_private(regkey))
    items = [led.transfer_request(key, INS, 1, "alice", "bob", id=f"{name}-{i}") for i in range(n)]
    shared_item = Signed(**json.loads(Path(shared).read_text()))
    while time.time() < start:
        time.sleep(0.001)
    out: dict = {"ok": [], "refused": [], "shared": led.submit(shared_item).status}
    for item in items:
        try:
            led.submit(item)
            out["ok"].append(item.request["id"])
        except LedgerError as exc:
            out["refused"].append(type(exc).__name__)
    print(json.dumps(out), flush=True)


def market(target: str, alicekey: str, regkey: str, bobkey: str) -> None:
    from datetime import datetime, timedelta, timezone

    from gep.ledger.market import Market

    alice, bob, registry = load_private(alicekey), load_private(bobkey), load_private(regkey)
    led = Ledger.open(target, registry)
    m = Market(led)
    em = "emission/4/COD/2026"
    prev = None
    n = 0
    while True:
        n += 1
        later = lambda s: (datetime.now(timezone.utc) + timedelta(seconds=s)).isoformat()  # noqa: E731
        seq = led.head()["tree_size"]
        items = []
        if prev is not None:
            items.append(m.settle_request(registry, prev, id=f"settle-{n}"))
        fixed = seq + len(items) + 1
        items.append(m.listing_request(alice, "alice", em, "20 kg", "2000", closes=later(3600), id=f"fixed-{n}"))
        items += [m.bid_request(bob, fixed, "bob", em, "1 kg", "2000", id=f"fill-{n}-{k}") for k in range(20)]
        auction = fixed + 21
        items.append(m.listing_request(alice, "alice", em, "5 kg", "1000", mechanism="ascending", increment="10", closes=later(0.3),
                                       settle_by=later(3600), id=f"auction-{n}"))
        items.append(m.bid_request(bob, auction, "bob", em, "5 kg", "1000", id=f"abid-{n}"))
        led.submit_many(items, linked=True)
        print(f"committed {n}", flush=True)
        prev = auction
        time.sleep(0.35)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "crash":
        crash(*sys.argv[2:5])
    elif mode == "market":
        market(*sys.argv[2:6])
    elif mode == "freeze":
        freeze(*sys.argv[2:5])
    else:
        race(*sys.argv[2:6], int(sys.argv[6]), float(sys.argv[7]), sys.argv[8])
