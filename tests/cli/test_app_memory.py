"""``gep`` bounds glibc's malloc arenas to the cores before any command runs (issue 21: peak memory)."""

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
def test_the_arenas_are_bounded_to_the_cores_unless_the_environment_says_otherwise(monkeypatch):
    libc = _Libc()
    monkeypatch.setattr(ctypes, "CDLL", lambda name: libc)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    cli_app.bound_malloc_arenas()
    assert libc.calls == [(-8, len(os.sched_getaffinity(0)))]  # M_ARENA_MAX
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    cli_app.bound_malloc_arenas()
    assert len(libc.calls) == 1


def test_a_libc_without_mallopt_leaves_gep_running(monkeypatch):
    def missing(name):
        raise OSError("no such library")

    monkeypatch.setattr(ctypes, "CDLL", missing)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    cli_app.bound_malloc_arenas()  # no error: musl or another libc keeps its own policy
