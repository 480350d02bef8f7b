"""The compiled module (shared by instances) and the per-instance binding."""

from __future__ import annotations

import builtins
import math
import os
import struct
import sys
from types import FunctionType

from wasmcore.errors import WasmcoreError
from wasmcore.exec import bulk
from wasmcore.plugin import PublishedFunction
from wasmcore_interp import _numerics as N
from wasmcore_interp import _runtime as R
from wasmcore_interp import _simd as S
from wasmcore_interp._compiler import CompileContext, compile_function

DUMP_ENV = "WASMCORE_INTERP_DUMP"
# Modules up to this many instructions are compiled when the module is (as Wasmtime does at
# `Module(...)`); bigger ones compile each function on its first call.
EAGER_INSTRUCTIONS = 60_000
DEFAULT_MAX_WASM_STACK = 512 * 1024
BYTES_PER_FRAME = 64  # max_wasm_stack -> call depth
DEFAULT_FRAMES = DEFAULT_MAX_WASM_STACK // BYTES_PER_FRAME


def _helpers() -> dict:
    ns = {"__builtins__": builtins}
    for fmt, name in (("<I", "I"), ("<Q", "Q"), ("<d", "d"), ("<H", "H"), ("<h", "s16"),
                      ("<i", "s32")):
        s = struct.Struct(fmt)
        ns[f"_L{name}"] = s.unpack_from
        ns[f"_S{name}"] = s.pack_into
    ns.update(N.helpers())
    ns.update({
        "_oob": R.oob, "_unreachable": R.unreachable,
        "_mem_grow": bulk.memory_grow, "_mem_fill": bulk.memory_fill,
        "_mem_copy": bulk.memory_copy, "_mem_init": bulk.memory_init,
        "_table_get": bulk.table_get, "_table_set": bulk.table_set,
        "_table_grow": bulk.table_grow, "_table_fill": bulk.table_fill,
        "_table_copy": bulk.table_copy, "_table_init": bulk.table_init,
        "_call_indirect": R.call_indirect,
        "_WasmcoreError": WasmcoreError, "_fabs": math.fabs, "_copysign": math.copysign, "_NAN": N.NAN,
    })
    ns.update(S.HELPERS)
    return ns


HELPERS = _helpers()


def _setting(config, name, default):
    value = getattr(config, name, default)
    return default if value is None else value


class InterpModule:
    """`CompiledModule` of the interp backend: Python code objects, made once per function
    (lazily, on first call) and shared by every instance."""

    backend = "interp"
    # Resource control the generated code enforces (checked by the core at Module creation).
    supports_fuel = True
    supports_epochs = True

    def __init__(self, engine, module):
        config = getattr(engine, "config", None)
        self.module = module
        self.max_wasm_stack = _setting(config, "max_wasm_stack", DEFAULT_MAX_WASM_STACK)
        self.ctx = CompileContext(module, consume_fuel=bool(_setting(config, "consume_fuel", False)),
                                  epoch_interruption=bool(_setting(config, "epoch_interruption",
                                                                   False)))
        self.label = module.names.module or (module.id[:12] if module.id else "module")
        self._codes: dict = {}
        self._sources: dict = {}
        # After the pipeline has published the eager code, functions compiled on first call
        # are published as they come (wasmcore_code_published).
        self._engine = engine
        self._publishing = False
        self._unmetered: dict = {}  # fuel on: code of static-cost functions without metering
        if sum(len(f.body) for f in module.functions) <= EAGER_INSTRUCTIONS:
            self.compile_all()

    def code_regions(self) -> list:
        return []

    def published_functions(self) -> list:
        self._publishing = True
        return [self._published(j, code) for j, code in sorted(self._codes.items())]

    def _published(self, func_index: int, code) -> PublishedFunction:
        name = self.module.names.functions.get(func_index) or f"wasm-function[{func_index}]"
        return PublishedFunction(func_index, name, code=code)

    def source(self, func_index: int) -> str:
        src = self._sources.get(func_index)
        if src is None:
            try:
                src = compile_function(self.ctx, func_index)
            except Exception as error:  # noqa: BLE001 - reported when the function is called
                message = f"interp backend cannot compile function {func_index}: {error}"
                src = f"def f{func_index}(*args):\n    raise _WasmcoreError({message!r})\n"
            self._sources[func_index] = src
            if os.environ.get(DUMP_ENV):
                sys.stderr.write(f"# --- wasm-interp {self.label} function {func_index} ---\n{src}\n")
        return src

    def code(self, func_index: int):
        code = self._codes.get(func_index)
        if code is None:
            src = self.source(func_index)
            module_code = compile(src, f"{R.WASM_FILENAME_PREFIX}{self.label}>", "exec")
            code = next(c for c in module_code.co_consts if hasattr(c, "co_code"))
            self._codes[func_index] = code
            if self._publishing:
                self._engine.plugins.code_published(self._engine, self.module,
                                                    [self._published(func_index, code)])
        return code

    def unmetered_code(self, func_index: int):
        """The code of a static-cost function (ctx.leaf_cost) compiled without fuel: its
        callers charge for it."""
        code = self._unmetered.get(func_index)
        if code is None:
            if not hasattr(self, "uctx"):
                self.uctx = CompileContext(self.module, consume_fuel=False,
                                           epoch_interruption=self.ctx.epoch_interruption)
            src = compile_function(self.uctx, func_index)
            module_code = compile(src, f"{R.WASM_FILENAME_PREFIX}{self.label}>", "exec")
            code = next(c for c in module_code.co_consts if hasattr(c, "co_code"))
            self._unmetered[func_index] = code
        return code

    def compile_all(self) -> None:
        for j in range(self.ctx.n_imported_funcs, len(self.ctx.func_types)):
            self.code(j)


class InterpInstance:
    """The per-instance handle: the namespace the instance's functions run in."""

    def __init__(self, store, compiled: InterpModule, instance):
        self.compiled = compiled
        self.instance = instance
        module = compiled.module
        ns = dict(HELPERS)
        ns["_MODULE"] = module
        ns["_MODNAME"] = instance.name if getattr(instance, "name", None) else module.names.module
        ns["_INST"] = instance
        for k, mem in enumerate(instance.memories):
            ns[f"M{k}"] = mem
            ns[f"m{k}"] = mem.data
        for k, glob in enumerate(instance.globals):
            ns[f"G{k}"] = glob
        for k, table in enumerate(instance.tables):
            ns[f"T{k}"] = table
        for k, ft in enumerate(module.types):
            ns[f"FT{k}"] = ft
        ns["_ELEMS"] = instance.elements
        ns["_DATAS"] = instance.datas
        vm = getattr(store, "vm", None)  # the store's fuel / epoch state (wasmcore.api.store)
        if vm is not None:
            ns["_VM"] = vm
            ns["_EPOCH"] = vm.epoch
        elif compiled.ctx.consume_fuel or compiled.ctx.epoch_interruption:
            raise WasmcoreError("fuel and epoch interruption need a wasmcore Store")
        self.ns = ns
        n_imports = compiled.ctx.n_imported_funcs
        frames = max(1, compiled.max_wasm_stack // BYTES_PER_FRAME)
        for j, fi in enumerate(instance.funcs):
            ns[f"F{j}"] = fi
            if j < n_imports:
                ns[f"f{j}"] = _import_callable(fi, instance.host_calls[j])
            else:
                stub = self._stub(j, fi)
                ns[f"f{j}"] = stub
                if compiled.ctx.consume_fuel and compiled.ctx.leaf_cost(j) is not None:
                    ns[f"u{j}"] = self._unmetered_stub(j)
                fi.native = stub
                fi.backend = "interp"
                fi.invoke = R.make_invoke(fi.type, None, fi)
                if frames < DEFAULT_FRAMES:
                    fi.invoke = R.bounded_invoke(fi.invoke, frames)
        # The recursion limit must fit the deepest allowed recursion; a smaller max_wasm_stack
        # lowers it for the duration of each outermost call (bounded_invoke).
        R.ensure_recursion_limit(max(frames, DEFAULT_FRAMES))

    def _stub(self, j: int, fi):
        materialize = self.materialize

        def stub(*args):
            return materialize(j, fi)(*args)

        stub._wasm_materialize = lambda: materialize(j, fi)
        stub.__name__ = stub.__qualname__ = f"f{j}_stub"
        return stub

    def _unmetered_stub(self, j: int):
        ns, compiled = self.ns, self.compiled

        def stub(*args):
            code = compiled.unmetered_code(j)
            ns.update(compiled.uctx.constants)
            fn = ns[f"u{j}"] = FunctionType(code, ns, f"u{j}")
            return fn(*args)

        return stub

    def materialize(self, j: int, fi):
        name = f"f{j}"
        fn = self.ns[name]
        if getattr(fn, "_wasm_materialize", None) is None:
            return fn
        code = self.compiled.code(j)
        if self.compiled.ctx.constants:
            self.ns.update(self.compiled.ctx.constants)
        fn = FunctionType(code, self.ns, name)
        self.ns[name] = fn
        fi.native = fn
        return fn


def _import_callable(fi, host_call):
    """What interp code calls for an imported function: another interp function directly, a
    host function through the adapter the core made at link time, else its generic invoke."""
    if fi.backend == "interp" and fi.native is not None:
        return R.native_of(fi)
    if host_call is None or host_call is fi.invoke:
        return R.foreign_adapter(fi.type, fi.invoke)
    return host_call
