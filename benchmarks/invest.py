"""gep and InVEST 3.20 side by side: the same files, whole processes, alternately, on this machine.

Usage::

    python benchmarks/invest.py --invest-python /path/to/venv-invest/bin/python \\
        [--sizes 2000 8000] [--models carbon awy] [--rounds 3] [--work /tmp/gep-vs-invest] [--json out.json]

(``--invest-python`` defaults to ``$GEP_INVEST_PYTHON``.) For each grid size the files of
``benchmarks/invest_data.py`` are generated once (outside the timings), then every round
runs, for each model, InVEST (``benchmarks/invest_run.py`` in InVEST's own environment),
``gep run`` and the floor on the same files, each as a fresh process, the order reversed every round
so that drift in the machine's load falls on every side. Each run is timed wall-clock from
launch to exit; its peak memory is the larger of the kernel's high-water mark of the
process (``wait4``) and the sum of the resident memory of the process and its children
polled every 10 ms. The load average is read before and after every run, and the share of
the machine's CPU time the hypervisor gave to other guests during it (steal, ``benchmarks/host.py``:
on a virtual machine the load average does not show it). Output folders
are emptied before each run, outside the timing.

What each side computes and writes (see ``benchmarks/README.md``):

- **carbon**: InVEST's carbon model (no sequestration, no valuation): four pool maps and the
  total stock map (GeoTIFF, t C/ha) and the summary table; ``gep run carbon.toml``: the
  stock per cell [t C] and per zone × ecosystem from the same pool table, carbon
  sequestration by class and its value, the per-cell value map, the account tables, NetCDF
  files, the ``maps/`` COGs (stock, sequestration, its value, GEP per cell), the GEP map, chart,
  report and manifest.
- **awy**: InVEST annual water yield: aligned inputs, Kc, root depth, vegetation, PET,
  fractp, AET and water-yield maps, watershed table and vector; ``gep run awy.toml``:
  Budyko AET and water conservation A·(P − AET) per cell (runoff coefficient set to 0) and
  per zone × ecosystem, its value, the per-cell value map, tables, NetCDF, the ``maps/`` COGs
  (water conservation, water yield, its value, GEP per cell), the GEP map, chart, report, manifest.
- **floor** (both models, ``benchmarks/invest_floor.py``): numpy and rasterio reading the same
  GeoTIFFs and tables and writing one per-cell map (tiled GeoTIFF, DEFLATE level 1; the carbon
  density, or InVEST's water yield in mm) and the zone table, nothing else: about the least the job
  costs here with GDAL, so that InVEST/floor is about the largest ratio a program writing such a map
  could reach on this machine.

After the timed rounds the results are compared (carbon: total stock, the floor's too; water: gep's
per-cell water conservation against InVEST's water yield × cell area on the cells gep accounts, and
the floor's total water yield against InVEST's over every cell it computes), and the memory-bound
baseline (one ``np.bincount`` of a land-cover look-up by zone over the same cells, in memory) is
timed in its own process.

Prints one JSON line per run and a summary table (medians of wall time, of CPU time (user +
system, which a loaded machine inflates less than wall time) and of peak memory; ratios; load); ``--json``
also writes everything to a file for ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.host import cpu_ticks, percent_range, steal_share  # noqa: E402


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def machine() -> dict:
    """CPU, cores, memory and software of this machine."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    mem = next(int(line.split()[1]) * 1024 for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:"))
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / 2**30, 1), "system": platform.platform(), "python": platform.python_version()}


def measure(cmd: list[str], env: dict | None = None) -> dict:
    """Run ``cmd`` as a fresh process: wall seconds, peak memory of the process tree [MiB], exit code, output."""
    import psutil

    import tempfile

    out_f, err_f = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    before, ticks = loadavg(), cpu_ticks()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, env=env)
    peak, done = [0], threading.Event()

    def poll() -> None:
        try:
            p = psutil.Process(proc.pid)
            while not done.is_set():
                try:
                    rss = p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))
                    peak[0] = max(peak[0], rss)
                except psutil.Error:
                    pass
                done.wait(0.01)
        except psutil.Error:
            pass

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    done.set()
    watcher.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    out_f.seek(0)
    err_f.seek(0)
    out, err = out_f.read(), err_f.read()
    return {"seconds": seconds, "peak_mib": max(peak[0], usage.ru_maxrss * 1024) / 2**20, "user_s": usage.ru_utime, "system_s": usage.ru_stime,
            "exit": proc.returncode, "load_before": before, "load_after": loadavg(), "steal": steal_share(ticks, cpu_ticks()), "stdout": out.decode(errors="replace"), "stderr": err.decode(errors="replace")[-2000:]}


def commands(model: str, size_dir: Path, work: Path, invest_python: str) -> dict[str, list[str]]:
    """The command of each side; the last item of each is the folder it writes. ``floor``:
    ``benchmarks/invest_floor.py``, about the least a program can do for the job."""
    gep = shutil.which("gep") or str(Path(sys.executable).with_name("gep"))
    cmds = {
        "invest": [invest_python, str(HERE / "invest_run.py"), model, str(size_dir), str(work / f"invest-{model}")],
        "gep": [gep, "run", str(size_dir / f"{model}.toml"), "--json", "--out", str(work / f"gep-{model}")],
    }
    cmds["floor"] = [sys.executable, str(HERE / "invest_floor.py"), model, str(size_dir), str(work / f"floor-{model}")]
    return cmds


def compare_results(model: str, size_dir: Path, work: Path) -> dict:
    """What the two computed, side by side (outside the timings)."""
    import numpy as np
    import rasterio
    import xarray as xr

    summary = json.loads((work / f"gep-{model}" / "summary.json").read_text(encoding="utf-8"))
    if model == "carbon":
        rows = (work / "invest-carbon" / "raster_values_summary.csv").read_text(encoding="utf-8").splitlines()
        invest = float(rows[1].split(",")[1])
        gep = summary["carbon_stock_tc"]
        floor = floor_total(work, model)
        return {"invest_total_stock_tc": invest, "gep_total_stock_tc": gep, "relative_difference": abs(gep - invest) / invest,
                "floor_total_stock_tc": floor, "floor_relative_difference": abs(floor - invest) / invest}
    with rasterio.open(work / "invest-awy" / "output" / "per_pixel" / "wyield.tif") as src:
        wyield = src.read(1).astype(np.float64)
        nodata = src.nodata
    with xr.open_dataset(work / "gep-awy" / "cells.nc", engine="h5netcdf") as cells:
        gep = cells["water_conservation"].values.astype(np.float64)
        area = cells["cell_area"].values
    accounted = (gep != 0) & (wyield != nodata)
    invest_m3 = wyield * area / 1000.0
    rel = np.abs(gep[accounted] - invest_m3[accounted]) / np.maximum(np.abs(invest_m3[accounted]), 1e-9)
    invest_all = float(invest_m3[wyield != nodata].sum())  # every cell InVEST computes, which the floor's map covers
    floor = floor_total(work, model)
    return {"cells_compared": int(accounted.sum()), "max_relative_difference": float(rel.max()), "gep_sum_m3": float(gep[accounted].sum()),
            "invest_sum_m3": float(invest_m3[accounted].sum()), "invest_all_cells_m3": invest_all, "floor_all_cells_m3": floor,
            "floor_relative_difference": abs(floor - invest_all) / abs(invest_all)}


def floor_total(work: Path, model: str) -> float:
    """The sum of the floor's zone table (``benchmarks/invest_floor.py``): stock [t C] or water yield [m³]."""
    return sum(float(line.split(",")[1]) for line in (work / f"floor-{model}" / "zones.csv").read_text(encoding="utf-8").splitlines()[1:])


BASELINE = """
import sys, time, numpy as np, rasterio
with rasterio.open(sys.argv[1]) as s: lulc = s.read(1)
with rasterio.open(sys.argv[2]) as s: zones = s.read(1)
table = np.arange(256, dtype=np.float64)
t0 = time.perf_counter()
np.bincount(zones.ravel(), weights=table[lulc].ravel(), minlength=256)
print(time.perf_counter() - t0)
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--invest-python", default=os.environ.get("GEP_INVEST_PYTHON"), help="python of InVEST's environment (or $GEP_INVEST_PYTHON)")
    p.add_argument("--sizes", type=int, nargs="+", default=[2000, 8000])
    p.add_argument("--models", nargs="+", default=["carbon", "awy"], choices=["carbon", "awy"])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--work", type=Path, default=Path("/tmp/gep-vs-invest"))
    p.add_argument("--json", type=Path, default=None, help="write every run and the summary here")
    a = p.parse_args()
    if not a.invest_python:
        p.error("give --invest-python or set GEP_INVEST_PYTHON (InVEST 3.20 is built as /work/shared/peers/invest/BUILD.md says)")
    report = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S"), "load_at_start": loadavg(), "runs": [], "checks": {}, "baseline_s": {}}
    for n in a.sizes:
        size_dir = a.work / f"data-{n}"
        if not (size_dir / "awy.toml").is_file():
            subprocess.run([sys.executable, str(HERE / "invest_data.py"), str(size_dir), str(n)], check=True)
        for r in range(a.rounds):
            for model in a.models:
                cmds = commands(model, size_dir, a.work, a.invest_python)
                order = list(cmds) if r % 2 == 0 else list(reversed(cmds))
                for side in order:
                    shutil.rmtree(cmds[side][-1], ignore_errors=True)
                    res = measure(cmds[side])
                    if res["exit"] != 0:
                        raise SystemExit(f"{side} {model} {n} failed ({res['exit']}): {res['stderr']}")
                    if side == "gep":
                        doc = json.loads(res["stdout"])
                        (a.work / f"gep-{model}" / "summary.json").write_text(json.dumps(doc), encoding="utf-8")
                        res["gep_execution"] = doc.get("execution")
                    row = {"size": n, "model": model, "side": side, "round": r + 1, **{k: v for k, v in res.items() if k not in ("stdout", "stderr")}}
                    report["runs"].append(row)
                    print(json.dumps(row), flush=True)
            if r == a.rounds - 1:
                for model in a.models:
                    report["checks"][f"{model}-{n}"] = compare_results(model, size_dir, a.work)
        out = subprocess.run([sys.executable, "-c", BASELINE, str(size_dir / "lulc.tif"), str(size_dir / "zones.tif")], capture_output=True, text=True, check=True)
        report["baseline_s"][str(n)] = float(out.stdout)
    report["load_at_end"] = loadavg()
    report["summary"] = summarise(report["runs"])
    for line in table(report):
        print(line)
    if a.json:
        a.json.write_text(json.dumps(report, indent=1), encoding="utf-8")


def summarise(runs: list[dict]) -> list[dict]:
    out = []
    for n in sorted({r["size"] for r in runs}):
        for model in sorted({r["model"] for r in runs}):
            sides = {s: [r for r in runs if r["size"] == n and r["model"] == model and r["side"] == s] for s in ("invest", "gep")}
            if not all(sides.values()):
                continue
            med = {s: statistics.median(r["seconds"] for r in rs) for s, rs in sides.items()}
            mem = {s: statistics.median(r["peak_mib"] for r in rs) for s, rs in sides.items()}
            cpu = {s: statistics.median(r["user_s"] + r["system_s"] for r in rs) for s, rs in sides.items()}
            ratios = [i["seconds"] / g["seconds"] for i, g in zip(sides["invest"], sides["gep"])]
            loads = [x for rs in sides.values() for r in rs for x in (r["load_before"][0], r["load_after"][0])]
            out.append({"size": n, "model": model, "invest_s": med["invest"], "gep_s": med["gep"], "speedup_median_of_rounds": statistics.median(ratios),
                        "speedup_range": [min(ratios), max(ratios)], "invest_peak_mib": mem["invest"], "gep_peak_mib": mem["gep"],
                        "invest_cpu_s": cpu["invest"], "gep_cpu_s": cpu["gep"],
                        "load_range": [min(loads), max(loads)], "steal": [r.get("steal") for rs in sides.values() for r in rs], "rounds": len(ratios), "gep_execution": sides["gep"][-1].get("gep_execution", {}).get("mode")})
            floor = [r for r in runs if r["size"] == n and r["model"] == model and r["side"] == "floor"]
            if floor:
                out[-1].update({"floor_s": statistics.median(r["seconds"] for r in floor), "floor_peak_mib": statistics.median(r["peak_mib"] for r in floor),
                                "floor_cpu_s": statistics.median(r["user_s"] + r["system_s"] for r in floor),
                                "invest_over_floor": statistics.median(i["seconds"] / f["seconds"] for i, f in zip(sides["invest"], floor))})
    return out


def table(report: dict) -> list[str]:
    lines = [f"machine: {report['machine']}", "| size | model | InVEST s | gep s | InVEST/gep (range) | InVEST CPU s | gep CPU s | InVEST MiB | gep MiB | gep mode | load (1-min) | steal |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in report["summary"]:
        lines.append(f"| {s['size']}² | {s['model']} | {s['invest_s']:.2f} | {s['gep_s']:.2f} | {s['speedup_median_of_rounds']:.2f}× ({s['speedup_range'][0]:.2f}–{s['speedup_range'][1]:.2f}) "
                     f"| {s['invest_cpu_s']:.1f} | {s['gep_cpu_s']:.1f} | {s['invest_peak_mib']:.0f} | {s['gep_peak_mib']:.0f} | {s['gep_execution']} | {s['load_range'][0]:.2f}–{s['load_range'][1]:.2f} "
                     f"| {percent_range(s['steal'])} |")
    for s in report["summary"]:
        if "floor_s" in s:
            lines.append(f"floor {s['size']}² {s['model']} (benchmarks/invest_floor.py): {s['floor_s']:.2f} s, {s['floor_cpu_s']:.1f} CPU s, {s['floor_peak_mib']:.0f} MiB; "
                         f"InVEST/floor {s['invest_over_floor']:.2f}× (median of rounds)")
    lines.append(f"checks: {json.dumps(report['checks'])}")
    lines.append(f"bincount baseline [s]: {json.dumps(report['baseline_s'])}")
    return lines


if __name__ == "__main__":
    main()
