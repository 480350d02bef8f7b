"""Backends declare which resource controls they enforce (`supports_fuel` / `supports_epochs`
on their CompiledModule); the core refuses the others with a clear ConfigError."""

from __future__ import annotations

import pytest

import wasmcore
from wasmcore.kernel.plugins import PluginManager
from wasmcore.errors import ConfigError
from wasmcore.plugin import hookimpl


class _Compiled:
    def __init__(self, backend, **features):
        self.backend = backend
        for name, value in features.items():
            setattr(self, name, value)


class _Backend:
    """A backend whose compiled modules declare the given features."""

    def __init__(self, name, **features):
        self.name, self.features = name, features

    @hookimpl
    def wasmcore_compile(self, engine, module):
        if engine.config.backend == self.name:
            return _Compiled(self.name, **self.features)
        return None


def engine_for(plugin, **settings):
    config = wasmcore.Config()
    config.backend = plugin.name
    for name, value in settings.items():
        setattr(config, name, value)
    return wasmcore.Engine(config, plugins=PluginManager(plugins=[(plugin.name, plugin)]))


@pytest.mark.parametrize("setting, feature", [("consume_fuel", "supports_fuel"),
                                              ("epoch_interruption", "supports_epochs")])
def test_a_backend_without_the_feature_is_refused(setting, feature):
    engine = engine_for(_Backend("plain"), **{setting: True})
    with pytest.raises(ConfigError) as info:
        wasmcore.Module(engine, "(module)")
    assert setting in str(info.value) and "'plain'" in str(info.value)
    assert feature in str(info.value)
    wasmcore.Module(engine_for(_Backend("plain")), "(module)")  # without the setting: fine


def test_a_backend_declaring_the_feature_is_accepted():
    plugin = _Backend("capable", supports_fuel=True, supports_epochs=False)
    wasmcore.Module(engine_for(plugin, consume_fuel=True), "(module)")
    with pytest.raises(ConfigError, match="epoch_interruption"):
        wasmcore.Module(engine_for(plugin, consume_fuel=True, epoch_interruption=True), "(module)")


def test_each_installed_backend_enforces_or_refuses(backend):
    for setting in ("consume_fuel", "epoch_interruption"):
        config = wasmcore.Config()
        config.backend = backend
        setattr(config, setting, True)
        engine = wasmcore.Engine(config)
        try:
            mod = wasmcore.Module(engine, "(module (func (export \"f\") (loop (br 0))))")
        except ConfigError as error:
            assert setting in str(error)
            continue
        # accepted: then it must stop an infinite loop (no fuel / no deadline -> at once)
        store = wasmcore.Store(engine)
        with pytest.raises(wasmcore.Trap):
            wasmcore.Instance(store, mod, []).exports(store)["f"](store)
