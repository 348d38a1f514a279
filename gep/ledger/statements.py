"""Account statements: every movement of an account in a period, with opening and closing balances.

A statement covers the Beijing calendar dates ``start`` .. ``end`` (inclusive) of one
account: per instrument the balance before the period (opening), each posting in it
(time, transaction, type, description, counterparties, amount, balance after, and for
trades the price and payment), and the balance at its end (closing). It is drawn
from the ledger's tables in one read snapshot and names the registry-signed tree head
it was drawn at, so the holder can check it against the log (``gep ledger verify
--head``) or ask for a certificate of any line (``gep ledger certificate issue SEQ``).

Written as CSV, xlsx or HTML by :mod:`gep.io.statements`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from gep.ledger import clock
from gep.ledger.canonical import parse
from gep.ledger.describe import describe
from gep.ledger.errors import InvalidRequest, UnknownAccount
from gep.ledger.model import Instrument

__all__ = ["Statement", "statement", "LINE_FIELDS", "SUMMARY_FIELDS"]

#: Columns of a statement line.
LINE_FIELDS = ("date", "time", "seq", "id", "type", "instrument", "description", "counterparty", "amount", "display", "balance",
               "balance_display", "price_cny_per_unit", "payment_cny")
#: Columns of the summary (one row per instrument).
SUMMARY_FIELDS = ("instrument", "unit", "opening", "credits", "debits", "closing", "opening_display", "closing_display", "lines")


@dataclass
class Statement:
    """A statement (see the module docstring): ``lines`` and ``summary`` are lists of dicts."""

    account: str
    start: date
    end: date
    head: dict
    zone: str | None = None
    role: str | None = None
    lines: list[dict] = field(default_factory=list)
    summary: list[dict] = field(default_factory=list)

    def meta(self) -> dict:
        """The header: account, period, and the signed tree head it was drawn at."""
        return {"account": self.account, "zone": self.zone, "role": self.role, "from": self.start.isoformat(), "to": self.end.isoformat(),
                "ledger": self.head["ledger"], "tree_size": self.head["tree_size"], "root_hash": self.head["root_hash"],
                "head_timestamp": self.head["timestamp"], "head_signature": self.head["signature"]}

    def as_dict(self) -> dict:
        return {**self.meta(), "summary": self.summary, "lines": self.lines}

    def document(self) -> dict:
        """What a statement file holds (:func:`gep.io.statements.write_statement`): header, summary and lines with their columns."""
        return {"meta": self.meta(), "summary": self.summary, "summary_fields": SUMMARY_FIELDS, "lines": self.lines, "line_fields": LINE_FIELDS}


def _others(record: dict, instrument: str, account: str, sign: int) -> str:
    """The accounts on the other side of ``account``'s posting in ``instrument`` (comma-separated)."""
    effects = record["effects"]
    if "moves" in effects:
        names = [m[2] if m[1] == account else m[1] for m in effects["moves"] if m[0] == instrument and account in (m[1], m[2])]
    else:
        names = [a for a, n in effects.get("postings", []) if a != account and (n > 0) != (sign > 0)]
    return ", ".join(dict.fromkeys(names))


def _trades_of(record: dict, instrument: str, account: str, amount: int) -> list[dict]:
    """The trades of ``record`` that ``account``'s posting of ``amount`` in ``instrument`` settles: the rights it
    delivered (seller, out) or received (buyer, in), the cash it was paid (seller, in) or paid (buyer, out). A posting in
    the other direction (a lot returned unsold from escrow, the rest of a bidder's escrow refunded) settles none."""
    incoming = amount > 0
    cash = instrument == "cash/CNY"
    return [t for t in record["effects"].get("trades", [])
            if (cash or t["instrument"] == instrument) and account in (t["seller"], t["buyer"])
            and (account == t["buyer"]) == (incoming != cash)]


def statement(ledger: Any, account: str, start: date, end: date) -> Statement:
    """The statement of ``account`` for the Beijing dates ``start`` .. ``end`` (inclusive).

    Raises
    ------
    UnknownAccount
        The account was never opened.
    InvalidRequest
        ``end`` before ``start``.
    """
    if end < start:
        raise InvalidRequest(f"the statement period ends ({end}) before it starts ({start})")
    lo, hi = clock.day_start(start.isoformat(), "from"), clock.day_after(end.isoformat(), "to")

    def run(tx: Any) -> tuple:
        acc = tx.one("SELECT zone, role FROM accounts WHERE id = ?", (account,))
        if acc is None:
            raise UnknownAccount(f"account {account!r} does not exist", hint="see `gep ledger account list`")
        head = tx.one("SELECT tree_size, root_hash, timestamp, key_id, signature FROM heads ORDER BY tree_size DESC LIMIT 1")
        rows = tx.q("SELECT p.seq, p.instrument, p.amount, l.time FROM postings p JOIN log l ON l.seq = p.seq "
                    "WHERE p.account = ? AND p.seq <= ? ORDER BY p.seq, p.instrument", (account, int(head[0])))
        seqs = sorted({int(s) for s, _i, _a, t in rows if lo <= t < hi})
        records = {}
        for k in range(0, len(seqs), 500):
            chunk = seqs[k:k + 500]
            records.update({int(s): r for s, r in tx.q(f"SELECT seq, record FROM log WHERE seq IN ({', '.join('?' * len(chunk))})", tuple(chunk))})
        return acc, head, rows, records

    acc, head_row, rows, records = ledger.store.read(run)
    size, root, ts, kid, sig = head_row
    out = Statement(account, start, end, {"ledger": ledger.id, "tree_size": int(size), "root_hash": root, "timestamp": ts, "key_id": kid,
                                          "signature": sig}, acc[0], acc[1])
    balances: dict[str, int] = {}
    totals: dict[str, dict] = {}
    for seq, ins_id, amount, t in rows:
        seq, amount = int(seq), int(amount)
        if t >= hi:
            break
        before = balances.get(ins_id, 0)
        balances[ins_id] = before + amount
        if t < lo:
            continue
        tot = totals.setdefault(ins_id, {"opening": before, "credits": 0, "debits": 0, "lines": 0})
        tot["credits" if amount > 0 else "debits"] += abs(amount)
        tot["lines"] += 1
        record = parse(bytes(records[seq]))
        ins = Instrument.parse(ins_id)
        trades = _trades_of(record, ins_id, account, amount)
        prices = {t["price"] for t in trades}
        price = ((prices.pop() if len(prices) == 1 else "") if trades and ins.serial  # several prices: none shown, the payment is their sum
                 else record["request"].get("price", "") if record["request"]["type"] == "transfer" else "")
        out.lines.append({"date": clock.beijing_date(t).isoformat(), "time": t, "seq": seq, "id": record["request"]["id"],
                          "type": record["request"]["type"], "instrument": ins_id, "description": describe(record),
                          "counterparty": _others(record, ins_id, account, amount), "amount": amount, "display": ins.display(amount),
                          "balance": balances[ins_id], "balance_display": ins.display(balances[ins_id]), "price_cny_per_unit": price,
                          "payment_cny": f"{sum(t['payment'] for t in trades) / 100:.2f}" if trades else ""})
    for ins_id in sorted(set(balances) | set(totals)):
        ins = Instrument.parse(ins_id)
        tot = totals.get(ins_id, {"opening": balances[ins_id], "credits": 0, "debits": 0, "lines": 0})
        closing = tot["opening"] + tot["credits"] - tot["debits"]
        if not (closing or tot["opening"] or tot["lines"]):
            continue
        out.summary.append({"instrument": ins_id, "unit": ins.base_unit, **tot, "closing": closing,
                            "opening_display": ins.display(tot["opening"]), "closing_display": ins.display(closing)})
    out.summary = [{k: s[k] for k in SUMMARY_FIELDS} for s in out.summary]
    return out
