"""Meta tests: every hook spec is documented and exercised; every module imports cleanly."""

import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import wasmcore
from wasmcore import hookspecs
from wasmcore.kernel.plugins import PluginManager

SPECS = [name for name, obj in vars(hookspecs).items()
         if name.startswith("wasmcore_") and inspect.isfunction(obj)]
TESTS_DIR = Path(__file__).resolve().parent.parent


def test_there_are_hook_specs():
    assert {"wasmcore_decode", "wasmcore_validate", "wasmcore_compile", "wasmcore_allocate",
            "wasmcore_instantiate", "wasmcore_host_call"} <= set(SPECS)


@pytest.mark.parametrize("name", SPECS)
def test_hook_is_documented(name):
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    assert len(doc) > 120, f"{name} needs a docstring saying when, how often, args, return"
    assert "firstresult" in doc or "All implementations run" in doc
    docs = (TESTS_DIR.parent / "docs" / "plugins.md").read_text()
    assert name in docs, f"{name} is missing from docs/plugins.md"


@pytest.mark.parametrize("name", SPECS)
def test_hook_is_exercised(name):
    sources = "".join(p.read_text() for p in TESTS_DIR.rglob("test_*.py"))
    assert f"def test_hook_{name}(" in sources


def test_check_pending_passes_with_all_installed_plugins():
    PluginManager().check_pending()


def test_every_module_imports_without_warnings():
    names = [m.name for m in pkgutil.walk_packages(wasmcore.__path__, "wasmcore.")
             if m.name != "wasmcore.__main__"]
    code = "import importlib\nfor n in %r: importlib.import_module(n)" % names
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True)
