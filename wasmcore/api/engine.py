"""`Engine`: resolves a Config into settings, one plugin manager and one backend."""

from __future__ import annotations

import ctypes
import itertools
import weakref
from typing import Any

import msgspec

from wasmcore.api.config import Config, Settings
from wasmcore.errors import ConfigError
from wasmcore.kernel.log import get_logger
from wasmcore.kernel.plugins import PluginManager
from wasmcore.plugin import Allocator, Backend, Stash
from wasmcore.syntax.features import WasmFeatures

log = get_logger("wasmcore.engine")


class Engine:
    """A compilation environment. Owns its plugin manager (no global state), its backend,
    allocator and profiler (chosen by name from the config), plugin state (`stash`, keyed by
    `wasmcore.plugin.StashKey`) and the epoch counter. `Engine(config)`; the config is frozen
    into the engine at creation."""

    def __init__(self, config: Config | None = None, *, plugins: PluginManager | None = None):
        if config is not None and not isinstance(config, Config):
            raise TypeError("expected a Config")
        self._closed = True  # until set up: close() and the finalizer have nothing to do
        self._profiler_session = None
        settings = (config or Config()).settings()
        self.plugins = plugins if plugins is not None else PluginManager()
        # Wasmtime's Engine::new: one backend, one allocator, one profiler, resolved by name
        # now; what the backend cannot honour is refused here, not at the first call.
        self.backend: Backend = self.plugins.backend(settings.backend)
        self.allocator: Allocator = self.plugins.allocator(settings.allocation_strategy)
        settings.features, self.features_off_for_backend = _resolve_features(settings, self.backend)
        self._settings: Settings = settings
        self._plugin_settings = self._resolve_plugin_settings()
        self.stash = Stash()
        # The epoch: `_epoch_counter.value` is what interp code compares (a slot read);
        # `epoch_cell` is the same number in a C u64 a native backend can load from its address.
        self._epoch_counter = EpochCounter()
        self.epoch_cell = ctypes.c_uint64(0)
        self._epoch_ticks = itertools.count(1)
        if settings.profiler is not None:
            self._profiler_session = self.plugins.profiler(settings.profiler).start(self)
        self._closed = False
        self.plugins.engine_created(self)
        self._finalizer = weakref.finalize(self, _close_quietly, self.plugins, weakref.ref(self))
        log.debug("engine.created", backend=settings.backend)

    def _resolve_plugin_settings(self) -> dict[str, Any]:
        schemas = self.plugins.register_settings()
        resolved: dict[str, Any] = {}
        for namespace, values in self._settings.plugins.items():
            schema = schemas.get(namespace)
            if schema is None:
                raise ConfigError(f"unknown settings namespace {namespace!r}; known: "
                                  f"{', '.join(sorted(schemas)) or 'none'}")
            unknown = sorted(set(values) - set(getattr(schema, "__struct_fields__", values)))
            if unknown:
                raise ConfigError(f"unknown setting {namespace}.{unknown[0]}; known: "
                                  f"{', '.join(getattr(schema, '__struct_fields__', ()))}")
            try:
                resolved[namespace] = msgspec.convert(values, schema, strict=False)
            except msgspec.ValidationError as error:
                raise ConfigError(f"bad setting in [{namespace}]: {error}") from None
        for namespace, schema in schemas.items():
            if namespace not in resolved:
                resolved[namespace] = schema()
        return resolved

    @property
    def config(self) -> Settings:
        """The resolved settings (read-only by convention)."""
        return self._settings

    def plugin_settings(self, namespace: str) -> Any:
        try:
            return self._plugin_settings[namespace]
        except KeyError:
            raise ConfigError(f"no plugin registered settings namespace {namespace!r}") from None

    # --- epochs -----------------------------------------------------------------------------
    def increment_epoch(self) -> None:
        """Advance the epoch by one; safe from another thread or a signal handler (no lock:
        `next()` on the counter is atomic under the GIL; racing increments only ever publish a
        tick late, by one at most)."""
        tick = next(self._epoch_ticks)
        counter = self._epoch_counter
        if tick > counter.value:
            counter.value = tick
            self.epoch_cell.value = tick

    @property
    def epoch(self) -> int:
        return self._epoch_counter.value

    def is_pulley(self) -> bool:
        return False

    def precompile_module(self, wasm: bytes | str) -> bytes:
        """Decode, validate and compile `wasm` for this engine's target (`config.target`, or the
        host) and return the artifact that `Module.deserialize` loads without compiling."""
        from wasmcore.kernel import pipeline

        return pipeline.precompile(self, wasm)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._finalizer.detach()
            _close_profiler(self)
            self.plugins.engine_closed(self)

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class EpochCounter:
    """The engine's epoch as a Python int behind a slot, for fast reads by generated code."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


def _close_quietly(plugins: PluginManager, engine_ref) -> None:
    engine = engine_ref()
    if engine is not None and not engine._closed:
        engine._closed = True
        _close_profiler(engine)
        plugins.engine_closed(engine)


def _close_profiler(engine: Engine) -> None:
    session, engine._profiler_session = engine._profiler_session, None
    if session is not None:
        session.close()


# Engine settings only a backend can honour: (Config name, backend feature, is it asked for).
_BACKEND_SETTINGS = (
    ("consume_fuel", "fuel", lambda s: s.consume_fuel),
    ("epoch_interruption", "epochs", lambda s: s.epoch_interruption),
    ("parallel_compilation", "parallel_compilation", lambda s: s.parallel_compilation is True),
    ("debug_info", "debug_info", lambda s: s.debug_info),
    ("cranelift_debug_verifier", "debug_verifier", lambda s: s.debug_verifier),
    ("wasm_relaxed_simd_deterministic", "relaxed_simd_deterministic",
     lambda s: s.relaxed_simd_deterministic),
)


def _resolve_features(settings: Settings, backend: Backend) -> tuple[WasmFeatures, frozenset]:
    """Refuse every setting and explicitly enabled proposal the backend does not declare; turn
    off the proposals that are on by default but missing from it. Returns the features to
    decode and validate with, and the ones turned off for the backend (for error messages)."""
    declared = backend.features
    for option, feature, asked in _BACKEND_SETTINGS:
        if asked(settings) and feature not in declared:
            raise ConfigError(f"{option} is not supported by backend {backend.name!r} (it does "
                              f"not declare the {feature!r} feature)")
    if settings.target is not None and not backend.target_independent \
            and "cross_compile" not in declared:
        from wasmcore.kernel.artifact import host_target, normalize_target

        if normalize_target(settings.target) != host_target():
            raise ConfigError(f"backend {backend.name!r} cannot compile for another target "
                              f"({settings.target!r}): it does not declare 'cross_compile'")
    features = settings.features
    turned_off = []
    for name in features.__struct_fields__:
        if getattr(features, name) and name not in declared:
            if name in settings.explicit_features:
                raise ConfigError(f"backend {backend.name!r} does not support the {name} "
                                  f"proposal (config.wasm_{name} = True)")
            turned_off.append(name)
    if turned_off:
        features = msgspec.structs.replace(features, **{name: False for name in turned_off})
    return features, frozenset(turned_off)
