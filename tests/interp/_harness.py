"""Drive the interp backend directly: real engines and the core's instantiation, with
runtime objects (not API wrappers) going in and bits coming out."""

from __future__ import annotations

import os
import subprocess
import tempfile
import wasmcore
from wasmcore_interp import _numerics as N

M32, M64 = N.M32, N.M64


def wat2wasm(text: str) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "m.wat")
        out = os.path.join(d, "m.wasm")
        with open(src, "w") as fh:
            fh.write(text)
        proc = subprocess.run(["wat2wasm", "--debug-names", src, "-o", out],
                              capture_output=True, text=True)
        if proc.returncode:
            raise ValueError(f"wat2wasm failed: {proc.stderr}")
        with open(out, "rb") as fh:
            return fh.read()


def decode(data: bytes):
    from wasmcore.binary import decode_module

    return decode_module(data)


def fake_engine(max_wasm_stack=512 * 1024, backend="interp"):
    """A real Engine on `backend` (the name is kept from when this built a stand-in)."""
    config = wasmcore.Config()
    config.backend = backend
    config.max_wasm_stack = max_wasm_stack
    return wasmcore.Engine(config)


def instantiate(data_or_wat, imports=None, engine=None):
    """Instantiate through the core's one copy of the spec's steps (wasmcore/exec), with
    `imports` the runtime objects in import order (FuncInstance, GlobalInstance, ...); returns
    the ModuleInstance, whose exports' `invoke` takes and returns bits."""
    from wasmcore.exec.instantiate import instantiate as core_instantiate

    if isinstance(data_or_wat, str):
        data_or_wat = wat2wasm(data_or_wat)
    engine = engine or fake_engine()
    store = wasmcore.Store(engine)
    return core_instantiate(store, wasmcore.Module(engine, data_or_wat), list(imports or []))


class Exports:
    """inst.e.name(*bits) -> tuple"""

    def __init__(self, inst):
        self._inst = inst

    def __getattr__(self, name):
        return self._inst.exports[name].invoke


def call(inst, name, *args):
    r = inst.exports[name].invoke(*args)
    return r[0] if len(r) == 1 else r
