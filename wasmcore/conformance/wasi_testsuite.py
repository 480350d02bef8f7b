"""Runs one wasi-testsuite program (wasm32-wasip1) through the public API, as its `.json` spec
says: arguments, environment, preopened directories (`root` at "/", and `dirs`), the expected
exit code and stdout. Each run works on a scratch copy of its fixture directories, so a test
that writes files leaves the suite untouched. Used by the conformance suite and by the
repository's tests/wasi."""

from __future__ import annotations

import json
import os
import shutil
import tempfile

from wasmcore.wasi import WASI_CONTEXT


def run_wasi_program(wasm_path: str, engine=None) -> tuple[bool, str]:
    """Run `wasm_path` on `engine` (default: a new Engine); (passed, why not)."""
    import wasmcore
    from wasmcore import ExitTrap, Linker, Module, Store, WasiConfig

    wasm_path = os.fspath(wasm_path)
    spec_path = wasm_path[:-5] + ".json"
    spec = {}
    if os.path.exists(spec_path):
        with open(spec_path, encoding="utf-8") as file:
            spec = json.load(file)
    engine = engine or wasmcore.Engine()
    store = Store(engine)
    config = WasiConfig()
    config.argv = [os.path.basename(wasm_path), *spec.get("args", [])]
    env = spec.get("env", {})
    config.env = list(env.items()) if isinstance(env, dict) else env
    config.capture_stdout()
    config.capture_stderr()
    scratch = None
    try:
        root = spec.get("root")
        if root:
            scratch = tempfile.mkdtemp(prefix="wasi-ts-")
            host = os.path.join(scratch, "root")
            shutil.copytree(os.path.join(os.path.dirname(wasm_path), root), host, symlinks=True)
            config.preopen_dir(host, "/")
        for directory in spec.get("dirs", []):
            scratch = scratch or tempfile.mkdtemp(prefix="wasi-ts-")
            host = os.path.join(scratch, directory)
            shutil.copytree(os.path.join(os.path.dirname(wasm_path), directory), host,
                            symlinks=True)
            config.preopen_dir(host, directory)
        store.set_wasi(config)
        linker = Linker(engine)
        linker.define_wasi()
        module = Module.from_file(engine, wasm_path)
        code = 0
        try:
            instance = linker.instantiate(store, module)
            instance.exports(store)["_start"](store)
        except ExitTrap as exit_:
            code = exit_.code
        except Exception as error:  # a trap (or a host error): the program failed
            return False, f"trap: {error!s:.300} stderr={config.stderr_captured[-300:]!r}"
        expected = spec.get("exit_code", 0)
        if code != expected:
            return False, (f"exit {code} != {expected}; stdout={config.stdout_captured[-300:]!r} "
                           f"stderr={config.stderr_captured[-500:]!r}")
        if "stdout" in spec and config.stdout_captured.decode("utf-8", "replace") != spec["stdout"]:
            return False, f"stdout {config.stdout_captured!r} != {spec['stdout']!r}"
        return True, ""
    finally:
        context = store.stash.get(WASI_CONTEXT)
        if context is not None:
            context.close_all()
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


__all__ = ["run_wasi_program"]
