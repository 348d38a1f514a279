"""CLI tests of `gep coefficients show` and `gep coefficients verify`."""

from __future__ import annotations

import json
import shutil

from gep.io.coefficient_files import coefficients_root, write_hashes


def test_coefficients_show_and_verify(gep):
    shown = gep.invoke("coefficients", "show", "cn-2022", "--json")
    assert shown.exit_code == 0
    doc = json.loads(shown.stdout)
    assert doc["id"] == "cn-2022" and all(r["confidence"] in ("verified", "derived", "recalled", "assumed") for r in doc["rows"])
    assert "oxygen_release" not in doc["profile"]["services"]["enabled"]
    zj = json.loads(gep.invoke("coefficients", "show", "zj-2020", "--json").stdout)
    assert {"oxygen_release", "negative_ions"} <= set(zj["profile"]["services"]["enabled"])
    table = gep.invoke("coefficients", "show", "cn-2022", "-p", "price.")
    assert table.exit_code == 0 and "price.carbon" in table.stdout
    verified = gep.invoke("coefficients", "verify", "--json")
    doc = json.loads(verified.stdout)
    # every shipped set and release passes the citation and range rules: no problem is tolerated
    assert verified.exit_code == 0 and doc["ok"], [p for probs in doc["sets"].values() for p in probs]
    assert not [p for probs in doc["sets"].values() for p in probs]


def test_coefficients_show_unknown_set(gep):
    gep.assert_user_error(gep.invoke("coefficients", "show", "cn-1999"), "not found", "cn-2022")


def test_verify_names_file_line_and_what_is_missing_exit_1(tmp_path, monkeypatch, gep):
    root = coefficients_root()
    shutil.copytree(root / "ledger-2026", tmp_path / "ledger-2026")
    path = tmp_path / "ledger-2026" / "buffer.csv"
    text = path.read_text(encoding="utf-8").replace("2026,assumed,0,20,", "2026,assumed,,,")
    path.write_text(text, encoding="utf-8")
    write_hashes(tmp_path / "ledger-2026")
    monkeypatch.setenv("GEP_COEFFICIENTS", str(tmp_path))
    result = gep.invoke("coefficients", "verify")
    assert result.exit_code == 1
    assert f"FAIL ledger-2026: {path}, line 3: ledger.buffer_share capacity: a value tagged assumed needs a range" in result.output
    doc = json.loads(gep.invoke("coefficients", "verify", "--json").stdout)
    assert doc["ok"] is False and len(doc["sets"]["ledger-2026"]) == 1
    # a frozen release is checked for its hashes, not for rules it predates
    assert gep.invoke("coefficients", "verify", root / "releases" / "cn-2022" / "1.0.0").exit_code == 0
