"""Backends declare which resource controls they enforce (the "fuel" and "epochs" features of
their `Backend`); the Engine refuses the others with a clear ConfigError."""

from __future__ import annotations

import pytest

import wasmcore
from wasmcore.errors import ConfigError
from tests.kernel._backends import WASM_2_0, DelegatingBackend, engine_with_backend


@pytest.mark.parametrize("setting, feature", [("consume_fuel", "fuel"),
                                              ("epoch_interruption", "epochs")])
def test_a_backend_without_the_feature_is_refused(setting, feature):
    with pytest.raises(ConfigError) as info:
        engine_with_backend(DelegatingBackend("plain", WASM_2_0), **{setting: True})
    assert setting in str(info.value) and "'plain'" in str(info.value)
    assert repr(feature) in str(info.value)
    engine = engine_with_backend(DelegatingBackend("plain", WASM_2_0))  # without: fine
    wasmcore.Module(engine, "(module)")


def test_a_backend_declaring_the_feature_is_accepted():
    backend = DelegatingBackend("capable", WASM_2_0 | {"fuel"})
    engine = engine_with_backend(backend, consume_fuel=True)
    store = wasmcore.Store(engine)
    store.set_fuel(1000)
    module = wasmcore.Module(engine, '(module (func (export "f") (loop (br 0))))')
    with pytest.raises(wasmcore.Trap):  # the delegate (interp) really meters it
        wasmcore.Instance(store, module, []).exports(store)["f"](store)
    with pytest.raises(ConfigError, match="epoch_interruption"):
        engine_with_backend(backend, consume_fuel=True, epoch_interruption=True)


def test_each_installed_backend_enforces_or_refuses(backend):
    for setting in ("consume_fuel", "epoch_interruption"):
        config = wasmcore.Config()
        config.backend = backend
        setattr(config, setting, True)
        try:
            engine = wasmcore.Engine(config)
        except ConfigError as error:
            assert setting in str(error)
            continue
        mod = wasmcore.Module(engine, "(module (func (export \"f\") (loop (br 0))))")
        # accepted: then it must stop an infinite loop (no fuel / no deadline -> at once)
        store = wasmcore.Store(engine)
        with pytest.raises(wasmcore.Trap):
            wasmcore.Instance(store, mod, []).exports(store)["f"](store)
