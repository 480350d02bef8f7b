"""`Engine`: resolves a Config into settings, one plugin manager and one backend."""

from __future__ import annotations

import ctypes
import itertools
import weakref
from typing import Any

import msgspec

from wasmcore.api.config import Config, Settings
from wasmcore.kernel.log import get_logger
from wasmcore.kernel.plugins import PluginManager
from wasmcore.errors import ConfigError

log = get_logger("wasmcore.engine")


class Engine:
    """A compilation environment. Owns its plugin manager (no global state) and the epoch
    counter. `Engine(config)`; the config is frozen into the engine at creation."""

    def __init__(self, config: Config | None = None, *, plugins: PluginManager | None = None):
        if config is not None and not isinstance(config, Config):
            raise TypeError("expected a Config")
        self._settings: Settings = (config or Config()).settings()
        self.plugins = plugins if plugins is not None else PluginManager()
        backends = self.plugins.backends()
        if self._settings.backend not in backends:
            installed = ", ".join(backends) or "none"
            skipped = "".join(f"; {s.name} skipped ({s.reason})" for s in self.plugins.skipped)
            raise ConfigError(f"unknown backend {self._settings.backend!r}; installed backends: "
                              f"{installed}{skipped}")
        self._plugin_settings = self._resolve_plugin_settings()
        # The epoch: `_epoch_counter.value` is what interp code compares (a slot read);
        # `epoch_cell` is the same number in a C u64 a native backend can load from its address.
        self._epoch_counter = EpochCounter()
        self.epoch_cell = ctypes.c_uint64(0)
        self._epoch_ticks = itertools.count(1)
        self._closed = False
        self.plugins.engine_created(self)
        self._finalizer = weakref.finalize(self, _close_quietly, self.plugins, weakref.ref(self))
        log.debug("engine.created", backend=self._settings.backend)

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

    def check_compiled(self, compiled: Any) -> None:
        """Refuse a compiled module whose backend cannot enforce this engine's resource
        settings: accepting them unenforced would let a guest run unbounded. A backend's
        CompiledModule declares `supports_fuel` / `supports_epochs` (docs/plugins.md)."""
        for option, feature in (("consume_fuel", "supports_fuel"),
                                ("epoch_interruption", "supports_epochs")):
            if getattr(self._settings, option) and not getattr(compiled, feature, False):
                backend = getattr(compiled, "backend", self._settings.backend)
                raise ConfigError(f"{option} is not supported by backend {backend!r} (its "
                                  f"compiled modules do not declare {feature})")

    def is_pulley(self) -> bool:
        return False

    def precompile_module(self, wasm: bytes | str) -> bytes:
        """Decode, validate and compile `wasm` for this engine's target (`config.target`, or the
        host) and return the artifact that `Module.deserialize` loads without compiling."""
        from wasmcore.kernel.artifact import serialize_parts

        if not isinstance(wasm, (bytes, bytearray, memoryview, str)):
            raise TypeError("expected bytes or str")
        decoded = self.plugins.decode(self, wasm if isinstance(wasm, str) else bytes(wasm))
        self.plugins.validate(self, decoded)
        return serialize_parts(self, decoded, self.plugins.compile(self, decoded))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._finalizer.detach()
            self.plugins.engine_closed(self)


class EpochCounter:
    """The engine's epoch as a Python int behind a slot, for fast reads by generated code."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


def _close_quietly(plugins: PluginManager, engine_ref) -> None:
    engine = engine_ref()
    if engine is not None and not engine._closed:
        engine._closed = True
        plugins.engine_closed(engine)
