"""The translation table is complete (every string of the pages, Chinese and English) and the shipped font covers it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gep.server import i18n


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
    from gep.accounting.catalogue import CATALOGUE
    from gep.ledger.model import REQUEST_FIELDS

    needed = {f"svc.{s.id}" for s in CATALOGUE} | {f"cat.{s.category}" for s in CATALOGUE} | {f"op.{t}" for t in REQUEST_FIELDS}
    ledger_js = (Path(i18n.__file__).parent / "static" / "ledger.js").read_text(encoding="utf-8")
    checks = set(re.findall(r'check\("([a-z_]+)"', ledger_js))  # the certificate checks the page runs
    assert {"format", "registry", "record", "leaf", "size", "inclusion", "head_signature", "ledger", "signature", "statement"} <= checks
    needed |= {f"check.{c}" for c in checks}
    assert not needed - set(i18n.TABLE), sorted(needed - set(i18n.TABLE))


def test_the_shipped_font_holds_every_chinese_character_of_the_pages():
    pytest.importorskip("brotli", reason="reading WOFF2 needs brotli (pip install -e '.[test]')")
    from fontTools.ttLib import TTFont

    font = TTFont(Path(i18n.__file__).parent / "static" / "fonts" / "gep-cjk.woff2")
    cmap = font.getBestCmap()
    chinese = {c for zh, _ in i18n.TABLE.values() for c in zh if "\u3000" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef"}
    missing = sorted(c for c in chinese if ord(c) not in cmap)
    assert not missing, f"rebuild the subset (python -m gep.server.fontsubset): {''.join(missing)}"
