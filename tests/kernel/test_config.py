"""Config: wasmtime-py property names, TOML files, clear errors naming the bad key or value."""

import pytest
from structlog.testing import capture_logs

import wasmcore
from wasmcore.kernel.log import level_for, parse_filter
from wasmcore.errors import ConfigError


def test_wasmtime_property_names():
    config = wasmcore.Config()
    config.wasm_simd = False
    config.cranelift_opt_level = "none"
    config.max_wasm_stack = 1 << 20
    settings = config.settings()
    assert settings.features.simd is False and settings.opt_level == "none"
    assert settings.max_wasm_stack == 1 << 20


@pytest.mark.parametrize("key, value, fragment", [
    ("wasm_simd", "yes", "wasm_simd"),
    ("max_wasm_stack", -1, "max_wasm_stack"),
    ("cranelift_opt_level", "fast", "opt_level"),
    ("no_such_setting", 1, "no_such_setting"),
])
def test_bad_key_or_value_is_named(key, value, fragment):
    with pytest.raises(ConfigError, match=fragment):
        wasmcore.Config().set(key, value)


def test_unknown_backend_lists_installed():
    config = wasmcore.Config()
    config.backend = "nope"
    with pytest.raises(ConfigError, match=r"unknown backend 'nope'; installed backends: .*interp"):
        wasmcore.Engine(config)


def test_backend_environment_variable(monkeypatch):
    monkeypatch.setenv("WASMCORE_BACKEND", "somewhere-else")
    assert wasmcore.Config().backend == "somewhere-else"


def test_unknown_plugin_namespace():
    config = wasmcore.Config()
    config.set("nobody.x", 1)
    with pytest.raises(ConfigError, match="nobody"):
        wasmcore.Engine(config)


def test_unenforced_resource_settings_are_refused():
    # A backend that declares no "fuel" (tests/limits/test_capabilities.py has more).
    from tests.kernel._backends import WASM_2_0, DelegatingBackend, engine_with_backend

    with pytest.raises(ConfigError, match="consume_fuel.*'nofuel'"):
        engine_with_backend(DelegatingBackend("nofuel", WASM_2_0), consume_fuel=True)


def test_unknown_config_attribute_is_an_attribute_error():
    config = wasmcore.Config()
    with pytest.raises(AttributeError):
        config.consume_feul = True  # misspelt: never silently ignored
    with pytest.raises(ConfigError, match="unknown setting"):
        config.set("consume_feul", True)


@pytest.mark.parametrize("setting, value, feature", [
    ("debug_info", True, "debug_info"),
    ("cranelift_debug_verifier", True, "debug_verifier"),
    ("wasm_relaxed_simd_deterministic", True, "relaxed_simd_deterministic"),
])
def test_settings_no_backend_implements_are_refused(backend, setting, value, feature):
    config = wasmcore.Config()
    config.backend = backend
    setattr(config, setting, value)
    with pytest.raises(ConfigError, match=f"{setting}.*{feature}"):
        wasmcore.Engine(config)


def test_parallel_compilation_true_needs_a_backend_that_does_it(backend):
    config = wasmcore.Config()
    config.backend = backend
    config.parallel_compilation = False  # always honoured: compile on one thread
    wasmcore.Engine(config)
    config.parallel_compilation = True
    with pytest.raises(ConfigError, match="parallel_compilation"):
        wasmcore.Engine(config)


def test_unclaimed_profiler_and_allocator_names_are_refused(backend):
    config = wasmcore.Config()
    config.backend = backend
    config.profiler = "perfmap"
    with pytest.raises(ConfigError, match="unknown profiler 'perfmap'; installed profilers: none"):
        wasmcore.Engine(config)
    config = wasmcore.Config()
    config.backend = backend
    config.allocation_strategy = "pooling"
    with pytest.raises(ConfigError, match="unknown allocation strategy 'pooling'.*on-demand"):
        wasmcore.Engine(config)


def test_an_explicit_proposal_the_backend_lacks_is_refused(backend):
    config = wasmcore.Config()
    config.backend = backend
    config.wasm_gc = True  # no backend implements GC yet
    with pytest.raises(ConfigError, match=f"backend '{backend}' does not support the gc proposal"):
        wasmcore.Engine(config)


def test_toml_file(tmp_path):
    path = tmp_path / "wasmcore.toml"
    path.write_text('backend = "interp"\nmax_wasm_stack = 65536\n[features]\nsimd = false\n')
    settings = wasmcore.Config.from_file(path).settings()
    assert settings.max_wasm_stack == 65536 and settings.features.simd is False
    path.write_text("max_wasm_stack = 'big'\n")
    with pytest.raises(ConfigError, match="max_wasm_stack"):
        wasmcore.Config.from_file(path)
    path.write_text("this is not toml = = \n")
    with pytest.raises(ConfigError, match="TOML"):
        wasmcore.Config.from_file(path)


def test_log_filter_parsing():
    default, per_logger = parse_filter("wasmcore.binary=debug,info")
    assert level_for("wasmcore.binary.x", default, per_logger) == 10
    assert level_for("wasmcore.engine", default, per_logger) == 20
    with pytest.raises(ValueError):
        parse_filter("loud")


def test_engine_logs_are_structured():
    with capture_logs() as logs:
        import structlog
        structlog.get_logger().bind(logger="wasmcore.engine").debug("engine.created", backend="interp")
    assert logs[0]["event"] == "engine.created"
