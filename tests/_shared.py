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
