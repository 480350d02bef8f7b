"""`Config`: the engine's settings, with wasmtime-py's property names, loadable from TOML."""

from __future__ import annotations

import os
from typing import Any, Literal

import msgspec

from wasmcore.kernel.limits import DEFAULT_MAX_WASM_STACK
from wasmcore.errors import ConfigError
from wasmcore.syntax.features import WasmFeatures

DEFAULT_BACKEND = "interp"
BACKEND_ENV = "WASMCORE_BACKEND"

OptLevel = Literal["none", "speed", "speed_and_size"]


class Settings(msgspec.Struct, kw_only=True):
    """The resolved settings an Engine runs with (frozen into the engine at creation)."""

    backend: str = DEFAULT_BACKEND
    opt_level: OptLevel = "speed"
    consume_fuel: bool = False
    epoch_interruption: bool = False
    max_wasm_stack: int = DEFAULT_MAX_WASM_STACK
    features: WasmFeatures = WasmFeatures()
    allocation_strategy: str = "on-demand"  # an allocator's registered name
    profiler: str | None = None  # a profiler's registered name
    cache: str | None = None  # a directory for compiled code, or None
    debug_info: bool = False
    debug_verifier: bool = False
    relaxed_simd_deterministic: bool = False
    target: str | None = None  # a target triple for cross-compilation, None = host
    parallel_compilation: bool | None = None  # None: as the backend does by default
    # Proposals the user enabled explicitly: the Engine refuses these if the backend lacks
    # them, where a default-on proposal the backend lacks is only turned off.
    explicit_features: frozenset[str] = frozenset()
    # Namespaced plugin settings as given ({"llvm": {"opt_level": 3}}); each plugin's schema
    # (wasmcore_register_settings) converts and checks its namespace when the Engine is built.
    plugins: dict[str, dict[str, Any]] = {}


# wasmtime-py's feature properties -> our WasmFeatures field names.
_FEATURE_PROPERTIES = {
    "wasm_threads": "threads",
    "wasm_reference_types": "reference_types",
    "wasm_simd": "simd",
    "wasm_relaxed_simd": "relaxed_simd",
    "wasm_bulk_memory": "bulk_memory",
    "wasm_multi_value": "multi_value",
    "wasm_multi_memory": "multi_memory",
    "wasm_memory64": "memory64",
    "wasm_tail_call": "tail_call",
    "wasm_gc": "gc",
    "wasm_function_references": "function_references",
    "wasm_exceptions": "exceptions",
    "wasm_extended_const": "extended_const",
}

_STRATEGIES = {"auto": None, "cranelift": "llvm", "llvm": "llvm", "interp": "interp",
               "winch": "llvm", "pulley": "interp"}


class Config:
    """Engine configuration, mirroring wasmtime-py's `Config` (`config.consume_fuel = True`,
    `config.wasm_simd = False`, `config.cranelift_opt_level = "speed"`...) plus `backend`,
    `allocation_strategy`, and `set("namespace.key", value)` for plugin settings.

    The backend defaults to `interp`; the environment variable `WASMCORE_BACKEND` changes that
    default so a whole test run or application can switch.
    """

    # Slots: a misspelt setting (`config.consume_feul = True`) is an AttributeError, never
    # silently ignored.
    __slots__ = ("_settings", "_features")

    def __init__(self) -> None:
        self._settings = Settings(backend=os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND)
        self._features: dict[str, bool] = {}

    # --- building ---------------------------------------------------------------------------
    def settings(self) -> Settings:
        """A snapshot of the settings, as an Engine freezes them."""
        settings = msgspec.structs.replace(self._settings)
        if self._features:
            settings.features = msgspec.structs.replace(settings.features, **self._features)
            settings.explicit_features = frozenset(
                name for name, enabled in self._features.items() if enabled)
        return settings

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "Config":
        """Load a TOML file: top-level keys are settings (`backend = "llvm"`, `wasm_simd = true`,
        `max_wasm_stack = 1048576`...), tables are plugin namespaces (`[llvm] opt_level = 3`)."""
        import tomllib

        try:
            with open(path, "rb") as file:
                document = tomllib.load(file)
        except OSError as error:
            raise ConfigError(f"cannot read config file {os.fspath(path)!r}: {error.strerror}") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"config file {os.fspath(path)!r} is not valid TOML: {error}") from None
        config = cls()
        for key, value in document.items():
            if isinstance(value, dict) and key != "features":
                for sub_key, sub_value in value.items():
                    config.set(f"{key}.{sub_key}", sub_value)
            elif key == "features" and isinstance(value, dict):
                for name, enabled in value.items():
                    config.set(f"wasm_{name}", enabled)
            else:
                config.set(key, value)
        return config

    def set(self, key: str, value: Any) -> None:
        """Set any setting by name: a property name (`"consume_fuel"`, `"wasm_simd"`) or a
        plugin setting `"namespace.field"`."""
        if "." in key:
            namespace, _, field = key.partition(".")
            if not namespace or not field:
                raise ConfigError(f"bad setting name {key!r}: expected 'namespace.field'")
            plugins = dict(self._settings.plugins)
            plugins[namespace] = {**plugins.get(namespace, {}), field: value}
            self._settings.plugins = plugins
            return
        if key.startswith("_") or not isinstance(getattr(type(self), key, None), property):
            raise ConfigError(f"unknown setting {key!r}")
        setattr(self, key, value)

    def _put(self, field: str, value: Any, expected: type | tuple) -> None:
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            names = expected.__name__ if isinstance(expected, type) else " or ".join(
                t.__name__ for t in expected)
            raise ConfigError(f"setting {field!r} expects {names}, got {value!r}")
        setattr(self._settings, field, value)

    # --- our own settings -------------------------------------------------------------------
    @property
    def backend(self) -> str:
        return self._settings.backend

    @backend.setter
    def backend(self, name: str) -> None:
        self._put("backend", name, str)

    @property
    def allocation_strategy(self) -> str:
        return self._settings.allocation_strategy

    @allocation_strategy.setter
    def allocation_strategy(self, strategy: str) -> None:
        """An allocator's name ("on-demand", or "pooling" with the pooling plugin); the Engine
        refuses a name no installed plugin registers."""
        self._put("allocation_strategy", strategy, str)

    @property
    def opt_level(self) -> str:
        return self._settings.opt_level

    @opt_level.setter
    def opt_level(self, level: str) -> None:
        if level not in ("none", "speed", "speed_and_size"):
            raise ConfigError(f"setting 'opt_level' expects 'none', 'speed' or 'speed_and_size', "
                              f"got {level!r}")
        self._settings.opt_level = level  # type: ignore[assignment]

    @property
    def target(self) -> str | None:
        return self._settings.target

    @target.setter
    def target(self, triple: str | None) -> None:
        self._put("target", triple, (str, type(None)))

    # --- wasmtime-py's settings -------------------------------------------------------------
    @property
    def strategy(self) -> str:
        return self._settings.backend

    @strategy.setter
    def strategy(self, strategy: str) -> None:
        if strategy not in _STRATEGIES:
            raise ConfigError(f"setting 'strategy' expects one of {sorted(_STRATEGIES)}, got {strategy!r}")
        self._settings.backend = _STRATEGIES[strategy] or os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND

    @property
    def cranelift_opt_level(self) -> str:
        return self._settings.opt_level

    @cranelift_opt_level.setter
    def cranelift_opt_level(self, level: str) -> None:
        self.opt_level = level

    @property
    def cranelift_debug_verifier(self) -> bool:
        return self._settings.debug_verifier

    @cranelift_debug_verifier.setter
    def cranelift_debug_verifier(self, enable: bool) -> None:
        """Verify generated code; the Engine refuses True unless the backend declares
        'debug_verifier'."""
        self._put("debug_verifier", enable, bool)

    @property
    def consume_fuel(self) -> bool:
        return self._settings.consume_fuel

    @consume_fuel.setter
    def consume_fuel(self, enable: bool) -> None:
        self._put("consume_fuel", enable, bool)

    @property
    def epoch_interruption(self) -> bool:
        return self._settings.epoch_interruption

    @epoch_interruption.setter
    def epoch_interruption(self, enable: bool) -> None:
        self._put("epoch_interruption", enable, bool)

    @property
    def max_wasm_stack(self) -> int:
        return self._settings.max_wasm_stack

    @max_wasm_stack.setter
    def max_wasm_stack(self, size: int) -> None:
        self._put("max_wasm_stack", size, int)
        if size <= 0:
            raise ConfigError(f"setting 'max_wasm_stack' must be positive, got {size}")

    @property
    def debug_info(self) -> bool:
        return self._settings.debug_info

    @debug_info.setter
    def debug_info(self, enable: bool) -> None:
        self._put("debug_info", enable, bool)

    @property
    def profiler(self) -> str | None:
        return self._settings.profiler

    @profiler.setter
    def profiler(self, profiler: str | None) -> None:
        self._put("profiler", None if profiler == "none" else profiler, (str, type(None)))

    @property
    def cache(self) -> str | None:
        return self._settings.cache

    @cache.setter
    def cache(self, enabled: bool | str) -> None:
        if isinstance(enabled, bool):
            from wasmcore.kernel.cache import default_directory
            enabled = default_directory() if enabled else None
        self._put("cache", enabled, (str, type(None)))

    @property
    def parallel_compilation(self) -> bool:
        return bool(self._settings.parallel_compilation)

    @parallel_compilation.setter
    def parallel_compilation(self, enable: bool) -> None:
        """True asks for functions compiled on several threads: the Engine refuses it unless
        the backend declares 'parallel_compilation'. False is always honoured."""
        self._put("parallel_compilation", enable, bool)

    @property
    def wasm_relaxed_simd_deterministic(self) -> bool:
        return self._settings.relaxed_simd_deterministic

    @wasm_relaxed_simd_deterministic.setter
    def wasm_relaxed_simd_deterministic(self, enable: bool) -> None:
        self._put("relaxed_simd_deterministic", enable, bool)

    def __repr__(self) -> str:
        return f"Config({self.settings()!r})"


def _feature_property(name: str, field: str) -> property:
    def getter(self: Config) -> bool:
        return self._features.get(field, getattr(self._settings.features, field))

    def setter(self: Config, enable: bool) -> None:
        if not isinstance(enable, bool):
            raise ConfigError(f"setting {name!r} expects bool, got {enable!r}")
        self._features[field] = enable

    return property(getter, setter, doc=f"Enable the {field.replace('_', ' ')} proposal.")


for _name, _field in _FEATURE_PROPERTIES.items():
    setattr(Config, _name, _feature_property(_name, _field))
del _name, _field
