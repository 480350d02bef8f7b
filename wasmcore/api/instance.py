"""`Instance` and its exports (wasmtime-py's `Instance`, `InstanceExports`)."""

from __future__ import annotations

from typing import Any, Iterator, Sequence

from wasmcore.api.externs import Global, Memory, Table
from wasmcore.api.func import Func
from wasmcore.exec.instantiate import instantiate
from wasmcore.api.module import Module
from wasmcore.runtime import FuncInstance, GlobalInstance, MemoryInstance, TableInstance

_WRAPPERS = {FuncInstance: Func, MemoryInstance: Memory, TableInstance: Table,
             GlobalInstance: Global}


def wrap_extern(runtime_object: Any) -> Any:
    """The API object (Func, Memory, Table, Global) for a runtime object."""
    wrapper = _WRAPPERS.get(type(runtime_object))
    if wrapper is None:  # a backend's subclass (e.g. a global whose value lives in a native cell)
        wrapper = next(w for cls, w in _WRAPPERS.items() if isinstance(runtime_object, cls))
    return wrapper._from_instance(runtime_object)


def unwrap_extern(item: Any) -> Any:
    for attribute in ("_func_instance", "_memory", "_table", "_global"):
        runtime_object = getattr(item, attribute, None)
        if runtime_object is not None:
            return runtime_object
    raise TypeError(f"expected a Func, Memory, Table or Global, got {type(item).__name__}")


class Instance:
    """`Instance(store, module, imports)`: imports are Func/Memory/Table/Global in the module's
    import order. Traps of the start function propagate."""

    def __init__(self, store: Any, module: Module, imports: Sequence[Any]):
        if not isinstance(module, Module):
            raise TypeError("expected a Module")
        store = getattr(store, "_store_ref", store)
        self._instance = instantiate(store, module, [unwrap_extern(item) for item in imports])

    @classmethod
    def _from_instance(cls, instance) -> "Instance":
        self = cls.__new__(cls)
        self._instance = instance
        return self

    def exports(self, store: Any = None) -> "InstanceExports":
        return InstanceExports(self._instance)


class InstanceExports:
    """Exports by name (`exports["run"]`, `exports.get("run")`) or by index (`exports[0]`)."""

    def __init__(self, instance):
        self._instance = instance
        self._names = list(instance.exports)

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, int):
            key = self._names[key]
        return wrap_extern(self._instance.exports[key])

    def get(self, name: str, default: Any = None) -> Any:
        runtime_object = self._instance.exports.get(name)
        return default if runtime_object is None else wrap_extern(runtime_object)

    def __contains__(self, name: object) -> bool:
        return name in self._instance.exports

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def keys(self) -> list[str]:
        return list(self._names)

    def items(self):
        return [(name, self[name]) for name in self._names]

    @property
    def by_index(self) -> list[Any]:
        return [self[name] for name in self._names]
