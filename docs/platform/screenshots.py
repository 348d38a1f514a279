"""Make the screenshots of docs/platform.md (headless system Chromium; small palette PNGs).

    gep run scenarios/demo.toml
    gep compare scenarios/demo.toml scenarios/demo_forest_35.toml --out runs/forest35
    gep capacity basin scenarios/demo_capacity.toml
    python docs/platform/screenshots.py [--runs runs]

Builds a sample ledger in a temporary folder (``gep.server.sample``), serves it with the
runs on a free local port, and drives the pages as a user would: the dashboard, a scenario
comparison in English, the credits page, the account page after importing alice's key and
signing a transfer, the registry with that transfer's certificate verified in the page, and
the market with the sample's price history and a trade's certificate verified in the page.
"""

from __future__ import annotations

import argparse
import io
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def save(page, name: str, height: int = 1000) -> None:
    from PIL import Image

    page.evaluate("document.fonts.ready.then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))))")  # text repainted in the shipped font
    png = page.screenshot(full_page=True)
    img = Image.open(io.BytesIO(png)).convert("RGB")
    img = img.crop((0, 0, img.width, min(img.height, height)))
    img = img.resize((img.width * 3 // 4, img.height * 3 // 4), Image.LANCZOS).quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    img.save(HERE / f"{name}.png", optimize=True)
    print(f"{name}.png {(HERE / f'{name}.png').stat().st_size:,} bytes")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, default=Path("runs"))
    args = ap.parse_args()
    from playwright.sync_api import expect, sync_playwright

    from gep.server.app import running
    from gep.server.config import ServerConfig
    from gep.server.runs import RunCatalogue
    from gep.server.sample import build

    runs = RunCatalogue(args.runs).runs()
    demo = next(r.id for r in runs if r.kind == "gep run" and r.describe().get("name") == "demo" and "/" not in r.id)
    compare = next(r.id for r in runs if r.kind == "gep compare")
    with tempfile.TemporaryDirectory() as tmp:
        sample = build(str(Path(tmp) / "sample.db"), args.runs, Path(tmp))
        cfg = ServerConfig(db=str(Path(tmp) / "sample.db"), runs=args.runs, head_key=sample["keys"]["registry"])
        with running(cfg) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{url}/?run={demo}")
            page.wait_for_selector("body[data-ready=dashboard]")
            page.locator("path.zone").nth(5).click()
            save(page, "dashboard", 1150)
            page.goto(f"{url}/?run={compare}&lang=en")
            page.wait_for_selector("body[data-ready=dashboard]")
            save(page, "comparison-en", 1000)
            page.goto(f"{url}/credits")
            page.wait_for_selector("body[data-ready=credits]")
            save(page, "credits", 700)
            page.goto(f"{url}/account")
            page.wait_for_selector("body[data-ready=account]")
            page.set_input_files("#key-file", sample["keys"]["alice"])
            page.fill("#account-id", "alice")
            page.click("#account-form button")
            page.wait_for_selector("#balances table")
            form = page.locator("#transfer-form")
            form.locator("input[name=amount]").fill("2 t")
            form.locator("input[name=to]").fill("bob")
            form.locator("input[name=price]").fill("1190")
            form.locator("button").click()
            page.wait_for_selector("#review:not([hidden])")
            page.click("#sign-submit")
            page.wait_for_selector("#submitted")
            seq = page.get_attribute("#submitted", "data-seq")
            save(page, "account", 1500)
            page.goto(f"{url}/registry")
            page.wait_for_selector("body[data-ready=registry]")
            page.click(f"button.verify[data-seq='{seq}']")
            expect(page.locator("#cert-result #verdict")).to_be_visible()
            page.evaluate("window.scrollTo(0, 0)")
            save(page, "registry", 1400)
            page.goto(f"{url}/market")
            page.wait_for_selector("body[data-ready=market]")
            page.fill("#account-id", "alice")
            page.locator("#trades button.verify").first.click()
            expect(page.locator("#cert-result #verdict")).to_be_visible()
            page.locator("button.pick").first.click()
            page.wait_for_selector("#book dl")
            save(page, "market", 1500)
            browser.close()


if __name__ == "__main__":
    main()
