"""The conformance suites a backend (or any plugin) is checked against, shipped in the package
so that an installed wasmcore can run them: the official spec testsuite's .wast tiers, run by
`wasmcore.text.wast`, and wasi-testsuite's wasm32-wasip1 programs, run by `wasi_testsuite`.
The test data is not shipped: it lives in the shared data directory (`spec-testsuite/` with its
`tiers.json` manifest, `wasi-testsuite/`). Collected by pytest through the `wasmcore.testing`
plugin: `python -m pytest --pyargs wasmcore.conformance --wasmcore-backend=NAME`."""

from __future__ import annotations

import json
from pathlib import Path

from wasmcore.errors import ConfigError

# suite name -> the spec testsuite tier it runs (None: wasi-testsuite)
SUITES: dict[str, str | None] = {
    "spec-1.0": "wasm-1.0",
    "spec-2.0": "wasm-2.0",
    "simd": "wasm-2.0-simd",
    "wasi": None,
}
WASI_LANGUAGES = ("c", "assemblyscript", "rust")


def _tiers(shared: Path) -> dict:
    manifest = shared / "spec-testsuite" / "tiers.json"
    if not manifest.is_file():
        raise ConfigError(f"spec testsuite not found: no {manifest} (is the shared data "
                          f"directory {shared} right?)")
    return json.loads(manifest.read_text(encoding="utf-8"))["tiers"]


def spec_tier_files(shared: Path, tier: str) -> list[Path]:
    """The .wast files of one tier of `spec-testsuite/tiers.json`, in manifest order."""
    tiers = _tiers(shared)
    if tier not in tiers:
        raise ConfigError(f"unknown suite {tier!r}: one of {', '.join(SUITES)}, or a tier of "
                          f"tiers.json ({', '.join(tiers)})")
    root = shared / "spec-testsuite"
    files = [root / name for name in tiers[tier]["files"]]
    missing = [path for path in files if not path.is_file()]
    if missing:
        raise ConfigError(f"spec tier {tier}: {len(missing)} files listed in tiers.json are "
                          f"missing, e.g. {missing[0]}")
    if not files:
        raise ConfigError(f"spec tier {tier} lists no files in {root / 'tiers.json'}")
    return files


def wasi_suite_dirs(shared: Path) -> list[Path]:
    """wasi-testsuite's wasm32-wasip1 directories, one per source language."""
    return [shared / "wasi-testsuite" / "tests" / language / "testsuite" / "wasm32-wasip1"
            for language in WASI_LANGUAGES]


def wasi_programs(shared: Path) -> list[Path]:
    """Every wasi-testsuite program (a `.wasm` beside its `.json` spec), by language."""
    programs = []
    for directory in wasi_suite_dirs(shared):
        if not directory.is_dir():
            raise ConfigError(f"wasi-testsuite not found: no {directory}")
        programs.extend(sorted(directory.glob("*.wasm")))
    if not programs:
        raise ConfigError(f"wasi-testsuite has no programs under {shared / 'wasi-testsuite'}")
    return programs


def suite_cases(shared: Path, suite: str) -> list[Path]:
    """The files one suite runs: a name of SUITES, or any tier name of tiers.json."""
    if not shared.is_dir():
        raise ConfigError(f"shared data directory not found: {shared} (set WASMCORE_SHARED "
                          f"or pass --wasmcore-shared=DIR)")
    if suite == "wasi":
        return wasi_programs(shared)
    return spec_tier_files(shared, SUITES.get(suite) or suite)


__all__ = ["SUITES", "WASI_LANGUAGES", "spec_tier_files", "suite_cases", "wasi_programs",
           "wasi_suite_dirs"]
