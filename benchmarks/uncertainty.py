"""Benchmark: N samples of `gep uncertainty` against N `gep run`s of the same scenario.

Side by side in one script, whole process against whole process (the same CLI a user runs,
a fresh interpreter each): one ``gep run SCENARIO`` and one ``gep uncertainty SCENARIO
--samples N``. The cost of N plain runs is N × the measured run (the runs would be
identical in cost; running them all would take hours). Both wall-clock and CPU seconds (user +
system of the process and its worker processes: the CPU figure is less sensitive to other
users' load than the wall clock) are reported. The load average before and after
and the machine are printed with the figures: the machine is shared, so state them with
any number you copy into benchmarks/RESULTS.md.

``--baseline DIR`` (a checkout of an earlier commit, e.g. ``git worktree add --detach DIR <commit>``) runs the
same ``gep uncertainty`` with that code (its directory first on ``PYTHONPATH``) right after this code's, so a
change is measured before and after side by side under the same load; both reports are printed.

    python benchmarks/uncertainty.py [SCENARIO] [--samples 1000] [--workers 2] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _timed(args: list[str], code: Path | None = None) -> tuple[float, float, str]:
    """Wall-clock and CPU seconds (user + system, worker processes included) of one ``gep`` process, and its stdout;
    ``code``: the checkout whose ``gep`` package runs (default: this one)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(code), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)) if code else None
    t, c = time.perf_counter(), _cpu_children()
    res = subprocess.run([str(Path(sys.executable).parent / "gep"), *args], capture_output=True, text=True, cwd=ROOT, env=env)
    if res.returncode != 0:
        raise SystemExit(f"gep {' '.join(args)} failed: {res.stderr.strip()}")
    return time.perf_counter() - t, _cpu_children() - c, res.stdout


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="scenarios/demo.toml")
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baseline", type=Path, help="a checkout of an earlier commit, measured right after this code")
    a = ap.parse_args()
    for label, code in [("this code", None)] + ([(f"baseline {a.baseline}", a.baseline.resolve())] if a.baseline else []):
        print(json.dumps({"code": label, **_measure(a, code)}, indent=1, ensure_ascii=False), flush=True)


def _measure(a: argparse.Namespace, code: Path | None) -> dict:
    """One ``gep run`` and one ``gep uncertainty`` of ``code`` (default this checkout), timed, with the load around them."""
    tmp = Path(tempfile.mkdtemp(prefix="gep-bench-unc-"))
    try:
        load0 = os.getloadavg()
        t_run, c_run, _ = _timed(["run", a.scenario, "--out", str(tmp / "run"), "--json"], code)
        t_unc, c_unc, out = _timed(["uncertainty", a.scenario, "--samples", str(a.samples), "--seed", str(a.seed), "--workers", str(a.workers),
                                    "--out", str(tmp / "unc"), "--json"], code)
        load1 = os.getloadavg()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    doc = json.loads(out)
    per = [u for u in doc["units"] if u["method"].startswith("per sample")]
    return {
        "machine": f"{_cpu()}, {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), Python {platform.python_version()}",
        "load_average_before": [round(x, 2) for x in load0], "load_average_after": [round(x, 2) for x in load1],
        "scenario": a.scenario, "samples": doc["samples"], "workers": a.workers,
        "gep_run_seconds": round(t_run, 2), "gep_uncertainty_seconds": round(t_unc, 2),
        "gep_run_cpu_seconds": round(c_run, 2), "gep_uncertainty_cpu_seconds": round(c_unc, 2),
        "n_runs_seconds_estimated": round(t_run * doc["samples"], 1),
        "speed_up_vs_n_runs": round(t_run * doc["samples"] / t_unc, 1),
        "speed_up_vs_n_runs_cpu": round(c_run * doc["samples"] / c_unc, 1),
        "per_sample_services": {u["unit"]: f"{u.get('cells', 0):,} of {u.get('cells_of_landscape', 0):,} cells" for u in per},
        "models": {u["unit"]: u["method"] for u in doc["units"] if not u["method"].startswith("per sample")},
        "gep_total_cny": doc["gep_total_cny"], "verified": doc["checks"],
    }

if __name__ == "__main__":
    main()
