"""The spec testsuite's .wast scripts (suites spec-1.0, spec-2.0, simd, or any tier of
tiers.json) on each backend under test, through `wasmcore wast`'s runner. Collected by the
`wasmcore.testing` plugin, which parametrizes `wasmcore_spec_script` from --wasmcore-suite."""

from wasmcore.text.wast import run_wast_file


def test_spec_script(wasmcore_config, wasmcore_spec_script):
    result = run_wast_file(str(wasmcore_spec_script), wasmcore_config)
    # "note:" lines are trap/link messages worded differently from the spec's: not failures
    failures = [line for line in result.failures if not line.startswith("note:")]
    assert result.failed == 0, f"{result.failed} failed:\n" + "\n".join(failures[:20])
    assert result.commands > 0
