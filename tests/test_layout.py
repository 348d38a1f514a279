"""The layout stays true: the direction of imports, the shape of jobs, tests that mirror the package.

See docs/architecture.md. Imports are read from the source (every ``import``,
also inside functions), so a lazy import counts like any other.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GEP = ROOT / "gep"

BASE = {"gep", "gep.units", "gep.errors", "gep.numbers", "gep.geometry", "gep.execution"}
#: The base modules io may use: the package root (version, cache folder), errors, units and the bounded number parser.
IO_BASE = ("gep", "gep.errors", "gep.units", "gep.numbers")
#: The run records every job writes and replay, the ledger and the bond revenue files read.
RECORDS = {"gep.audit.manifest", "gep.audit.provenance"}
DOMAIN = ("gep.accounting", "gep.capacity", "gep.finance", "gep.ledger", "gep.monitoring", "gep.uncertainty")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = GEP.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(path: Path) -> set[str]:
    """Every ``gep`` module a source file imports (``from a import b`` counts as ``a.b`` when that is a module)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = {f"{node.module}.{a.name}" for a in node.names if _is_module(f"{node.module}.{a.name}")}
            out |= modules or {node.module}
    return {m for m in out if m == "gep" or m.startswith("gep.")}


GRAPH = {module_name(p): imports(p) for p in sorted(GEP.rglob("*.py"))}


def under(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def offending(rule) -> list[str]:
    return sorted(f"{a} -> {b}" for a, targets in GRAPH.items() for b in targets if a != b and not rule(a, b))


def test_io_imports_nothing_of_gep_but_errors_units_numbers_and_io():
    assert offending(lambda a, b: not under(a, "gep.io") or b in IO_BASE or under(b, "gep.io")) == []


def test_base_modules_import_only_base_modules():
    assert offending(lambda a, b: a not in BASE or b in BASE) == []


def test_run_records_import_only_base_io_and_each_other():
    assert offending(lambda a, b: a not in RECORDS or b in BASE | RECORDS | {"gep.audit"} or under(b, "gep.io")) == []


def test_domain_packages_import_no_io_jobs_audit_or_cli():
    assert offending(lambda a, b: not under(a, *DOMAIN) or b in BASE or b in RECORDS or under(b, *DOMAIN)) == []


def test_jobs_and_audit_do_not_import_the_cli_and_jobs_do_not_import_replay():
    assert offending(lambda a, b: not under(a, "gep.jobs", "gep.audit") or not under(b, "gep.cli")) == []
    assert offending(lambda a, b: not under(a, "gep.jobs") or not under(b, "gep.audit.replay", "gep.audit.cases")) == []


def test_only_the_cli_imports_the_cli():
    assert offending(lambda a, b: under(a, "gep.cli") or not under(b, "gep.cli")) == []


def test_only_the_cli_imports_the_server_and_the_server_imports_no_cli():
    assert offending(lambda a, b: under(a, "gep.cli", "gep.server") or not under(b, "gep.server")) == []
    assert offending(lambda a, b: not under(a, "gep.server") or not under(b, "gep.cli", "gep.jobs")) == []


def test_no_cycle_between_layers():
    def layer(m: str) -> str:
        if m in BASE:
            return "base"
        if m in RECORDS or m == "gep.audit":
            return "records"
        return ".".join(m.split(".")[:2])

    edges: dict[str, set[str]] = {}
    for a, targets in GRAPH.items():
        edges.setdefault(layer(a), set()).update(layer(b) for b in targets if layer(b) != layer(a))
    seen, stack = set(), []

    def visit(n: str) -> None:
        if n in stack:
            pytest.fail("import cycle: " + " -> ".join(stack[stack.index(n):] + [n]))
        if n in seen:
            return
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            visit(m)
        stack.pop()
        seen.add(n)

    for n in sorted(edges):
        visit(n)


def test_every_job_has_the_one_shape():
    from gep.jobs.job import JOBS

    for kind, name in JOBS.items():
        module = importlib.import_module(name)
        assert module.KIND == kind, name
        for fn in ("load", "compute", "write", "run") + (() if kind == "gep series" else ("replay",)):
            assert callable(getattr(module, fn, None)), f"{name} has no {fn}()"


# --------------------------------------------------------------------------- tests mirror the package

TESTS = ROOT / "tests"


def test_every_test_file_is_named_after_the_module_it_tests():
    """tests/x/test_y.py (or test_y_<topic>.py) tests gep/x/y.py or the package gep/x/y/."""
    wrong = []
    for path in sorted(TESTS.rglob("test_*.py")):
        rel = path.relative_to(TESTS)
        if rel.as_posix() == "test_layout.py":
            continue
        folder = GEP.joinpath(*rel.parts[:-1])
        stem = path.stem[len("test_"):]
        names = [p.stem for p in folder.glob("*.py") if p.stem != "__init__"] + [p.name for p in folder.iterdir() if p.is_dir() and (p / "__init__.py").is_file()] if folder.is_dir() else []
        if not any(stem == n or stem.startswith(n + "_") for n in names):
            wrong.append(rel.as_posix())
    assert wrong == []


def test_test_folders_do_not_import_each_other():
    """Shared builders are conftest fixtures; a test module imports helpers of its own folder tree only."""
    wrong = []
    for path in sorted(TESTS.rglob("*.py")):
        rel = path.relative_to(TESTS)
        if rel.name == "conftest.py" or len(rel.parts) == 1:
            continue
        own = rel.parts[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for n in names:
                if n.startswith("tests.") and n.split(".")[1] != own:
                    wrong.append(f"{rel.as_posix()} imports {n}")
    assert wrong == []
