"""HTTP API over the rights ledger: ``/api/v1/ledger/...``.

Reads go through :class:`gep.ledger.ledger.Ledger`'s public methods; writes take
the same signed requests as ``gep ledger batch`` (``{"request": {...},
"signature": "<128 hex>"}``), decided by the same rules in one database
transaction. The server signs no request: it holds only the registry's head key
(``gep serve --head-key``), with which the ledger signs the tree head of each commit.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Callable

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gep.errors import GepError
from gep.ledger.errors import InvalidRequest, LedgerError
from gep.ledger import certificate
from gep.server.auth import Forbidden, Unauthorised
from gep.server.runs import NotFound

__all__ = ["router", "parse_body"]

router = APIRouter(prefix="/api/v1/ledger", tags=["ledger"])


# --------------------------------------------------------------------------- documentation models (OpenAPI)


class SignedRequest(BaseModel):
    """A request signed by its ``signer`` (Ed25519 over ``"gep-ledger/v1 request\\n"`` + canonical request)."""

    request: dict = Field(..., description="The request: v, ledger, id, type, signer and the fields of its type (docs/ledger.md).")
    signature: str = Field(..., description="128 hex digits.", pattern="^[0-9a-f]{128}$")
    evidence: str | None = Field(None, description="Issuance only: id of the run (under --runs) whose manifest the request cites.")


class Batch(BaseModel):
    """Several signed requests recorded in one database transaction."""

    linked: bool = Field(True, description="All succeed or nothing is recorded (delivery versus payment); false: each on its own.")
    items: list[SignedRequest]


# --------------------------------------------------------------------------- helpers


#: Largest sequence number or size a query may name (SQL integers are 64-bit).
MAX_SEQ = 2**63 - 1


def _ctx(request: Request):
    ctx = request.app.state.ctx
    if ctx.pool is None:
        raise NotFound("this server has no ledger", hint="start it with `gep serve --db LEDGER` (a SQLite file or postgresql:// URL)")
    return ctx


def _reader(request: Request):
    return request.state.reader


def _may_read_all(ctx, reader) -> bool:
    return reader is not None and (reader.key == ctx.pool.registry or reader.key in ctx.config.readers)


def _check_read(request: Request, owners: Callable[[], set[str]] | None = None) -> None:
    """Enforce ``access.ledger``: ``owners()`` gives the keys entitled to this resource besides the readers."""
    ctx = _ctx(request)
    mode = ctx.config.ledger_access
    if mode == "public":
        return
    reader = _reader(request)
    if _may_read_all(ctx, reader):
        return
    if mode == "owners" and owners is not None and reader is not None and reader.key in owners():
        return
    if reader is None:
        raise Unauthorised("this ledger is not public: sign the read", hint="send an Authorization: GEP-Ed25519 header (docs/platform.md)")
    raise Forbidden(f"key {reader.key[:16]}… may not read this", hint="an account's owner reads its own account; auditors are listed in access.readers")


def _owner_of(request: Request, led, account: str) -> str:
    """The owner key of ``account``. An account that does not exist is named so only to those who may read every
    account (anyone on a public ledger): the others are refused as for an account not theirs, whether it exists or not."""
    owner = _ctx(request).pool.owner(led, account)
    if owner is None:
        from gep.ledger.errors import UnknownAccount

        _check_read(request)
        raise UnknownAccount(f"account {account!r} does not exist", hint="list accounts with GET /api/v1/ledger/accounts")
    return owner


def _parties(request: Request, led, record: dict) -> set[str]:
    """Keys entitled to a transaction: its signer and the owners of the accounts it touches."""
    req = record["request"]
    touched = {p[0] for p in record.get("effects", {}).get("postings", [])} | {req.get("account")}
    pool = _ctx(request).pool
    return {req.get("signer")} | {pool.owner(led, a) for a in touched if isinstance(a, str) and not a.startswith("sys:")} - {None}


def _entry(row: dict) -> dict:
    """A log row as the API shows it: the record, its description, the amount it moves as text, its leaf hash,
    the root after it, its certificate's URL."""
    from gep.ledger.describe import describe
    from gep.ledger.model import CASH, Instrument

    r = row["record"]["request"]
    certified = r["type"] in certificate.KINDS and (certificate.KINDS[r["type"]] != "trade" or bool(row["record"]["effects"].get("trades")))
    amount = r.get("amount", r.get("quantity", r.get("escrow")))
    ins = r.get("instrument", CASH if r["type"] in ("deposit", "withdraw", "commit") else None)
    return {"seq": row["seq"], "record": row["record"], "description": describe(row["record"]),
            "amount_display": Instrument.parse(ins).display(amount) if isinstance(amount, int) and ins else None,
            "leaf_hash": row["leaf_hash"], "root": row["root"],
            "certificate": f"/api/v1/ledger/transactions/{row['seq']}/certificate" if certified else None}


def parse_body(raw: bytes, limit: int) -> Any:
    """Parse a JSON request body: bounded size, no binary floats, integers bounded on their text (:func:`gep.numbers.json_int`)."""
    from gep.numbers import json_int

    if len(raw) > limit:
        raise TooLarge(f"request body of {len(raw)} bytes is larger than {limit}", hint="send fewer operations per batch")

    def no_float(text: str) -> Any:
        raise InvalidRequest(f"binary float {text[:30]} in a ledger document", hint="amounts are integers of the base unit; prices are decimal strings")

    from gep.errors import InputError
    from gep.io.files import refuse_non_text

    hint = "send {\"request\": {...}, \"signature\": \"<128 hex>\"}"
    try:
        text = raw.decode("utf-8")
        doc = json.loads(text, parse_float=no_float, parse_int=json_int, parse_constant=no_float)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequest(f"request body is not UTF-8 JSON: {exc}", hint=hint) from None
    except RecursionError:
        raise InvalidRequest("request body is nested too deeply to read", hint=hint) from None
    try:
        refuse_non_text(doc, text, "request body")  # a lone surrogate or a NUL: not text, never stored
    except InputError as exc:
        raise InvalidRequest(exc.message, hint=exc.hint) from None
    return doc


async def _json_body(request: Request) -> Any:
    """The body, read no further than ``max_body`` bytes (a larger one is refused before it is read whole)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise UnsupportedMedia(f"content type {ctype or 'none'!r}", hint="send the signed request as application/json")
    limit = request.app.state.ctx.config.max_body
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"request body of {declared} bytes is larger than {limit}", hint="send fewer operations per batch")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"request body larger than {limit} bytes", hint="send fewer operations per batch")
        chunks.append(chunk)
    return parse_body(b"".join(chunks), limit)


class UnsupportedMedia(GepError):
    """A write that is not ``application/json`` (HTTP 415: no form posts, so no cross-site forms)."""


class TooLarge(GepError):
    """A request body larger than ``max_body`` (HTTP 413)."""


def _signed(led, ctx, item: Any, where: str):
    from gep.ledger.ledger import Signed

    if not isinstance(item, dict) or not isinstance(item.get("request"), dict) or not isinstance(item.get("signature"), str):
        raise InvalidRequest(f"{where} must be {{\"request\": {{...}}, \"signature\": \"<128 hex>\"}}")
    extra = set(item) - {"request", "signature", "evidence"}
    if extra:
        raise InvalidRequest(f"{where} has unknown field(s) {', '.join(sorted(extra))}")
    signed = Signed(item["request"], item["signature"])
    if item["request"].get("type") == "issue":
        _registry_signed(led, item["request"], item["signature"], where)  # before the run's files are hashed or replayed
        run = ctx.runs.get(str(item.get("evidence") or ""))
        signed = led.prepare(signed, run.path / "manifest.json")
    return signed


def _registry_signed(led, request: dict, signature: str, where: str) -> None:
    """Refuse at once an issuance not signed by the registry: resolving its evidence hashes every output of the cited
    run and may replay it (seconds of CPU), which nobody else may make the server do (the ledger decides it again)."""
    from gep.ledger import keys
    from gep.ledger.canonical import signing_message
    from gep.ledger.errors import BadSignature, NotAuthorised

    if request.get("signer") != led.registry:
        raise NotAuthorised(f"{where}: only the registry issues", hint="an issuance is signed with the registry key")
    if not keys.verify(led.registry, signing_message(request), signature):
        raise BadSignature(f"{where}: the registry's signature does not verify", hint="sign the request as it is sent, with the registry key")


def _result(res) -> tuple[int, dict]:
    out = res.as_dict()
    if res.seq is not None:
        out["certificate"] = f"/api/v1/ledger/transactions/{res.seq}/certificate"
    if res.status == "created":
        return 201, out
    if res.status == "exists":
        out["error"] = {"type": "Replayed", "message": f"request {res.id!r} was already recorded as transaction {res.seq}; nothing was recorded again",
                        "hint": "a signed request is recorded once: sign a new request (new id) for a new operation"}
        return 409, out
    return 422, out


# --------------------------------------------------------------------------- reads


@router.get("", summary="The ledger: id, registry key, coefficient set, latest tree head")
def info(request: Request) -> dict:
    ctx = _ctx(request)
    with ctx.pool.ledger() as led:
        head, now = led.head(), led.clock()
    return {**ctx.pool.info(), "now": now, "coefficients": ctx.pool.coefficients, "backend": ctx.pool.dialect, "access": ctx.config.ledger_access, "head": head}


@router.get("/head", summary="Latest registry-signed tree head (ledger, tree_size, root_hash, timestamp, key_id, signature)")
def head(request: Request) -> dict:
    """The shape of ``gep ledger head --json``: keep it, and check later heads against it (``/consistency``)."""
    with _ctx(request).pool.ledger() as led:
        return led.head()


@router.get("/accounts", summary="Accounts: id, kind, owner key, opening transaction")
def accounts(request: Request) -> list[dict]:
    _check_read(request)
    with _ctx(request).pool.ledger() as led:
        return led.accounts()


@router.get("/accounts/{account}", summary="One account: owner and balances")
def account(request: Request, account: str) -> dict:
    ctx = _ctx(request)
    with ctx.pool.ledger() as led:
        owner = _owner_of(request, led, account)
        _check_read(request, lambda: {owner})
        rows = led.balances(account)
    from gep.ledger.model import SYSTEM_ACCOUNTS

    return {"id": account, "kind": SYSTEM_ACCOUNTS.get(account, "user"), "owner": owner, "balances": rows}


@router.get("/accounts/{account}/history", summary="Transactions touching an account, newest first (keyset pages)")
def account_history(request: Request, account: str, limit: int = Query(50, ge=1, le=500), before: int | None = Query(None, ge=1, le=MAX_SEQ)) -> dict:
    ctx = _ctx(request)
    with ctx.pool.ledger() as led:
        owner = _owner_of(request, led, account)
        _check_read(request, lambda: {owner})
        rows = led.page(account=account, limit=limit, before=before)
    return _page(rows, limit)


@router.get("/balances", summary="Balances per account and instrument")
def balances(request: Request, account: str | None = None, instrument: str | None = None) -> list[dict]:
    ctx = _ctx(request)
    with ctx.pool.ledger() as led:
        owner = _owner_of(request, led, account) if account else None
        _check_read(request, (lambda: {owner}) if account else None)
        return led.balances(account, instrument)


@router.get("/instruments", summary="Instruments: issued, held, retired, cancelled and buffered amounts")
def instruments(request: Request) -> list[dict]:
    from gep.ledger.model import BUFFER, CANCELLATION, ISSUANCE, RETIREMENT, Instrument

    with _ctx(request).pool.ledger() as led:
        rows = led.balances(include_zero=True)
    out: dict[str, dict] = {}
    for r in rows:
        ins = Instrument.parse(r["instrument"])
        d = out.setdefault(ins.id, {"instrument": ins.id, "kind": ins.kind, "vintage": ins.vintage, **dict(ins.fields),
                                    "base_unit": ins.base_unit, "display_unit": ins.display_unit,
                                    "issued": 0, "held": 0, "retired": 0, "cancelled": 0, "buffer": 0})
        slot = {ISSUANCE: "issued", RETIREMENT: "retired", CANCELLATION: "cancelled", BUFFER: "buffer"}.get(r["account"], "held")
        d[slot] += -r["amount"] if slot == "issued" else r["amount"]
    for d in out.values():
        ins = Instrument.parse(d["instrument"])
        d["display"] = {k: ins.display(d[k]) for k in ("issued", "held", "retired", "cancelled", "buffer")}
    return sorted(out.values(), key=lambda d: d["instrument"])


@router.get("/prices", summary="Price history of an instrument (priced transfers)")
def prices(request: Request, instrument: str = Query(..., description="Instrument id, e.g. capacity/3/COD/2024.")) -> list[dict]:
    _check_read(request)
    with _ctx(request).pool.ledger() as led:
        return led.prices(instrument)


@router.get("/amounts", summary="Parse an amount and a price for an instrument (what a form will sign)")
def amounts(instrument: str, amount: str = Query(..., max_length=64), price: str | None = Query(None, max_length=64)) -> dict:
    """``amount`` as an integer of base units (and as text, exact beyond 2^53), ``price`` in normal form.

    The browser signs the integer, not the text the user typed, and shows both first.
    """
    from gep.ledger.model import Instrument, parse_amount, parse_price

    ins = Instrument.parse(instrument)
    base = parse_amount(amount, ins)
    out = {"instrument": ins.id, "amount": base, "amount_text": str(base), "display": ins.display(base), "base_unit": ins.base_unit}
    if price:
        p = parse_price(price, ins)
        out.update(price=str(p), price_unit=f"CNY/({ins.display_unit})",
                   notional_cny=format((Decimal(p) * Decimal(base) / Decimal(ins.per_display)).normalize(), "f"))
    return out


@router.get("/transactions", summary="The log, newest first (keyset pages: pass the last page's next_before)")
def transactions(request: Request, limit: int = Query(50, ge=1, le=500), before: int | None = Query(None, ge=1, le=MAX_SEQ),
                 account: str | None = None, instrument: str | None = None) -> dict:
    ctx = _ctx(request)
    with ctx.pool.ledger() as led:
        owner = _owner_of(request, led, account) if account else None
        _check_read(request, (lambda: {owner}) if account else None)
        rows = led.page(account=account, instrument=instrument, limit=limit, before=before)
    return _page(rows, limit)


def _page(rows: list[dict], limit: int) -> dict:
    return {"items": [_entry(r) for r in rows], "next_before": rows[-1]["seq"] if len(rows) == limit and rows[-1]["seq"] > 1 else None}


@router.get("/transactions/{seq}", summary="One transaction: record, leaf hash, root after it")
def transaction(request: Request, seq: int) -> dict:
    with _ctx(request).pool.ledger() as led:
        row = _find(led, seq)
        _check_read(request, lambda: _parties(request, led, row["record"]))
    return {**_entry(row), "record_text": _text(row["record"])}


@router.get("/requests/{signer}/{request_id:path}", summary="The transaction of a signer's request id")
def by_request_id(request: Request, signer: str, request_id: str) -> dict:
    """Request ids are looked up with their signer: an id is never revealed to anyone who did not sign it. On a
    ledger that is not public only the signer and the readers of everything may look one up, and whether the id
    was used is decided after that (everyone else gets the same refusal for every id)."""
    ctx = _ctx(request)
    reader = _reader(request)
    if reader is None or reader.key != signer:
        _check_read(request)  # readers of everything (anyone on a public ledger) pass; the others are refused, whatever the id
    with ctx.pool.ledger() as led:
        try:
            row = led.find(request_id, signer=signer)
        except InvalidRequest:
            row = None
        if row is None or row["record"]["request"].get("id") != request_id or row["record"]["request"].get("signer") != signer:
            raise NotFound(f"no request {request_id!r} signed by {signer[:16]}…")
    return {**_entry(row), "record_text": _text(row["record"])}


@router.get("/transactions/{seq}/proof", summary="RFC 6962 inclusion proof of a transaction")
def proof(request: Request, seq: int, size: int | None = Query(None, ge=1, le=MAX_SEQ, description="Tree size (default: the latest).")) -> dict:
    """Hashes only: public whatever the access mode (a proof reveals no record)."""
    with _ctx(request).pool.ledger() as led:
        return _or_404(led.inclusion, seq, size)


@router.get("/consistency", summary="RFC 6962 consistency proof: an earlier tree is a prefix of a later one")
def consistency(request: Request, first: int = Query(..., ge=0, le=MAX_SEQ, description="Size of the earlier tree (a head you kept)."),
                second: int | None = Query(None, ge=0, le=MAX_SEQ, description="Size of the later tree (default: the latest).")) -> dict:
    """Hashes only: public whatever the access mode. Check it against the root of the head you kept
    (``gep.ledger.merkle.verify_consistency``; the registry page does it in the browser)."""
    with _ctx(request).pool.ledger() as led:
        return _or_404(led.consistency, first, second)


@router.get("/transactions/{seq}/certificate", summary="Certificate: the transaction, its inclusion proof and the tree head")
def certificate_of(request: Request, seq: int) -> JSONResponse:
    """At the latest signed head; verifiable offline (``gep ledger certificate verify FILE --registry KEY``, or the registry page)."""
    with _ctx(request).pool.ledger() as led:
        row = _find(led, seq)
        _check_read(request, lambda: _parties(request, led, row["record"]))
        cert = _or_404(certificate.issue, led, seq)
    return JSONResponse(cert, headers={"Content-Disposition": f'inline; filename="certificate-{seq}.json"'})


def _or_404(fn: Callable, *args: Any) -> Any:
    """``fn(*args)``, a size or sequence number the log does not hold answering 404."""
    try:
        return fn(*args)
    except InvalidRequest as exc:
        raise NotFound(exc.message, hint=exc.hint) from None


def _find(led, seq: int) -> dict:
    if seq < 1 or seq > led.head()["tree_size"]:
        raise NotFound(f"no transaction {seq}", hint="sequence numbers run from 1 to the tree size (GET /api/v1/ledger/head)")
    return led.at(seq)


def _text(record: dict) -> str:
    from gep.ledger.canonical import canonical

    return canonical(record).decode("utf-8")


# --------------------------------------------------------------------------- writes


_BODY_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": SignedRequest.model_json_schema()}}}}
_BATCH_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": Batch.model_json_schema()}}}}


@router.post("/requests", summary="Record one signed request", status_code=201, openapi_extra=_BODY_DOC,
             responses={201: {"description": "recorded"}, 409: {"description": "replayed: already recorded (nothing recorded again) or id conflict"},
                        401: {"description": "bad signature"}, 403: {"description": "not the owner / not the registry"},
                        422: {"description": "refused by the ledger's rules"}, 429: {"description": "rate limited"}})
async def submit(request: Request) -> JSONResponse:
    """The body is a signed request as in a ``gep ledger batch`` file: ``{"request", "signature"}`` (plus ``evidence``: a run id, for an issuance)."""
    from starlette.concurrency import run_in_threadpool

    body = await _json_body(request)
    ctx = _ctx(request)

    def run() -> tuple[int, dict]:
        with ctx.pool.ledger() as led:
            return _result(led.submit(_signed(led, ctx, body, "the body")))

    status, out = await run_in_threadpool(run)
    return JSONResponse(out, status_code=status)


@router.post("/batches", summary="Record several signed requests in one transaction", openapi_extra=_BATCH_DOC)
async def submit_batch(request: Request) -> JSONResponse:
    """Linked (default): all or nothing, e.g. both legs of a delivery versus payment. Answers 201 when every item was recorded."""
    from starlette.concurrency import run_in_threadpool

    body = await _json_body(request)
    ctx = _ctx(request)
    if not isinstance(body, dict) or not isinstance(body.get("items"), list) or not body["items"] or set(body) - {"items", "linked"}:
        raise InvalidRequest("a batch is {\"linked\": true, \"items\": [{\"request\", \"signature\"}, ...]} with at least one item")
    linked = body.get("linked", True)
    if not isinstance(linked, bool):
        raise InvalidRequest("linked must be true or false")

    def run() -> list:
        with ctx.pool.ledger() as led:
            items = [_signed(led, ctx, it, f"item {k + 1}") for k, it in enumerate(body["items"])]
            return led.submit_many(items, linked=linked)

    results = await run_in_threadpool(run)
    outs = [_result(r) for r in results]
    status = 201 if all(s == 201 for s, _ in outs) else max(s for s, _ in outs)
    return JSONResponse({"linked": linked, "results": [o for _, o in outs]}, status_code=status)


def error_status(exc: GepError, method: str) -> int:
    """HTTP status of a refusal."""
    from gep.ledger import errors as le

    table = [(Unauthorised, 401), (le.BadSignature, 401), (Forbidden, 403), (le.NotAuthorised, 403), (NotFound, 404),
             (UnsupportedMedia, 415), (TooLarge, 413), (le.IdConflict, 409), (le.EvidenceChanged, 409), (le.StorageError, 503)]
    for cls, status in table:
        if isinstance(exc, cls):
            return status
    if isinstance(exc, (le.UnknownAccount, le.UnknownInstrument)) and method == "GET":
        return 404
    if isinstance(exc, LedgerError) and not isinstance(exc, (InvalidRequest, le.InvalidAmount)):
        return 422
    return 400
