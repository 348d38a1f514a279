"""What a job's input files reference: other runs' outputs, ledger balances and prices, price histories.

The revenue and loan files of ``gep bond coverage`` name run manifests (``gep
run``: ``account.csv``; ``gep capacity basin``: ``credits.csv``), ledger
databases and price-history files. :class:`FileReferences` reads them for
:func:`gep.finance.revenue_file.revenue_from_dict` and
:func:`gep.finance.debt.debt_from_dict` (the
:class:`~gep.finance.revenue_file.References` they ask for): every run output is
checked against the SHA-256 its manifest recorded before it is used (otherwise
the file was changed after the run and is refused, exit code 2), and each
reference comes back with the record the coverage manifest keeps (paths relative
to the file that names them, hashes, ledger tree heads).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gep.audit.manifest import read as read_manifest
from gep.errors import InputError
from gep.finance.revenue_file import _resolve, portable_path
from gep.finance.schedule import is_number
from gep.io.files import sha256_file
from gep.io.price_history import read_price_history
from gep.io.tables import read_csv

_rel = portable_path


def run_output(manifest_path: Path, output: str, kinds: tuple[str, ...], where: str,
               folder: Path) -> tuple[Any, Path, dict]:
    """A run manifest and one of its output files, checked against the recorded SHA-256.

    Parameters
    ----------
    manifest_path : Path
        ``manifest.json`` of a run (or the run folder).
    output : str
        Output file name, e.g. ``account.csv``.
    kinds : tuple of str
        Accepted manifest kinds (``gep run``, ``gep capacity basin``).
    where : str
        File and key naming the manifest, for error messages.
    folder : Path
        Folder the reference's path is made relative to.

    Returns
    -------
    (Manifest, Path, dict)
        The manifest (:class:`gep.audit.manifest.Manifest`), the output file, and the reference record
        (``path``, ``sha256``, ``kind``, ``outputs``).

    Raises
    ------
    gep.errors.InputError
        Not a manifest, a manifest of another kind, no such output, the output
        missing, or its SHA-256 differs from the manifest's (exit code 2).
    """
    from gep.audit.manifest import read as read_manifest

    path = Path(manifest_path)
    if path.is_dir():
        path = path / "manifest.json"
    try:
        doc = read_manifest(path)
    except InputError as exc:
        raise InputError(exc.message, hint=exc.hint, where=where) from None
    kind = doc.kind
    if kind not in kinds:
        raise InputError(f"{path.name} is a \"{kind}\" manifest, not {' or '.join(repr(k) for k in kinds)}",
                         hint=f"give the manifest.json of a {' or '.join(kinds)} run", where=where)
    recorded = doc.outputs.get(output)
    if not recorded:
        raise InputError(f"the manifest {_rel(path, folder)} records no {output}",
                         hint=f"give the manifest of a run that wrote {output}", where=where)
    file = path.parent / output
    if not file.is_file():
        raise InputError(f"{output} of the run {_rel(path.parent, folder)} is missing",
                         hint="restore the run folder or re-run it", where=where)
    actual = sha256_file(file)
    if actual != recorded:
        raise InputError(
            f"{output} of the run {_rel(path.parent, folder)} does not match its manifest "
            f"(SHA-256 recorded {recorded[:12]}…, file {actual[:12]}…)",
            hint="the file was changed after the run; re-run it or restore the original output", where=where)
    ref = {"path": _rel(path, folder), "sha256": sha256_file(path), "kind": kind, "outputs": {output: actual}}
    return doc, file, ref


def gep_from_run(manifest_path: Path, where: str, folder: Path, value: str = "current") -> tuple[float, int | None, dict]:
    """Annual GEP of a ``gep run`` [CNY/yr]: Σ ``value_cny`` of its checked ``account.csv``.

    Parameters
    ----------
    manifest_path : Path
    where : str
        File and key, for error messages.
    folder : Path
        Folder references are relative to.
    value : str
        ``"current"`` (``value_cny``, current prices) or ``"comparable"``
        (``value_cny_comparable``, base-year prices).

    Returns
    -------
    (float, int or None, dict)
        GEP [CNY/yr], accounting year, reference record.

    Raises
    ------
    gep.errors.InputError
        A hash mismatch, a missing column, a total that differs from the
        manifest's ``results.gep_total_cny``, or a GEP that is not positive.
    """
    doc, file, ref = run_output(manifest_path, "account.csv", ("gep run",), where, folder)
    column = {"current": "value_cny", "comparable": "value_cny_comparable"}.get(value)
    if column is None:
        raise InputError(f'value must be "current" or "comparable", got {value!r}',
                         hint='"current" prices of the accounting year, "comparable" base-year prices', where=where)
    df = read_csv(file, ("value_cny",), what="account table")
    if column not in df.columns:
        raise InputError(f"account.csv of {ref['path']} has no {column} column",
                         hint='the run has no base year; use value = "current"', where=where)
    total = float(np.sum(df[column].to_numpy(dtype=float)))
    recorded = doc.gep_total_cny
    if value == "current" and is_number(recorded) and abs(total - recorded) > 1e-6 * max(abs(recorded), 1.0):
        raise InputError(f"account.csv of {ref['path']} sums to {total:,.2f} CNY but the manifest records "
                         f"gep_total_cny = {recorded:,.2f}", hint="the run folder is inconsistent; re-run it", where=where)
    if not total > 0:
        raise InputError(f"GEP of {ref['path']} is {total:,.2f} CNY, not positive",
                         hint="give the manifest of a run with a positive GEP", where=where)
    years = sorted(set(int(y) for y in df["year"])) if "year" in df.columns else []
    ref.update(gep_cny_per_yr=total, value=value, year=years[0] if len(years) == 1 else years or None)
    return total, years[0] if len(years) == 1 else None, ref


def gep_samples(manifest_path: Path, where: str, folder: Path) -> tuple[np.ndarray, int | None, dict]:
    """GEP of every sample of a ``gep uncertainty`` run [CNY/yr]: the ``gep_cny`` column of its checked ``samples.csv``.

    Returns
    -------
    (ndarray, int or None, dict)
        GEP per sample [CNY/yr], the accounting year, the reference record (with the percentiles recorded).

    Raises
    ------
    gep.errors.InputError
        A hash mismatch, a missing column, or a sample whose GEP is not a positive number.
    """
    doc, file, ref = run_output(manifest_path, "samples.csv", ("gep uncertainty",), where, folder)
    df = read_csv(file, ("sample", "gep_cny"), what="uncertainty samples")
    x = df["gep_cny"].to_numpy(dtype=float)
    if len(x) < 2 or not np.all(np.isfinite(x)) or not np.all(x > 0):
        raise InputError(f"samples.csv of {ref['path']} holds a GEP that is not a positive number (or fewer than 2 samples)",
                         hint="give the manifest of an uncertainty run with a positive GEP", where=where)
    resolved = doc.record.scenario.resolved or {}
    year = (resolved.get("scenario") or {}).get("year")
    ref.update(samples=len(x), gep_cny=doc.results.get("gep_cny"), year=year)
    return x, year, ref


def carbon_from_run(manifest_path: Path, where: str, folder: Path, zones: list | None = None,
                    ecosystems: list | None = None) -> tuple[float, dict]:
    """Carbon sequestration of a ``gep run`` [t CO2/yr], optionally for some zones and ecosystems.

    Rows of ``account.csv`` with ``service = carbon_sequestration``; quantities in
    ``tC/yr`` (a carbon-basis valuation) are converted with 44/12.
    """
    doc, file, ref = run_output(manifest_path, "account.csv", ("gep run",), where, folder)
    df = read_csv(file, ("service", "quantity", "unit"), what="account table")
    rows = df[df["service"] == "carbon_sequestration"]
    if zones:
        rows = rows[rows["zone"].astype(str).isin([str(z) for z in zones])]
    if ecosystems:
        rows = rows[rows["ecosystem"].astype(str).isin([str(e) for e in ecosystems])]
    if rows.empty:
        raise InputError(f"the run {ref['path']} has no carbon_sequestration rows"
                         + (" for the zones/ecosystems given" if zones or ecosystems else ""),
                         hint="enable carbon_sequestration in the scenario, or check zones and ecosystems", where=where)
    factor = {"tCO2/yr": 1.0, "tC/yr": 44.0 / 12.0}
    bad = sorted(set(rows["unit"]) - set(factor))
    if bad:
        raise InputError(f"carbon_sequestration quantity in unit {bad[0]!r}", hint="expected tCO2/yr or tC/yr",
                         where=where)
    total = float(np.sum(rows["quantity"].to_numpy(dtype=float) * rows["unit"].map(factor).to_numpy(dtype=float)))
    if not total > 0:
        raise InputError(f"carbon sequestration of {ref['path']} is {total:,.3f} t CO2/yr, not positive",
                         hint="the area is a net emitter: there is nothing to sell", where=where)
    ref.update(volume=total, unit="tCO2e/yr", selection={"zones": zones, "ecosystems": ecosystems})
    return total, ref


def capacity_from_basin(manifest_path: Path, where: str, folder: Path, pollutant: str,
                        catchments: list | None = None, vintage: int | None = None) -> tuple[float, str, dict]:
    """Issuable capacity credits of a ``gep capacity basin`` run [t/yr] for one pollutant.

    Σ ``issuable_t_per_yr`` of ``credits.csv`` over the catchments given (default all).

    Returns
    -------
    (float, str, dict)
        Volume [t/yr], canonical pollutant name, reference record.
    """
    from gep.capacity.loads import canonical_pollutant

    doc, file, ref = run_output(manifest_path, "credits.csv", ("gep capacity basin",), where, folder)
    df = read_csv(file, ("catchment", "pollutant", "issuable_t_per_yr"), what="credit table")
    pol = canonical_pollutant(pollutant)
    rows = df[df["pollutant"].map(canonical_pollutant) == pol]
    if rows.empty:
        have = ", ".join(sorted(set(df["pollutant"].astype(str))))
        raise InputError(f"the run {ref['path']} has no credits for {pol}", hint=f"pollutants in it: {have}",
                         where=where)
    if catchments:
        want = {str(c) for c in catchments}
        missing = want - set(rows["catchment"].astype(str))
        if missing:
            raise InputError(f"catchment(s) {', '.join(sorted(missing))} have no {pol} credits in {ref['path']}",
                             hint="check the catchment ids in credits.csv", where=where)
        rows = rows[rows["catchment"].astype(str).isin(want)]
    if vintage is not None and "vintage" in rows.columns:
        rows = rows[rows["vintage"].astype(int) == int(vintage)]
        if rows.empty:
            raise InputError(f"no {pol} credits of vintage {vintage} in {ref['path']}", hint="check vintage",
                             where=where)
    total = float(np.sum(rows["issuable_t_per_yr"].to_numpy(dtype=float)))
    ref.update(volume=total, unit=f"t/yr {pol}", selection={"pollutant": pol, "catchments": catchments,
                                                            "vintage": vintage})
    return total, pol, ref


def _ledger_target(value: Any, folder: Path, source: str, key: str) -> tuple[str, str]:
    """(target to open, text for the manifest): a PostgreSQL URL (password removed) or a SQLite path."""
    from gep.ledger.store import _redact, is_url

    if isinstance(value, str) and is_url(value):
        return value, _redact(value)
    p = _resolve(value, folder, source, key, "ledger database")
    return str(p), _rel(p, folder)


def _records_sha256(rows: list[dict]) -> str:
    from gep.audit.provenance import canonical_json, sha256_bytes

    return sha256_bytes(canonical_json(rows).encode())


class FileReferences:
    """Reads what revenue and loan files reference (:class:`gep.finance.revenue_file.References`)."""

    def manifest_kind(self, path: Path, where: str) -> str:
        try:
            return read_manifest(path).kind
        except InputError as exc:
            raise InputError(exc.message, hint=exc.hint, where=where) from None

    def gep_from_run(self, path: Path, where: str, folder: Path, value: str = "current") -> tuple[float, int | None, dict]:
        return gep_from_run(path, where, folder, value)

    def gep_samples(self, path: Path, where: str, folder: Path) -> tuple[np.ndarray, int | None, dict]:
        return gep_samples(path, where, folder)

    def carbon_from_run(self, path: Path, where: str, folder: Path, zones: list | None, ecosystems: list | None) -> tuple[float, dict]:
        return carbon_from_run(path, where, folder, zones, ecosystems)

    def capacity_from_basin(self, path: Path, where: str, folder: Path, pollutant: str, catchments: list | None,
                            vintage: int | None) -> tuple[float, str, dict]:
        return capacity_from_basin(path, where, folder, pollutant, catchments, vintage)

    def ledger_balance(self, ledger: Any, folder: Path, source: str, key: str, account: str, instrument: str) -> tuple[int, dict]:
        from gep.ledger.ledger import Ledger

        target, shown = _ledger_target(ledger, folder, source, key)
        with Ledger.open(target) as led:
            rows = led.balances(account=account, instrument=instrument)
            head = led.head()
        base = sum(r["amount"] for r in rows)
        return base, {"ledger": shown, "tree_head": head, "account": account, "instrument": instrument,
                      "balance_base_units": base, "records_sha256": _records_sha256(rows)}

    def ledger_prices(self, ledger: Any, folder: Path, source: str, key: str, instrument: str, trades: str = "all") -> tuple[list[dict], dict]:
        from gep.ledger.ledger import Ledger

        target, shown = _ledger_target(ledger, folder, source, key)
        with Ledger.open(target) as led:
            rows = led.prices(instrument, trades)
            head = led.head()
        return rows, {"ledger": shown, "tree_head": head, "instrument": instrument, "trades": trades, "price_records": len(rows),
                      "records_sha256": _records_sha256(rows)}

    def price_history(self, path: Path, where: str) -> tuple[list[dict], str]:
        return read_price_history(path, where), sha256_file(path)


def ledger_credit_moves(target: str, accounts: dict[str, str], since: Any, as_of: int | None = None) -> tuple[list, dict]:
    """Credits issued to and retired from ledger accounts on or after ``since`` (Beijing dates).

    Parameters
    ----------
    target : str
        SQLite path or PostgreSQL URL of the rights ledger.
    accounts : dict
        Account id → where it was named (file and key), for the error of an unknown account.
    since : datetime.date
        First day counted (a bond's issue date).
    as_of : int, optional
        Read the records up to this sequence number (a replay reads what the report read);
        default the ledger's current head.

    Returns
    -------
    (list of gep.finance.impact.CreditMove, dict)
        The moves (issuances net of any buffer withheld; retirements), and the
        reference record: tree head at the size read (``size``, Merkle ``root``),
        the accounts, the number of records and the SHA-256 of the moves.

    Raises
    ------
    gep.errors.InputError
        An account the ledger does not have, or fewer records than ``as_of`` (exit code 2).
    """
    from gep.finance.impact import CreditMove
    from gep.finance.revenue_file import _beijing_day
    from gep.ledger.ledger import Ledger
    from gep.ledger.model import Instrument

    moves: list = []
    with Ledger.open(target) as led:
        head = led.head()  # the registry-signed tree head of the whole log
        size = head["tree_size"] if as_of is None else int(as_of)
        if size > head["tree_size"]:
            raise InputError(f"the ledger has {head['tree_size']} records, fewer than the {size} the report read",
                             hint="replay against the ledger the report was made from", key="ledger")
        root = led.at(size)["root"] if size else head["root_hash"]
        known = {a["id"] for a in led.accounts()}
        for account, where in sorted(accounts.items()):
            if account not in known:
                raise InputError(f'ledger account "{account}" does not exist', hint="list accounts with gep ledger balance",
                                 where=where)
            for rec in led.history(account=account):
                if rec["seq"] > size:
                    continue
                record = rec["record"]
                req = record["request"]
                if req["type"] not in ("issue", "retire") or _beijing_day(record["time"], "ledger record time") < since:
                    continue
                ins = Instrument.parse(req["instrument"])
                if req["type"] == "issue" and req.get("to") == account:
                    base, kind = sum(int(n) for a, n in record["effects"]["postings"] if a == account), "issued"
                elif req["type"] == "retire" and req.get("from") == account:
                    base, kind = int(req["amount"]), "retired"
                else:
                    continue
                moves.append(CreditMove(account, ins.id, kind, base / ins.per_display, ins.display_unit, rec["seq"]))
    moves.sort(key=lambda m: (m.seq, m.account, m.kind))
    digest = _records_sha256([m.__dict__ for m in moves])
    return moves, {"tree_head": {"size": size, "root": root}, "accounts": sorted(accounts), "records_sha256": digest,
                   "records": len(moves)}
