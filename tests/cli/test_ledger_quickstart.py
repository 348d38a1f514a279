"""The ledger quick start of docs/ledger.md works as written, line by line, in a fresh folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def quickstart() -> list[str]:
    text = (ROOT / "docs" / "ledger.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start.*?```sh\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


@pytest.mark.slow
def test_the_quick_start_runs_as_written(tmp_path):
    for name in ("scenarios", "gep"):  # the repository root, as the page says, without writing into it
        (tmp_path / name).symlink_to(ROOT / name)
    env = {k: v for k, v in os.environ.items() if k not in ("GEP_LEDGER", "GEP_COEFFICIENTS")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    script = "set -euo pipefail\n" + "\n".join(quickstart()) + "\n"
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    for made in ("runs/basin/manifest.json", "ledger.db", "registry.key", "alice.key", "ledger-export.json"):
        assert (tmp_path / made).is_file(), made
    assert "retire" in done.stdout and "checked:" in done.stdout


def test_what_the_quick_start_leaves_is_ignored_by_git():
    ignored = subprocess.run(["git", "check-ignore", "ledger.db", "registry.key", "alice.pub", "ledger-export.json", "runs/basin/manifest.json"],
                             cwd=ROOT, capture_output=True, text=True)
    if ignored.returncode == 128:
        pytest.skip("not a git work tree")
    assert len(ignored.stdout.split()) == 5
