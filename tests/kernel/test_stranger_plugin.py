"""A third-party distribution, installed by the test, is discovered through its entry point."""


import pytest

import wasmcore
from wasmcore.kernel.plugins import PluginManager
from tests._shared import PROJECT_ROOT, importable_plugin, install_distribution


@pytest.fixture(scope="module")
def stranger(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    install_distribution(PROJECT_ROOT / "tests" / "fixtures" / "stranger_plugin", target)
    yield from importable_plugin(target, "wasmcore_stranger")


def test_stranger_is_discovered_with_its_distribution(stranger):
    infos = {info.name: info for info in PluginManager().plugin_infos()}
    info = infos["stranger"]
    assert (info.distribution, info.version) == ("wasmcore-stranger", "1.2.3")
    assert "wasmcore_validate" in info.hooks and "wasmcore_register_settings" in info.hooks


def test_stranger_hooks_run(stranger, wat_to_binary):
    stranger.EVENTS.clear()
    config = wasmcore.Config()
    config.set("stranger.greeting", "hi")
    engine = wasmcore.Engine(config)
    wasmcore.Module(engine, wat_to_binary("(module (func) (func))"))
    assert stranger.EVENTS == [("engine_created", "hi"), ("validate", 2)]


def test_stranger_host_module_links(stranger, wat_to_binary):
    engine = wasmcore.Engine()
    module = wasmcore.Module(engine, wat_to_binary(
        '(module (import "stranger_env" "triple" (func $t (param i32) (result i32)))'
        ' (func (export "f") (param i32) (result i32) (call $t (local.get 0))))'))
    linker = wasmcore.Linker(engine)
    linker.define_host_module("stranger_env")
    store = wasmcore.Store(engine)
    assert linker.instantiate(store, module).exports(store)["f"](store, 14) == 42


def test_blocking_by_environment(stranger, monkeypatch, wat_to_binary):
    monkeypatch.setenv("WASMCORE_DISABLE_PLUGINS", "stranger")
    manager = PluginManager()
    assert "stranger" not in {info.name for info in manager.plugin_infos()}
    stranger.EVENTS.clear()
    wasmcore.Module(wasmcore.Engine(plugins=manager), wat_to_binary("(module)"))
    assert stranger.EVENTS == []


def test_bad_plugin_setting_is_named(stranger):
    config = wasmcore.Config()
    config.set("stranger.repeat", "many")
    with pytest.raises(wasmcore.ConfigError, match=r"stranger.*repeat"):
        wasmcore.Engine(config)
