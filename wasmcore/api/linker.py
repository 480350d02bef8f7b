"""`Linker`: resolves imports by module and field name (wasmtime-py's `Linker`)."""

from __future__ import annotations

from typing import Any, Callable

from wasmcore.api.engine import Engine
from wasmcore.api.func import Func, host_func_instance
from wasmcore.api.instance import Instance, unwrap_extern, wrap_extern
from wasmcore.api.module import Module
from wasmcore.api.types import FuncType
from wasmcore.errors import LinkError, WasmcoreError
from wasmcore.plugin import HostFunction, StashKey
from wasmcore.syntax.types import ExternKind

_KIND_NAMES = {ExternKind.FUNC: "function", ExternKind.TABLE: "table",
               ExternKind.MEMORY: "memory", ExternKind.GLOBAL: "global"}


class Linker:
    def __init__(self, engine: Engine):
        if not isinstance(engine, Engine):
            raise TypeError("expected an Engine")
        self.engine = engine
        self.allow_shadowing = False
        # (module, name) -> a runtime object, or a HostFunction instantiated per store. The
        # per-store FuncInstances live in each store's stash under this linker's own key, so
        # the linker never keeps a dropped store alive.
        self._items: dict[tuple[str, str], Any] = {}
        self._per_store_key: StashKey[dict] = StashKey("linker host functions")

    def _insert(self, module: str, name: str, item: Any) -> None:
        key = (module, name)
        if key in self._items and not self.allow_shadowing:
            raise WasmcoreError(f"import of `{module}::{name}` defined twice")
        self._items[key] = item

    def define(self, store: Any, module: str, name: str, item: Any) -> None:
        self._insert(module, name, unwrap_extern(item))

    def define_func(self, module: str, name: str, ty: FuncType, func: Callable,
                    access_caller: bool = False) -> None:
        if not isinstance(ty, FuncType):
            raise TypeError("expected a FuncType")
        self._insert(module, name, HostFunction(ty._type, func, access_caller, "python", name))

    def define_host_function(self, module: str, name: str, host: HostFunction) -> None:
        self._insert(module, name, host)

    def define_instance(self, store: Any, name: str, instance: Instance) -> None:
        for export_name, runtime_object in instance._instance.exports.items():
            self._insert(name, export_name, runtime_object)

    def define_module(self, store: Any, name: str, module: Module) -> None:
        instance = self.instantiate(store, module)
        self.define_instance(store, name, instance)

    def define_host_module(self, name: str) -> None:
        """Define every function of a plugin's host module (see wasmcore_register_host_modules)."""
        modules = self.engine.plugins.host_modules()
        if name not in modules:
            raise WasmcoreError(f"no plugin provides host module {name!r}; available: "
                                f"{', '.join(sorted(modules)) or 'none'}")
        for field, host in modules[name].functions().items():
            self._insert(name, field, host)

    def define_wasi(self) -> None:
        """Define WASI (every host module of kind "wasi"); configure it per store with
        `store.set_wasi(WasiConfig())`."""
        modules = [m for m in self.engine.plugins.host_modules().values() if m.kind == "wasi"]
        if not modules:
            raise WasmcoreError("no WASI plugin is installed (or it was disabled)")
        for module in modules:
            for field, host in module.functions().items():
                self._insert(module.name, field, host)

    def _resolve(self, store: Any, module: str, name: str) -> Any:
        item = self._items.get((module, name))
        if isinstance(item, HostFunction):
            defined = store.stash.setdefault(self._per_store_key, {})
            func = defined.get((module, name))
            if func is None or func.host is not item:
                func = defined[(module, name)] = host_func_instance(store, item)
            return func
        return item

    def _unknown_imports(self, module: Module):
        if not isinstance(module, Module):
            raise TypeError("expected a Module")
        decoded = module._module
        for imp in decoded.imports:
            if (imp.module, imp.name) not in self._items:
                yield imp, (decoded.types[imp.desc] if imp.kind == ExternKind.FUNC else imp.desc)

    def define_unknown_imports_as_traps(self, module: Module) -> None:
        """Define each still-undefined function import of `module` as a function that traps
        when called (other kinds of imports stay undefined)."""
        for imp, func_type in list(self._unknown_imports(module)):
            if imp.kind == ExternKind.FUNC:
                message = f"unknown import: `{imp.module}::{imp.name}` has not been defined"
                self._insert(imp.module, imp.name,
                             HostFunction(func_type, _trapping(message), False, "bits", imp.name))

    def define_unknown_imports_as_default_values(self, store: Any, module: Module) -> None:
        """Define each still-undefined import of `module` with a default: functions returning
        zeros (null references), zero globals, memories and tables of the minimum size."""
        from wasmcore.api.externs import Global, Memory, Table
        from wasmcore.api.types import GlobalType, MemoryType, TableType

        for imp, desc in list(self._unknown_imports(module)):
            if imp.kind == ExternKind.FUNC:
                zeros = tuple(None if t.is_reference else 0 for t in desc.results)
                item = HostFunction(desc, lambda *args, _zeros=zeros: _zeros, False, "bits",
                                    imp.name)
            elif imp.kind == ExternKind.GLOBAL:
                item = Global(store, GlobalType._from(desc),
                              None if desc.value_type.is_reference else 0)._global
            elif imp.kind == ExternKind.MEMORY:
                item = Memory(store, MemoryType._from(desc))._memory
            else:
                item = Table(store, TableType._from(desc), None)._table
            self._insert(imp.module, imp.name, item)

    def instantiate_pre(self, module: Module) -> "InstancePre":
        """Check now that every import of `module` is defined; `InstancePre.instantiate(store)`
        then makes instances without resolving names again."""
        for imp, _ in self._unknown_imports(module):
            raise LinkError(_unknown_import_message(imp))
        return InstancePre(self, module)

    def instantiate(self, store: Any, module: Module) -> Instance:
        store = getattr(store, "_store_ref", store)
        externs = []
        for imp in module._module.imports:
            item = self._resolve(store, imp.module, imp.name)
            if item is None:
                raise LinkError(_unknown_import_message(imp))
            externs.append(item)
        from wasmcore.exec.instantiate import instantiate

        return Instance._from_instance(instantiate(store, module, externs))

    def get(self, store: Any, module: str, name: str) -> Any:
        item = self._resolve(getattr(store, "_store_ref", store), module, name)
        if item is None:
            raise WasmcoreError(f"`{module}::{name}` is not defined in this linker")
        return wrap_extern(item)

    def get_default(self, store: Any, name: str) -> Func:
        item = self._resolve(getattr(store, "_store_ref", store), name, "")
        if item is None:
            item = self._resolve(getattr(store, "_store_ref", store), name, "_start")
        if item is None:
            raise WasmcoreError(f"no default function defined for module {name!r}")
        return wrap_extern(item)


class InstancePre:
    """A module whose imports a linker has resolved (wasmtime-py's `InstancePre`)."""

    def __init__(self, linker: Linker, module: Module):
        self._linker = linker
        self._module = module

    @property
    def module(self) -> Module:
        return self._module

    def instantiate(self, store: Any) -> Instance:
        return self._linker.instantiate(store, self._module)

    def close(self) -> None:
        """Kept for wasmtime-py: nothing native to free."""


def _unknown_import_message(imp) -> str:
    return (f"unknown import: `{imp.module}::{imp.name}` has not been defined "
            f"(expected a {_KIND_NAMES[imp.kind]})")


def _trapping(message: str) -> Callable[..., tuple]:
    from wasmcore.errors import Trap

    def trap(*args: Any) -> tuple:
        raise Trap(message)
    return trap
