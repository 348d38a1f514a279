"""``gep`` sets glibc's malloc before any command runs: arenas bounded to the cores, large blocks reused (issue 21)."""

from __future__ import annotations

import ctypes
import importlib
import os
import sys

import pytest

cli_app = importlib.import_module("gep.cli.app")  # the module (gep.cli.app is also the name of the App)


class _Libc:
    def __init__(self):
        self.calls = []

    def mallopt(self, param, value):
        self.calls.append((param, value))
        return 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_malloc_is_set_for_gep_unless_the_environment_says_otherwise(monkeypatch):
    libc = _Libc()
    monkeypatch.setattr(ctypes, "CDLL", lambda name: libc)
    for env in ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
        monkeypatch.delenv(env, raising=False)
    cli_app.tune_malloc()
    assert libc.calls == [(-8, len(os.sched_getaffinity(0))), (-3, 64 * 2**20), (-1, 64 * 2**20)]  # M_ARENA_MAX, M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "0")
    cli_app.tune_malloc()
    assert libc.calls[3:] == [(-3, 64 * 2**20)]


def test_a_libc_without_mallopt_leaves_gep_running(monkeypatch):
    def missing(name):
        raise OSError("no such library")

    monkeypatch.setattr(ctypes, "CDLL", missing)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    cli_app.tune_malloc()  # no error: musl or another libc keeps its own policy


def test_the_objects_left_at_exit_are_frozen_after_every_other_exit_handler(tmp_path, gep):
    lines = gep.at_exit(tmp_path, "'frozen at exit:', gc.get_freeze_count() > 0", "--version")  # registered before gep's: runs after it
    assert lines[0].startswith("gep ") and lines[-1] == "frozen at exit: True"
