"""Worker process of the crash and concurrency tests (run as a script, not collected by pytest).

usage:
  _worker.py crash TARGET KEYFILE          linked batches of 20 transfers alice -> bob, forever;
                                           prints "committed <batch>" after each commit
  _worker.py race TARGET KEYFILE NAME N START SHARED
                                           at time START, submit the pre-signed SHARED request (the
                                           same for every worker), then try N transfers of 1 kg
                                           alice -> bob (ids NAME-i);
                                           prints one JSON line with the outcomes
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


def crash(target: str, keyfile: str) -> None:
    key = load_private(keyfile)
    led = Ledger.open(target)
    batch = 0
    while True:
        batch += 1
        items = [led.transfer_request(key, INS, 1, "alice", "bob", id=f"b{batch}-{k}") for k in range(20)]
        led.submit_many(items, linked=True)
        print(f"committed {batch}", flush=True)


def race(target: str, keyfile: str, name: str, n: int, start: float, shared: str) -> None:
    key = load_private(keyfile)
    led = Ledger.open(target)
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


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "crash":
        crash(sys.argv[2], sys.argv[3])
    else:
        race(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6]), sys.argv[7])
