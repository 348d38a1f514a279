"""``gep bond impact``: read the bond, its GEP runs and the ledger; write the impact report.

Outputs in the run folder (default ``runs/<bond-name>-impact-<hash>/``):

``impact.csv``
    Attributable GEP change per use-of-proceeds line and run, and the bond
    total (:func:`gep.finance.impact.gep_rows`), UTF-8 with BOM.
``impact_credits.csv``
    Credits issued and retired attributable to the bond per line and
    instrument (:func:`gep.finance.impact.credit_rows`).
``impact.json``
    Bond, allocations checked against the catalogue, runs, ledger, both tables, checks.
``impact.xlsx``
    Sheets ``allocation``, ``gep``, ``credits``, ``checks`` (reproducible bytes).
``impact.png``
    Attributable GEP change per 10⁴ CNY of proceeds by run and project, and credits per 10⁴ CNY.
``manifest.json``
    Kind ``gep bond impact``: SHA-256 of the bond file, of every run manifest
    and its ``account.csv`` (each checked against its manifest), the ledger's
    tree head at the read (records after it are ignored, so ``gep replay``
    re-reads the same records), parameters, output hashes, environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gep import provenance
from gep.errors import InputError
from gep.finance.impact import PER, CreditMove, RunGEP, credit_rows, gep_rows, overlapping_zones
from gep.io import outputs
from gep.io.bondfile import Debt, load_debt
from gep.io.coefficient_files import sha256_file
from gep.io.coverage_report import _flat, _normalise_zip
from gep.io.revenuefile import _beijing_day, _ledger_target, _open_ledger, portable_path, run_output
from gep.io.tables import read_csv

KIND = "gep bond impact"
OUTPUTS = ("impact.csv", "impact_credits.csv", "impact.json", "impact.xlsx", "impact.png")
VALUES = {"comparable": "value_cny_comparable", "current": "value_cny"}


@dataclass
class ImpactRun:
    """A finished impact report: the document, the tables, the folder and the manifest."""

    doc: dict
    gep: pd.DataFrame
    credits: pd.DataFrame
    folder: Path
    manifest: dict


def _read_run(path: Path, value: str, folder: Path, i: int) -> tuple[RunGEP, dict]:
    where = f"--run {path}"
    doc, file, ref = run_output(path, "account.csv", ("gep run",), where, folder)
    column = VALUES[value]
    df = read_csv(file, ("zone", "value_cny"), what="account table")
    if column not in df.columns:
        raise InputError(f"account.csv of {ref['path']} has no {column} column (the run has no base year)",
                         hint="give --value current, or runs with a base year for comparable prices", where=where)
    years = sorted({int(y) for y in df["year"]}) if "year" in df.columns else []
    by_zone = df.groupby(df["zone"].astype(str))[column].sum()
    label = Path(ref["path"]).parent.name or f"run{i}"
    return RunGEP(label, years[0] if len(years) == 1 else None, {str(k): float(v) for k, v in by_zone.items()}), ref


def _credit_moves(debt: Debt, ledger: str, folder: Path, as_of: int | None) -> tuple[list[CreditMove], dict]:
    """Issuances to and retirements from the allocations' ledger accounts on or after the issue date."""
    from gep.ledger.model import Instrument

    target, shown = _ledger_target(ledger, Path.cwd(), "--ledger", "--ledger")
    accounts = sorted({a for u in debt.use_of_proceeds for a in u.ledger_accounts})
    moves: list[CreditMove] = []
    with _open_ledger(target) as led:
        head = led.head()
        size = head["size"] if as_of is None else int(as_of)
        if size > head["size"]:
            raise InputError(f"the ledger has {head['size']} records, fewer than the {size} the report read",
                             hint="replay against the ledger the report was made from", where="--ledger")
        root = next((r[4] for r in led.rows() if r[0] == size), head["root"]) if size else head["root"]
        known = {a["id"] for a in led.accounts()}
        for account in accounts:
            if account not in known:
                raise InputError(f'ledger account "{account}" does not exist', hint="list accounts with gep ledger balance",
                                 where="use_of_proceeds ledger_accounts")
            for rec in led.history(account=account):
                if rec["seq"] > size:
                    continue
                record = rec["record"]
                req = record["request"]
                if req["type"] not in ("issue", "retire") or _beijing_day(record["time"], "--ledger") < debt.bond.issue_date:
                    continue
                ins = Instrument.parse(req["instrument"])
                if req["type"] == "issue" and req.get("to") == account:
                    base = sum(int(n) for a, n in record["effects"]["postings"] if a == account)
                    kind = "issued"
                elif req["type"] == "retire" and req.get("from") == account:
                    base, kind = int(req["amount"]), "retired"
                else:
                    continue
                moves.append(CreditMove(account, ins.id, kind, base / ins.per_display, ins.display_unit, rec["seq"]))
    digest = provenance.sha256_bytes(provenance.canonical_json([m.__dict__ for m in moves]).encode())
    return moves, {"ledger": portable_path(Path(target), folder) if not shown.startswith("postgresql") else shown,
                   "tree_head": {"size": size, "root": root}, "accounts": accounts, "records_sha256": digest,
                   "records": len(moves)}


def _checks(debt: Debt, gep: pd.DataFrame, value: str) -> list[dict]:
    lines = debt.use_of_proceeds
    allocated = sum(u.amount for u in lines)
    out = [{"check": "use of proceeds in the 2021 Green Bond Endorsed Projects Catalogue", "status": "ok",
            "value": len(lines), "note": "; ".join(f"{u.project}: {u.category} ({u.level2.name_zh})" for u in lines)},
           {"check": "proceeds allocated / face", "status": "info", "value": allocated / debt.bond.face,
            "note": f"{allocated:,.0f} of {debt.bond.face:,.0f} CNY"},
           {"check": "GEP change is a before/after difference", "status": "info", "value": None,
            "note": "everything that changed in the zones between the runs is attributed, not only the projects"}]
    deep = [u for u in lines if not u.full_code_checked]
    if deep:
        out.append({"check": "categories checked to level II only", "status": "warning", "value": len(deep),
                    "note": ", ".join(f"{u.category}" for u in deep) + ": levels III-IV of the catalogue are not held"})
    for a, b, zones in overlapping_zones(lines):
        out.append({"check": f'zones shared by "{a}" and "{b}"', "status": "warning", "value": " ".join(zones),
                    "note": "their GEP changes are both attributed: split the zones or the shares"})
    if value == "current":
        out.append({"check": "GEP at current prices", "status": "warning", "value": None,
                    "note": "price changes between the runs count as GEP change; --value comparable removes them"})
    return out


def _xlsx(doc: dict, gep: pd.DataFrame, credits: pd.DataFrame, path: Path) -> None:
    import datetime
    import io

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "allocation"
    ws.append(["item", "value"])
    for k, v in _flat({"bond": doc["bond"], "catalogue": doc["catalogue"], "parameters": doc["parameters"]}).items():
        ws.append([k, v])
    ws.append([])
    head = ["project", "category", "category_name_zh", "category_name_en", "checked_to", "amount_cny",
            "total_investment_cny", "attribution_share"]
    ws.append(head)
    for line in doc["use_of_proceeds"]:
        ws.append([line[h] for h in head])
    for name, table in (("gep", gep), ("credits", credits)):
        sheet = wb.create_sheet(name)
        sheet.append(list(table.columns))
        for row in table.itertuples(index=False):
            sheet.append([None if isinstance(v, float) and not np.isfinite(v) else v for v in row])
    ck = wb.create_sheet("checks")
    ck.append(["check", "status", "value", "note"])
    for c in doc["checks"]:
        ck.append([c["check"], c["status"], c["value"], c["note"]])
    wb.properties.creator = "gep"
    wb.properties.created = datetime.datetime(2000, 1, 1)
    buf = io.BytesIO()
    wb.save(buf)
    _normalise_zip(buf.getvalue(), path)


def _chart(gep: pd.DataFrame, credits: pd.DataFrame, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # projects as "P<n> <category>" (the tables carry the full, often Chinese, names; the default
    # font has no CJK glyphs)
    order = [p for p in dict.fromkeys(gep["project"]) if p != "ALL"] if not gep.empty else []
    labels = {p: f"P{i + 1} ({c})" for i, (p, c) in enumerate(zip(order, gep.drop_duplicates("project")["category"]))}
    labels["ALL"] = "bond total"
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.5))
    if not gep.empty:
        table = gep.assign(project=gep["project"].map(labels)).pivot_table(
            index="run", columns="project", values="per_10k_cny", aggfunc="sum", sort=False)
        table.plot.bar(ax=a, rot=0)
    a.axhline(0.0, color="black", lw=0.8)
    a.set_ylabel("attributable GEP change [CNY/yr per 10⁴ CNY of proceeds]")
    a.set_title("GEP change attributable to the bond", fontsize=10)
    if credits.empty:
        b.text(0.5, 0.5, "no credits issued or retired\nfor the allocations' accounts", ha="center", va="center")
        b.set_axis_off()
    else:
        c = credits.assign(label=credits["instrument"] + " " + credits["kind"] + " [" + credits["unit"] + "]",
                           project=credits["project"].map(labels))
        c.pivot_table(index="label", columns="project", values="per_10k_cny", aggfunc="sum").plot.barh(ax=b)
        b.set_xlabel("attributable credits per 10⁴ CNY of proceeds")
        b.set_ylabel("")
        b.set_title("Credits issued and retired", fontsize=10)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def run_impact(bond_path: str | Path, run_manifests: list, *, ledger: str | None = None, value: str = "comparable",
               out: str | Path | None = None, as_of_seq: int | None = None, command: str = KIND) -> ImpactRun:
    """Build and write the impact report of a green bond.

    Parameters
    ----------
    bond_path : path
        Bond (or loan) file with ``[[use_of_proceeds]]`` lines.
    run_manifests : list of path
        ``gep run`` manifests (or run folders): the first is the baseline,
        each later one is compared with it.  At least two.
    ledger : str, optional
        Rights ledger (SQLite path or ``postgresql://`` URL) for credits issued and retired.
    value : str
        ``"comparable"`` (base-year prices, default) or ``"current"`` GEP.
    out : path, optional
        Output folder (default ``runs/<bond-name>-impact-<hash>/``).
    as_of_seq : int, optional
        Read ledger records up to this sequence number (replay); default the current head.
    command : str
        Command line recorded in the manifest.

    Raises
    ------
    gep.errors.InputError
        No use-of-proceeds lines, fewer than two runs, a run output changed
        since its manifest, an unknown ledger account, a bad value basis (exit 2).
    """
    if value not in VALUES:
        raise InputError(f'--value must be "comparable" or "current", got {value!r}',
                         hint='"comparable": base-year prices (GEP change without price change)', where="--value")
    bond_path = Path(bond_path)
    debt = load_debt(bond_path)
    if not debt.use_of_proceeds:
        raise InputError("the bond file has no use-of-proceeds lines",
                         hint='add [[use_of_proceeds]] tables: project, category (2021 catalogue code), amount',
                         where=f"{bond_path}, key use_of_proceeds")
    if len(run_manifests) < 2:
        raise InputError("give at least two --run manifests: the baseline first, then the later runs",
                         hint="e.g. --run runs/base-2020/manifest.json --run runs/2023/manifest.json", where="--run")
    folder_key = Path.cwd()
    runs, refs = [], []
    for i, m in enumerate(run_manifests):
        run, ref = _read_run(Path(m), value, folder_key, i)
        runs.append(run)
        refs.append(ref)
    if len({r.label for r in runs}) < len(runs):
        runs = [RunGEP(f"{i}:{r.label}", r.year, r.by_zone) for i, r in enumerate(runs)]
    gep = gep_rows(debt.use_of_proceeds, runs)
    moves, ledger_ref = ([], None) if ledger is None else _credit_moves(debt, ledger, folder_key, as_of_seq)
    credits = credit_rows(debt.use_of_proceeds, moves)

    name = debt.bond.name or bond_path.stem
    key = {"bond": sha256_file(bond_path), "runs": [r["sha256"] for r in refs], "value": value,
           "ledger": None if ledger_ref is None else ledger_ref["tree_head"]}
    folder = Path(out) if out else Path("runs") / provenance.run_folder_name(
        name, "impact", provenance.sha256_bytes(provenance.canonical_json(key).encode()), default="bond", max_len=60)
    folder.mkdir(parents=True, exist_ok=True)
    run_refs = [{**r, "path": portable_path(Path(m) if not Path(m).is_dir() else Path(m) / "manifest.json", folder)}
                for r, m in zip(refs, run_manifests)]
    if ledger_ref is not None and not str(ledger).startswith("postgresql"):
        ledger_ref["ledger"] = portable_path(Path(_ledger_target(ledger, Path.cwd(), "--ledger", "--ledger")[0]), folder)
    total = gep[gep["project"] == "ALL"]
    doc = {
        "kind": KIND,
        "bond": {"name": name, "face_cny": debt.bond.face, "issue_date": debt.bond.issue_date.isoformat(),
                 "maturity_date": debt.bond.maturity_date.isoformat()},
        "catalogue": {"name": "绿色债券支持项目目录（2021年版）", "issuer": "PBoC, NDRC, CSRC (银发〔2021〕96号)",
                      "levels_held": "I-II"},
        "use_of_proceeds": [u.as_dict() for u in debt.use_of_proceeds],
        "runs": [{"label": r.label, "year": r.year, "gep_cny": float(sum(r.by_zone.values()))} for r in runs],
        "ledger": ledger_ref,
        "parameters": {"value": value, "per_cny": PER, "attribution": "amount / total_investment (pro rata)"},
        "units": {"gep": "CNY/yr", "per_10k_cny": "per 10^4 CNY of proceeds allocated", "credits": "display unit of the instrument"},
        "summary": {"attributable_gep_change_cny_per_yr": {r: float(v) for r, v in zip(total["run"], total["attributable_cny"])},
                    "per_10k_cny": {r: float(v) for r, v in zip(total["run"], total["per_10k_cny"])},
                    "credits_per_10k_cny": credits.groupby(["instrument", "unit", "kind"])["per_10k_cny"].sum()
                    .reset_index().to_dict("records") if not credits.empty else []},
        "gep": gep.to_dict("records"),
        "credits": credits.to_dict("records"),
    }
    doc["checks"] = _checks(debt, gep, value)
    outputs.write_csv(gep, folder / "impact.csv")
    outputs.write_csv(credits, folder / "impact_credits.csv")
    (folder / "impact.json").write_bytes(provenance.canonical_bytes(doc))
    _xlsx(doc, gep, credits, folder / "impact.xlsx")
    _chart(gep, credits, f"{name}: impact per 10⁴ CNY of proceeds ({value} prices)", folder / "impact.png")
    manifest = {
        "manifest_version": provenance.MANIFEST_VERSION,
        "kind": KIND,
        "command": command,
        "inputs": {"bond": {"path": portable_path(bond_path, folder), "sha256": sha256_file(bond_path)},
                   "runs": run_refs, "ledger": ledger_ref},
        "parameters": {"value": value, "as_of_seq": None if ledger_ref is None else ledger_ref["tree_head"]["size"]},
        "outputs": outputs.hashes(folder, list(OUTPUTS)),
        "results": doc["summary"],
        "environment": provenance.environment(),
    }
    provenance.write_manifest(folder, manifest)
    return ImpactRun(doc, gep, credits, folder, manifest)
