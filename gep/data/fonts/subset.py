"""Build ``gep-cjk.otf``: the Chinese characters gep's charts and reports show, from Noto Sans CJK SC.

Charts and ``report.html`` must render Chinese names (services, land-cover classes, towns)
on a machine without a CJK font, so gep ships a font; a subset, to stay small: the 3,755
characters of GB 2312 level 1 (the common hanzi, so most place names of a user's own
zones render too), every CJK character of the service catalogue and of the shipped
coefficient sets and demo data, CJK punctuation, ASCII and a few symbols gep prints
(³ ² ⁸ × – · → ≤ ≥). Characters outside the subset fall back to the system's fonts.
The same approach (and source font) as the web platform's ``gep-cjk.woff2``.

Maintainers, after adding Chinese text::

    pip install fonttools                             # comes with matplotlib
    apt-get download fonts-noto-cjk && dpkg-deb -x fonts-noto-cjk_*.deb noto
    python gep/data/fonts/subset.py --source noto/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

License: Noto Sans CJK is under the SIL Open Font License 1.1, which allows subsetting
and redistribution with the license (``LICENSE-OFL.txt`` beside the font); the subset
keeps the original name table, as the OFL asks of a font without Reserved Font Names.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "gep-cjk.otf"
FAMILY = "Noto Sans CJK SC"
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u3000-\u303f]")
SYMBOLS = "，。：；、（）《》“”‘’！？—…·→←≤≥×–−±°℃²³⁴⁵⁶⁷⁸⁹⁰¹₂元万亿"


def gb2312_level1() -> str:
    """The 3,755 characters of GB 2312 level 1 (rows 16–55), decoded from the standard's byte layout."""
    out = []
    for row in range(16, 56):
        for cell in range(1, 95):
            try:
                out.append(bytes([0xA0 + row, 0xA0 + cell]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return "".join(out)


def characters() -> str:
    """ASCII, GB 2312 level 1, symbols, and every CJK character of the catalogue, the coefficient sets and the demo."""
    from gep.accounting.catalogue import CATALOGUE

    text = "".join(s.name_zh for s in CATALOGUE)
    for root in (HERE.parent / "coefficients", HERE.parent / "demo"):
        for p in root.rglob("*"):
            if p.suffix in (".csv", ".toml", ".md", ".geojson") and p.stat().st_size < 5_000_000:
                text += p.read_text(encoding="utf-8", errors="ignore")
    chars = {chr(c) for c in range(0x20, 0x7F)} | set(gb2312_level1()) | set(SYMBOLS) | set(_CJK.findall(text))
    return "".join(sorted(chars))


def build(source: Path, out: Path, text: str) -> int:
    """Write the OpenType (CFF) subset of the Simplified Chinese face of ``source`` holding ``text``; its size [bytes]."""
    from fontTools import subset
    from fontTools.ttLib import TTCollection, TTFont

    if source.suffix == ".ttc":
        faces = TTCollection(str(source)).fonts
        index = next(i for i, f in enumerate(faces) if f["name"].getDebugName(1) == FAMILY)
        font = TTFont(str(source), fontNumber=index)
    else:
        font = TTFont(str(source))
    opts = subset.Options()
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.notdef_outline = True
    opts.hinting = False
    opts.layout_features = ["kern", "liga", "locl", "palt"]
    sub = subset.Subsetter(opts)
    sub.populate(text=text)
    sub.subset(font)
    font.save(str(out))
    return out.stat().st_size


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, required=True, help="NotoSansCJK-Regular.ttc (Debian fonts-noto-cjk) or NotoSansCJKsc-Regular.otf")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    text = characters()
    size = build(args.source, args.out, text)
    print(f"{args.out}: {len(text)} characters, {size:,} bytes")


if __name__ == "__main__":
    main()
