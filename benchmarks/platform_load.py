"""Bounded load test of ``gep serve`` on PostgreSQL: concurrent readers and signed writers.

    export GEP_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:54329/gep_test   # eval "$(bash .ci/postgres.sh)"
    gep run scenarios/demo.toml && gep capacity basin scenarios/demo_capacity.toml  # the runs read and cited
    python benchmarks/platform_load.py [--readers 200] [--writers 20] [--reads 10] [--writes 10] [--workers 1]

Sets up a fresh PostgreSQL schema with a ledger (``writers`` accounts, each issued capacity
credits against the demo basin run), starts ``gep serve`` on a free local port with the
registry's head key (each commit signs its tree head; rate limits raised for the test), then
runs, all at once on 127.0.0.1 only:

* ``readers`` tasks, each with its own connection, doing ``reads`` GETs in a loop over a mix:
  tree head, balances, a page of the log, an account's history, the certificate of an
  issuance, the market's trades, the demo run's GEP table and zone GeoJSON;
* ``writers`` tasks, each signing ``writes`` transfers (its account → the next one, 1 kg,
  priced) and POSTing them, one after another.

Bounded: a fixed number of requests, a 60 s timeout per request and 600 s for the whole run;
it stops by itself. Then it checks that every write answered 201, that the ledger holds
exactly those transactions and verifies (``verify_ledger``: signatures, Merkle tree,
signed tree heads, balances), and prints a table of throughput and latency per kind. The clients run in this
process, on the same 2-core machine as the server and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def setup(url: str, runs: Path, writers: int, keys_dir: Path):
    """A fresh schema with a ledger: ``w0 … w{n-1}`` each holding 1 t of the demo basin's first issuable instrument."""
    import psycopg

    from gep.audit.evidence import RunFiles
    from gep.ledger import keys
    from gep.ledger.ledger import Ledger
    from gep.server.runs import RunCatalogue

    schema = "gep_load_" + os.urandom(4).hex()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    target = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    cat = RunCatalogue(runs)
    basin = next((r for r in cat.runs() if r.kind == "gep capacity basin"), None)
    if basin is None:
        sys.exit(f"no basin run under {runs}: run `gep capacity basin scenarios/demo_capacity.toml`")
    row = max(cat.credits(basin)["credits"], key=lambda r: r["issuable_kg_per_yr"] or 0)
    ins = f"capacity/{row['catchment']}/{row['pollutant']}/{row['vintage']}"
    reg = keys.generate()
    head_key = keys_dir / "registry.key"
    keys.write_keypair(reg, head_key)  # the server signs each commit's tree head with it (gep serve --head-key)
    pairs = [keys.generate() for _ in range(writers)]
    with Ledger.init(target, reg, files=RunFiles()) as led:
        for i, k in enumerate(pairs):
            led.open_account(reg, f"w{i}", k.public, id=f"open-w{i}")
        led.submit_many([led.issue_request(reg, ins, "1 t", f"w{i}", basin.path / "manifest.json", id=f"issue-w{i}") for i in range(writers)])
        size = led.head()["tree_size"]
    demo = next((r.id for r in cat.runs() if r.kind == "gep run" and "/" not in r.id), None)
    return schema, target, ins, pairs, size, demo, head_key


async def main_async(args, base: str, ledger_id: str, ins: str, pairs, size0: int, demo: str | None) -> dict:
    import httpx

    from gep.ledger.canonical import canonical, signing_message
    from gep.ledger.rules import VERSION

    stats: dict[str, list[float]] = {}
    errors: list[str] = []
    writes_ok = 0

    async def timed(kind: str, coro):
        t0 = time.perf_counter()
        try:
            r = await coro
        except httpx.HTTPError as exc:
            errors.append(f"{kind}: {type(exc).__name__} {exc}")
            return None
        stats.setdefault(kind, []).append(time.perf_counter() - t0)
        return r

    def account(rng: random.Random) -> str:
        return f"w{rng.randrange(len(pairs))}"

    # the issuances are the last `writers` records of the set-up: certificates of rights moved
    mix = [("head", lambda rng: "/api/v1/ledger/head"),
           ("balances", lambda rng: f"/api/v1/ledger/balances?account={account(rng)}"),
           ("log page", lambda rng: "/api/v1/ledger/transactions?limit=50"),
           ("history", lambda rng: f"/api/v1/ledger/accounts/{account(rng)}/history?limit=20"),
           ("certificate", lambda rng: f"/api/v1/ledger/transactions/{rng.randrange(size0 - len(pairs) + 1, size0 + 1)}/certificate"),
           ("market trades", lambda rng: "/api/v1/market/trades")]
    if demo:
        mix += [("GEP table", lambda rng: f"/api/v1/runs/{demo}/gep"), ("zones GeoJSON", lambda rng: f"/api/v1/runs/{demo}/zones")]

    async def reader(k: int):
        rng = random.Random(k)
        async with httpx.AsyncClient(base_url=base, timeout=60) as c:
            for _ in range(args.reads):
                kind, url = rng.choice(mix)
                url = url(rng)
                r = await timed(kind, c.get(url))
                if r is not None and r.status_code != 200:
                    errors.append(f"{kind} {url}: HTTP {r.status_code} {r.text[:200]}")

    async def writer(i: int):
        nonlocal writes_ok
        key = pairs[i]
        async with httpx.AsyncClient(base_url=base, timeout=60) as c:
            for n in range(args.writes):
                req = {"v": VERSION, "ledger": ledger_id, "id": f"load-{i}-{n}", "type": "transfer", "signer": key.public, "instrument": ins,
                       "amount": 1, "from": f"w{i}", "to": f"w{(i + 1) % len(pairs)}", "price": "1186.71"}
                body = canonical({"request": req, "signature": key.sign(signing_message(req))})
                r = await timed("signed transfer", c.post("/api/v1/ledger/requests", content=body, headers={"Content-Type": "application/json"}))
                if r is not None and r.status_code == 201:
                    writes_ok += 1
                elif r is not None:
                    errors.append(f"write {req['id']}: HTTP {r.status_code} {r.text[:200]}")

    t0 = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*[reader(k) for k in range(args.readers)], *[writer(i) for i in range(args.writers)]), timeout=600)
    return {"elapsed": time.perf_counter() - t0, "stats": stats, "errors": errors, "writes_ok": writes_ok}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, default=Path("runs"))
    ap.add_argument("--readers", type=int, default=200)
    ap.add_argument("--writers", type=int, default=20)
    ap.add_argument("--reads", type=int, default=10, help="GETs per reader")
    ap.add_argument("--writes", type=int, default=10, help="signed transfers per writer")
    ap.add_argument("--workers", type=int, default=1, help="server processes")
    ap.add_argument("--pool", type=int, default=16, help="ledger connections per server process")
    args = ap.parse_args()
    url = os.environ.get("GEP_TEST_POSTGRES_URL")
    if not url:
        sys.exit("set GEP_TEST_POSTGRES_URL (eval \"$(bash .ci/postgres.sh)\")")
    import psycopg

    from gep.ledger.verify import verify_ledger
    from gep.ledger.ledger import Ledger

    with tempfile.TemporaryDirectory() as tmp:
        schema, target, ins, pairs, size0, demo, head_key = setup(url, args.runs, args.writers, Path(tmp))
        cfg = Path(tmp) / "serve.toml"
        cfg.write_text(f'[server]\npool = {args.pool}\n[limits]\nreads = "100000/minute"\nwrites = "100000/minute"\n', encoding="utf-8")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen([sys.executable, "-c", "from gep.cli import main; main()", "serve", "--db", target, "--runs", str(args.runs),
                                 "--port", str(port), "--config", str(cfg), "--workers", str(args.workers), "--head-key", str(head_key)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            import httpx

            base = f"http://127.0.0.1:{port}"
            for _ in range(600):
                try:
                    ledger_id = httpx.get(base + "/api/v1/ledger", timeout=2).json()["ledger"]
                    break
                except (httpx.HTTPError, KeyError, ValueError):
                    if proc.poll() is not None:
                        sys.exit(f"server exited: {proc.stderr.read().decode()[-2000:]}")
                    time.sleep(0.1)
            load0 = os.getloadavg()[0]
            res = asyncio.run(main_async(args, base, ledger_id, ins, pairs, size0, demo))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        with Ledger.open(target) as led:
            size = led.head()["tree_size"]
            summary = verify_ledger(led)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    n_reads = sum(len(v) for k, v in res["stats"].items() if k != "signed transfer")
    n_writes = len(res["stats"].get("signed transfer", []))
    print(f"{args.readers} readers × {args.reads} GETs, {args.writers} writers × {args.writes} signed transfers, "
          f"{args.workers} server process(es), pool {args.pool}; load average {load0:.2f} before")
    print(f"elapsed {res['elapsed']:.1f} s; reads {n_reads} ({n_reads / res['elapsed']:.0f}/s), writes {n_writes} ({n_writes / res['elapsed']:.1f}/s); "
          f"errors {len(res['errors'])}")
    print("| request | n | median [ms] | p95 [ms] | p99 [ms] | max [ms] |")
    print("|---|---|---|---|---|---|")
    for kind, xs in sorted(res["stats"].items()):
        ms = [1000 * x for x in xs]
        print(f"| {kind} | {len(ms)} | {statistics.median(ms):.0f} | {percentile(ms, .95):.0f} | {percentile(ms, .99):.0f} | {max(ms):.0f} |")
    ok = not res["errors"] and res["writes_ok"] == args.writers * args.writes and size == size0 + res["writes_ok"]
    print(f"ledger after: {size} records ({size - size0} new, {res['writes_ok']} acknowledged); verify: {summary['size']} transactions ok, root {summary['root'][:16]}…")
    for e in res["errors"][:10]:
        print("error:", e)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
