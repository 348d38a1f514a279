"""The output folder of every job: checked before computing, written whole or not at all."""

from __future__ import annotations

import json
import os

import pytest

from gep.errors import InputError
from gep.jobs.job import check_destination, output_folder


def _run_folder(path, kind="gep run"):
    path.mkdir(parents=True)
    (path / "account.csv").write_text("old\n")
    (path / "manifest.json").write_text(json.dumps({"kind": kind}))
    return path


def test_a_new_or_empty_folder_or_one_of_the_same_kind_may_be_written(tmp_path):
    check_destination(tmp_path / "new" / "deeper", "gep run")
    (tmp_path / "empty").mkdir()
    check_destination(tmp_path / "empty", "gep run")
    check_destination(_run_folder(tmp_path / "run"), "gep run")


@pytest.mark.parametrize("case, words", [
    ("file", "is a file"),
    ("unrelated", "is not empty and is not a gep output folder"),
    ("other kind", "holds the output of `gep compare`"),
    ("not a manifest", "not a gep manifest"),
])
def test_anything_else_is_refused_before_computing(tmp_path, case, words):
    target = tmp_path / "out"
    if case == "file":
        target.write_text("x")
    elif case == "unrelated":
        target.mkdir()
        (target / "thesis.docx").write_text("precious")
    elif case == "other kind":
        _run_folder(target, "gep compare")
    else:
        target.mkdir()
        (target / "manifest.json").write_text("[1, 2]")
    with pytest.raises(InputError) as exc:
        check_destination(target, "gep run")
    assert words in str(exc.value) and exc.value.key == "out_dir"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_place_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    with pytest.raises(InputError, match="permission denied"):
        check_destination(ro / "out", "gep run")


def test_complete_output_replaces_the_previous_and_chains_its_manifest(tmp_path):
    target = _run_folder(tmp_path / "run")
    old = (target / "manifest.json").read_bytes()
    with output_folder(target, "gep run") as tmp:
        assert tmp.parent == target.parent and tmp != target  # a sibling: relative paths stay right
        assert (tmp / "manifest.json").read_bytes() == old  # the chain goes on
        assert (target / "account.csv").read_text() == "old\n"  # untouched while writing
        (tmp / "account.csv").write_text("new\n")
        (tmp / "manifest.json").write_text(json.dumps({"kind": "gep run", "n": 2}))
    assert (target / "account.csv").read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary folder left


@pytest.mark.parametrize("interruption", [RuntimeError("disk gone"), KeyboardInterrupt()])
def test_failure_or_ctrl_c_leaves_the_previous_output_and_no_partial_folder(tmp_path, interruption):
    target = _run_folder(tmp_path / "run")
    with pytest.raises(type(interruption)):
        with output_folder(target, "gep run") as tmp:
            (tmp / "account.csv").write_text("half")
            raise interruption
    assert (target / "account.csv").read_text() == "old\n"
    assert json.loads((target / "manifest.json").read_text()) == {"kind": "gep run"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_an_os_error_while_writing_is_a_user_error_naming_the_path(tmp_path):
    with pytest.raises(InputError) as exc:
        with output_folder(tmp_path / "run", "gep run") as tmp:
            (tmp / "missing" / "x.csv").write_text("x")
    assert "cannot write" in str(exc.value) and "x.csv" in str(exc.value)
    assert not (tmp_path / "run").exists() and list(tmp_path.iterdir()) == []


def test_a_partial_folder_of_a_killed_process_is_swept(tmp_path):
    stale = tmp_path / ".run.gep-partial-999999999-abc"
    stale.mkdir()
    with output_folder(tmp_path / "run", "gep run") as tmp:
        (tmp / "manifest.json").write_text(json.dumps({"kind": "gep run"}))
    assert not stale.exists() and (tmp_path / "run" / "manifest.json").is_file()
