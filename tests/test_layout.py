"""The package's layout holds, read from its own imports: sides apart, no circles.

- The read side (``dual_log._read``) and the command (``dual_log.cli``) never import the
  write side (``dual_log._write``): what both need (file names, the clock, levels) lives in
  ``dual_log._facts``.
- No module of the core imports an integration (``dual_log.django``, ``dual_log.flask``,
  ``dual_log.asgi``): ``import dual_log`` stays free of every framework.
- No module imports itself back through others, at module level or inside a function.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "dual_log"
INTEGRATIONS = {"dual_log.django", "dual_log.flask", "dual_log.asgi"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Each module of the package, and the package modules it imports (anywhere in it)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    found: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                base = node.module
                targets.add(base)
                targets.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        found[name] = {t for t in targets if t in modules and t != name}
    return found


def test_the_read_side_and_the_command_never_import_the_write_side() -> None:
    """What the reader shares with the writer comes from dual_log._facts, not _write."""
    for module, targets in imports().items():
        if module.startswith(("dual_log._read", "dual_log.cli")):
            assert not {t for t in targets if t.startswith("dual_log._write")}, module


def test_no_core_module_imports_an_integration() -> None:
    """Only the integrations themselves import Django's, Flask's or the ASGI module."""
    for module, targets in imports().items():
        if module not in INTEGRATIONS:
            assert not targets & INTEGRATIONS, module


def test_no_module_imports_itself_back() -> None:
    """The import graph has no circle (a lazy import inside a function counts too)."""
    graph = imports()
    # The package's own __init__ is where every import starts; it is no link of a circle.
    graph = {m: {t for t in ts if t != "dual_log"} for m, ts in graph.items()}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        if module in done:
            return
        assert module not in visiting, " -> ".join([*visiting[visiting.index(module) :], module])
        visiting.append(module)
        for target in sorted(graph.get(module, ())):
            visit(target)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_import_dual_log_imports_neither_the_frameworks_nor_its_parts() -> None:
    """``import dual_log`` loads no framework and none of its own parts until they are used."""
    code = (
        "import sys, dual_log\n"
        "print(sorted(m for m in sys.modules if m.startswith(('dual_log.', 'django', "
        "'flask', 'starlette', 'pythonjsonlogger'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert done.stdout.strip() == "[]"


def test_every_public_name_has_its_home() -> None:
    """``dual_log.__all__``, the names it imports for type checkers and the lazy table agree,
    and each name is where the table says."""
    import importlib

    import dual_log

    public = set(dual_log.__all__) - {"__version__"}
    assert set(dual_log._HOMES) == public
    for name, home in dual_log._HOMES.items():
        assert getattr(importlib.import_module(home), name) is getattr(dual_log, name)
