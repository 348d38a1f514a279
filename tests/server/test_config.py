"""The server's configuration file: keys, sections, paths relative to the file."""

from __future__ import annotations

from gep.server.config import load


def test_configuration_paths_are_relative_to_the_file(tmp_path):
    cfg = tmp_path / "conf" / "serve.toml"
    cfg.parent.mkdir()
    cfg.write_text('[server]\ndb = "ledger.db"\nruns = "../runs"\nhead_key = "keys/registry.key"\n[access]\nledger = "owners"\n', encoding="utf-8")
    c = load(cfg)
    assert c.db == str(tmp_path / "conf" / "ledger.db") and c.runs == tmp_path / "conf" / "../runs" and c.ledger_access == "owners"
    assert c.head_key == str(tmp_path / "conf" / "keys" / "registry.key")
    assert load(None).ledger_access == "public"
