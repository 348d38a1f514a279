"""Web pages: the GEP dashboard, capacity credits, the registry explorer, account pages.

Server-rendered with Jinja2; each page embeds the data of its first view as JSON
(``<script type="application/json">``, never executed) so that it draws without a
second round trip, and a small ES module in ``static/`` does the rest in the
browser: maps and charts as SVG, certificate checks and request signing with
WebCrypto (SHA-256, Ed25519). The private key never leaves the browser.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from gep.errors import GepError
from gep.server import i18n
from gep.server.runs import NotFound

__all__ = ["router", "templates", "render"]

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)

NAV = (("dashboard", "/"), ("credits", "/credits"), ("market", "/market"), ("registry", "/registry"), ("account", "/account"), ("api", "/api"))


def _json(obj) -> str:
    """JSON safe inside a ``<script type="application/json">`` element."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render(request: Request, name: str, page: str, lang: str, data: dict | None = None, status: int = 200, **extra) -> HTMLResponse:
    """Render template ``name`` with the translation table of ``lang`` and the page's first-view data."""
    lang = i18n.language(lang)
    strings = i18n.table(lang)
    other = [code for code in i18n.LANGUAGES if code != lang][0]
    query = dict(request.query_params)
    query["lang"] = other
    switch = request.url.path + "?" + urlencode(query)
    ctx = {"request": request, "t": lambda k: strings.get(k, k), "lang": lang, "page": page, "nav": NAV, "switch": switch,
           "i18n_json": _json(strings), "data_json": _json(data or {}), "q": f"?lang={lang}" if lang != i18n.LANGUAGES[0] else "", **extra}
    return templates.TemplateResponse(request, name, ctx, status_code=status)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, run: str | None = None, lang: str | None = Query(None)) -> HTMLResponse:
    """GEP dashboard of a run, series or comparison (default: the newest account or series)."""
    from gep.server.runs_api import _catalogue

    cat = _catalogue(request)
    runs = [r for r in cat.runs() if r.kind in ("gep run", "gep series", "gep compare")]
    data: dict = {"runs": [r.describe() for r in runs]}
    chosen = None
    if run:
        chosen = cat.get(run)
    elif runs:
        chosen = next((r for r in runs if r.kind in ("gep series", "gep run") and "/" not in r.id), runs[0])
    if chosen is not None:
        data["run"] = chosen.describe()
        data["zones"] = cat.zones(chosen, native=True)
        if chosen.kind == "gep compare":
            data["comparison"] = cat.comparison(chosen)
            data["maps"] = ["delta_gep_value"]
        else:
            data["gep"] = cat.gep(chosen)
            data["maps"] = cat.map_variables(chosen)
    return render(request, "dashboard.html", "dashboard", lang, data)


@router.get("/credits", response_class=HTMLResponse)
def credits_page(request: Request, run: str | None = None, lang: str | None = Query(None)) -> HTMLResponse:
    """Water-ecological capacity and issuable credits of basin runs."""
    from gep.server.runs_api import _catalogue

    cat = _catalogue(request)
    runs = [r for r in cat.runs() if r.kind == "gep capacity basin"]
    chosen = cat.get(run) if run else (runs[0] if runs else None)
    data = {"runs": [r.describe() for r in runs], "run": chosen.describe() if chosen else None,
            "credits": cat.credits(chosen) if chosen else None}
    return render(request, "credits.html", "credits", lang, data)


@router.get("/registry", response_class=HTMLResponse)
def registry_page(request: Request, lang: str | None = Query(None)) -> HTMLResponse:
    """Registry explorer: tree head, instruments, transactions, certificates verified in the page."""
    ctx = request.app.state.ctx
    return render(request, "registry.html", "registry", lang, {"ledger": ctx.pool.info() if ctx.pool is not None else None, "access": ctx.config.ledger_access})


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, lang: str | None = Query(None)) -> HTMLResponse:
    """Account page: import a key, see balances and history, sign transfers and retirements."""
    ctx = request.app.state.ctx
    info = ctx.pool.info() if ctx.pool is not None else None
    return render(request, "account.html", "account", lang, {"ledger": info, "access": ctx.config.ledger_access})


@router.get("/market", response_class=HTMLResponse)
def market_page(request: Request, lang: str | None = Query(None)) -> HTMLResponse:
    """The market: listings, order entry (bids, sealed bids, settlement signed in the browser), trades, prices, statements."""
    ctx = request.app.state.ctx
    return render(request, "market.html", "market", lang, {"ledger": ctx.pool.info() if ctx.pool is not None else None, "access": ctx.config.ledger_access})


@router.get("/api", response_class=HTMLResponse)
def api_page(request: Request, lang: str | None = Query(None)) -> HTMLResponse:
    """The HTTP API: every endpoint of the OpenAPI document (rendered here, no external assets)."""
    spec = request.app.openapi()
    ops = [{"method": m.upper(), "path": p, "summary": op.get("summary", ""), "tag": (op.get("tags") or [""])[0]}
           for p, item in spec["paths"].items() for m, op in item.items()]
    return render(request, "api.html", "api", lang, None, ops=ops)


def error_page(request: Request, exc: GepError, status: int) -> HTMLResponse:
    """An error as a page (for browsers) in the page's language."""
    return render(request, "error.html", "", request.query_params.get("lang"), None, status=status, error=exc.line(),
                  kind=type(exc).__name__ if not isinstance(exc, NotFound) else "404")
