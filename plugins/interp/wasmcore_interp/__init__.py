"""The portable interpreter backend (entry point `interp`): wasm functions are translated to
Python source once per module and run as ordinary Python functions.

Hooks implemented:
- `wasmcore_compile`: an `InterpModule` when `engine.config.backend == "interp"`;
- `wasmcore_instantiate`: binds an `InterpModule` to a new instance (an `InterpInstance`);
- `wasmcore_host_call`: adapts an imported host function for calls from interp code.

Set `WASMCORE_INTERP_DUMP=1` to print the generated Python source of each function (to stderr)
when it is compiled.
"""

from __future__ import annotations

from wasmcore.plugin import hookimpl


@hookimpl
def wasmcore_compile(engine, module):
    if getattr(engine.config, "backend", None) != "interp":
        return None
    from wasmcore_interp._module import InterpModule
    return InterpModule(engine, module)


@hookimpl
def wasmcore_instantiate(store, compiled, instance):
    if getattr(compiled, "backend", None) != "interp":
        return None
    from wasmcore_interp._module import InterpInstance
    return InterpInstance(store, compiled, instance)


@hookimpl
def wasmcore_host_call(store, func, host, backend, instance):
    if backend != "interp":
        return None
    from wasmcore_interp._host import host_adapter
    return host_adapter(store, func, host, instance)
