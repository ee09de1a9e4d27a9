"""The core never imports Textual: each cockpit module is imported alone in a fresh interpreter."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

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
