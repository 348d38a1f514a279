"""`gep serve` options and configuration: one clear line and exit 2 for every bad setting, the head key included."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from gep.cli.app import app


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


def test_a_head_key_that_is_missing_or_not_the_registrys_is_one_line_and_exit_2(tmp_path, keyset):
    from gep.audit.evidence import RunFiles
    from gep.ledger import keys
    from gep.ledger.ledger import Ledger

    db = tmp_path / "ledger.db"
    Ledger.init(str(db), keyset.registry, files=RunFiles()).close()
    r = run("--db", str(db), "--runs", str(tmp_path), "--head-key", str(tmp_path / "none.key"))
    assert r.exit_code == 2 and r.output.startswith("error: ") and len(r.output.strip().splitlines()) == 1
    other = tmp_path / "other.key"
    keys.write_keypair(keyset.alice, other)
    r = run("--db", str(db), "--runs", str(tmp_path), "--head-key", str(other))
    assert r.exit_code != 0 and "is not this ledger's registry key" in r.output and len(r.output.strip().splitlines()) == 1
