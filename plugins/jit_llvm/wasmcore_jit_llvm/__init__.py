"""The LLVM JIT backend (entry point `llvm`): each validated module is translated to one LLVM
module, optimized and compiled to machine code with llvmlite's MCJIT.

Hooks implemented:
- `wasmcore_engine_created`: loads llvmlite and sets up the host target once, when an llvm
  engine is made (as Wasmtime's `Engine::new` probes the host), so a missing llvmlite shows
  there and the first `Module()` pays for compiling only;
- `wasmcore_register_backends`: registers `LLVMBackend`: compile (an `LLVMModule`),
  serialize / deserialize (the AOT payload: the object code MCJIT generated, reloaded with
  `add_object_file`: no translation, no optimization), instantiate (an `LLVMInstance`) and
  host calls (the bits-convention callable llvm code calls, with the calling instance for
  `access_caller` functions).

docs/jit_llvm.md describes the vmctx layout, the calling conventions and the trap protocol.
"""

from __future__ import annotations

from wasmcore.plugin import Backend, hookimpl


@hookimpl
def wasmcore_engine_created(engine):
    if getattr(engine.config, "backend", None) != "llvm":
        return
    from wasmcore_jit_llvm._engine import host_cpu_features
    host_cpu_features()


class LLVMBackend(Backend):
    name = "llvm"
    features = frozenset({
        "mutable_globals", "sign_extension", "saturating_float_to_int", "multi_value",
        "bulk_memory", "reference_types", "simd", "multi_memory",
        "fuel", "epochs", "cross_compile",
    })

    def compile(self, engine, module):
        from wasmcore_jit_llvm._compiled import LLVMModule
        return LLVMModule(engine, module)

    def serialize(self, engine, compiled):
        return compiled.payload()

    def deserialize(self, engine, module, payload, header):
        if not payload:
            return None  # a module kept without object code: the core recompiles it
        import msgspec

        from wasmcore.kernel.artifact import engine_target, host_target
        from wasmcore.errors import WasmcoreError
        from wasmcore_jit_llvm._compiled import PAYLOAD_VERSION, LLVMModule, Payload, object_digest
        from wasmcore_jit_llvm._engine import host_cpu_features

        try:
            data = msgspec.msgpack.decode(payload, type=Payload)
        except msgspec.DecodeError as error:  # ValidationError is a DecodeError
            raise WasmcoreError(f"corrupt llvm artifact payload: {error}") from None
        if data.version != PAYLOAD_VERSION:
            raise WasmcoreError(f"llvm artifact payload version {data.version}; this backend "
                                f"reads version {PAYLOAD_VERSION} (recompile it)")
        if object_digest(data.object_code) != data.digest:
            raise WasmcoreError("corrupt llvm artifact payload: the object code does not match "
                                "its digest")
        if engine_target(engine) == host_target():  # code for another machine is only kept
            have = {f[1:] for f in host_cpu_features().split(",") if f.startswith("+")}
            need = [f[1:] for f in header.cpu_features.split(",") if f.startswith("+")]
            missing = [f for f in need if f not in have]
            if missing:
                raise WasmcoreError(f"compiled artifact needs CPU features this host lacks: "
                                    f"{', '.join(missing)} (recompile it on this machine)")
        return LLVMModule(engine, module, payload=data)

    def instantiate(self, store, compiled, instance):
        from wasmcore_jit_llvm._instance import LLVMInstance
        return LLVMInstance(store, compiled, instance)

    def host_call(self, store, func, host, instance):
        from wasmcore_jit_llvm._host import HostCallable
        return HostCallable(store, host, instance)


@hookimpl
def wasmcore_register_backends(register):
    register(LLVMBackend())
