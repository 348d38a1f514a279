"""Several processes: a writer killed with SIGKILL mid-batch, and writers racing for the same balance."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from gep.ledger.ledger import Ledger
from gep.ledger.verify import verify_ledger
from tests.ledger.helpers import WORKER, run_and_kill, worker_env, worker_ledger


INS = "capacity/2/COD/2024"


def test_killed_writer_loses_no_committed_batch_and_leaves_no_partial_one(target, keyset, runs, tmp_path):
    led, keyfile = worker_ledger(target, keyset, runs, tmp_path, 10**6)
    before = led.head()["tree_size"]
    committed = run_and_kill(["crash", target, *keyfile], 6, 0.013)
    led.close()
    with Ledger.open(target) as again:
        summary = verify_ledger(again)  # replays everything: no partial transaction, all invariants hold
        ids = [r[1] for r in again.rows()[before:]]
        batches: dict[int, int] = {}
        for rid in ids:
            b = int(rid.split("-")[0][1:])
            batches[b] = batches.get(b, 0) + 1
        assert all(n == 20 for n in batches.values()), batches  # linked batches are whole or absent
        assert set(committed) <= set(batches)  # every batch reported committed is there
        assert sorted(batches) == list(range(1, len(batches) + 1))
        bob = again.balances("bob", INS)[0]["amount"]
        assert bob == 20 * len(batches) and summary["size"] == before + 20 * len(batches)


def test_racing_processes_cannot_double_spend(target, keyset, runs, tmp_path):
    led, keyfile = worker_ledger(target, keyset, runs, tmp_path, 25)
    shared = led.transfer_request(keyset.alice, INS, 1, "alice", "bob", id="same-for-all")
    sfile = tmp_path / "shared.json"
    sfile.write_text(json.dumps(shared.as_dict()))
    led.close()
    start = time.time() + 1.5
    procs = [subprocess.Popen([sys.executable, str(WORKER), "race", target, *keyfile, f"w{i}", "10", str(start), str(sfile)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=worker_env()) for i in range(4)]
    outs = []
    for p in procs:
        out, errs = p.communicate(timeout=60)
        assert p.returncode == 0, errs
        outs.append(json.loads(out.strip().splitlines()[-1]))
    ok = sum(len(o["ok"]) for o in outs)
    refused = [r for o in outs for r in o["refused"]]
    shared_status = sorted(o["shared"] for o in outs)
    with Ledger.open(target) as again:
        verify_ledger(again)
        alice = again.balances("alice", INS)
        bob = again.balances("bob", INS)[0]["amount"]
    # the same request raced by four processes is recorded once: one 'created', three 'exists'
    assert shared_status == ["created", "exists", "exists", "exists"]
    # 25 kg: exactly 24 more one-kg transfers succeed in total, the other 16 are refused; nothing goes negative
    assert ok == 24 and bob == 25 and alice == []
    assert len(refused) == 16 and set(refused) == {"InsufficientBalance"}
