"""``gep bond impact``: the GEP change and credits a green bond buys, per 10⁴ CNY of proceeds (load -> compute -> write).

:func:`load` reads the bond (or loan) file with its ``[[use_of_proceeds]]``
lines (checked against the green-bond catalogue, :mod:`gep.finance.green`),
the ``gep run`` accounts it is compared across (each ``account.csv`` checked
against its manifest) and, with a ledger, the credits issued to and retired
from the lines' ledger accounts (:func:`gep.jobs.references.ledger_credit_moves`);
:func:`compute` attributes them to the bond (:mod:`gep.finance.impact`);
:func:`write` writes the outputs.

Outputs in the report folder (default ``runs/<bond-name>-impact-<hash>/``):

``impact.csv``
    Attributable GEP change per use-of-proceeds line and run, and the bond
    total (:func:`gep.finance.impact.gep_rows`), UTF-8 with BOM.
``impact_credits.csv``
    Credits issued and retired attributable to the bond per line and
    instrument (:func:`gep.finance.impact.credit_rows`).
``impact.json``
    Bond, allocations checked against the catalogue, runs, ledger, both tables,
    summary and checks (canonical JSON; no paths, so a replay writes the same bytes).
``impact.xlsx``
    Sheets ``allocation``, ``gep``, ``credits``, ``checks``, ``inputs`` (reproducible bytes).
``impact.png``
    Attributable GEP change per 10⁴ CNY of proceeds by run and project, and credits per 10⁴ CNY.
``manifest.json``
    Kind ``gep bond impact`` (:class:`gep.audit.manifest.ImpactRecord`): the
    bond file, every run manifest and its ``account.csv`` with SHA-256, the
    catalogue file's SHA-256, the ledger's tree head at the read (records after
    it are ignored, so ``gep replay`` re-reads the same records), parameters,
    output hashes, the environment (with QuantLib's version when the bond has a
    business-day calendar).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

import gep
from gep.audit import manifest as mf
from gep.audit import provenance
from gep.errors import InputError
from gep.finance.debt import Debt
from gep.finance.green import CATALOGUE_FILE, LEVEL_NAMES, PUBLISHED_COUNTS, Catalogue
from gep.finance.impact import PER, CreditMove, RunGEP, credit_rows, gep_rows, overlapping_zones
from gep.finance.revenue_file import portable_path
from gep.io import charts, outputs, workbook
from gep.io.files import sha256_file
from gep.io.tables import read_csv
from gep.jobs import inputs as job_inputs
from gep.jobs.job import Written, check_destination, output_folder
from gep.jobs.references import FileReferences, ledger_credit_moves, run_output

__all__ = ["ImpactInputs", "ImpactResult", "load", "compute", "write", "run", "replay", "OUTPUTS", "KIND", "VALUES"]

KIND = mf.ImpactRecord.KIND
OUTPUTS = ("impact.csv", "impact_credits.csv", "impact.json", "impact.xlsx", "impact.png")
#: GEP basis → the ``account.csv`` column read.
VALUES = {"comparable": "value_cny_comparable", "current": "value_cny"}


@dataclass(frozen=True)
class LedgerInput:
    """The ledger a report read: where (``target`` to open, ``shown`` in documents) and what."""

    target: str
    shown: str
    moves: tuple[CreditMove, ...]
    read: dict  # tree head at the size read, accounts, records and their SHA-256


@dataclass(frozen=True)
class ImpactInputs:
    """What an impact report loaded: the debt with its use of proceeds, the runs, the ledger's credits."""

    bond_path: Path
    debt: Debt
    catalogue: Catalogue
    runs: tuple[RunGEP, ...]
    run_manifests: tuple[Path, ...]
    run_refs: tuple[dict, ...]
    value: str
    ledger: LedgerInput | None = None

    @property
    def name(self) -> str:
        return self.debt.bond.name or self.bond_path.stem


@dataclass(frozen=True)
class ImpactResult:
    """A computed impact report: the two tables and the report document."""

    inputs: ImpactInputs
    gep: pd.DataFrame = field(compare=False)
    credits: pd.DataFrame = field(compare=False)
    doc: dict = field(compare=False)


# --------------------------------------------------------------------------- load


def _read_run(path: Path, value: str, i: int) -> tuple[RunGEP, dict]:
    """GEP by zone of a ``gep run`` [CNY/yr] at the ``value`` basis, and its reference record."""
    where = f"run manifest {path}"
    _, file, ref = run_output(path, "account.csv", ("gep run",), where, Path.cwd())
    column = VALUES[value]
    df = read_csv(file, ("zone", "value_cny"), what="account table")
    if column not in df.columns:
        raise InputError(f"account.csv of {ref['path']} has no {column} column (the run has no base year)",
                         hint="GEP at current prices (value current), or runs with a base year for comparable prices",
                         where=where)
    years = sorted({int(y) for y in df["year"]}) if "year" in df.columns else []
    by_zone = df.groupby(df["zone"].astype(str))[column].sum()
    label = path.resolve().parent.name or f"run{i}"
    return RunGEP(label, years[0] if len(years) == 1 else None, {str(k): float(v) for k, v in by_zone.items()}), ref


def _ledger(ledger: str, debt: Debt, source: str, as_of_seq: int | None) -> LedgerInput:
    """Credits issued to and retired from the lines' ledger accounts since the issue date."""
    from gep.ledger.store import _redact, is_url

    if is_url(ledger):
        target, shown = ledger, _redact(ledger)
    else:
        if not Path(ledger).is_file():
            raise InputError(f"ledger not found: {ledger}", hint="give the SQLite file of the rights ledger or a "
                             "postgresql:// URL", key="ledger")
        target, shown = str(ledger), Path(ledger).name
    accounts: dict[str, str] = {}
    for i, u in enumerate(debt.use_of_proceeds):
        for a in u.ledger_accounts:
            accounts.setdefault(a, f"{source}, key use_of_proceeds[{i}].ledger_accounts")
    moves, read = ledger_credit_moves(target, accounts, debt.bond.issue_date, as_of_seq)
    return LedgerInput(target, shown, tuple(moves), read)


def load(bond_path: str | Path, run_manifests: list, *, ledger: str | None = None, value: str = "comparable",
         as_of_seq: int | None = None) -> ImpactInputs:
    """Read the green bond, its runs and the ledger's credits.

    Parameters
    ----------
    bond_path : path
        Bond (or loan) file with ``[[use_of_proceeds]]`` lines.
    run_manifests : list of path
        ``gep run`` manifests (or run folders): the first is the baseline,
        each later one is compared with it. At least two.
    ledger : str, optional
        Rights ledger (SQLite path or ``postgresql://`` URL) for credits issued and retired.
    value : str
        ``"comparable"`` (base-year prices, default) or ``"current"`` GEP.
    as_of_seq : int, optional
        Read ledger records up to this sequence number (replay); default the current head.

    Raises
    ------
    gep.errors.InputError
        No use-of-proceeds lines, fewer than two runs, a run output changed
        since its manifest, an unknown ledger account, a bad value basis (exit 2).
    """
    if value not in VALUES:
        raise InputError(f'value must be "comparable" or "current", got {value!r}',
                         hint='"comparable": base-year prices (GEP change without price change)', key="value")
    bond_path = Path(bond_path)
    debt = job_inputs.debt(bond_path, FileReferences())
    if not debt.use_of_proceeds:
        raise InputError("the bond file has no use-of-proceeds lines",
                         hint="add [[use_of_proceeds]] tables: project, category (2021 catalogue code), amount",
                         where=f"{bond_path}, key use_of_proceeds")
    if len(run_manifests) < 2:
        raise InputError(f"give at least two run manifests, got {len(run_manifests)}: the baseline first, then the later runs",
                         hint="e.g. runs/base-2020/manifest.json and runs/2023/manifest.json", key="run")
    manifests = tuple(Path(m) / mf.MANIFEST_NAME if Path(m).is_dir() else Path(m) for m in run_manifests)
    runs, refs = [], []
    for i, m in enumerate(manifests):
        r, ref = _read_run(m, value, i)
        runs.append(r)
        refs.append(ref)
    if len({r.label for r in runs}) < len(runs):
        runs = [RunGEP(f"{i}:{r.label}", r.year, r.by_zone) for i, r in enumerate(runs)]
    led = None if ledger is None else _ledger(str(ledger), debt, str(bond_path), as_of_seq)
    return ImpactInputs(bond_path, debt, job_inputs.green_catalogue(), tuple(runs), manifests, tuple(refs), value, led)


# --------------------------------------------------------------------------- compute


def _checks(inputs: ImpactInputs) -> list[dict]:
    debt, cat = inputs.debt, inputs.catalogue
    lines = debt.use_of_proceeds
    allocated = sum(u.amount for u in lines)
    out = [{"check": "use of proceeds in the 2021 Green Bond Endorsed Projects Catalogue", "status": "ok",
            "value": len(lines), "note": "; ".join(f"{u.project}: {u.category} ({cat.name(u.checked.deepest.code)})"
                                                    for u in lines)},
           {"check": "proceeds allocated / face", "status": "info", "value": allocated / debt.bond.face,
            "note": f"{allocated:,.0f} of {debt.bond.face:,.0f} CNY"},
           {"check": "GEP change is a before/after difference", "status": "info", "value": None,
            "note": "everything that changed in the zones between the runs is attributed, not only the projects"}]
    for level in (2, 3):
        short = [u for u in lines if not u.full_code_checked and u.checked.deepest.level == level]
        if short:
            missing = ", ".join(LEVEL_NAMES[lv] for lv in range(level + 1, 5))
            out.append({"check": f"categories checked to level {LEVEL_NAMES[level]} only", "status": "warning",
                        "value": len(short), "note": ", ".join(u.category for u in short)
                        + f": level {missing} of these codes not in the catalogue data gep holds ({cat.levels_held})"})
    deep = [u for u in lines if u.checked.deepest.level > 2]
    if deep and any(cat.held(lv) < PUBLISHED_COUNTS[lv] for lv in (3, 4)):
        out.append({"check": "levels III-IV from a third-party transcription", "status": "info", "value": len(deep),
                    "note": "codes below level II are checked against a transcription of the catalogue, not the "
                            "official text (docs/bonds.md, Green bonds)"})
    for a, b, zones in overlapping_zones(lines):
        out.append({"check": f'zones shared by "{a}" and "{b}"', "status": "warning", "value": " ".join(zones),
                    "note": "their GEP changes are both attributed: split the zones or the shares"})
    if inputs.value == "current":
        out.append({"check": "GEP at current prices", "status": "warning", "value": None,
                    "note": "price changes between the runs count as GEP change; comparable prices remove them"})
    return out


def compute(inputs: ImpactInputs, progress: Callable[[str], None] | None = None) -> ImpactResult:
    """Attribute the GEP change and the ledger's credits to the bond and build the report document."""
    debt, lines = inputs.debt, inputs.debt.use_of_proceeds
    gep = gep_rows(lines, inputs.runs)
    moves = inputs.ledger.moves if inputs.ledger is not None else ()
    credits = credit_rows(lines, moves)
    total = gep[gep["project"] == "ALL"]
    ledger = None if inputs.ledger is None else {"ledger": inputs.ledger.shown, **inputs.ledger.read}
    doc = {
        "kind": KIND,
        "bond": {"name": inputs.name, "face_cny": debt.bond.face, "issue_date": debt.bond.issue_date.isoformat(),
                 "maturity_date": debt.bond.maturity_date.isoformat()},
        "catalogue": {"name": "绿色债券支持项目目录（2021年版）", "issuer": "PBoC, NDRC, CSRC (银发〔2021〕96号)",
                      "levels_held": inputs.catalogue.levels_held, "data_sha256": inputs.catalogue.sha256},
        "use_of_proceeds": [u.as_dict() for u in lines],
        "runs": [{"label": r.label, "year": r.year, "gep_cny": float(sum(r.by_zone.values())),
                  "manifest_sha256": ref["sha256"]} for r, ref in zip(inputs.runs, inputs.run_refs)],
        "ledger": ledger,
        "parameters": {"value": inputs.value, "per_cny": PER, "attribution": "amount / total_investment (pro rata)"},
        "units": {"gep": "CNY/yr", "per_10k_cny": "per 10^4 CNY of proceeds allocated",
                  "credits": "display unit of the instrument"},
        "summary": {"attributable_gep_change_cny_per_yr": {r: float(v) for r, v in zip(total["run"], total["attributable_cny"])},
                    "per_10k_cny": {r: float(v) for r, v in zip(total["run"], total["per_10k_cny"])},
                    "credits_per_10k_cny": credits.groupby(["instrument", "unit", "kind"])["per_10k_cny"].sum()
                    .reset_index().to_dict("records") if not credits.empty else []},
        "gep": gep.to_dict("records"),
        "credits": credits.to_dict("records"),
    }
    doc["checks"] = _checks(inputs)
    return ImpactResult(inputs, gep, credits, doc)


# --------------------------------------------------------------------------- write


def _catalogue_ref(catalogue: Catalogue) -> mf.FileRef:
    """The catalogue data file, relative to the folder that holds the ``gep`` package."""
    return mf.FileRef(CATALOGUE_FILE.resolve().relative_to(Path(gep.__file__).resolve().parent.parent).as_posix(),
                      catalogue.sha256)


def write(result: ImpactResult, out_dir: str | Path | None, command: str = KIND) -> Written[ImpactResult]:
    """Write impact.csv, impact_credits.csv, impact.json, impact.xlsx, the chart and the manifest, whole or not at all
    (:func:`gep.jobs.job.output_folder`)."""
    target = destination(result.inputs, out_dir)
    with output_folder(target, KIND) as folder:
        manifest = _write_into(result, folder, command)
    return Written(result, target, manifest)


def destination(inputs, out_dir: str | Path | None) -> Path:
    """``out_dir``, else ``runs/<bond-name>-impact-<hash>/``: the hash covers the bond file, the runs, the value
    basis and the ledger's tree head."""
    if out_dir:
        return Path(out_dir)
    led = inputs.ledger
    key = {"bond": sha256_file(inputs.bond_path), "runs": [r["sha256"] for r in inputs.run_refs], "value": inputs.value,
           "ledger": None if led is None else led.read["tree_head"]}
    return Path("runs") / provenance.run_folder_name(
        inputs.name, "impact", provenance.sha256_bytes(provenance.canonical_json(key).encode()), default="bond", max_len=60)


def _write_into(result: ImpactResult, folder: Path, command: str) -> mf.Manifest:
    """The outputs and the manifest of an impact report, into ``folder``."""
    inputs, doc, gep, credits = result.inputs, result.doc, result.gep, result.credits
    bond_path = inputs.bond_path
    led = inputs.ledger
    outputs.write_csv(gep, folder / "impact.csv")
    outputs.write_csv(credits, folder / "impact_credits.csv")
    (folder / "impact.json").write_bytes(provenance.canonical_bytes(doc))
    workbook.write_impact_workbook(doc, gep, credits, folder / "impact.xlsx")
    # projects as "P<n> (<category>)": the tables carry the full, often Chinese, names
    lines = inputs.debt.use_of_proceeds
    labels = {u.project: f"P{i + 1} ({u.category})" for i, u in enumerate(lines)}
    labels["ALL"] = "bond total"
    title = f"{charts.drawable(inputs.name, bond_path.stem)}: impact per 10⁴ CNY of proceeds ({inputs.value} prices)"
    charts.impact_bars(gep, credits, labels, title, folder / "impact.png")
    ledger = None
    if led is not None:
        shown = led.shown if led.shown.startswith(("postgresql://", "postgres://")) else portable_path(Path(led.target), folder)
        ledger = mf.LedgerRead.from_dict({"ledger": shown, **led.read})
    record = mf.ImpactRecord(
        bond=mf.FileRef(portable_path(bond_path, folder), sha256_file(bond_path)),
        runs=tuple(mf.RunInput(portable_path(m, folder), ref["sha256"], ref["outputs"])
                   for m, ref in zip(inputs.run_manifests, inputs.run_refs)),
        ledger=ledger,
        catalogue=_catalogue_ref(inputs.catalogue),
        parameters={"value": inputs.value, "as_of_seq": None if led is None else led.read["tree_head"]["size"]},
    )
    manifest = mf.Manifest(kind=KIND, command=command, record=record, outputs=outputs.hashes(folder, list(OUTPUTS)),
                           results=doc["summary"], environment=provenance.environment(inputs.debt.libraries),
                           rng=provenance.rng_record(None))
    manifest, _, _ = mf.write(folder, manifest)
    return manifest


def run(bond_path: str | Path, run_manifests: list, out_dir: str | Path | None = None, command: str = KIND,
        progress: Callable[[str], None] | None = None, **options: Any) -> Written[ImpactResult]:
    """Load, compute and write an impact report (``options``: those of :func:`load`); the output folder is checked first."""
    inputs = load(bond_path, run_manifests, **options)
    folder = destination(inputs, out_dir)
    check_destination(folder, KIND)
    return write(compute(inputs, progress), folder, command)


def replay(manifest: mf.Manifest, run_dir: Path, out_dir: Path) -> None:
    """Re-run a recorded ``gep bond impact`` into ``out_dir``: same bond, runs, value basis and ledger records.

    The ledger is read up to the recorded tree size (records added since are
    ignored); a different Merkle root at that size means the ledger was
    rewritten. Returns None: the results are compared through the outputs.
    """
    record = manifest.record
    if record.bond is None or not record.runs:
        raise InputError("the impact manifest records no bond file or runs",
                         hint="re-run gep bond impact with this gep, then replay")
    ledger = None
    if record.ledger is not None:
        ledger = record.ledger.ledger if record.ledger.is_url else str(run_dir / record.ledger.ledger)
    written = run(run_dir / record.bond.path, [run_dir / r.path for r in record.runs], out_dir,
                  manifest.command or KIND, ledger=ledger, value=record.value, as_of_seq=record.as_of_seq)
    new = written.manifest.record.ledger
    if record.ledger is not None and (new is None or new.root != record.ledger.root):
        raise InputError(f"the ledger's records up to size {record.ledger.size} have another Merkle root than the "
                         "report recorded", hint="the ledger was rewritten; replay against the original ledger")
    return None
