"""Time the dashboard's first view of the demo run in a real browser (the system's Chromium).

    gep run scenarios/demo.toml                     # once: writes runs/demo-2022-<hash>/
    python benchmarks/platform_dashboard.py [--runs runs] [--repeat 5]

Each repetition starts a fresh ``gep serve`` process (nothing cached, modules imported from
scratch), waits until it answers, then opens ``/?run=<demo run>`` in a fresh browser context
and reads the page's own mark ``gep-ready-dashboard`` (set when the map, cards and tables are
drawn): milliseconds since the navigation started, as the browser measures it — server work
(reading account.nc and the zone index of cells.nc, polygonising the zones), transfer, parsing,
script and drawing. A second load on the same server gives the warm figure (derived results
cached). Printed as a table; nothing is written.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def demo_run(runs: Path) -> str:
    from gep.server.runs import RunCatalogue

    for r in RunCatalogue(runs).runs():
        if r.kind == "gep run" and (r.manifest.get("scenario") or {}).get("resolved", {}).get("scenario", {}).get("name") == "demo" and "/" not in r.id:
            return r.id
    sys.exit(f"no demo run under {runs}: run `gep run scenarios/demo.toml` first")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, timeout: float = 60) -> float:
    import httpx

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        try:
            httpx.get(url + "/api/v1/runs", timeout=1)  # a cheap call: lists manifests only
            return time.perf_counter() - t0
        except httpx.HTTPError:
            time.sleep(0.05)
    raise SystemExit("server did not start")


def first_view(browser, url: str) -> tuple[float, float]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("body[data-ready=dashboard]")
    wall = (time.perf_counter() - t0) * 1000
    mark = page.evaluate("performance.getEntriesByName('gep-ready-dashboard')[0].startTime")
    ctx.close()
    return mark, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, default=Path("runs"))
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    run = demo_run(args.runs)
    cold, warm, starts = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        for _ in range(args.repeat):
            port = free_port()
            proc = subprocess.Popen([sys.executable, "-c", "from gep.cli import main; main()", "serve", "--runs", str(args.runs), "--port", str(port)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "GEP_LEDGER": ""})
            try:
                base = f"http://127.0.0.1:{port}"
                starts.append(wait_up(base))
                cold.append(first_view(browser, f"{base}/?run={run}"))
                warm.append(first_view(browser, f"{base}/?run={run}"))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        browser.close()
    print(f"dashboard first view of {run} ({args.repeat} fresh servers; load average {os.getloadavg()[0]:.2f} at the end)")
    print("| view | ready mark [ms] median (min–max) | wall clock [ms] median |")
    print("|---|---|---|")
    for name, xs in (("first request to a fresh server", cold), ("again (server caches warm)", warm)):
        marks = [m for m, _ in xs]
        print(f"| {name} | {statistics.median(marks):.0f} ({min(marks):.0f}–{max(marks):.0f}) | {statistics.median([w for _, w in xs]):.0f} |")
    print(f"server start to first answer: median {statistics.median(starts):.2f} s")


if __name__ == "__main__":
    main()
