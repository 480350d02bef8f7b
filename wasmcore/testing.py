"""A pytest plugin for plugin authors: run wasmcore's conformance suites (the spec testsuite's
.wast tiers and wasi-testsuite, shipped as `wasmcore.conformance`) against any installed
backend, and fixtures for one's own tests. With wasmcore installed and the shared data at hand:

    python -m pytest --pyargs wasmcore.conformance --wasmcore-backend=NAME --wasmcore-shared=DIR

Options: `--wasmcore-backend=NAME` (repeatable or a comma list; default every installed
backend), `--wasmcore-suite=spec-1.0,spec-2.0,simd,wasi` (or any tier of tiers.json; default
those four), `--wasmcore-shared=DIR` (default $WASMCORE_SHARED, else ../shared from the current
directory), `--wasmcore-config=FILE` (a TOML config every engine starts from: a non-backend
plugin's settings). Fixtures: `wasmcore_backend` (tests using it run once per selected
backend), `wasmcore_config`, `wasmcore_engine`, `wasmcore_store`, `wasmcore_shared`. Missing
shared data is a collection error, never zero tests. Declared as the `pytest11` entry point
"wasmcore.testing", so it loads in every pytest session where wasmcore is installed: it only
adds options and fixtures, and acts when its fixtures are used."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

_CONFORMANCE_DIR = Path(__file__).resolve().parent / "conformance"
_DEFAULT_SUITES = ("spec-1.0", "spec-2.0", "simd", "wasi")
_SPEC_MODULE, _WASI_MODULE = "test_spec.py", "test_wasi.py"
_BACKENDS = pytest.StashKey[list]()


def installed_backends() -> list[str]:
    """Entry-point names of the installed backends. The one place this plugin asks the core."""
    from wasmcore.kernel.plugins import PluginManager

    return PluginManager().backends()


# --- options ----------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wasmcore", "wasmcore conformance suites (wasmcore.testing)")
    group.addoption("--wasmcore-backend", action="append", default=[], metavar="NAME",
                    help="backend to test, by entry-point name (repeatable, or a comma list); "
                         "default: every installed backend")
    group.addoption("--wasmcore-suite", action="append", default=[], metavar="NAMES",
                    help="suites to run: spec-1.0, spec-2.0, simd, wasi, or a tier of "
                         "spec-testsuite/tiers.json (repeatable, or a comma list); default: "
                         + ",".join(_DEFAULT_SUITES))
    group.addoption("--wasmcore-shared", default=None, metavar="DIR",
                    help="the shared data directory (spec-testsuite/, wasi-testsuite/); "
                         "default: $WASMCORE_SHARED, else ../shared from the current directory")
    group.addoption("--wasmcore-config", default=None, metavar="FILE",
                    help="a wasmcore TOML config file every engine starts from (e.g. a "
                         "plugin's [namespace] settings); the backend is set per test")


def _names(values: list[str]) -> list[str]:
    names: list[str] = []
    for value in values:
        for name in value.split(","):
            if name.strip() and name.strip() not in names:
                names.append(name.strip())
    return names


def selected_backends(config: pytest.Config) -> list[str]:
    """The backends under test: --wasmcore-backend, checked against the installed ones."""
    if _BACKENDS in config.stash:
        return config.stash[_BACKENDS]
    installed = installed_backends()
    requested = _names(config.getoption("wasmcore_backend"))
    unknown = [name for name in requested if name not in installed]
    if unknown:
        raise pytest.UsageError(f"--wasmcore-backend: unknown backend {unknown[0]!r}; installed "
                                f"backends: {', '.join(installed) or 'none'}")
    if not installed:
        raise pytest.UsageError("wasmcore: no backend is installed")
    config.stash[_BACKENDS] = backends = requested or installed
    return backends


def selected_suites(config: pytest.Config) -> list[str]:
    return _names(config.getoption("wasmcore_suite")) or list(_DEFAULT_SUITES)


def shared_dir(config: pytest.Config) -> Path:
    """--wasmcore-shared, else $WASMCORE_SHARED, else ../shared (from where pytest started)."""
    start = config.invocation_params.dir
    option = config.getoption("wasmcore_shared") or os.environ.get("WASMCORE_SHARED")
    return (start / option if option else start.parent / "shared").resolve()


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("wasmcore_backend"):
        selected_backends(config)  # a misspelt backend is a usage error before collection


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    if not any(config.getoption(name) for name in (
            "wasmcore_backend", "wasmcore_suite", "wasmcore_shared", "wasmcore_config")):
        return None  # someone else's session with wasmcore installed: stay quiet
    return [f"wasmcore: backends {', '.join(selected_backends(config))}; suites "
            f"{', '.join(selected_suites(config))}; shared data {shared_dir(config)}"]


# --- collection -------------------------------------------------------------------------------


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave out the conformance module of a suite that is not selected."""
    if collection_path.parent != _CONFORMANCE_DIR:
        return None
    suites = selected_suites(config)
    if collection_path.name == _WASI_MODULE and "wasi" not in suites:
        return True
    if collection_path.name == _SPEC_MODULE and suites == ["wasi"]:
        return True
    return None


def _cases(config: pytest.Config, wasi: bool) -> tuple[list[Path], list[str]]:
    """The selected suites' files (wasi-testsuite programs, or .wast scripts) with test ids."""
    from wasmcore.conformance import SUITES, suite_cases
    from wasmcore.errors import WasmcoreError

    shared = shared_dir(config)
    paths: list[Path] = []
    ids: list[str] = []
    for suite in selected_suites(config):
        if (suite == "wasi") != wasi:
            continue
        try:
            files = suite_cases(shared, suite)
        except WasmcoreError as error:
            # a collection error, loud: a missing data set must not pass as zero tests
            pytest.fail(f"wasmcore conformance: {error}", pytrace=False)
        for path in files:
            paths.append(path)
            if wasi:  # tests/<language>/testsuite/wasm32-wasip1/<name>.wasm
                ids.append(f"{path.parents[2].name}/{path.name}")
            else:
                ids.append(f"{SUITES.get(suite) or suite}/{path.name}")
    return paths, ids


def _parametrized_by_test(metafunc: pytest.Metafunc, name: str) -> bool:
    for marker in metafunc.definition.iter_markers("parametrize"):
        argnames = marker.args[0] if marker.args else marker.kwargs.get("argnames", ())
        if isinstance(argnames, str):
            argnames = [n.strip() for n in argnames.split(",")]
        if name in argnames:
            return True
    return False


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = metafunc.fixturenames
    config = metafunc.config
    if "wasmcore_backend" in names and not _parametrized_by_test(metafunc, "wasmcore_backend"):
        backends = selected_backends(config)
        metafunc.parametrize("wasmcore_backend", backends, indirect=True, ids=backends)
    if "wasmcore_spec_script" in names:
        paths, ids = _cases(config, wasi=False)
        metafunc.parametrize("wasmcore_spec_script", paths, ids=ids)
    if "wasmcore_wasi_program" in names:
        paths, ids = _cases(config, wasi=True)
        metafunc.parametrize("wasmcore_wasi_program", paths, ids=ids)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def wasmcore_backend(request: pytest.FixtureRequest) -> str:
    """Entry-point name of the backend under test. A test using it (directly or through
    `wasmcore_config`, `wasmcore_engine`, `wasmcore_store`) runs once per selected backend."""
    backend = getattr(request, "param", None)
    if backend is None:
        pytest.fail("wasmcore_backend is parametrized at collection: take it as an argument "
                    "(not through request.getfixturevalue)", pytrace=False)
    return backend


@pytest.fixture
def wasmcore_config(wasmcore_backend: str, pytestconfig: pytest.Config) -> Any:
    """A fresh `wasmcore.Config` for the backend under test (from --wasmcore-config if given)."""
    import wasmcore

    path = pytestconfig.getoption("wasmcore_config")
    config = (wasmcore.Config.from_file(pytestconfig.invocation_params.dir / path) if path
              else wasmcore.Config())
    config.backend = wasmcore_backend
    return config


@pytest.fixture
def wasmcore_engine(wasmcore_config: Any) -> Any:
    """A `wasmcore.Engine` on the backend under test, closed after the test."""
    import wasmcore

    engine = wasmcore.Engine(wasmcore_config)
    yield engine
    engine.close()


@pytest.fixture
def wasmcore_store(wasmcore_engine: Any) -> Any:
    """A `wasmcore.Store` of `wasmcore_engine`."""
    import wasmcore

    return wasmcore.Store(wasmcore_engine)


@pytest.fixture(scope="session")
def wasmcore_shared(pytestconfig: pytest.Config) -> Path:
    """The shared data directory (fails the test when it is missing)."""
    path = shared_dir(pytestconfig)
    if not path.is_dir():
        pytest.fail(f"wasmcore shared data not found at {path} (set WASMCORE_SHARED or pass "
                    f"--wasmcore-shared=DIR)", pytrace=False)
    return path


__all__ = ["installed_backends", "selected_backends", "selected_suites", "shared_dir"]
