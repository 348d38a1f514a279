"""Files as bytes and documents: SHA-256 of a file, TOML documents, JSON documents (manifests, requests).

Light on purpose (standard library only), so that manifests, ledger commands
and scenario files can be read without pandas.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any, Iterable

from gep.errors import GepError, InputError, ScenarioError
from gep.numbers import MAX_EXPONENT, json_decimal, json_int, parse_decimal

#: Range of a TOML integer: 64 bits, signed (TOML 1.0: larger integers must be refused).
TOML_INT = (-(2**63), 2**63 - 1)


def package_data(*parts: str) -> Path:
    """A file or folder shipped inside the gep package (``gep/data/...``), found through :mod:`importlib.resources`.

    Works in a source checkout, an editable install and a regular (wheel) install alike.
    """
    from importlib.resources import files

    return Path(str(files("gep").joinpath("data", *parts)))


def sha256_file(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_files(paths: Iterable[str | Path]) -> list[str]:
    """SHA-256 hex digests of files' bytes, in the order given, several files at once (one a core:
    hashlib hashes without the GIL; a run's inputs and outputs are up to gigabytes, ~1 s a GB a core here)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    paths = list(paths)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)  # gep.io may not import gep.execution
    if len(paths) < 2 or cores < 2:
        return [sha256_file(p) for p in paths]
    with ThreadPoolExecutor(min(cores, len(paths))) as pool:
        return list(pool.map(sha256_file, paths))


def _toml_float(text: str) -> float:
    """A TOML float read with bounds (:mod:`gep.numbers`): ``1e99999999`` is refused, not read as infinity."""
    if text.lstrip("+-") in ("inf", "nan"):
        return float(text)
    return float(parse_decimal(text.replace("_", ""), "number"))  # underscores between digits: checked by tomllib


def _big_integer(doc: Any, key: str = "") -> str | None:
    """The key of the first integer of ``doc`` outside :data:`TOML_INT`, or None."""
    if isinstance(doc, dict):
        items = ((f"{key}.{k}" if key else str(k), v) for k, v in doc.items())
    elif isinstance(doc, list):
        items = ((f"{key}[{i}]", v) for i, v in enumerate(doc))
    else:
        return key if isinstance(doc, int) and not isinstance(doc, bool) and not TOML_INT[0] <= doc <= TOML_INT[1] else None
    for k, v in items:
        found = _big_integer(v, k)
        if found is not None:
            return found
    return None


def read_toml(path: str | Path, what: str = "file") -> dict:
    """Parse a TOML file; a syntax error names the file, line and column.

    Numbers are bounded: a float beyond 1e±40 (or with more than 40 significant digits)
    and an integer beyond 64 bits are refused naming the file (and the key, for an
    integer), so a hostile file costs no time and no number overflows later.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} not found: {path}", hint="check the path")
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh, parse_float=_toml_float)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"malformed TOML in {path}: {exc}", hint="fix the TOML syntax at the line shown") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path} is not UTF-8 text", hint="save the file as UTF-8") from exc
    except GepError as exc:
        raise InputError(f"{path}: {exc.message}", hint=f"numbers range over 1e-{MAX_EXPONENT} .. 1e{MAX_EXPONENT}") from None
    except ValueError as exc:  # an integer of more digits than Python converts (sys.int_info.default_max_str_digits)
        raise InputError(f"{path}: an integer is too long to read ({str(exc).split(';')[0]})", hint="TOML integers are 64-bit: at most 19 digits") from None
    key = _big_integer(doc)
    if key is not None:
        raise InputError(f"{path}: {key} is an integer beyond 64 bits", hint="TOML integers are 64-bit: at most 19 digits")
    return doc


#: A surrogate code point, raw or as a JSON escape (``\\ud800``), or a NUL escaped (``\\u0000``): only then are a
#: document's strings checked (:func:`_not_text`).
_SUSPECT = re.compile(r"[\ud800-\udfff]|\\u[dD][89a-fA-F]|\\u0000")


def loads_checked(text: str, what: str, hint: str, **hooks: Any) -> Any:
    """:func:`json.loads` with the errors of a hostile file as :class:`InputError` naming ``what``.

    Besides JSON syntax, refuses nesting deeper than Python's recursion limit
    (``[[[[...`` 100,000 deep), lone surrogates (``"\\ud800"``: JSON may
    escape them, but they are not Unicode text and cannot be written as UTF-8) and NUL
    characters (``"\\u0000"``: no identifier or text holds one, and PostgreSQL refuses them).
    """
    try:
        doc = json.loads(text, **hooks)
    except GepError as exc:  # a number out of bounds (the parse hooks of parse_json)
        raise InputError(f"{what}: {exc.message}", hint=exc.hint) from exc
    except RecursionError:
        raise InputError(f"{what} is nested too deeply to read", hint=hint) from None
    except ValueError as exc:  # JSON syntax, or an integer beyond Python's digit limit
        raise InputError(f"{what} is not JSON: {exc}", hint=hint) from exc
    refuse_non_text(doc, text, what)
    return doc


def refuse_non_text(doc: Any, text: str, what: str) -> None:
    """Raise :class:`InputError` naming where in ``doc`` (parsed from the JSON ``text``) a string holds a lone surrogate
    or a NUL character (:func:`loads_checked`)."""
    if _SUSPECT.search(text):
        bad = _not_text(doc)
        if bad is not None:
            where, why = bad
            raise InputError(f"{what}: {where} holds {why}, which is not text",
                             hint="write the text as UTF-8 without NUL characters (a character beyond U+FFFF escaped as both halves of its pair)")


def _not_text(doc: Any) -> tuple[str, str] | None:
    """Where (``[2].memo``) the first string of ``doc`` holding a lone surrogate or a NUL is, and which; or None.

    Walks with an explicit stack: a document Python parsed may still be too deep to recurse over.
    """
    stack: list[tuple[str, Any]] = [("", doc)]
    while stack:
        where, v = stack.pop()
        if isinstance(v, dict):
            for k, item in v.items():
                stack.append((f"a key of {where or 'the document'}", k))
                stack.append((f"{where}.{k}" if where else str(k), item))
        elif isinstance(v, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(v))
        elif isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return where or "the document", "a lone surrogate (an unpaired \\ud800-\\udfff)"
            if "\0" in v:
                return where or "the document", "a NUL character (\\u0000)"
    return None


def parse_json(text: str, what: str) -> Any:
    """Parse JSON text; numbers bounded (:mod:`gep.numbers`), non-integers read as exact Decimals.

    Raises :class:`InputError` naming ``what`` for bad syntax, a number out of
    bounds, nesting too deep to read or a lone surrogate (see :func:`loads_checked`).
    """
    return loads_checked(text, what, "fix the JSON syntax", parse_int=json_int, parse_float=json_decimal, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def read_json_object(path: str | Path, what: str, hint: str, default_name: str = "manifest.json") -> tuple[dict, bytes, Path]:
    """A JSON object from a file (a folder: its ``default_name``): the document, its bytes and the file's path.

    Raises :class:`InputError` naming ``what`` when the file is missing, not
    UTF-8 JSON or not an object (``hint``: what to give instead).
    """
    p = Path(path)
    if p.is_dir():
        p = p / default_name
    if not p.is_file():
        raise InputError(f"{what} not found: {p}", hint=hint)
    data = p.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} {p} is not UTF-8 text: {exc}", hint=hint) from exc
    doc = loads_checked(text, f"{what} {p}", hint)
    if not isinstance(doc, dict):
        raise InputError(f"{what} {p} is not a JSON object", hint=hint)
    return doc, data, p
