"""The official spec testsuite (.wast), tiers wasm-1.0, wasm-2.0 and wasm-2.0-simd, through
`wasmcore wast`'s runner on every backend. Known failures: one strict-xfail list per backend
in `known_failures.py`, so a fix turns the run red until the list is updated."""

import pytest

import wasmcore
from wasmcore.text.wast import run_wast_file
from tests._shared import shared_dir, spec_tier_files
from tests.spec.known_failures import KNOWN_FAILURES

TIERS = ("wasm-1.0", "wasm-2.0", "wasm-2.0-simd")
FILES = {tier: spec_tier_files(tier) for tier in TIERS} if (shared_dir() / "spec-testsuite").is_dir() else {}
CASES = [(tier, path) for tier, paths in FILES.items() for path in paths]


@pytest.mark.parametrize("tier, path", CASES, ids=[f"{t}/{p.name}" for t, p in CASES])
def test_spec_file(backend, tier, path, request):
    relative = f"{tier}/{path.name}"
    reason = KNOWN_FAILURES.get(backend, {}).get(relative)
    if reason:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    config = wasmcore.Config()
    config.backend = backend
    result = run_wast_file(str(path), config)
    failures = [f for f in result.failures if not f.startswith("note:")]
    assert result.failed == 0, f"{result.failed} failed:\n" + "\n".join(failures[:20])
    assert result.commands > 0


@pytest.mark.parametrize("tier, path", CASES, ids=[f"{t}/{p.name}" for t, p in CASES])
def test_spec_file_reading(backend, tier, path):
    """Every module decodes and validates, every assert_malformed / assert_invalid is rejected
    with the spec's reason: the reading phase alone, so it holds even where execution is
    still missing (SIMD on interp)."""
    config = wasmcore.Config()
    config.backend = backend
    result = run_wast_file(str(path), config, reading_only=True)
    failures = [f for f in result.failures if not f.startswith("note:")]
    assert result.failed == 0, f"{result.failed} failed:\n" + "\n".join(failures[:20])
