"""The core never imports Textual: the import-linter contracts in pyproject.toml hold, and each
cockpit module imported alone in a fresh interpreter leaves Textual unloaded."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import cockpit

MODULES = sorted(f"cockpit.{m.name}" for m in pkgutil.iter_modules(cockpit.__path__))


def test_there_are_modules_to_check():
    assert "cockpit.session" in MODULES and "cockpit.cli" in MODULES


@pytest.mark.parametrize("module", MODULES)
def test_core_module_does_not_import_textual(module):
    code = f"import sys, {module}; print('textual' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_import_contracts_hold():
    """`lint-imports` (import-linter) checks the contracts over the static import graph."""
    root = Path(__file__).resolve().parents[2]
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--config", str(root / "pyproject.toml")],
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout
