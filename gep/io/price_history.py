"""Price history files (a credit's transfer prices): CSV, or the JSON price list of ``gep ledger prices``."""

from __future__ import annotations

import io
from pathlib import Path

from gep.errors import InputError
from gep.io.files import parse_json


def read_price_history(path: Path, where: str) -> list[dict]:
    """The records of a price history file: CSV, or the JSON price list of ``gep ledger prices``.

    Columns (CSV) or keys (JSON list of objects): ``time`` (or ``date``; ISO 8601),
    ``price_cny_per_unit`` (or ``price``) [CNY per unit], optional ``amount``
    (traded amount). The records are returned as read (CSV cells as text, JSON numbers
    bounded by :mod:`gep.numbers`); their dates and numbers are interpreted by
    :func:`gep.finance.revenue_file.price_rows`.

    Returns
    -------
    list of dict
    """

    if path.suffix.lower() == ".json":
        try:
            rows = parse_json(path.read_text(encoding="utf-8-sig"), path.name)  # numbers bounded, decimals exact
        except UnicodeDecodeError as exc:
            raise InputError(f"{path.name} is not UTF-8 text: {exc}", hint="give the JSON price list of `gep ledger prices`",
                             where=where) from None
        except InputError as exc:
            raise InputError(exc.message, hint="give the JSON price list of `gep ledger prices`", where=where) from None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise InputError(f"{path.name} is not a list of price records", hint="give the JSON price list of "
                             "`gep ledger prices INSTRUMENT`", where=where)
    else:
        import pandas as pd

        try:
            text = path.read_text(encoding="utf-8-sig")
            body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
            df = pd.read_csv(io.StringIO(body), skipinitialspace=True, dtype=str)  # numbers read with bounds later
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"cannot read price history {path.name}: {exc}".rstrip(),
                             hint="save it as UTF-8 CSV with a header row (# lines are comments)", where=where) from None
        df.columns = [str(c).strip() for c in df.columns]
        if not ({"time", "date"} & set(df.columns)) or not ({"price_cny_per_unit", "price"} & set(df.columns)):
            raise InputError(f"price history {path.name} needs columns time (or date) and price_cny_per_unit",
                             hint="header e.g. time,price_cny_per_unit,amount", where=where)
        rows = df.to_dict(orient="records")
    return rows


