"""Run wasi-testsuite (wasm32-wasip1) binaries through the public API.

    python tests/wasi/testsuite_runner.py [suite_dir ...]

Each test runs with its .json spec (args, env, root -> preopened at "/", exit_code, stdout)
in a scratch copy of its fixture directory. The runner itself is
`wasmcore.conformance.wasi_testsuite` (the conformance suite plugin authors run uses it too);
this script adds the command line."""

from __future__ import annotations

import glob
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests._shared import shared_dir  # noqa: E402
from wasmcore.conformance import wasi_suite_dirs  # noqa: E402
from wasmcore.conformance.wasi_testsuite import run_wasi_program as run_one  # noqa: E402

SUITES = [str(directory) for directory in wasi_suite_dirs(shared_dir())]


def main(argv: list[str]) -> int:
    suites = argv or SUITES
    total = passed = 0
    for suite in suites:
        for wasm in sorted(glob.glob(os.path.join(suite, "*.wasm"))):
            t = time.time()
            ok, why = run_one(wasm)
            total += 1
            passed += ok
            print(f"{'PASS' if ok else 'FAIL'} {os.path.relpath(wasm, os.path.dirname(os.path.dirname(suite)))}"
                  f" ({time.time() - t:.1f}s) {why}", flush=True)
    print(f"{passed}/{total} passed")
    return 0 if passed == total else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
