"""Run wasi-testsuite (wasm32-wasip1) binaries through the public API.

    python tests/wasi/testsuite_runner.py [suite_dir ...]

Each test runs with its .json spec (args, env, root -> preopened at "/", exit_code, stdout)
in a scratch copy of its fixture directory."""

from __future__ import annotations

import glob
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests._shared import shared_dir  # noqa: E402

SUITES = [str(shared_dir() / "wasi-testsuite" / "tests" / lang / "testsuite" / "wasm32-wasip1")
          for lang in ("c", "assemblyscript", "rust")]


def run_one(wasm_path: str, engine=None) -> tuple[bool, str]:
    import wasmcore
    from wasmcore import ExitTrap, Linker, Module, Store, WasiConfig
    from wasmcore.wasi import WASI_CONTEXT

    spec_path = wasm_path[:-5] + ".json"
    spec = {}
    if os.path.exists(spec_path):
        with open(spec_path) as f:
            spec = json.load(f)
    engine = engine or wasmcore.Engine()
    store = Store(engine)
    cfg = WasiConfig()
    cfg.argv = [os.path.basename(wasm_path), *spec.get("args", [])]
    env = spec.get("env", {})
    cfg.env = list(env.items()) if isinstance(env, dict) else env
    cfg.capture_stdout()
    cfg.capture_stderr()
    tmp = None
    try:
        roots = spec.get("root")
        dirs = spec.get("dirs", [])
        if roots:
            tmp = tempfile.mkdtemp(prefix="wasi-ts-")
            host = os.path.join(tmp, "root")
            shutil.copytree(os.path.join(os.path.dirname(wasm_path), roots), host, symlinks=True)
            cfg.preopen_dir(host, "/")
        for d in dirs:
            tmp = tmp or tempfile.mkdtemp(prefix="wasi-ts-")
            host = os.path.join(tmp, d)
            shutil.copytree(os.path.join(os.path.dirname(wasm_path), d), host, symlinks=True)
            cfg.preopen_dir(host, d)
        store.set_wasi(cfg)
        linker = Linker(engine)
        linker.define_wasi()
        module = Module.from_file(engine, wasm_path)
        code = 0
        try:
            instance = linker.instantiate(store, module)
            instance.exports(store)["_start"](store)
        except ExitTrap as exc:
            code = exc.code
        except Exception as exc:  # a trap
            return False, f"trap: {exc!s:.300} stderr={cfg.stderr_captured[-300:]!r}"
        want = spec.get("exit_code", 0)
        if code != want:
            return False, (f"exit {code} != {want}; stdout={cfg.stdout_captured[-300:]!r} "
                           f"stderr={cfg.stderr_captured[-500:]!r}")
        if "stdout" in spec and cfg.stdout_captured.decode("utf-8", "replace") != spec["stdout"]:
            return False, f"stdout {cfg.stdout_captured!r} != {spec['stdout']!r}"
        return True, ""
    finally:
        ctx = store.stash.get(WASI_CONTEXT)
        if ctx is not None:
            ctx.close_all()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


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
