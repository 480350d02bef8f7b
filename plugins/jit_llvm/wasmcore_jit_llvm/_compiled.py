"""The llvm backend's compiled module (`CompiledModule`): `LLVMModule` translates a validated
module, optimizes and JIT-compiles it with MCJIT (or loads the object code of an AOT
artifact), and keeps the code and its symbol addresses for every instance of the module
(docs/jit_llvm.md, "AOT artifacts"). `Payload` is the artifact's backend part."""

from __future__ import annotations

import ctypes
import hashlib

import llvmlite.binding as llvm
import msgspec

from wasmcore.kernel.artifact import engine_target, host_target
from wasmcore.errors import WasmcoreError
from wasmcore.plugin import CodeRegion, PublishedFunction
from wasmcore.syntax.types import ExternKind
from wasmcore_jit_llvm import _layout as L
from wasmcore_jit_llvm._engine import no_gc, optimize, sp_register, target_machine
from wasmcore_jit_llvm._metering import entry_checked
from wasmcore_jit_llvm._translate import ModuleTranslator, sig_key

DEFAULT_MAX_WASM_STACK = 512 * 1024
ENTRY_TYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p)

# 2: only functions whose calls go past functions that make none check the epoch on entry
# (the host checks for the others).
PAYLOAD_VERSION = 2


class Payload(msgspec.Struct, frozen=True):
    """The llvm backend's AOT payload: the object code and what binding it needs."""

    version: int
    object_code: bytes
    signatures: list[str]  # sig keys with entry_/host_ trampolines in the object
    opt: int
    cpu_features: str
    digest: str  # sha256 of object_code: a damaged object would crash the loader, not fail


def object_digest(code: bytes) -> str:
    return hashlib.sha256(code).hexdigest()


class LLVMModule:
    """`CompiledModule` of the llvm backend: one JIT-compiled LLVM module."""

    backend = "llvm"
    # Fuel and epoch code is emitted only when the engine's config enables it (an AOT
    # artifact records both settings, so a payload always matches its engine).
    supports_fuel = True
    # Epoch checks poll the engine's epoch cell; a Python signal handler gets to run through
    # the signal relay (_signals.py) while native code loops.
    supports_epochs = True

    def __init__(self, engine, module, payload: "Payload | None" = None):
        self.module = module
        config = getattr(engine, "config", None)
        level = getattr(config, "opt_level", "speed") or "speed"
        self.opt = 0 if level == "none" else 2
        max_stack = getattr(config, "max_wasm_stack", None) or DEFAULT_MAX_WASM_STACK
        self.max_wasm_stack = max_stack
        self.epochs = bool(getattr(config, "epoch_interruption", False))
        self._regions: list = []
        self._published: list = []
        self.addresses: dict = {}
        self.engine = None
        self.object_code = b""  # the relocatable object MCJIT loaded (the AOT payload)
        self.target = engine_target(engine) if config is not None else host_target()
        # A module compiled for another machine is kept only to be serialized.
        self.foreign = self.target != host_target()
        self.cpu_features = ""
        if payload is not None:
            self._load(payload)
            return
        mt = ModuleTranslator(module, name=module.names.module or "wasm",
                              sp_register=sp_register(self.target),
                              fuel=bool(getattr(config, "consume_fuel", False)),
                              epochs=bool(getattr(config, "epoch_interruption", False)))
        with no_gc():
            ir_module = mt.translate()
            ir_text = str(ir_module)
        self.layout = mt.layout
        self.entry_checked = mt.entry_checked
        self.func_types = mt.func_types
        self.n_imports = mt.n_imports
        self.signatures = dict(mt.signatures)
        self.global_types = mt.global_types
        tm, self.cpu_features = target_machine(self.opt, self.target if self.foreign else None)
        llmod = llvm.parse_assembly(ir_text)
        llmod.triple = tm.triple
        llmod.data_layout = str(tm.target_data)
        optimize(llmod, tm, self.opt)
        if self.foreign:
            self.object_code = bytes(tm.emit_object(llmod))
            return
        ee = llvm.create_mcjit_compiler(llmod, tm)
        objects: list = []
        # MCJIT hands the object it generated to the cache: that is the AOT payload.
        ee.set_object_cache(lambda _module, data: objects.append(bytes(data)), lambda _module: None)
        ee.finalize_object()
        self.object_code = objects[0] if len(objects) == 1 else b""
        self._llmod = llmod
        self._bind(ee)

    def _load(self, payload):
        """Rebuild from an AOT payload: the module's layout from the (trusted) decoded module,
        the code from the saved object file; no translation, no optimization."""
        module = self.module
        self.layout = L.VMLayout(module)
        self.n_imports = self.layout.n_func_imports
        self.func_types = [module.types[i.desc] for i in module.imports if i.kind == ExternKind.FUNC]
        self.func_types += [module.types[f.type_index] for f in module.functions]
        self.global_types = [i.desc for i in module.imports if i.kind == ExternKind.GLOBAL]
        self.global_types += [g.type for g in module.globals]
        by_key = {sig_key(ft): ft for ft in module.types}
        self.signatures = {k: by_key.get(k) for k in payload.signatures}
        self.entry_checked = entry_checked(module, self.epochs)
        self.object_code = payload.object_code
        self.cpu_features = payload.cpu_features
        if self.foreign:
            return
        tm, _ = target_machine(self.opt)
        ee = llvm.create_mcjit_compiler(llvm.parse_assembly(""), tm)
        ee.add_object_file(llvm.ObjectFileRef.from_data(payload.object_code))
        ee.finalize_object()
        self._bind(ee)

    def _bind(self, ee):
        self.engine = ee
        module = self.module
        names = [f"f{j}" for j in range(self.n_imports, len(self.func_types))]
        names += [f"entry_{k}" for k in self.signatures] + [f"host_{k}" for k in self.signatures]
        for name in names:
            address = ee.get_function_address(name)
            if not address:
                raise WasmcoreError(f"llvm backend: compiled code has no symbol {name!r}")
            self.addresses[name] = address
        self.entries = {k: ENTRY_TYPE(self.addresses[f"entry_{k}"]) for k in self.signatures}
        # sig_key -> host_<sig>: a store's table entries for non-llvm functions use these.
        self.host_trampolines = {k: self.addresses[f"host_{k}"] for k in self.signatures}
        ordered = sorted((a, n) for n, a in self.addresses.items())
        fnames = module.names.functions
        for (addr, name), nxt in zip(ordered, ordered[1:] + [(None, None)]):
            size = (nxt[0] - addr) if nxt[0] is not None else 0
            if name.startswith("f") and name[1:].isdigit():
                j = int(name[1:])
                name = fnames.get(j) or f"wasm-function[{j}]"
                self._published.append(PublishedFunction(j, name, addr, size))
            self._regions.append(CodeRegion(name, addr, size))

    def payload(self) -> bytes:
        """The AOT payload (`wasmcore_serialize`); b"" when there is no object code to keep."""
        if not self.object_code:
            return b""
        return msgspec.msgpack.encode(Payload(PAYLOAD_VERSION, self.object_code,
                                              list(self.signatures), self.opt, self.cpu_features,
                                              object_digest(self.object_code)))

    def code_regions(self) -> list:
        return list(self._regions)

    def published_functions(self) -> list:
        """The wasm functions' machine code (`wasmcore_code_published`)."""
        return list(self._published)
