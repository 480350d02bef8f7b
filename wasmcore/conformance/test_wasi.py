"""wasi-testsuite's wasm32-wasip1 programs (suite `wasi`) on each backend under test, each
checked against its .json spec (exit code, stdout). Collected by the `wasmcore.testing`
plugin, which parametrizes `wasmcore_wasi_program`."""

from wasmcore.conformance.wasi_testsuite import run_wasi_program


def test_wasi_program(wasmcore_engine, wasmcore_wasi_program):
    passed, why = run_wasi_program(str(wasmcore_wasi_program), wasmcore_engine)
    assert passed, why
