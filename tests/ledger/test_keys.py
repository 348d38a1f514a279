"""Ed25519 keys: RFC 8032 vectors, 0600 key files never overwritten, public keys as hex or .pub files."""

from __future__ import annotations

import os
import stat

import pytest

from gep.ledger import keys
from gep.ledger.errors import InvalidRequest, KeyFileError


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
