"""Canonical bytes, Ed25519 keys (RFC 8032 vectors, 0600 files), instruments, amounts and prices."""

from __future__ import annotations

import os
import stat
from decimal import Decimal

import pytest

from gep.ledger import keys
from gep.ledger.canonical import SIGNING_DOMAIN, canonical, parse, signing_message
from gep.ledger.errors import InvalidAmount, InvalidRequest, KeyFileError, UnitMismatch
from gep.ledger.model import Instrument, format_amount, parse_amount, parse_price
from gep.ledger.rules import buffer_amount


# ----------------------------------------------------------------- canonical
def test_canonical_is_compact_sorted_utf8():
    assert canonical({"b": 1, "a": [True, None, "水"], "c": {"z": "x", "y": -2}}) == '{"a":[true,null,"水"],"b":1,"c":{"y":-2,"z":"x"}}'.encode()
    assert canonical({"s": "a\"b\\\n\x01"}) == b'{"s":"a\\"b\\\\\\n\\u0001"}'


def test_canonical_refuses_floats_and_non_canonical_bytes():
    with pytest.raises(InvalidRequest, match="float"):
        canonical({"amount": 1.5})
    with pytest.raises(InvalidRequest, match="not in canonical form"):
        parse(b'{"b":1, "a":2}')
    with pytest.raises(InvalidRequest):
        parse(b'{"a":1.0}')
    assert parse(b'{"a":1}') == {"a": 1}


def test_signing_message_has_domain_prefix():
    assert signing_message({"a": 1}) == SIGNING_DOMAIN + b'{"a":1}'


# ----------------------------------------------------------------- keys
# RFC 8032 section 7.1, TEST 1 and TEST 2 (Ed25519)
RFC8032 = [
    ("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
]


@pytest.mark.parametrize("pub,msg,sig", RFC8032)
def test_rfc8032_vectors(pub, msg, sig):
    assert keys.verify(pub, bytes.fromhex(msg), sig)
    bad = ("0" if sig[0] != "0" else "1") + sig[1:]
    assert not keys.verify(pub, bytes.fromhex(msg), bad)
    assert not keys.verify(pub, bytes.fromhex(msg) + b"\x00", sig)
    assert not keys.verify(pub, bytes.fromhex(msg), sig[:-2])


def test_key_files_are_0600_never_overwritten_and_private_key_not_in_repr(tmp_path):
    pair = keys.generate()
    priv, pub = keys.write_keypair(pair, tmp_path / "alice.key")
    assert stat.S_IMODE(priv.stat().st_mode) == 0o600
    assert pub.name == "alice.pub" and pub.read_text().strip() == pair.public
    again = keys.load_private(priv)
    assert again.public == pair.public
    msg = b"hello"
    assert keys.verify(pair.public, msg, again.sign(msg))
    pem = priv.read_text()
    assert "PRIVATE KEY" in pem and pem.split("\n")[1] not in repr(pair)
    with pytest.raises(KeyFileError, match="already exists"):
        keys.write_keypair(keys.generate(), priv)
    os.chmod(priv, 0o644)
    with pytest.raises(KeyFileError, match="readable by other users"):
        keys.load_private(priv)
    with pytest.raises(KeyFileError, match="not found"):
        keys.load_private(tmp_path / "nope.key")
    assert keys.parse_public(str(pub)) == pair.public
    with pytest.raises(InvalidRequest):
        keys.parse_public("abc")


def test_key_file_of_wrong_kind_refused(tmp_path):
    p = tmp_path / "junk.key"
    p.write_text("not a key")
    os.chmod(p, 0o600)
    with pytest.raises(KeyFileError, match="not an unencrypted PEM"):
        keys.load_private(p)


# ----------------------------------------------------------------- model
def test_instrument_ids():
    cap = Instrument.parse("capacity/3/NH3-N/2024")
    assert (cap.kind, cap.vintage, cap.get("catchment"), cap.get("pollutant")) == ("capacity", 2024, "3", "NH3-N")
    assert (cap.base_unit, cap.display_unit) == ("kg/yr", "t/yr")
    car = Instrument.parse("carbon/lishui-a/2022")
    assert (car.base_unit, car.display_unit, car.get("project")) == ("kgCO2e", "tCO2e", "lishui-a")
    for bad in ("capacity/3/COD", "carbon/p/22", "water/1/2020", "carbon/a b/2022", "capacity/1/COD/2024/x"):
        with pytest.raises(InvalidRequest):
            Instrument.parse(bad)


@pytest.mark.parametrize("text,kg", [("250", 250), ("250 kg", 250), ("1.5 t", 1500), ("1.5t", 1500), ("1.5 t/yr", 1500),
                                     ("2000 g", 2), ("1e3 kg", 1000), (7, 7)])
def test_capacity_amounts(text, kg):
    assert parse_amount(text, Instrument.parse("capacity/1/COD/2024")) == kg


@pytest.mark.parametrize("text,kg", [("2 tCO2e", 2000), ("2 t", 2000), ("3 kgCO2", 3), ("0.001 t", 1)])
def test_carbon_amounts(text, kg):
    assert parse_amount(text, Instrument.parse("carbon/p/2022")) == kg


@pytest.mark.parametrize("text,exc", [("0", InvalidAmount), ("-1 t", InvalidAmount), ("0.5 kg", InvalidAmount), ("abc", InvalidAmount),
                                      ("1 ha", UnitMismatch), ("1 CNY", UnitMismatch), ("1 tC", UnitMismatch), ("1 furlong/fortnight", UnitMismatch),
                                      ("1 blorp", UnitMismatch)])
def test_bad_amounts(text, exc):
    with pytest.raises(exc):
        parse_amount(text, Instrument.parse("carbon/p/2022"))


def test_tonnes_of_carbon_hint_44_12():
    with pytest.raises(UnitMismatch, match="44/12"):
        parse_amount("1 tC", Instrument.parse("carbon/p/2022"))


def test_prices_are_decimals_per_display_unit():
    car = Instrument.parse("carbon/p/2022")
    assert parse_price("71.60", car) == Decimal("71.6")
    assert parse_price("0.0716 CNY/kg", car) == Decimal("71.6")
    assert parse_price("71.6 CNY/tCO2e", car) == Decimal("71.6")
    cap = Instrument.parse("capacity/1/COD/2024")
    assert parse_price("1186.71 wan_CNY/t", cap) == Decimal("11867100")
    for bad in ("0", "-3", "1 CNY/ha", "x"):
        with pytest.raises(InvalidAmount):
            parse_price(bad, car)


def test_display_and_buffer_rounding():
    assert format_amount(1500) == "1.5" and format_amount(-1000) == "-1" and format_amount(1) == "0.001"
    assert buffer_amount(100, Decimal("0.2")) == 20
    assert buffer_amount(101, Decimal("0.2")) == 21  # ceil: never short of the declared share
    assert buffer_amount(5, Decimal("0")) == 0
