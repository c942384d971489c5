"""The headless core never imports Textual or click (style.md: harlequin's import hygiene).

sqlite-utils itself imports click, so for click the check is on our own import
statements; for Textual and rich it is on what a fresh interpreter loads.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import calltui

CORE = ["calltui.normalize", "calltui.records", "calltui.models", "calltui.rules",
        "calltui.journeys", "calltui.explain", "calltui.store", "calltui.importer",
        "calltui.match", "calltui.reports", "calltui.config", "calltui.demo",
        "calltui.sources.files", "calltui.vendors", "calltui.escalate", "calltui.channels",
        "calltui.fixtype", "calltui.warehouse", "calltui.warehouse.settings",
        "calltui.warehouse.sync", "calltui.warehouse.match"]
UI = ("textual", "click", "rich")


@pytest.mark.parametrize("module", CORE)
def test_core_module_loads_no_textual_or_rich(module: str) -> None:
    code = (f"import sys, {module}; "
            "print(','.join(m for m in ('textual', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", CORE)
def test_core_module_source_imports_no_ui_library(module: str) -> None:
    root = Path(calltui.__file__).parent.parent
    path = root / (module.replace(".", "/") + ".py")
    if not path.exists():  # a package
        path = path.with_suffix("") / "__init__.py"
    assert not (_imports(path) & set(UI))
