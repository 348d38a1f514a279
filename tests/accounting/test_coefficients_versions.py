"""Coefficient-set versions: loading a frozen release (``id@version``) and the release rules of
`gep coefficients verify` (a released version is never edited in place, a base names its version)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from gep.errors import CoefficientError
from gep.io.coefficient_files import coefficients_root, find_set
from gep.jobs.inputs import coefficient_problems, coefficient_set

ROOT = coefficients_root()


def problem_lines(folder) -> list[str]:
    """The problems of one set folder, as `gep coefficients verify` prints them."""
    return [str(p) for p in coefficient_problems(str(folder))[folder.name]]


def test_an_old_version_loads_the_frozen_copy():
    old = coefficient_set("cn-2022@1.0.0")
    new = coefficient_set("cn-2022")
    assert (old.version, new.version) == ("1.0.0", "1.3.0")
    assert old.folders[-1] == (ROOT / "releases" / "cn-2022" / "1.0.0").resolve()
    # the 1.0.0 value (LY/T 1721 at 2005 prices) and its correction (Ganzi account, 2010 prices)
    assert old.price("price.reservoir_storage")[0].magnitude == 6.1107
    assert new.price("price.reservoir_storage")[0].magnitude == 7.06
    assert coefficient_set(f"cn-2022@{new.version}").folders == new.folders
    # a frozen set older than the range columns loads with empty ranges
    assert np.isnan(old.uncertainty("price.electricity").low)
    # 1.1.0 (before the national-method decisions of docs/methods.md) replays from its frozen copy:
    # the forestry soil-retention form and water netting of its profile, the assumed sand-fixation depth
    v11 = coefficient_set("cn-2022@1.1.0")
    assert v11.folders[-1] == (ROOT / "releases" / "cn-2022" / "1.1.0").resolve()
    assert v11.profile["switches"]["water_conservation_net_of_water_use"] is True
    assert not {"soil_retention_value", "climate_water_surface_eer", "marsh_soil_storage", "respiration_monthly"} & set(v11.profile["switches"])
    assert v11.scalar("sand_fixation.soil_depth", "m") == 0.2 and new.scalar("sand_fixation.soil_depth", "m") == 0.1
    assert not v11.has("price.soil_n_treatment") and new.price("price.soil_n_treatment")[1] == 2003


def test_version_1_2_0_replays_from_its_frozen_copy_with_the_old_confidence_tags():
    # 1.3.0 re-sourced recreation.time_value_share (value unchanged, assumed -> verified, docs/methods.md
    # "New and re-sourced coefficient rows"); a run made with 1.2.0 still finds the old tag in the frozen copy
    v12, new = coefficient_set("cn-2022@1.2.0"), coefficient_set("cn-2022")
    assert v12.folders[-1] == (ROOT / "releases" / "cn-2022" / "1.2.0").resolve()
    assert v12.uncertainty("recreation.time_value_share").confidence == "assumed"
    u = new.uncertainty("recreation.time_value_share")
    assert (u.value, u.confidence) == (1.0, "verified") and u.low < 0.34 and u.high == 1.0
    assert new.scalar("recreation.time_value_share", "dimensionless") == v12.scalar("recreation.time_value_share", "dimensionless")
    # the rice price keeps its value (131 CNY per 50 kg of japonica paddy = 2620 CNY/t), now derived from the read notice
    assert new.price("price.product.rice")[0].magnitude == v12.price("price.product.rice")[0].magnitude == 2620
    assert (v12.uncertainty("price.product.rice").confidence, new.uncertainty("price.product.rice").confidence) == ("assumed", "derived")
    assert new.price("price.product.wheat")[0].magnitude == 2300 and new.uncertainty("price.product.wheat").confidence == "derived"
    zj12, zj = coefficient_set("zj-2020@1.2.0"), coefficient_set("zj-2020")
    assert [f.parent.name + "/" + f.name for f in zj12.folders] == ["cn-2022/1.2.0", "zj-2020/1.2.0"]
    assert zj.version == "1.3.0" and zj.uncertainty("recreation.time_value_share").confidence == "verified"


def test_a_frozen_set_extends_the_frozen_version_of_its_base():
    old = coefficient_set("zj-2020@1.0.0")
    assert [f.parent.name + "/" + f.name for f in old.folders] == ["cn-2022/1.0.0", "zj-2020/1.0.0"]
    assert old.price("price.reservoir_storage")[0].magnitude == 6.1107
    new = coefficient_set("zj-2020")
    assert new.version == "1.3.0" and new.price("price.reservoir_storage")[0].magnitude == 7.06
    assert new.profile["methods"]["oxygen_release"] == "npp" and coefficient_set("zj-2020@1.1.0").profile["methods"]["oxygen_release"] == "nep"


def test_a_release_folder_must_match_its_manifest_version(tmp_path):
    shutil.copytree(ROOT / "cn-2022", tmp_path / "cn-2022")
    shutil.copytree(ROOT / "releases" / "cn-2022" / "1.0.0", tmp_path / "releases" / "cn-2022" / "2.0.0")
    with pytest.raises(CoefficientError, match="says version 1.0.0, but its folder is named 2.0.0"):
        find_set(str(tmp_path / "cn-2022"), version="2.0.0")
    problems = coefficient_problems(root=tmp_path)["releases/cn-2022/2.0.0"]
    assert any("version 1.0.0 in a folder named 2.0.0" in str(p) for p in problems)


def test_editing_a_released_version_in_place_is_caught(tmp_path):
    # the current folder claims version 1.0.0 but its files are not those released as 1.0.0
    shutil.copytree(ROOT / "releases", tmp_path / "releases")
    shutil.copytree(ROOT / "cn-2022", tmp_path / "cn-2022")
    manifest = tmp_path / "cn-2022" / "manifest.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('version = "1.3.0"', 'version = "1.0.0"'), encoding="utf-8")
    problems = problem_lines(tmp_path / "cn-2022")
    assert any("version 1.0.0 was released with other files" in p and "bump 'version'" in p for p in problems)


def test_an_unpinned_base_is_reported(tmp_path):
    for name in ("cn-2022", "zj-2020"):
        shutil.copytree(ROOT / name, tmp_path / name)
    manifest = tmp_path / "zj-2020" / "manifest.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('base = "cn-2022@1.3.0"', 'base = "cn-2022"'), encoding="utf-8")
    problems = problem_lines(tmp_path / "zj-2020")
    assert len(problems) == 1 and "base 'cn-2022' names no version" in problems[0] and 'cn-2022@<version>' in problems[0]
