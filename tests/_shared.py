"""The one way tests reach the shared data: `WASMCORE_SHARED`, default `../shared` beside
the project root."""

from __future__ import annotations

import json
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    return Path(os.environ.get("WASMCORE_SHARED", PROJECT_ROOT.parent / "shared")).resolve()


def spec_tier_files(*tiers: str) -> list[Path]:
    root = shared_dir() / "spec-testsuite"
    manifest = json.loads((root / "tiers.json").read_text())
    return [root / name for tier in tiers for name in manifest["tiers"][tier]["files"]]


def json_from_wast(files: list[str], spec_root: Path, out_root: Path) -> dict[str, tuple[Path, list[dict]]]:
    """Convert .wast files (paths relative to `spec_root`) with `wasm-tools json-from-wast`:
    relative path -> (directory of the module binaries, the script's commands).

    wasm-tools rather than wabt's wast2json: for text modules using data.drop/memory.init
    without data segments, wast2json omits the data count section (malformed binaries)."""
    import subprocess
    from concurrent.futures import ThreadPoolExecutor

    def convert(path: str) -> tuple[str, tuple[Path, list[dict]]]:
        out = out_root / Path(path).stem
        out.mkdir()
        subprocess.run(["wasm-tools", "json-from-wast", str(spec_root / path),
                        "-o", str(out / "commands.json"), "--wasm-dir", str(out)],
                       check=True, capture_output=True)
        return path, (out, json.loads((out / "commands.json").read_text())["commands"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(convert, files))


def install_distribution(source: Path, target: Path) -> None:
    """pip-install a plugin distribution (no dependencies) into `target`, as a stranger's
    plugin would be installed; the caller puts `target` on sys.path."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(source)],
                   check=True, capture_output=True)


def importable_plugin(target: Path, package: str):
    """Import `package` from `target` with its entry points visible; a generator for a
    fixture: yields the module, then takes it off sys.path again."""
    import importlib
    import sys

    from wasmcore.kernel.plugins import rescan_entry_points

    sys.path.insert(0, str(target))
    rescan_entry_points()
    try:
        yield importlib.import_module(package)
    finally:
        sys.path.remove(str(target))
        sys.modules.pop(package, None)
        rescan_entry_points()
