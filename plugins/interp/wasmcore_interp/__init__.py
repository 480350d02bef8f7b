"""The portable interpreter backend (backend `interp`): wasm functions are translated to
Python source once per module and run as ordinary Python functions.

Hooks implemented:
- `wasmcore_register_backends`: registers `InterpBackend` (compile, instantiate, host calls).

Set `WASMCORE_INTERP_DUMP=1` to print the generated Python source of each function (to stderr)
when it is compiled.
"""

from __future__ import annotations

from wasmcore.plugin import Backend, hookimpl


class InterpBackend(Backend):
    name = "interp"
    # What the generated code implements in full (each passes its spec tier).
    features = frozenset({
        "mutable_globals", "sign_extension", "saturating_float_to_int", "multi_value",
        "bulk_memory", "reference_types", "simd", "multi_memory",
        "fuel", "epochs",
    })
    target_independent = True  # Python code: its artifacts load on any host

    def compile(self, engine, module):
        from wasmcore_interp._module import InterpModule
        return InterpModule(engine, module)

    def instantiate(self, store, compiled, instance):
        from wasmcore_interp._module import InterpInstance
        return InterpInstance(store, compiled, instance)

    def host_call(self, store, func, host, instance):
        from wasmcore_interp._host import host_adapter
        return host_adapter(store, func, host, instance)


@hookimpl
def wasmcore_register_backends(register):
    register(InterpBackend())
