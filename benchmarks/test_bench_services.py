"""Throughput benchmarks (pytest-benchmark): each grid service and the whole account, side by
side with the memory-bound baseline on the same cells.

Run: ``pytest benchmarks/test_bench_services.py --benchmark-only`` (not part of the test
suite's pass/fail). Each benchmark records ``cells`` and, in ``extra_info``, the baseline
time and the ratio to it.
"""

from __future__ import annotations

import time

import pytest

from benchmarks.scale import GRID_SERVICES, carbon_stock, tables
from benchmarks.synthetic import baseline, region
from gep.accounting import catalogue
from gep.jobs.inputs import coefficient_set
from gep.accounting.compute import account_landscape, compute_services

SIZES = [10**6, 10**7]


@pytest.fixture(scope="module")
def coef():
    return coefficient_set("cn-2022")


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n:.0e}cells")
def landscape(request, coef):
    ls = region(request.param, 100, coef=coef)
    ls.tables.update(tables(100))
    return ls


def _baseline_seconds(ls, rounds=5):
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        baseline(ls)
        best = min(best, time.perf_counter() - t0)
    return best


def _record(benchmark, ls):
    cells = ls.grid.sizes["y"] * ls.grid.sizes["x"]
    base = _baseline_seconds(ls)
    benchmark.extra_info.update(cells=cells, baseline_s=base)
    return cells, base


def _finish(benchmark, cells, base):
    mean = benchmark.stats.stats.mean
    benchmark.extra_info.update(cells_per_second=cells / mean, ratio_to_baseline=mean / base)


def _uncached(ls):
    """Drop what a landscape caches (group keys, zone × class areas), so
    every round pays for it as a single run does."""
    ls.derived.keys.clear()
    ls.derived.class_area = None
    return (), {}


def test_baseline_bincount(benchmark, landscape):
    cells, base = _record(benchmark, landscape)
    benchmark(baseline, landscape)
    _finish(benchmark, cells, base)


def test_carbon_stock_lut(benchmark, landscape, coef):
    cells, base = _record(benchmark, landscape)
    benchmark.pedantic(lambda: carbon_stock(landscape, coef), setup=lambda: _uncached(landscape), rounds=5, iterations=1)
    _finish(benchmark, cells, base)


@pytest.mark.parametrize("service", GRID_SERVICES)
def test_service(benchmark, landscape, coef, service):
    cells, base = _record(benchmark, landscape)
    s = catalogue.BY_ID[service]
    method = "nep_rh" if service == "carbon_sequestration" else s.default_method
    switches = dict(coef.profile["switches"])
    methods = {"carbon_sequestration": "nep_rh", service: method}  # oxygen by nep computes carbon first
    benchmark.pedantic(lambda: compute_services(landscape, coef, [service], methods, switches), setup=lambda: _uncached(landscape), rounds=3, iterations=1)
    _finish(benchmark, cells, base)


def test_whole_account_100_zones(benchmark, landscape, coef):
    cells, base = _record(benchmark, landscape)
    enabled = [s.id for s in catalogue.CATALOGUE]
    methods = {s: catalogue.BY_ID[s].default_method for s in enabled}
    methods["carbon_sequestration"] = "nep_rh"
    switches = dict(coef.profile["switches"])
    benchmark.pedantic(lambda: account_landscape(landscape, coef, enabled, methods, switches), setup=lambda: _uncached(landscape), rounds=2, iterations=1)
    _finish(benchmark, cells, base)
