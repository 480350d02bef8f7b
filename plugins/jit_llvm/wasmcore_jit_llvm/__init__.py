"""The LLVM JIT backend (entry point `llvm`): each validated module is translated to one LLVM
module, optimized and compiled to machine code with llvmlite's MCJIT.

Hooks implemented:
- `wasmcore_compile`: an `LLVMModule` when `engine.config.backend == "llvm"`;
- `wasmcore_instantiate`: binds an `LLVMModule` to a new instance (an `LLVMInstance`);
- `wasmcore_host_call`: the bits-convention callable llvm code calls for a host function
  (with the calling instance for `access_caller` functions).

docs/jit_llvm.md describes the vmctx layout, the calling conventions and the trap protocol.
"""

from __future__ import annotations

from wasmcore.plugin import hookimpl


@hookimpl
def wasmcore_compile(engine, module):
    if getattr(engine.config, "backend", None) != "llvm":
        return None
    from wasmcore_jit_llvm._runtime import LLVMModule
    return LLVMModule(engine, module)


@hookimpl
def wasmcore_instantiate(store, compiled, instance):
    if getattr(compiled, "backend", None) != "llvm":
        return None
    from wasmcore_jit_llvm._runtime import LLVMInstance

    hook = store.engine.plugins.hook.wasmcore_host_call

    def host_call(fi):
        adapter = hook(store=store, func=fi, host=fi.host, backend="llvm", instance=instance)
        return adapter if adapter is not None else fi.invoke

    return LLVMInstance(store, compiled, instance, host_call)


@hookimpl
def wasmcore_host_call(store, func, host, backend, instance):
    if backend != "llvm":
        return None
    from wasmcore_jit_llvm._host import HostCallable
    return HostCallable(store, host, instance)
