"""A third-party test backend: registered by its own name with the features it declares, it
runs modules by delegating to the installed interp backend (so it really executes code)."""

from __future__ import annotations

import wasmcore
from wasmcore.kernel.plugins import PluginManager
from wasmcore.plugin import Backend, hookimpl


class DelegatingBackend(Backend):
    def __init__(self, name: str, features: frozenset[str]):
        self.name = name
        self.features = frozenset(features)
        self._interp = PluginManager(autoload=True).backend("interp")

    def compile(self, engine, module):
        compiled = self._interp.compile(engine, module)
        compiled.backend = self.name
        return compiled

    def instantiate(self, store, compiled, instance):
        return self._interp.instantiate(store, compiled, instance)


class Registers:
    def __init__(self, backend: Backend):
        self.backend = backend

    @hookimpl
    def wasmcore_register_backends(self, register):
        register(self.backend)


def engine_with_backend(backend: Backend, **settings) -> wasmcore.Engine:
    """An Engine whose config selects `backend`, registered as a plugin of its own."""
    config = wasmcore.Config()
    config.backend = backend.name
    for name, value in settings.items():
        setattr(config, name, value)
    plugins = PluginManager(plugins=[(f"test-{backend.name}", Registers(backend))])
    return wasmcore.Engine(config, plugins=plugins)


WASM_2_0 = frozenset({"mutable_globals", "sign_extension", "saturating_float_to_int",
                      "multi_value", "bulk_memory", "reference_types"})
