"""The backend contract: backends register by name with the features they implement; a
plugin wrapping `wasmcore_compile` is not a backend; a module needing a feature the backend
lacks is refused when the Module is made, naming the feature."""

from __future__ import annotations

import pytest

import wasmcore
from wasmcore.errors import PluginError, WasmcoreError
from wasmcore.kernel.plugins import PluginManager
from wasmcore.plugin import FEATURES, Backend, hookimpl
from tests.kernel._backends import WASM_2_0, DelegatingBackend, Registers, engine_with_backend

SIMD_MODULE = '(module (func (export "f") (result i32) (i32x4.extract_lane 1 (v128.const i32x4 1 2 3 4))))'
PLAIN_MODULE = '(module (func (export "f") (result i32) (i32.const 7)))'


def test_a_third_party_backend_without_simd_is_refused_a_simd_module():
    engine = engine_with_backend(DelegatingBackend("nosimd", WASM_2_0))
    assert engine.backend.name == "nosimd"
    with pytest.raises(WasmcoreError) as info:
        wasmcore.Module(engine, SIMD_MODULE)
    message = str(info.value)
    assert "simd" in message and "'nosimd'" in message and "does not support" in message
    binary = wasmcore.wat2wasm(SIMD_MODULE)
    with pytest.raises(WasmcoreError, match="needs the simd feature.*'nosimd'"):
        wasmcore.Module(engine, binary)
    with pytest.raises(WasmcoreError, match="simd"):
        wasmcore.Module.validate(engine, binary)
    # It runs what it supports.
    store = wasmcore.Store(engine)
    instance = wasmcore.Instance(store, wasmcore.Module(engine, PLAIN_MODULE), [])
    assert instance.exports(store)["f"](store) == 7


def test_the_same_module_runs_on_a_backend_declaring_simd():
    engine = engine_with_backend(DelegatingBackend("withsimd", WASM_2_0 | {"simd"}))
    store = wasmcore.Store(engine)
    instance = wasmcore.Instance(store, wasmcore.Module(engine, SIMD_MODULE), [])
    assert instance.exports(store)["f"](store) == 2


def test_explicitly_enabling_a_missing_feature_is_refused_at_engine_creation():
    with pytest.raises(wasmcore.ConfigError, match="'nosimd' does not support the simd"):
        engine_with_backend(DelegatingBackend("nosimd", WASM_2_0), wasm_simd=True)


def test_an_invalid_module_still_gets_the_validators_reason():
    engine = engine_with_backend(DelegatingBackend("nosimd", WASM_2_0))
    with pytest.raises(wasmcore.ValidationError, match="type mismatch"):
        wasmcore.Module(engine, "(module (func (result i32) (i64.const 1)))")


def test_a_compile_wrapper_is_not_a_backend():
    class CompileTimer:
        @hookimpl(wrapper=True)
        def wasmcore_compile(self, engine, module):
            return (yield)

    plugins = PluginManager(plugins=[("timer", CompileTimer())])
    assert "timer" not in plugins.backends()
    assert set(plugins.backends()) >= {"interp"}
    config = wasmcore.Config()
    config.backend = "timer"
    with pytest.raises(wasmcore.ConfigError, match="unknown backend 'timer'"):
        wasmcore.Engine(config, plugins=plugins)


def test_registration_is_checked():
    class Nameless(Backend):
        features = frozenset()

    with pytest.raises(PluginError, match="needs a name"):
        PluginManager(autoload=False, plugins=[("x", Registers(Nameless()))])
    with pytest.raises(PluginError, match="unknown features: teleport"):
        PluginManager(autoload=False,
                      plugins=[("x", Registers(DelegatingBackend("odd", {"teleport"})))])
    with pytest.raises(PluginError, match="two plugins register a backend named 'interp'"):
        PluginManager(plugins=[("x", Registers(DelegatingBackend("interp", WASM_2_0)))])


def test_installed_backends_declare_only_known_features(backend):
    declared = PluginManager().backend(backend).features
    assert declared <= FEATURES and {"fuel", "epochs", "simd"} <= declared
