"""CLI tests of `gep coefficients show` and `gep coefficients verify`."""

from __future__ import annotations

import json


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
    assert verified.exit_code == 0 and json.loads(verified.stdout)["ok"] is True


def test_coefficients_show_unknown_set(gep):
    gep.assert_user_error(gep.invoke("coefficients", "show", "cn-1999"), "not found", "cn-2022")
