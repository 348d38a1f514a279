"""A sample ledger to try the platform on: credits issued against a recorded basin run, traded and retired.

::

    gep run scenarios/demo.toml && gep capacity basin scenarios/demo_capacity.toml
    python -m gep.server.sample --db sample.db --runs runs --keys keys/
    gep serve --db sample.db --runs runs        # then import keys/alice.key on the account page

Writes the registry key and two owners' keys (``registry.key``, ``alice.key``,
``bob.key``, mode 0600) into ``--keys``, opens accounts ``alice`` and ``bob``, deposits
cash for both, issues capacity credits of the first basin run's first two issuable rows
to alice, and records a priced transfer to bob, a retirement by bob and, over the six
days before today, one fixed-price listing a day by alice filled by bob (a price
history for the market page's chart). Everything goes through the ledger's public API,
signed like the CLI signs; the records of past days carry those days' times (the
ledger's clock is set back, then catches up with today).
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["build"]


class _Clock:
    """A ledger clock that starts ``days`` ago and moves when told (:meth:`advance`)."""

    def __init__(self, days: int):
        from datetime import datetime, timedelta, timezone

        self.t = datetime.now(timezone.utc) - timedelta(days=days)

    def __call__(self) -> str:
        return self.t.isoformat(timespec="microseconds").replace("+00:00", "Z")

    def advance(self, hours: float) -> None:
        from datetime import timedelta

        self.t += timedelta(hours=hours)


def build(db: str, runs: Path, keys_dir: Path, transfers: int = 1, days: int = 6) -> dict:
    """Create the sample ledger; returns ``{"ledger", "instruments", "keys": {name: path}, "run"}``."""
    from gep.audit.evidence import RunFiles
    from gep.errors import InputError
    from gep.ledger import keys
    from gep.ledger.ledger import Ledger
    from gep.server.runs import RunCatalogue

    cat = RunCatalogue(runs)
    basin = next((r for r in cat.runs() if r.kind == "gep capacity basin"), None)
    if basin is None:
        raise InputError(f"no `gep capacity basin` run under {runs}", hint="run `gep capacity basin scenarios/demo_capacity.toml` first")
    rows = [r for r in cat.credits(basin)["credits"] if (r.get("issuable_kg_per_yr") or 0) >= 2000][:2]
    pairs = {}
    for name in ("registry", "alice", "bob"):
        path = keys_dir / f"{name}.key"
        pairs[name] = keys.load_private(path) if path.exists() else keys.write_keypair(keys.generate(), path) and keys.load_private(path)
    reg, alice, bob = pairs["registry"], pairs["alice"], pairs["bob"]
    instruments = []
    from gep.ledger.market import Market

    clock = _Clock(days + 1)
    with Ledger.init(db, reg, files=RunFiles(), clock=clock) as led:
        market = Market(led)
        led.open_account(reg, "alice", alice.public, id="open-alice")
        led.open_account(reg, "bob", bob.public, id="open-bob")
        market.deposit(reg, "alice", "20000 CNY", reference="sample deposit", id="deposit-alice")
        market.deposit(reg, "bob", "200000 CNY", reference="sample deposit", id="deposit-bob")
        for row in rows:
            ins = f"capacity/{row['catchment']}/{row['pollutant']}/{row['vintage']}"
            amount = int(row["issuable_kg_per_yr"]) // 2
            led.issue(reg, ins, amount, "alice", basin.path / "manifest.json", id=f"issue-{row['catchment']}-{row['pollutant']}")
            instruments.append(ins)
        for k in range(transfers):
            led.transfer(alice, instruments[0], "1 t", "alice", "bob", price=str(1180 + k % 20), id=f"deal-{k + 1}")
        led.retire(bob, instruments[0], "250 kg", "bob", beneficiary="Liyang water works", id="retire-1")
        for day in range(days):
            clock.advance(24)
            price = str(1150 + 15 * day - 20 * (day % 2))
            listing = market.create_listing(alice, "alice", instruments[0], "400 kg", price, closes=_later(clock(), 20), id=f"listing-{day + 1}").seq
            clock.advance(2)
            market.bid(bob, listing, "bob", instruments[0], "300 kg", price, id=f"bid-{day + 1}")
        ledger_id = led.id
    return {"ledger": ledger_id, "instruments": instruments, "keys": {n: str(keys_dir / f"{n}.key") for n in pairs}, "run": basin.id}


def _later(time: str, hours: float) -> str:
    from datetime import datetime, timedelta

    return (datetime.fromisoformat(time.replace("Z", "+00:00")) + timedelta(hours=hours)).isoformat()


def main(argv: list[str] | None = None) -> None:
    from gep.errors import GepError

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="new ledger: SQLite file or postgresql:// URL")
    ap.add_argument("--runs", type=Path, default=Path("runs"))
    ap.add_argument("--keys", type=Path, default=Path("."), help="folder for registry.key, alice.key, bob.key")
    args = ap.parse_args(argv)
    try:
        out = build(args.db, args.runs, args.keys)
    except GepError as exc:
        raise SystemExit(f"error: {exc.line()}") from None
    print(f"ledger {out['ledger']} in {args.db}: instruments {', '.join(out['instruments'])}; keys in {args.keys}")


if __name__ == "__main__":
    main()
