"""A stand-in for the core's instantiation, enough to drive the interp backend directly."""

from __future__ import annotations

import os
import subprocess
import tempfile
from types import SimpleNamespace

import wasmcore_interp
from wasmcore.runtime import FuncInstance, GlobalInstance, MemoryInstance, ModuleInstance, TableInstance
from wasmcore.syntax.types import ExternKind, SegmentMode
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


class _Hook:
    def wasmcore_host_call(self, store, func, host, backend, instance):
        return wasmcore_interp.wasmcore_host_call(store=store, func=func, host=host, backend=backend,
                                                  instance=instance)


def fake_engine(max_wasm_stack=512 * 1024, backend="interp"):
    config = SimpleNamespace(backend=backend, max_wasm_stack=max_wasm_stack, consume_fuel=False,
                             epoch_interruption=False)
    return SimpleNamespace(config=config, plugins=SimpleNamespace(hook=_Hook()))


def const_eval(expr, globals_, funcs):
    stack = []
    for ins in expr:
        code = ins[0]
        if code == 0x41:
            stack.append(ins[1] & M32)
        elif code == 0x42:
            stack.append(ins[1] & M64)
        elif code in (0x43, 0x44):
            stack.append(ins[1])
        elif code == 0x23:
            stack.append(globals_[ins[1]].value)
        elif code == 0xD0:
            stack.append(None)
        elif code == 0xD2:
            stack.append(funcs[ins[1]])
        elif code == 0x0B:
            break
        else:
            raise NotImplementedError(hex(code))
    return stack[-1]


def instantiate(data_or_wat, imports=None, engine=None):
    """imports: list of externs in import order (FuncInstance/GlobalInstance/...)."""
    if isinstance(data_or_wat, str):
        data_or_wat = wat2wasm(data_or_wat)
    module = decode(data_or_wat)
    engine = engine or fake_engine()
    compiled = wasmcore_interp.wasmcore_compile(engine=engine, module=module)
    store = SimpleNamespace(engine=engine)
    inst = ModuleInstance(module, compiled, store)
    imports = list(imports or [])
    for imp, ext in zip(module.imports, imports):
        if imp.kind == ExternKind.FUNC:
            inst.funcs.append(ext)
        elif imp.kind == ExternKind.TABLE:
            inst.tables.append(ext)
        elif imp.kind == ExternKind.MEMORY:
            inst.memories.append(ext)
        else:
            inst.globals.append(ext)
    n_imp = len(inst.funcs)
    for i, func in enumerate(module.functions):
        inst.funcs.append(FuncInstance(module.types[func.type_index], instance=inst,
                                       index=n_imp + i, name=module.names.functions.get(n_imp + i)))
    for tt in module.tables:
        inst.tables.append(TableInstance(tt))
    for mt in module.memories:
        inst.memories.append(MemoryInstance(mt))
    for g in module.globals:
        inst.globals.append(GlobalInstance(g.type, const_eval(g.init, inst.globals, inst.funcs)))
    inst.elements = [[const_eval(e, inst.globals, inst.funcs) for e in seg.init]
                     for seg in module.elements]
    inst.datas = [seg.init for seg in module.datas]
    inst.handle = wasmcore_interp.wasmcore_instantiate(store=store, compiled=compiled, instance=inst)
    for k, seg in enumerate(module.elements):
        if seg.mode == SegmentMode.ACTIVE:
            off = const_eval(seg.offset, inst.globals, inst.funcs)
            t = inst.tables[seg.table]
            items = inst.elements[k]
            if off + len(items) > len(t.elements):
                from wasmcore.errors import Trap, TrapCode
                raise Trap(TrapCode.TABLE_OUT_OF_BOUNDS, "out of bounds table access")
            t.elements[off:off + len(items)] = items
        if seg.mode != SegmentMode.PASSIVE:
            inst.elements[k] = []
    for k, seg in enumerate(module.datas):
        if seg.mode == SegmentMode.ACTIVE:
            off = const_eval(seg.offset, inst.globals, inst.funcs)
            inst.memories[seg.memory].write(seg.init, off)
            inst.datas[k] = b""
    for exp in module.exports:
        space = {ExternKind.FUNC: inst.funcs, ExternKind.TABLE: inst.tables,
                 ExternKind.MEMORY: inst.memories, ExternKind.GLOBAL: inst.globals}[exp.kind]
        inst.exports[exp.name] = space[exp.index]
    if module.start is not None:
        inst.funcs[module.start].invoke()
    return inst


class Exports:
    """inst.e.name(*bits) -> tuple"""

    def __init__(self, inst):
        self._inst = inst

    def __getattr__(self, name):
        return self._inst.exports[name].invoke


def call(inst, name, *args):
    r = inst.exports[name].invoke(*args)
    return r[0] if len(r) == 1 else r
