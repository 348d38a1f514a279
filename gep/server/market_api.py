"""HTTP API over the market on the ledger: ``/api/v1/market/...`` (docs/market.md, docs/platform.md).

Reads only: listings and what anyone may see of their bids (a sealed bid stays a
commitment until it is revealed), settled trades, the market index (VWAP, volume and
open/high/low/close per period), defined rights, the trading-ratio table, an account's
statement. Every market operation (a listing, a bid, a sealed commitment and its
reveal, a settlement) is a signed ledger request written through
``POST /api/v1/ledger/requests``, exactly like a transfer: the server adds no write of
its own. Market data is public unless ``access.ledger`` is ``readers``; a statement is
its account owner's (and the readers').
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from gep.ledger.errors import InvalidRequest
from gep.server.ledger_api import MAX_SEQ, _check_read, _ctx, _or_404, _owner_of

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/market", tags=["market"])
STATUSES = ("open", "settled", "cancelled")


def _market_read(request: Request) -> None:
    """Market data is public except on a ledger whose reads are for the configured readers only."""
    if _ctx(request).config.ledger_access == "readers":
        _check_read(request)


def _market(led):
    from gep.ledger.market import Market

    return Market(led)


@router.get("/listings", summary="Listings (挂牌): terms, state, quantity left, by the ledger's clock")
def listings(request: Request, status: str | None = Query(None, description="open, settled or cancelled."),
             instrument: str | None = None, account: str | None = None) -> list[dict]:
    _market_read(request)
    if status is not None and status not in STATUSES:
        raise InvalidRequest(f"listing status {status!r}", hint=f"one of {', '.join(STATUSES)}")
    with _ctx(request).pool.ledger() as led:
        return _market(led).listings(status, instrument, account)


@router.get("/listings/{listing}", summary="One listing: terms, phase, bids as its rules allow (sealed bids as commitments until revealed)")
def listing(request: Request, listing: int = Path(..., ge=1, le=MAX_SEQ)) -> dict:
    _market_read(request)
    with _ctx(request).pool.ledger() as led:
        view = _or_404(_market(led).book, listing, led.clock())
        view["now"] = led.clock()
        return view


@router.get("/trades", summary="Settled trades: seller, buyer, quantity, price, payment (fen), trading ratio, transaction")
def trades(request: Request, instrument: str | None = None, account: str | None = None, listing: int | None = Query(None, ge=1, le=MAX_SEQ)) -> list[dict]:
    _market_read(request)
    with _ctx(request).pool.ledger() as led:
        return _market(led).trades(instrument, account, listing)


@router.get("/index", summary="Market index of an instrument: VWAP, volume, value and open/high/low/close per period")
def index(request: Request, instrument: str = Query(..., description="Instrument id, e.g. capacity/1/COD/2024."),
          period: str = Query("day", description="day, week, month, quarter or year (Beijing calendar).")) -> list[dict]:
    from gep.ledger.market import PERIODS

    _market_read(request)
    if period not in PERIODS:
        raise InvalidRequest(f"period {period!r}", hint=f"one of {', '.join(PERIODS)}")
    with _ctx(request).pool.ledger() as led:
        return _market(led).index(instrument, period)


@router.get("/instruments", summary="Defined energy-use and emission rights: terms, total allocated, expiry")
def instruments(request: Request) -> list[dict]:
    _market_read(request)
    with _ctx(request).pool.ledger() as led:
        return _market(led).instruments()


@router.get("/ratios", summary="The trading-ratio table in force between zones (null before one is published)")
def ratios(request: Request) -> dict | None:
    _market_read(request)
    with _ctx(request).pool.ledger() as led:
        return _market(led).ratios()


@router.get("/obligations", summary="Compliance obligations with their status (met, short, open) and shortfall, by the ledger's clock")
def obligations(request: Request, account: str | None = None) -> list[dict]:
    """An account's obligations are its owner's (and the readers'); the list of all is the readers' unless the ledger is public."""
    ctx = _ctx(request)
    with ctx.pool.ledger() as led:
        owner = _owner_of(request, led, account) if account else None
        _check_read(request, (lambda: {owner}) if account else None)
        rows = _market(led).obligations(account, led.clock())
    return [{**r, "display": _obligation_display(r)} for r in rows]


def _obligation_display(row: dict) -> dict:
    """An obligation's amounts in its kind's display unit (t/yr, tce, tCO2e), as the page shows them."""
    from gep.ledger.model import Instrument, format_amount

    _, unit, per = Instrument.UNITS[row["kind"]]
    return {k: f"{format_amount(row[k], per)} {unit}" for k in ("amount", "surrendered", "shortfall")}


@router.get("/statements/{account}", summary="Statement of an account for a period: opening and closing balances, every movement, at a signed head")
def statement(request: Request, account: str, start: date = Query(..., alias="from", description="First day (Beijing date)."),
              end: date = Query(..., alias="to", description="Last day (inclusive)."),
              format: str = Query("json", description="json, csv or html.")) -> Response:
    from fastapi.encoders import jsonable_encoder
    from fastapi.responses import JSONResponse

    from gep.io.statements import render_csv, render_html
    from gep.ledger.statements import statement as draw

    if format not in ("json", "csv", "html"):
        raise InvalidRequest(f"statement format {format!r}", hint="json, csv or html (xlsx: `gep ledger statement --out FILE.xlsx`)")
    with _ctx(request).pool.ledger() as led:
        owner = _owner_of(request, led, account)
        _check_read(request, lambda: {owner})
        st = draw(led, account, start, end)
    name = f"statement-{account}-{start}-{end}"
    if format == "csv":
        return Response(render_csv(st.document()), media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if format == "html":
        return Response(render_html(st.document()), media_type="text/html; charset=utf-8", headers={"Content-Disposition": f'inline; filename="{name}.html"'})
    return JSONResponse(jsonable_encoder(st.as_dict()))
