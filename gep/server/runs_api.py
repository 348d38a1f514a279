"""HTTP API over recorded runs: ``/api/v1/runs/...`` (GEP tables, comparisons, maps, credits)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from gep.server.auth import Forbidden, Unauthorised

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/runs", tags=["runs"])


def _catalogue(request: Request):
    ctx = request.app.state.ctx
    if ctx.config.runs_access == "readers":
        reader = request.state.reader
        if reader is None:
            raise Unauthorised("recorded runs are not public here: sign the read", hint="send an Authorization: GEP-Ed25519 header (docs/platform.md)")
        if not (reader.key in ctx.config.readers or (ctx.pool is not None and reader.key == ctx.pool.registry)):
            raise Forbidden(f"key {reader.key[:16]}… is not among access.readers")
    return ctx.runs


def _cached(data, max_age: int = 60) -> JSONResponse:
    return JSONResponse(data, headers={"Cache-Control": f"public, max-age={max_age}"})


@router.get("", summary="Recorded runs: GEP accounts, series, comparisons, basin capacity")
def runs(request: Request) -> list[dict]:
    return [r.describe() for r in _catalogue(request).runs()]


@router.get("/{run_id:path}/gep", summary="GEP by year × zone × service (sum over ecosystem types) [CNY]")
def gep(request: Request, run_id: str) -> JSONResponse:
    """Rows ``{year, zone, service, value_cny, value_cny_comparable, quantity}``; ``services`` give each quantity's unit."""
    cat = _catalogue(request)
    return _cached(cat.gep(cat.get(run_id)))


@router.get("/{run_id:path}/zones", summary="Zone outlines with their GEP (or ΔGEP) as GeoJSON")
def zones(request: Request, run_id: str, crs: str = Query("wgs84", pattern="^(wgs84|native)$",
                                                          description="wgs84: RFC 7946 lon/lat; native: the run's grid CRS (to draw under the cell maps).")) -> JSONResponse:
    cat = _catalogue(request)
    doc = cat.zones(cat.get(run_id), native=crs == "native")
    return JSONResponse(doc, media_type="application/geo+json", headers={"Cache-Control": "public, max-age=60"})


@router.get("/{run_id:path}/comparison", summary="Scenario comparison: totals, ΔGEP by zone and by service")
def comparison(request: Request, run_id: str) -> JSONResponse:
    cat = _catalogue(request)
    return _cached(cat.comparison(cat.get(run_id)))


@router.get("/{run_id:path}/credits", summary="Basin capacity and issuable credits per catchment × pollutant")
def credits(request: Request, run_id: str) -> JSONResponse:
    cat = _catalogue(request)
    return _cached(cat.credits(cat.get(run_id)))


@router.get("/{run_id:path}/maps", summary="Per-cell maps of a run")
def maps(request: Request, run_id: str) -> list[str]:
    cat = _catalogue(request)
    return cat.map_variables(cat.get(run_id))


@router.get("/{run_id:path}/maps/{variable}.png", summary="A per-cell map as PNG (north up, the run's grid)",
            response_class=Response, responses={200: {"content": {"image/png": {}}}})
def map_png(request: Request, run_id: str, variable: str) -> Response:
    cat = _catalogue(request)
    return Response(cat.map_png(cat.get(run_id), variable), media_type="image/png", headers={"Cache-Control": "public, max-age=300"})


@router.get("/{run_id:path}/manifest", summary="The run's manifest.json (provenance: inputs, coefficients, hashes)")
def manifest(request: Request, run_id: str) -> dict:
    return _catalogue(request).get(run_id).manifest
