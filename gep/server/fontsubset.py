"""Build ``static/fonts/gep-cjk.woff2``: the Chinese characters the platform shows, from Noto Sans CJK SC.

The pages must render Chinese on a machine without a CJK font, so the server
ships a font — a subset, to stay small: every character of the translation table
(:mod:`gep.server.i18n`, which holds the catalogue's service names), of the shipped
scenario data (town names) and of any run folders given, plus ASCII and CJK
punctuation. A deployment whose runs name other places adds them::

    pip install fonttools brotli                  # fonttools comes with matplotlib
    apt-get install fonts-noto-cjk                # the source font (Debian package)
    python -m gep.server.fontsubset --runs runs/  # rewrites gep/server/static/fonts/gep-cjk.woff2

Characters outside the subset fall back to the system's CJK fonts (the CSS lists
them after GepCJK).

License: Noto Sans CJK is under the SIL Open Font License 1.1, which allows
subsetting and redistribution with the license (``static/fonts/LICENSE-OFL.txt``);
the subset keeps the original name table, as the OFL asks of a font without
Reserved Font Names.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

__all__ = ["characters", "build"]

HERE = Path(__file__).parent
OUT = HERE / "static" / "fonts" / "gep-cjk.woff2"
SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
_CJK = re.compile(r"[\u2000-\u206f\u2190-\u21ff\u2200-\u22ff\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄✔✘×·]")


def characters(roots: list[Path]) -> str:
    """The characters to keep: ASCII, the translation table, and every CJK character in the files under ``roots``."""
    from gep.server.i18n import TABLE

    chars = {chr(c) for c in range(0x20, 0x7F)}
    text = "".join(zh + en for zh, en in TABLE.values())
    for root in roots:
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.suffix in (".csv", ".toml", ".json") and p.stat().st_size < 5_000_000]
        for p in files:
            text += p.read_text(encoding="utf-8", errors="ignore")
    chars |= set(_CJK.findall(text)) | set("，。：；、（）《》“”！？—…‖→")
    return "".join(sorted(chars))


def build(source: Path, out: Path, text: str) -> int:
    """Write the WOFF2 subset of the Simplified Chinese face of ``source`` holding ``text``; its size [bytes]."""
    from fontTools import subset
    from fontTools.ttLib import TTCollection, TTFont

    if source.suffix == ".ttc":
        faces = TTCollection(str(source)).fonts
        index = next(i for i, f in enumerate(faces) if f["name"].getDebugName(1) == "Noto Sans CJK SC")
        font = TTFont(str(source), fontNumber=index)
    else:
        font = TTFont(str(source))
    opts = subset.Options()
    opts.flavor = "woff2"
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.notdef_outline = True
    opts.hinting = False
    opts.layout_features = ["kern", "liga", "locl", "vert", "palt", "halt"]
    sub = subset.Subsetter(opts)
    sub.populate(text=text)
    sub.subset(font)
    font.flavor = "woff2"
    out.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(out))
    return out.stat().st_size


def main(argv: list[str] | None = None) -> None:
    repo = HERE.parent.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=SOURCE, help=f"Noto Sans CJK font (default {SOURCE})")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--runs", type=Path, action="append", default=[], help="also keep the characters of these run folders")
    args = ap.parse_args(argv)
    text = characters([repo / "scenarios"] + args.runs)
    size = build(args.source, args.out, text)
    print(f"{args.out}: {len(text)} characters, {size:,} bytes")


if __name__ == "__main__":
    main()
