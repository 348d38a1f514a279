"""Ed25519 keys of the ledger: generate, store, load, sign, verify.

A private key is a PKCS#8 PEM file written with mode 0600 (created exclusively,
never overwritten, never printed or logged); its public key is 32 bytes shown as
64 lowercase hex digits, which is how accounts name their owner. Loading a
private key that group or others can read is refused, as OpenSSH does.

References
----------
* RFC 8032, Edwards-Curve Digital Signature Algorithm (EdDSA), section 5.1 (Ed25519).
* RFC 8410, Algorithm Identifiers for Ed25519 in X.509/PKCS#8 (the PEM format).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gep.ledger.errors import InvalidRequest, KeyFileError

__all__ = ["KeyPair", "generate", "write_keypair", "load_private", "parse_public", "check_public_hex", "verify", "public_hex", "public_path"]

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class KeyPair:
    """An Ed25519 private key and its public key.

    The private key is never part of ``repr`` (so it cannot end up in logs).
    """

    private: Ed25519PrivateKey
    public: str  # 64 hex digits

    def __repr__(self) -> str:
        return f"KeyPair(public={self.public})"

    def sign(self, message: bytes) -> str:
        """Ed25519 signature of ``message`` as 128 hex digits (RFC 8032 section 5.1.6)."""
        return self.private.sign(message).hex()


def public_hex(private: Ed25519PrivateKey) -> str:
    """The raw 32-byte public key as hex."""
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def generate() -> KeyPair:
    """A fresh random Ed25519 key pair."""
    key = Ed25519PrivateKey.generate()
    return KeyPair(key, public_hex(key))


def write_keypair(pair: KeyPair, path: str | Path) -> tuple[Path, Path]:
    """Write ``path`` (private, PEM, mode 0600) and its ``.pub`` file (hex public key).

    ``NAME.key`` gets ``NAME.pub``; any other name gets ``.pub`` appended.

    Parameters
    ----------
    pair : KeyPair
        The key to store.
    path : str or Path
        Private key file; must not exist yet.

    Returns
    -------
    (Path, Path)
        The private and public key files.

    Raises
    ------
    KeyFileError
        A file already exists or cannot be created.
    """
    path = Path(path)
    pub = public_path(path)
    pem = pair.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    for p in (path, pub):
        if p.exists():
            raise KeyFileError(f"key file {p} already exists", hint="choose another name or directory (a key is never overwritten)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)  # regardless of umask
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        pub.write_text(pair.public + "\n", encoding="ascii")
    except OSError as exc:
        raise KeyFileError(f"cannot write key file {path}: {exc.strerror}", hint="check the directory exists and is writable") from exc
    return path, pub


def public_path(path: str | Path) -> Path:
    """The ``.pub`` file beside a private key file."""
    path = Path(path)
    return path.with_suffix(".pub") if path.suffix == ".key" else path.with_name(path.name + ".pub")


def load_private(path: str | Path) -> KeyPair:
    """Load a private key file written by :func:`write_keypair`.

    Raises
    ------
    KeyFileError
        Missing or unreadable file, not an Ed25519 PEM key, or readable by group/others.
    """
    path = Path(path)
    try:
        st = path.stat()
    except OSError as exc:
        raise KeyFileError(f"key file {path} not found", hint="give the private key file written by `gep ledger keygen` (not the .pub file)") from exc
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"key file {path} is readable by other users (mode {stat.S_IMODE(st.st_mode):o})", hint=f"chmod 600 {path}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}", hint="check its permissions") from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        # the message of the exception never contains the key material
        raise KeyFileError(f"{path} is not an unencrypted PEM private key", hint="give the private key file written by `gep ledger keygen`") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} holds a {type(key).__name__.replace('PrivateKey', '')} key, not Ed25519", hint="create one with `gep ledger keygen NAME`")
    return KeyPair(key, public_hex(key))


def parse_public(text: str, where: str = "public key") -> str:
    """Normalise a public key given as 64 hex digits, or as a ``.pub`` file holding them.

    Returns
    -------
    str
        64 lowercase hex digits.
    """
    value = str(text).strip()
    if not _HEX64.match(value.lower()):
        p = Path(value)
        if p.is_file() and p.stat().st_size < 4096:
            value = p.read_text(encoding="ascii", errors="replace").strip()
    value = value.lower()
    if not _HEX64.match(value):
        raise InvalidRequest(f"{where} {text!r} is not 64 hex digits (a raw Ed25519 public key) nor a .pub file holding one",
                             hint="use the .pub file or the hex printed by `gep ledger keygen`")
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(value))
    except ValueError as exc:
        raise InvalidRequest(f"{where} {value} is not a valid Ed25519 public key") from exc
    return value


def check_public_hex(value: object, where: str = "public key") -> str:
    """``value`` if it is exactly 64 lowercase hex digits of a valid Ed25519 public key (no file look-up)."""
    if not isinstance(value, str) or not _HEX64.match(value):
        raise InvalidRequest(f"{where} must be 64 lowercase hex digits (a raw Ed25519 public key)")
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(value))
    except ValueError as exc:
        raise InvalidRequest(f"{where} {value} is not a valid Ed25519 public key") from exc
    return value


def verify(public: str, message: bytes, signature: str) -> bool:
    """True when ``signature`` (hex) is a valid Ed25519 signature of ``message`` by ``public`` (hex)."""
    try:
        sig = bytes.fromhex(signature)
        if len(sig) != 64:
            return False
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public)).verify(sig, message)
        return True
    except (ValueError, InvalidSignature, TypeError):
        return False
