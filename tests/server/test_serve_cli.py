"""`gep serve` options and configuration: one clear line and exit 2 for every bad setting; the translation table is complete."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gep.cli import app
from gep.server import i18n
from gep.server.config import load


def run(*args):
    return CliRunner().invoke(app, ["serve", *args])


def test_a_missing_ledger_is_one_line_and_exit_2(tmp_path):
    r = run("--db", str(tmp_path / "none.db"), "--runs", str(tmp_path))
    assert r.exit_code == 2
    assert r.output.startswith("error: ") and len(r.output.strip().splitlines()) == 1 and "gep ledger init" in r.output


@pytest.mark.parametrize("text, message", [
    ("[server]\nprot = 8000\n", "unknown key server.prot"),
    ("[serve]\nport = 8000\n", "did you mean [server]"),
    ("[access]\nledger = \"private\"\n", "public, owners, readers"),
    ("[access]\nreaders = [\"abc\"]\n", "64 lowercase hex"),
    ("[limits]\nreads = \"fast\"\n", "not a rate"),
    ("[server]\npool = 0\n", "pool = 0"),
    ("[server\n", "malformed TOML"),
])
def test_bad_configuration(tmp_path, text, message):
    cfg = tmp_path / "serve.toml"
    cfg.write_text(text, encoding="utf-8")
    r = run("--config", str(cfg))
    assert r.exit_code == 2 and message in r.output and len(r.output.strip().splitlines()) == 1


def test_configuration_paths_are_relative_to_the_file(tmp_path):
    cfg = tmp_path / "conf" / "serve.toml"
    cfg.parent.mkdir()
    cfg.write_text('[server]\ndb = "ledger.db"\nruns = "../runs"\n[access]\nledger = "owners"\n', encoding="utf-8")
    c = load(cfg)
    assert c.db == str(tmp_path / "conf" / "ledger.db") and c.runs == tmp_path / "conf" / "../runs" and c.ledger_access == "owners"
    assert load(None).ledger_access == "public"


def test_every_string_used_by_the_pages_is_translated():
    root = Path(i18n.__file__).parent
    used = set()
    for f in list((root / "templates").glob("*.html")) + list((root / "static").glob("*.js")):
        used |= set(re.findall(r"""\bt\(\s*['"]([a-z_]+\.[a-z0-9_]+)['"]\s*\)""", f.read_text(encoding="utf-8")))
    assert used, "no t('...') calls found"
    assert not used - set(i18n.TABLE), f"missing translations: {sorted(used - set(i18n.TABLE))}"
    for key, (zh, en) in i18n.TABLE.items():
        assert zh.strip() and en.strip(), key
    assert i18n.language("fr") == "zh" and i18n.table("en")["nav.registry"] == "Registry"


def test_keys_built_at_run_time_are_translated():
    from gep.catalogue import CATALOGUE
    from gep.ledger.model import REQUEST_FIELDS
    from gep.server.certificate import verify

    needed = {f"svc.{s.id}" for s in CATALOGUE} | {f"cat.{s.category}" for s in CATALOGUE} | {f"op.{t}" for t in REQUEST_FIELDS}
    needed |= {f"check.{c['check']}" for c in verify({"format": "gep-certificate/v1"})["checks"]}
    needed |= {"check.format", "check.record", "check.leaf", "check.size", "check.inclusion", "check.ledger", "check.signature",
               "check.head_signature", "check.trusted_head"}
    assert not needed - set(i18n.TABLE), sorted(needed - set(i18n.TABLE))


def test_the_shipped_font_holds_every_chinese_character_of_the_pages():
    pytest.importorskip("brotli", reason="reading WOFF2 needs brotli (pip install -e '.[test]')")
    from fontTools.ttLib import TTFont

    font = TTFont(Path(i18n.__file__).parent / "static" / "fonts" / "gep-cjk.woff2")
    cmap = font.getBestCmap()
    chinese = {c for zh, _ in i18n.TABLE.values() for c in zh if "\u3000" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef"}
    missing = sorted(c for c in chinese if ord(c) not in cmap)
    assert not missing, f"rebuild the subset (python -m gep.server.fontsubset): {''.join(missing)}"
