"""Parameters fixed at genesis, caps bound to the first run cited, attested evidence, older ledgers."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gep.audit.evidence import RunFiles, attest
from gep.ledger.evidence import resolve
from gep.ledger.errors import EvidenceChanged, EvidenceError, InvalidRequest, OverIssuance, StorageError
from gep.ledger.ledger import Ledger
from gep.ledger.model import Instrument
from gep.ledger.verify import verify_ledger
from tests.ledger.helpers import _sha, unchanged

CAP = "capacity/1/COD/2024"
CARBON = "carbon/p1/2022"
ROOT = Path(__file__).resolve().parents[2]


def rehash(manifest: Path) -> None:
    """Rewrite a manifest's output hashes after its files were edited (what a forger would do)."""
    doc = json.loads(manifest.read_text())
    doc["outputs"] = {name: _sha(manifest.parent / name) for name in doc["outputs"]}
    manifest.write_text(json.dumps(doc, indent=1, sort_keys=True))


def copy_run(runs, kind: str, dest: Path) -> Path:
    shutil.copytree(runs[kind].parent, dest)
    return dest / "manifest.json"


# ----------------------------------------------------------------- genesis parameters
def test_planted_coefficient_set_in_the_working_directory_changes_nothing(ledger, keyset, runs, tmp_path, monkeypatch):
    planted = tmp_path / "ledger-2026"
    shutil.copytree(ROOT / "gep" / "data" / "coefficients" / "ledger-2026", planted)
    buf = planted / "buffer.csv"
    buf.write_text(buf.read_text().replace("ledger.buffer_share,carbon,20,", "ledger.buffer_share,carbon,0,"))
    from gep.io.coefficient_files import write_hashes

    write_hashes(planted)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GEP_COEFFICIENTS", str(tmp_path))
    r = ledger.issue(keyset.registry, CARBON, "10 t", "alice", runs["carbon"], zone="1")
    assert r.record["effects"]["buffer"]["share"] == "0.2" and r.record["effects"]["buffer"]["amount"] == 2000
    genesis = ledger.history(limit=None)[0]["record"]["request"]["params"]
    assert genesis["buffer_share"] == {"capacity": "0", "carbon": "0.2"}
    assert genesis["rounding"] == {"buffer": "ceiling", "evidence_cap": "floor", "payment": "half-up", "fills": "cumulative", "ratio": "floor", "fee": "half-up"}
    assert genesis["units"]["carbon"] == {"base": "kgCO2e", "display": "tCO2e", "per_display": 1000}
    assert genesis["coefficients"]["id"] == "ledger-2026" and len(genesis["coefficients"]["manifest_sha256"]) == 64
    assert verify_ledger(ledger)["parameters"] == genesis
    # a new ledger made from the planted set records 0 % in its genesis, visibly
    with Ledger.init(tmp_path / "planted.db", keyset.registry, coefficients=str(planted), files=RunFiles()) as other:
        assert other.history()[0]["record"]["request"]["params"]["buffer_share"]["carbon"] == "0"


# ----------------------------------------------------------------- caps bound to evidence
def test_cap_bound_to_first_run_and_changed_only_by_recalculation(ledger, keyset, runs, tmp_path):
    ledger.issue(keyset.registry, CAP, "4 t", "alice", runs["capacity"], id="first")
    # a re-run with safety margin 0 computes a larger cap for the same catchment
    rerun = copy_run(runs, "capacity", tmp_path / "rerun")
    credits = rerun.parent / "credits.csv"
    credits.write_text(credits.read_text().replace("1,COD,2024,1d-mid,10.000000,5.000000,5000,", "1,COD,2024,1d-mid,10.000000,105.000000,105000,"))
    rehash(rerun)
    attest(rerun, keyset.operator)
    with pytest.raises(InvalidRequest, match="bound to run .*recalculate"):
        ledger.issue(keyset.registry, CAP, "100 t", "bob", rerun)
    with pytest.raises(OverIssuance):
        ledger.issue(keyset.registry, CAP, "1001 kg", "bob", runs["capacity"])
    # only the registry recalculates, naming both runs; it shows in the instrument's history
    from gep.ledger.errors import NotAuthorised

    with pytest.raises(NotAuthorised):
        ledger.submit(ledger.recalculate_request(keyset.alice, CAP, rerun))
    rc = ledger.recalculate(keyset.registry, CAP, rerun, id="recalc-1")
    eff = rc.record["effects"]["recalculation"]
    assert eff["from"]["cap"] == 5000 and eff["to"]["cap"] == 105000 and eff["issued"] == 4000 and eff["room"] == 101000
    assert rc.record["request"]["from"] == ledger.history(limit=None)[4]["record"]["request"]["evidence"]["manifest_sha256"]
    assert [h["record"]["request"]["type"] for h in ledger.history(instrument=CAP)] == ["issue", "recalculate"]
    # now the new run is the binding one and the old one is refused
    ledger.issue(keyset.registry, CAP, "100 t", "bob", rerun)
    with pytest.raises(InvalidRequest, match="bound to run"):
        ledger.issue(keyset.registry, CAP, "1 kg", "bob", runs["capacity"])
    with pytest.raises(OverIssuance):
        ledger.issue(keyset.registry, CAP, "1001 kg", "bob", rerun)
    # a downward recalculation records the excess; nothing more can be issued
    rc2 = ledger.recalculate(keyset.registry, CAP, runs["capacity"])
    assert rc2.record["effects"]["recalculation"]["excess"] == 104000 - 5000
    with pytest.raises(OverIssuance):
        ledger.issue(keyset.registry, CAP, 1, "bob", runs["capacity"])
    assert verify_ledger(ledger)["ok"]


def test_one_run_selection_backs_one_instrument(ledger, keyset, runs):
    ledger.issue(keyset.registry, CARBON, "5 t", "alice", runs["carbon"], zone="1")
    with pytest.raises(InvalidRequest, match="already backs instrument carbon/p1/2022"):
        ledger.issue(keyset.registry, "carbon/p9/2022", "5 t", "alice", runs["carbon"], zone="1")


def test_every_spelling_of_a_zone_shares_one_cap(ledger, keyset, runs):
    """Zone 1 (Zone1, 区1) sequestered 12.345 t in 2022: cited by id, English or Chinese name, it is one selection."""
    r = ledger.issue(keyset.registry, CARBON, "10 t", "alice", runs["carbon"], zone="Zone1")
    assert r.record["request"]["evidence"]["selector"] == {"instrument_kind": "carbon", "vintage": 2022, "zone": "1"}
    ledger.issue(keyset.registry, CARBON, "2 t", "alice", runs["carbon"], zone="1")
    unchanged(ledger, lambda: ledger.issue(keyset.registry, CARBON, "1 t", "alice", runs["carbon"], zone="区1"), OverIssuance, "0.345 tCO2e left")
    for spelling in ("1", "Zone1", "区1", " 1.0 "):
        unchanged(ledger, lambda: ledger.issue(keyset.registry, "carbon/p9/2022", "1 t", "alice", runs["carbon"], zone=spelling),
                  InvalidRequest, "already backs instrument carbon/p1/2022")
    unchanged(ledger, lambda: ledger.issue(keyset.registry, "carbon/p9/2022", "1 t", "alice", runs["carbon"], zone="Zone9"), EvidenceError, "no zone 'Zone9'")
    # a request that signs a zone's name is refused: the run resolves the name to the id
    named = ledger.sign(keyset.registry, "issue", {"instrument": "carbon/p8/2022", "amount": 1000, "to": "alice",
                                                   "evidence": {"manifest_sha256": r.record["request"]["evidence"]["manifest_sha256"],
                                                                "selector": {"instrument_kind": "carbon", "vintage": 2022, "zone": "Zone2"}}})
    unchanged(ledger, lambda: ledger.submit(ledger.prepare(named, runs["carbon"])), InvalidRequest, "selects zone 'Zone2'.*resolves it to zone '2'")
    assert verify_ledger(ledger)["ok"]


def test_a_zone_name_shared_by_two_zones_is_refused_and_the_id_wins(ledger, keyset, runs, tmp_path):
    run = copy_run(runs, "carbon", tmp_path / "twins")
    table = run.parent / "account.csv"
    table.write_text(table.read_text().replace("2022,2,Zone2,", "2022,2,Zone1,"))  # zone 2 also named Zone1
    rehash(run)
    attest(run, keyset.operator)
    with pytest.raises(EvidenceError, match="zone name 'Zone1' names zones 1, 2 "):
        ledger.issue(keyset.registry, CARBON, "1 t", "alice", run, zone="Zone1")
    r = ledger.issue(keyset.registry, CARBON, "12.345 t", "alice", run, zone="1")  # zone 1 alone, not zone 2's 50 t too
    assert r.record["effects"]["evidence"]["cap"] == 12345


def test_an_issuance_keyed_by_a_zone_name_before_still_verifies(ledger, keyset, runs):
    """Records made before zones were keyed by id signed the name as given; verify replays them from the log."""
    ev = resolve(RunFiles(), runs["carbon"], Instrument.parse(CARBON), "1", operators=ledger.operators)
    ev = {**ev, "selector": {**ev["selector"], "zone": "Zone1"}}  # as gep signed it before
    old = ledger.sign(keyset.registry, "issue", {"instrument": CARBON, "amount": 5000, "to": "alice",
                                                 "evidence": {"manifest_sha256": ev["manifest_sha256"], "selector": ev["selector"]}})
    old.evidence = ev
    ledger.submit(old)
    assert verify_ledger(ledger)["ok"]


def test_credits_table_edited_with_its_manifest_hash_is_refused(ledger, keyset, runs, tmp_path):
    forged = copy_run(runs, "capacity", tmp_path / "forged")
    credits = forged.parent / "credits.csv"
    # only the kg column raised: the table contradicts itself
    credits.write_text(credits.read_text().replace(",5.000000,5000,", ",5.000000,9000000,"))
    rehash(forged)
    with pytest.raises(EvidenceError, match="issuable_kg_per_yr 9000000 is not issuable_t_per_yr 5.000000 × 1000"):
        ledger.issue(keyset.registry, CAP, "6 t", "alice", forged)
    # both columns raised consistently: the operator's signature no longer fits the manifest
    credits.write_text(credits.read_text().replace(",5.000000,9000000,", ",9000.000000,9000000,"))
    rehash(forged)
    with pytest.raises(EvidenceError, match="does not sign this manifest"):
        ledger.issue(keyset.registry, CAP, "6 t", "alice", forged)
    # without any signature (and no inputs to replay) it is not evidence at all
    (forged.parent / "manifest.json.sig").unlink()
    with pytest.raises(InvalidRequest, match="neither reproduced by its replay nor signed by an engine operator"):
        ledger.issue(keyset.registry, CAP, "6 t", "alice", forged)
    # signed, but by a key that is not an engine operator of this ledger
    attest(forged, keyset.mallory)
    with pytest.raises(EvidenceError, match="not an engine operator"):
        ledger.issue(keyset.registry, CAP, "6 t", "alice", forged)
    assert ledger.head()["tree_size"] == 4


def test_manifest_totals_must_match_the_table(ledger, keyset, runs, tmp_path):
    run = copy_run(runs, "capacity", tmp_path / "totals")
    doc = json.loads(run.read_text())
    doc["results"] = {"totals": {"COD": {"issuable_t_per_yr": 1.0}}}
    run.write_text(json.dumps(doc))
    attest(run, keyset.operator)
    with pytest.raises(EvidenceError, match="the manifest's totals record"):
        ledger.issue(keyset.registry, CAP, "1 t", "alice", run)


def test_operator_signature_is_rechecked_by_verify(ledger, keyset, runs):
    r = ledger.issue(keyset.registry, CAP, "1 t", "alice", runs["capacity"])
    att = r.record["effects"]["evidence"]["attestation"]
    assert att["method"] == "operator" and att["key"] == keyset.operator.public
    from gep.ledger.verify import replay

    rows = [(s, c, d, None, None) for s, c, d, _, _ in ledger.rows()]
    forged = rows[-1][2].replace(att["signature"].encode(), b"00" * 64)
    with pytest.raises(Exception, match="engine operator's signature"):
        replay(rows[:-1] + [(rows[-1][0], rows[-1][1], forged, None, None)])


@pytest.fixture(scope="module")
def basin_run(tmp_path_factory) -> Path:
    """A real `gep capacity basin` run of the demo scenario (its inputs stay in place, so it can be replayed)."""
    from gep.jobs import capacity_basin

    out = tmp_path_factory.mktemp("basin") / "run"
    capacity_basin.run(ROOT / "scenarios" / "demo_capacity.toml", out, "gep capacity basin demo_capacity.toml")
    return out / "manifest.json"


def test_real_run_attested_by_its_replay(target, keyset, basin_run):
    rows = list(csv.DictReader(basin_run.with_name("credits.csv").open(encoding="utf-8-sig")))
    row = next(r for r in rows if int(r["issuable_kg_per_yr"]) > 0)
    ins = f"capacity/{row['catchment']}/{row['pollutant']}/{row['vintage']}"
    with Ledger.init(target, keyset.registry, files=RunFiles()) as led:  # no engine operator: only a replay can attest
        led.open_account(keyset.registry, "alice", keyset.alice.public)
        r = led.issue(keyset.registry, ins, int(row["issuable_kg_per_yr"]), "alice", basin_run)
        ev = r.record["effects"]["evidence"]
        assert ev["attestation"]["method"] == "replay" and ev["cap"] == int(row["issuable_kg_per_yr"]) and ev["kind"] == "gep capacity basin"
        with pytest.raises(OverIssuance):
            led.issue(keyset.registry, ins, 1, "alice", basin_run)
        assert verify_ledger(led)["ok"]


# ----------------------------------------------------------------- earlier ledgers
def test_format_1_ledger_gives_a_clear_error(tmp_path):
    db = tmp_path / "old.db"
    shutil.copy(Path(__file__).with_name("data") / "ledger-format1.db", db)
    with pytest.raises(StorageError, match="format-1 ledger written by an earlier gep; this gep reads format 3 only"):
        Ledger.open(db)
    from gep.cli.ledger import app

    res = CliRunner().invoke(app, ["balance", "--db", str(db)])
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1 and "format-1" in res.stderr


def test_evidence_output_edited_after_the_run_is_refused(ledger, keyset, runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs["capacity"].parent, run)
    credits = run / "credits.csv"
    credits.write_text(credits.read_text().replace(",5000,", ",9000000,"))
    err = unchanged(ledger, lambda: ledger.issue(keyset.registry, CAP, "6 t", "alice", run / "manifest.json"), EvidenceChanged)
    assert err.exit_code == 3 and "credits.csv" in err.line()
    shutil.copy(runs["capacity"].parent / "credits.csv", credits)
    assert ledger.issue(keyset.registry, CAP, "1 kg", "alice", run / "manifest.json").status == "created"
    (run / "totals.json").unlink()
    with pytest.raises(EvidenceChanged, match="missing"):
        ledger.issue(keyset.registry, CAP, 1, "alice", run / "manifest.json")
    with pytest.raises(EvidenceError, match="not found"):
        ledger.issue(keyset.registry, CAP, 1, "alice", tmp_path / "nothing" / "manifest.json")


def test_malformed_evidence_is_refused(ledger, keyset, runs, tmp_path):
    import hashlib

    run = tmp_path / "bad-run"
    run.mkdir()
    (run / "account.csv").write_text("year,zone,service,ecosystem,quantity,unit\n2022,1,carbon_sequestration,forest,5,tC/yr\n")
    digest = hashlib.sha256((run / "account.csv").read_bytes()).hexdigest()
    (run / "manifest.json").write_text(json.dumps({"kind": "gep run", "outputs": {"account.csv": digest}}))
    with pytest.raises(EvidenceError, match="not a CO2 mass per year"):
        ledger.issue(keyset.registry, CARBON, "1 t", "alice", run / "manifest.json")
    (run / "manifest.json").write_text(json.dumps({"kind": "gep run"}))
    with pytest.raises(EvidenceError, match="lists no output files"):
        ledger.issue(keyset.registry, CARBON, "1 t", "alice", run / "manifest.json")
    (run / "manifest.json").write_text("{not json")
    with pytest.raises(EvidenceError, match="not JSON"):
        ledger.issue(keyset.registry, CARBON, "1 t", "alice", run / "manifest.json")
    (run / "manifest.json").write_text(json.dumps({"outputs": {"../account.csv": digest}}))
    with pytest.raises(EvidenceError, match="outside the run folder"):
        ledger.issue(keyset.registry, CARBON, "1 t", "alice", run / "manifest.json")
    assert ledger.head()["tree_size"] == 4
