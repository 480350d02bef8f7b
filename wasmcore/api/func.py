"""`Func` and `Caller` (wasmtime-py's): calling wasm from Python and Python from wasm."""

from __future__ import annotations

from typing import Any, Callable

from wasmcore.api.types import FuncType
from wasmcore.errors import Trap, TrapCode
from wasmcore.plugin import HostFunction
from wasmcore.runtime import FuncInstance
from wasmcore.runtime.values import convert_host_results, from_python, to_python
from wasmcore.syntax.types import ValueType


def _store_of(storelike: Any):
    store = getattr(storelike, "_store_ref", None)  # a Caller
    return store if store is not None else storelike


class Func:
    """A function: `Func(store, ty, callable, access_caller=False)` defines a host function;
    exports of instances are Funcs too. Call it as `func(store, *args)`: arguments are plain
    Python values (or `Val`s); the result is None, one value, or a list."""

    __slots__ = ("_func_instance",)

    def __init__(self, store: Any, ty: FuncType, func: Callable, access_caller: bool = False):
        if not isinstance(ty, FuncType):
            raise TypeError("expected a FuncType")
        if not callable(func):
            raise TypeError("expected a callable")
        host = HostFunction(ty._type, func, access_caller, "python",
                            getattr(func, "__name__", ""))
        self._func_instance = host_func_instance(_store_of(store), host)

    @classmethod
    def _from_instance(cls, instance: FuncInstance) -> "Func":
        self = cls.__new__(cls)
        self._func_instance = instance
        return self

    def type(self, store: Any = None) -> FuncType:
        return FuncType._from(self._func_instance.type)

    def __call__(self, store: Any, *args: Any) -> Any:
        fi = self._func_instance
        call = _CALLERS.get(fi.type)
        if call is None:
            call = _CALLERS[fi.type] = _build_caller(fi.type)
        try:
            return call(fi.invoke, _store_of(store), args)
        except RecursionError:
            raise Trap(TrapCode.STACK_OVERFLOW) from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Func) and other._func_instance is self._func_instance

    def __hash__(self) -> int:
        return id(self._func_instance)


# Python -> wasm calls go through one generated adapter per signature: plain int arguments of
# i32/i64 parameters are masked inline, everything else takes the generic converter.
_CALLERS: dict = {}
_INT_MASKS = {ValueType.I32: 0xFFFFFFFF, ValueType.I64: 0xFFFFFFFFFFFFFFFF}
_SIGN_BITS = {ValueType.I32: 32, ValueType.I64: 64}


def _build_caller(func_type) -> Callable:
    params, results = func_type.params, func_type.results
    lines = ["def call(invoke, store, args):",
             f"    if len(args) != {len(params)}:",
             f"        raise TypeError('wrong number of arguments: expected {len(params)}, got %d' % len(args))"]
    names = []
    for index, value_type in enumerate(params):
        name = f"a{index}"
        names.append(name)
        if value_type in _INT_MASKS:
            lines.append(f"    {name} = args[{index}]")
            lines.append(f"    {name} = {name} & {_INT_MASKS[value_type]} if type({name}) is int "
                         f"else from_python(P[{index}], {name}, store)")
        else:
            lines.append(f"    {name} = from_python(P[{index}], args[{index}], store)")
    call = f"invoke({', '.join(names)})"
    if not results:
        lines.append(f"    {call}")
        lines.append("    return None")
    elif len(results) == 1 and results[0] in _SIGN_BITS:
        bits = _SIGN_BITS[results[0]]
        lines.append(f"    r = {call}[0]")
        lines.append(f"    return r - {1 << bits} if r >> {bits - 1} else r")
    elif len(results) == 1:
        lines.append(f"    return to_python(R[0], {call}[0], store)")
    else:
        lines.append(f"    return [to_python(t, r, store) for t, r in zip(R, {call})]")
    namespace = {"from_python": from_python, "to_python": to_python, "P": params, "R": results}
    exec("\n".join(lines), namespace)
    return namespace["call"]


class Caller:
    """What a host function defined with `access_caller=True` receives first: the calling
    instance's exports (`caller["memory"]`, `caller.get("memory")`) and its store."""

    __slots__ = ("_store_ref", "instance")

    def __init__(self, store: Any, instance: Any):
        self._store_ref = store
        self.instance = instance  # the calling ModuleInstance (None if called from the host)

    @property
    def store(self) -> Any:
        return self._store_ref

    @property
    def data(self) -> Any:
        return self._store_ref.data

    def get(self, name: str) -> Any:
        if self.instance is None:
            return None
        runtime_object = self.instance.exports.get(name)
        if runtime_object is None:
            return None
        from wasmcore.api.instance import wrap_extern

        return wrap_extern(runtime_object)

    def __getitem__(self, name: str) -> Any:
        item = self.get(name)
        if item is None:
            raise KeyError(name)
        return item


def host_func_instance(store: Any, host: HostFunction) -> FuncInstance:
    """A FuncInstance for a host function, with the generic bits-convention `invoke`
    (backends specialise calls from their own code through `wasmcore_host_call`)."""
    fi = FuncInstance(host.type, host=host, name=host.name)
    fi.invoke = _generic_invoke(store, host, None)
    return fi


def _generic_invoke(store: Any, host: HostFunction, instance: Any) -> Callable[..., tuple]:
    func_type = host.type
    params, results = func_type.params, func_type.results
    function = host.callable
    bits_convention = host.convention == "bits"

    def invoke(*args: Any) -> tuple:
        if bits_convention:
            values = args
        else:
            values = [to_python(t, a, store) for t, a in zip(params, args)]
        if host.access_caller:
            out = function(Caller(store, instance), *values)
        else:
            out = function(*values)
        return convert_host_results(results, out, store, bits_convention)

    return invoke


