"""Rights ledger throughput on SQLite (pytest-benchmark): single transfers, linked batches of
1,000 transfers (signed by the client with one batch signature, and pre-signed), ``verify``
of a ledger of N transactions, and incremental verify of 1,000 more from a checkpoint.

Run: ``pytest benchmarks/test_bench_ledger.py --benchmark-only`` (not part of the test suite).
``$GEP_BENCH_VERIFY_N`` sets N (default 10,000; ``benchmarks/ledger_scale.py`` measures
100,000 in a fresh process, with CPU times). Each result records, in ``extra_info``,
``transfers_per_second`` or ``transactions_per_second``.
"""

from __future__ import annotations

import os

import pytest

from benchmarks.ledger_scale import SETUP_RECORDS, batch, fill, setup, signed_batch, single
from gep.ledger.verify import verify_ledger

BATCH = 1000
VERIFY_N = int(os.environ.get("GEP_BENCH_VERIFY_N", "10000"))


@pytest.fixture
def fresh(tmp_path):
    led, alice = setup(tmp_path / "ledger.db", tmp_path)
    yield led, alice
    led.close()


def test_transfer_single(benchmark, fresh):
    led, alice = fresh
    before = led.head()["tree_size"]
    benchmark.pedantic(single, args=(led, alice), rounds=500, iterations=1, warmup_rounds=10)
    assert led.head()["tree_size"] == before + 510
    benchmark.extra_info.update(transfers_per_transaction=1, transfers_per_second=1 / benchmark.stats.stats.mean)


def test_transfer_batch_1000(benchmark, fresh):
    led, alice = fresh
    before = led.head()["tree_size"]
    benchmark.pedantic(batch, args=(led, alice, BATCH), rounds=10, iterations=1, warmup_rounds=1)
    assert led.head()["tree_size"] == before + 11 * BATCH
    benchmark.extra_info.update(transfers_per_transaction=BATCH, transfers_per_second=BATCH / benchmark.stats.stats.mean)


def test_transfer_batch_1000_presigned(benchmark, fresh):
    led, alice = fresh
    batches = iter([signed_batch(led, alice, BATCH) for _ in range(11)])
    benchmark.pedantic(lambda: led.submit_many(next(batches)), rounds=10, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(transfers_per_transaction=BATCH, transfers_per_second=BATCH / benchmark.stats.stats.mean)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ledger-verify")
    led, alice = setup(folder / "ledger.db", folder)
    fill(led, alice, VERIFY_N - SETUP_RECORDS, BATCH)
    assert led.head()["tree_size"] == VERIFY_N
    yield led, alice
    led.close()


def test_verify(benchmark, big):
    summary = benchmark.pedantic(verify_ledger, args=(big[0],), rounds=3, iterations=1)
    assert summary["ok"] and summary["size"] == VERIFY_N
    mean = benchmark.stats.stats.mean
    benchmark.extra_info.update(transactions=VERIFY_N, seconds_per_transaction=mean / VERIFY_N, transactions_per_second=VERIFY_N / mean)


def test_verify_incremental_1000(benchmark, big):
    led, alice = big
    checkpoint = verify_ledger(led, keep=True)["checkpoint"]
    fill(led, alice, BATCH, BATCH)
    summary = benchmark.pedantic(verify_ledger, args=(led,), kwargs={"since": checkpoint}, rounds=3, iterations=1)
    assert summary["incremental_from"] == VERIFY_N and summary["size"] == VERIFY_N + BATCH
    benchmark.extra_info.update(new_transactions=BATCH, seconds=benchmark.stats.stats.mean)
