"""The plugin manager: one per Engine, loading the `wasmcore` entry-point group.

Built in three steps (pluggy's eggsample): add the hook specs, register the core's builtins,
load entry points. A plugin whose import fails is recorded as skipped with its reason.
`WASMCORE_DISABLE_PLUGINS=a,b` blocks plugins; `WASMCORE_DISABLE_PLUGIN_AUTOLOAD=1` turns
discovery off. Core code calls hooks through the typed methods here, never `pm.hook.x`.
"""

from __future__ import annotations

import importlib.metadata
import os
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable

import pluggy

from wasmcore import hookspecs
from wasmcore.kernel import builtins as _builtins
from wasmcore.kernel.log import enabled as log_enabled, get_logger
from wasmcore.errors import ConfigError, PluginError
from wasmcore.plugin import FEATURES, PROJECT_NAME, Allocator, Backend, Profiler

log = get_logger("wasmcore.plugins")

ENTRY_POINT_GROUP = PROJECT_NAME
# Builtins that cannot be blocked: without them nothing can be read.
ESSENTIAL = frozenset({"wasmcore.binary", "wasmcore.text", "wasmcore.valid"})


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]
    builtin: bool = False


@dataclass(frozen=True)
class SkippedPlugin:
    name: str
    reason: str


@lru_cache(maxsize=1)
def _scan_entry_points() -> tuple[importlib.metadata.EntryPoint, ...]:
    """Entry points are scanned once per process (the scan reads every dist's metadata)."""
    return tuple(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


def rescan_entry_points() -> None:
    """Forget the cached scan (after installing a plugin in the same process, e.g. in tests)."""
    _scan_entry_points.cache_clear()
    importlib.invalidate_caches()


def disabled_from_environment() -> frozenset[str]:
    return frozenset(filter(None, (n.strip() for n in
                                   os.environ.get("WASMCORE_DISABLE_PLUGINS", "").split(","))))


class PluginManager(pluggy.PluginManager):
    def __init__(self, *, autoload: bool | None = None, disabled: Iterable[str] = (),
                 plugins: Iterable[tuple[str, Any]] = ()):
        super().__init__(PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        self.skipped: list[SkippedPlugin] = []
        self._distributions: dict[str, tuple[str | None, str | None]] = {}
        blocked = set(disabled) | disabled_from_environment()
        for name in blocked - ESSENTIAL:
            self.set_blocked(name)
        for name, plugin in _builtins.BUILTINS:
            if not self.is_blocked(name):
                self.register(plugin, name=name)
                self._distributions[name] = (PROJECT_NAME, _own_version())
        if autoload is None:
            autoload = not os.environ.get("WASMCORE_DISABLE_PLUGIN_AUTOLOAD")
        if autoload:
            self._load_entry_points()
        for name, plugin in plugins:
            if not self.is_blocked(name):
                self.register(plugin, name=name)
        self.check_pending()
        self._backends = self._collect("wasmcore_register_backends", "backend", Backend)
        self._allocators = self._collect("wasmcore_register_allocators", "allocator", Allocator)
        self._profilers = self._collect("wasmcore_register_profilers", "profiler", Profiler)
        if log_enabled("wasmcore.plugins", "debug"):
            self.add_hookcall_monitoring(self._before_hook, self._after_hook)

    def _collect(self, hook_name: str, what: str, kind: type) -> dict[str, Any]:
        """Run one `register_*` hook: name -> object, refusing duplicates and non-`kind`s."""
        found: dict[str, Any] = {}

        def register(item: Any) -> None:
            if not isinstance(item, kind):
                raise PluginError(f"{hook_name} expects a wasmcore.plugin.{kind.__name__}, got "
                                  f"{item!r}")
            if not isinstance(item.name, str) or not item.name:
                raise PluginError(f"a registered {what} needs a name, got {item.name!r}")
            if item.name in found:
                raise PluginError(f"two plugins register a {what} named {item.name!r}")
            if kind is Backend:
                unknown = set(item.features) - FEATURES
                if unknown:
                    raise PluginError(f"backend {item.name!r} declares unknown features: "
                                      f"{', '.join(sorted(unknown))} (known: "
                                      f"{', '.join(sorted(FEATURES))})")
            found[item.name] = item

        getattr(self.hook, hook_name)(register=register)
        return found

    def _load_entry_points(self) -> None:
        for entry_point in _scan_entry_points():
            name = entry_point.name
            if self.is_blocked(name) or self.has_plugin(name):
                continue
            try:
                plugin = entry_point.load()
            except Exception as error:  # an optional dependency missing, a broken plugin
                self.skipped.append(SkippedPlugin(name, f"{type(error).__name__}: {error}"))
                log.info("plugin.skipped", plugin=name, reason=str(error))
                continue
            self.register(plugin, name=name)
            dist = entry_point.dist
            self._distributions[name] = (dist.name if dist else None, dist.version if dist else None)

    @staticmethod
    def _before_hook(hook_name, hook_impls, kwargs):
        log.debug("hook.call", hook=hook_name, impls=[impl.plugin_name for impl in hook_impls])

    @staticmethod
    def _after_hook(outcome, hook_name, hook_impls, kwargs):
        log.debug("hook.done", hook=hook_name, failed=outcome.exception is not None)

    # --- introspection -----------------------------------------------------------------------
    def plugin_infos(self) -> list[PluginInfo]:
        infos = []
        for name, plugin in self.list_name_plugin():
            if plugin is None:
                continue
            hooks = tuple(sorted(caller.name for caller in self.get_hookcallers(plugin) or ()))
            dist, version = self._distributions.get(name, (None, None))
            infos.append(PluginInfo(name, dist, version, hooks, builtin=name.startswith("wasmcore.")))
        return sorted(infos, key=lambda info: (not info.builtin, info.name))

    def backends(self) -> list[str]:
        """Names of the registered backends (`wasmcore_register_backends`)."""
        return sorted(self._backends)

    def backend(self, name: str) -> Backend:
        """The backend registered as `name`; ConfigError naming the installed ones if none."""
        return self._lookup(self._backends, name, "backend")

    def allocators(self) -> list[str]:
        return sorted(self._allocators)

    def allocator(self, name: str) -> Allocator:
        return self._lookup(self._allocators, name, "allocation strategy")

    def profilers(self) -> list[str]:
        return sorted(self._profilers)

    def profiler(self, name: str) -> Profiler:
        return self._lookup(self._profilers, name, "profiler")

    def _lookup(self, registry: dict[str, Any], name: str, what: str) -> Any:
        try:
            return registry[name]
        except KeyError:
            installed = ", ".join(sorted(registry)) or "none"
            skipped = "".join(f"; {s.name} skipped ({s.reason})" for s in self.skipped)
            raise ConfigError(f"unknown {what} {name!r}; installed {what}s: {installed}"
                              f"{skipped}") from None

    # --- typed facade: one method per hook -----------------------------------------------------
    def register_settings(self) -> dict[str, type]:
        schemas: dict[str, type] = {}

        def register(namespace: str, schema: type) -> None:
            if namespace in schemas:
                raise PluginError(f"settings namespace {namespace!r} registered twice")
            schemas[namespace] = schema

        self.hook.wasmcore_register_settings(register=register)
        return schemas

    def host_modules(self) -> dict[str, Any]:
        modules: dict[str, Any] = {}
        self.hook.wasmcore_register_host_modules(register=lambda module: modules.setdefault(module.name, module))
        return modules

    def engine_created(self, engine) -> None:
        self.hook.wasmcore_engine_created(engine=engine)

    def engine_closed(self, engine) -> None:
        self.hook.wasmcore_engine_closed(engine=engine)

    def decode(self, engine, data):
        started = time.perf_counter()
        module = self.hook.wasmcore_decode(engine=engine, data=data)
        if module is None:
            raise PluginError("no decoder recognised the input")
        log.debug("module.decoded", module=module.id[:12], seconds=time.perf_counter() - started)
        return module

    def validate(self, engine, module) -> None:
        self.hook.wasmcore_validate(engine=engine, module=module)

    def compile(self, engine, module):
        compiled = self.hook.wasmcore_compile(engine=engine, module=module)
        if compiled is None:
            raise PluginError(f"backend {engine.config.backend!r} did not compile the module")
        return compiled

    def serialize(self, engine, compiled) -> bytes | None:
        return self.hook.wasmcore_serialize(engine=engine, compiled=compiled)

    def deserialize(self, engine, module, backend: str, payload: bytes, header=None):
        return self.hook.wasmcore_deserialize(engine=engine, module=module, backend=backend,
                                              payload=payload, header=header)

    def code_published(self, engine, module, functions) -> None:
        if functions:
            self.hook.wasmcore_code_published(engine=engine, module=module, functions=functions)

    def allocate(self, engine, store, module):
        allocation = self.hook.wasmcore_allocate(engine=engine, store=store, module=module)
        if allocation is None:
            raise PluginError("no allocator answered wasmcore_allocate")
        return allocation

    def release(self, engine, store, allocation) -> None:
        self.hook.wasmcore_release(engine=engine, store=store, allocation=allocation)

    def instantiate(self, store, compiled, instance):
        handle = self.hook.wasmcore_instantiate(store=store, compiled=compiled, instance=instance)
        if handle is None:
            raise PluginError(f"backend {compiled.backend!r} did not instantiate the module")
        return handle

    def host_call(self, store, func, host, backend: str, instance=None):
        return self.hook.wasmcore_host_call(store=store, func=func, host=host, backend=backend,
                                            instance=instance)


@lru_cache(maxsize=1)
def _own_version() -> str | None:
    try:
        return importlib.metadata.version(PROJECT_NAME)
    except importlib.metadata.PackageNotFoundError:
        return None
