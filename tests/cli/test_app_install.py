"""gep as a real package: a wheel installed (not editable) into a fresh environment works from
any folder: `gep --version`, the coefficient sets, `gep init`, and `gep run` of the starter project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import gep as package

ROOT = Path(__file__).resolve().parents[2]


def test_version_is_the_package_version(gep):
    result = gep.invoke("--version")
    assert result.exit_code == 0 and result.output.strip() == f"gep {package.__version__}"


def _sh(args, cwd, env=None):
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_wheel_in_a_fresh_environment_from_another_folder(tmp_path):
    """Build the wheel, install it (no editable link to the source) and run gep from an unrelated folder."""
    dist = tmp_path / "dist"
    _sh([sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps", "-q", "-w", dist], cwd=tmp_path)
    wheel = next(dist.glob("gep-*.whl"))
    venv = tmp_path / "venv"
    _sh([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    py = venv / "bin" / "python"
    # the dependencies are those of this environment (no download); gep itself only from the wheel
    site = Path(_sh([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp_path).strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _sh([py, "-m", "pip", "install", "-q", "--no-deps", wheel], cwd=tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("GEP_COEFFICIENTS", "PYTHONPATH")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    where = _sh([py, "-c", "import gep; print(gep.__file__)"], cwd=work, env=env)
    assert str(venv) in where and str(ROOT) not in where  # the installed copy, not the source tree
    assert _sh(["gep", "--version"], cwd=work, env=env).strip() == f"gep {package.__version__}"
    assert "price.carbon" in _sh(["gep", "coefficients", "show", "cn-2022", "-p", "price.carbon"], cwd=work, env=env)
    _sh(["gep", "init", "county"], cwd=work, env=env)
    assert (work / "county" / "scenario.toml").is_file() and (work / "county" / "data" / "landcover.tif").is_file()
    doc = json.loads(_sh(["gep", "run", "county/scenario.toml", "--json", "--out", "runs/county"], cwd=work, env=env))
    assert doc["gep_total_cny"] > 0 and doc["coefficient_set"].startswith("cn-2022@")
    assert (work / "runs" / "county" / "manifest.json").is_file()
