"""Trading ratios between zones (catchments, counties): a versioned table, published by the registry.

A zone-bound right (capacity, energy-use, emission) that moves from an account
of one zone to an account of another is delivered at the **trading ratio** of
that pair: the seller delivers ``q`` base units, the buyer receives
``floor(q / ratio)`` and the rest is cancelled (into ``sys:cancellation``: the
share withheld for the receiving water or region). A pair may be **forbidden**
(e.g. downstream → upstream: a right to discharge must not move to where its
water would flow past the seller's reach). Within one zone the ratio is 1.
A pair the table does not list is forbidden.

Example (the issue's example policy; docs/market.md)::

    from    to      ratio      basis
    4       1       1          upstream → downstream (Daxi reservoir → Licheng)
    1       4       forbidden  downstream → upstream
    liyang  langxi  1.2        between counties

**Where the table lives, and why.** The table is data with its sources
(``gep/data/coefficients/market-2026/ratios.csv``: one row per pair with its basis and
source; a correction is a new version), and it takes effect only when the
registry **publishes** it in the ledger with a signed ``ratios`` transaction that
carries every row, the version and the coefficient set's hash. Not in a
coefficient set read at settlement: what a trade delivers would then depend on
files in the working directory, which ``verify`` could not reproduce (the buffer
share bug of issue 14). Not fixed at genesis: trading ratios are policy and change
(a new agreement between counties, a new catchment plan) without a new ledger.
A published table is a visible, signed event in the history; every trade records
the ratio, the table version and the transaction that published it, and replay
uses the table in force at the trade's sequence number.

**Consistency.** A table is refused when it has a **loop**: a cycle of allowed
trades whose ratios multiply to 1 or less (``A → B → C → A``). Around such a
loop rights are created (product below 1) or travel free against a forbidden
direction (product 1: an upstream/downstream relation that runs in a circle),
so every loop must lose rights on the way. Zones that trade 1 : 1 both ways are
one zone: merge them. The check is exact (fractions) over at most
:data:`MAX_ZONES` zones.

References
----------
US EPA (2003), Water Quality Trading Policy (68 FR 2385, 13 January 2003), section III.E:
trades may not cause local water-quality violations, and trading ratios account for
uncertainty and location; programmes restrict trades to sellers upstream of the buyer.
The numeric ratios of the shipped table are the issue's example policy, not a published
regulation (confidence ``assumed``).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from gep.ledger.errors import InvalidAmount, InvalidRequest
from gep.ledger.model import ZONE_BOUND, Account, check_token, normalise_decimal
from gep.ledger.rules import APPLY as REQUESTS
from gep.ledger.rules import Context, State, check_price, need_registry
from gep.numbers import parse_decimal

__all__ = ["FORBIDDEN", "MAX_ZONES", "MAX_RATIO", "table", "check_table", "find_loop", "ratio_for", "received", "APPLY"]

FORBIDDEN = "forbidden"
#: Most zones in one table (the loop check is cubic in the number of zones).
MAX_ZONES = 64
#: Largest ratio accepted (a seller delivering 10 units for 1 received).
MAX_RATIO = Decimal(10)
_ROW = {"from", "to", "ratio", "basis"}


def _rows(table: Any) -> list[dict]:
    if not isinstance(table, dict) or set(table) - {"version", "source", "rows", "coefficients"} or not {"version", "source", "rows"} <= set(table):
        raise InvalidRequest("a ratio table is {version, source, rows[, coefficients]}", hint="see docs/market.md, 'Trading ratios'")
    check_token(table["version"], "ratio table version")
    if not isinstance(table["source"], str) or not 0 < len(table["source"]) <= 500:
        raise InvalidRequest("a ratio table needs its source (1-500 characters)")
    rows = table["rows"]
    if not isinstance(rows, list) or not rows or len(rows) > MAX_ZONES * (MAX_ZONES - 1):
        raise InvalidRequest(f"ratio table rows must be a non-empty list of at most {MAX_ZONES * (MAX_ZONES - 1)} pairs")
    return rows


def table(file: dict, version: str | None = None) -> dict:
    """A ratio table ready to publish, from the file :func:`gep.io.ledger_files.read_ratio_file` read.

    When the file belongs to a coefficient set, the table's version is ``<set id>-<set
    version>`` and it carries the set's id, version and header hash; otherwise ``version``
    must be given and the source names the file and its SHA-256. Ratios are written in
    normal form (``1.20`` → ``"1.2"``); ``forbidden`` stays as it is.

    Returns
    -------
    dict
        ``{"version", "source", "rows": [{"from", "to", "ratio", "basis"[, "source"]}][, "coefficients"]}``.

    Raises
    ------
    InvalidRequest
        No version for a file outside a coefficient set (``key="version"``).
    InvalidAmount
        A ratio that is not a number, naming its line.
    """
    out: dict[str, Any] = {}
    cs = file.get("set")
    if cs is not None:
        version = version or f"{cs['id']}-{cs['version']}"
        out["coefficients"] = {k: cs[k] for k in ("id", "version", "manifest_sha256")}
        out["source"] = f"coefficient set {cs['id']} {cs['version']}: {cs['description']}"[:500]
    if version is None:
        raise InvalidRequest(f"ratio table {file['path']} is not part of a coefficient set: give its version",
                             hint="a token of letters, digits, . _ + - (e.g. 2026.1)", key="version")
    out.setdefault("source", f"file {file['name']}, SHA-256 {file['sha256']}")
    rows = []
    for i, r in enumerate(file["rows"], start=2):
        ratio = r["ratio"]
        if ratio != FORBIDDEN:
            ratio = str(normalise_decimal(parse_decimal(ratio, f"{file['path']}, line {i}: ratio", error=InvalidAmount)))
        row = {"from": r["from_zone"], "to": r["to_zone"], "ratio": ratio, "basis": r["basis"]}
        if r.get("source"):
            row["source"] = r["source"]
        rows.append(row)
    return {"version": version, **out, "rows": rows}


def check_table(table: Any) -> dict[tuple[str, str], str]:
    """The pairs of a ratio table ``{(from, to): ratio or "forbidden"}``, checked.

    Raises
    ------
    InvalidRequest
        A malformed row (naming it), a pair listed twice, a zone paired with itself,
        a ratio that is not a decimal in (0, 10] in normal form, more than
        :data:`MAX_ZONES` zones, or a loop (:func:`find_loop`).
    """
    pairs: dict[tuple[str, str], str] = {}
    for i, row in enumerate(_rows(table), start=1):
        where = f"ratio table row {i}"
        if not isinstance(row, dict) or not {"from", "to", "ratio"} <= set(row) or set(row) - _ROW - {"source"}:
            raise InvalidRequest(f"{where} must be {{from, to, ratio, basis[, source]}}")
        a, b = check_token(row["from"], f"{where}: zone"), check_token(row["to"], f"{where}: zone")
        for name in ("basis", "source"):
            if name in row and (not isinstance(row[name], str) or len(row[name]) > 500):
                raise InvalidRequest(f"{where}: {name} must be text of at most 500 characters")
        if a == b:
            raise InvalidRequest(f"{where}: {a} → {a} (within a zone the ratio is always 1)")
        if (a, b) in pairs:
            raise InvalidRequest(f"{where}: the pair {a} → {b} is listed twice")
        r = row["ratio"]
        if r != FORBIDDEN:
            value = check_price(r, f"{where}: ratio")
            if value > MAX_RATIO:
                raise InvalidRequest(f"{where}: ratio {r} is above {MAX_RATIO}", hint="a ratio is what the seller delivers per unit the buyer receives, e.g. 1.2")
        pairs[(a, b)] = r
    zones = {z for p in pairs for z in p}
    if len(zones) > MAX_ZONES:
        raise InvalidRequest(f"a ratio table may name at most {MAX_ZONES} zones, not {len(zones)}")
    loop = find_loop(pairs)
    if loop is not None:
        path, product = loop
        raise InvalidRequest(f"ratio table {table['version']} has a loop {' → '.join(path)} whose ratios multiply to {product} (≤ 1): "
                             "trading around it would create rights or undo a forbidden direction",
                             hint="every loop must multiply to more than 1: forbid one direction, or merge zones that trade 1:1 both ways")
    return pairs


def find_loop(pairs: dict[tuple[str, str], str]) -> tuple[list[str], Fraction] | None:
    """A cycle of allowed pairs whose ratio product is ≤ 1, as (zones, product), or None.

    Floyd–Warshall on exact fractions: ``best[i][j]`` is the smallest product of ratios
    along a path from ``i`` to ``j`` (with the next hop kept to rebuild it); a zone whose
    best path back to itself is ≤ 1 lies on such a loop.
    """
    zones = sorted({z for p in pairs for z in p})
    index = {z: k for k, z in enumerate(zones)}
    n = len(zones)
    best: list[list[Fraction | None]] = [[None] * n for _ in range(n)]
    nxt: list[list[int | None]] = [[None] * n for _ in range(n)]
    for (a, b), r in pairs.items():
        if r != FORBIDDEN:
            i, j = index[a], index[b]
            best[i][j], nxt[i][j] = Fraction(Decimal(r)), j
    for k in range(n):
        row_k = best[k]
        for i in range(n):
            bik = best[i][k]
            if bik is None:
                continue
            row_i, nxt_i = best[i], nxt[i]
            for j in range(n):
                bkj = row_k[j]
                if bkj is not None and (row_i[j] is None or bik * bkj < row_i[j]):
                    row_i[j], nxt_i[j] = bik * bkj, nxt_i[k]
        if best[k][k] is not None and best[k][k] <= 1:
            # the first loop found has k as its highest zone and others below it, among which every
            # loop multiplies to more than 1: the next hops towards k rebuild it
            path, at, product = [zones[k]], k, Fraction(1)
            while True:
                step = nxt[at][k]
                product *= Fraction(Decimal(pairs[(zones[at], zones[step])]))
                path.append(zones[step])
                at = step
                if at == k or len(path) > n + 1:
                    break
            return path, product
    return None


def ratio_for(state: State, kind: str, seller: Account, buyer: Account) -> dict:
    """The trading ratio from ``seller``'s zone to ``buyer``'s for rights of ``kind``.

    Returns
    -------
    dict
        ``{"ratio": "1.2", "from_zone", "to_zone", "table", "table_seq"}`` (``table`` None
        within a zone or for kinds not bound to a place).

    Raises
    ------
    InvalidRequest
        The pair is forbidden or not listed, no table is published, or one account has
        a zone and the other none.
    """
    a, b = seller.zone, buyer.zone
    if kind not in ZONE_BOUND or a == b:
        return {"ratio": "1", "from_zone": a, "to_zone": b, "table": None, "table_seq": None}
    if a is None or b is None:
        none = seller.id if a is None else buyer.id
        raise InvalidRequest(f"account {none} has no zone, so {kind} rights cannot move between it and zone {a or b}",
                             hint="zone-bound rights move between accounts of known zones (opened with a zone)")
    doc = state.market_get("ratios", "current")
    if doc is None:
        raise InvalidRequest(f"no trading ratio table is published: {kind} rights cannot move from zone {a} to zone {b}",
                             hint="the registry publishes one with `gep ledger market ratios publish`")
    r = doc["pairs"].get(f"{a}>{b}", FORBIDDEN)
    if r == FORBIDDEN:
        listed = f"{a}>{b}" in doc["pairs"]
        raise InvalidRequest(f"trading {kind} rights from zone {a} to zone {b} is forbidden by ratio table {doc['version']}"
                             + ("" if listed else " (the pair is not listed)"),
                             hint="see `gep ledger market ratios show`")
    return {"ratio": r, "from_zone": a, "to_zone": b, "table": doc["version"], "table_seq": doc["seq"]}


def received(quantity: int, ratio: str) -> int:
    """What the buyer receives for ``quantity`` delivered at ``ratio``: ``floor(quantity / ratio)`` [base units]."""
    r = Fraction(Decimal(ratio))
    return int(Fraction(quantity) / r) if r != 1 else quantity


def _apply_ratios(state: State, request: dict, ctx: Context) -> dict:
    need_registry(state, request)
    table = request["table"]
    pairs = check_table(table)
    current = state.market_get("ratios", "current")
    if current is not None and current["version"] == table["version"]:
        raise InvalidRequest(f"ratio table version {table['version']} is already in force (transaction {current['seq']})",
                             hint="a corrected table is a new version")
    doc = {"version": table["version"], "seq": ctx.seq, "source": table["source"],
           "pairs": {f"{a}>{b}": r for (a, b), r in sorted(pairs.items())}}
    if "coefficients" in table:
        cs = table["coefficients"]
        if not isinstance(cs, dict) or set(cs) != {"id", "version", "manifest_sha256"} or not all(isinstance(v, str) for v in cs.values()):
            raise InvalidRequest("ratio table coefficients must be {id, version, manifest_sha256}")
        doc["coefficients"] = cs
    state.market_put("ratios", "current", doc, ctx.seq)
    zones = sorted({z for p in pairs for z in p})
    return {"ratios": {"version": table["version"], "pairs": len(pairs), "zones": zones,
                       "replaces": current["version"] if current else None}}


APPLY = {"ratios": _apply_ratios}
REQUESTS.update(APPLY)  # registered with gep.ledger.rules.apply
