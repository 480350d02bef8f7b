"""A host-call tracer: an example third-party wasmcore plugin.

It wraps `wasmcore_host_call` (a new-style hook wrapper), which every backend calls once per
imported host function at link time, and replaces the callable the backend will call with one
that records the import's module and name, the arguments and the result of every call. Settings
(namespace `hostcall_tracer`): `output`, a file that gets one JSON object per call, and
`record`, keep the calls in the store (read them with `traced_calls(store)`). With neither, the
backend's callable is returned untouched. Each backend calls its callable in its own convention;
the trace is written in the bits convention of `wasmcore.runtime` whatever the backend (a float
becomes its bit pattern, results are always a tuple), so traces from two backends compare
equal. It imports only wasmcore's plugin surface (`wasmcore.plugin`, `wasmcore.syntax`,
`wasmcore.runtime`)."""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass
from typing import Any, Callable

import msgspec

from wasmcore.plugin import StashKey, hookimpl
from wasmcore.runtime.values import f32_to_bits, f64_to_bits
from wasmcore.syntax.types import ExternKind, ValueType

NAMESPACE = "hostcall_tracer"


class TracerSettings(msgspec.Struct):
    output: str = ""      # a JSON-lines file every call is appended to ("": none)
    record: bool = False  # keep the calls in the store: traced_calls(store)


@dataclass(frozen=True)
class HostCall:
    """One traced call: `args` and `result` (a tuple) in the bits convention."""

    module: str
    name: str
    args: tuple
    result: tuple = ()
    error: str | None = None  # the exception's repr when the host function raised
    backend: str = ""


CALLS: StashKey[list[HostCall]] = StashKey("hostcall_tracer.calls")

# Engine -> its open output file: opened when the engine is created, closed with it (or when
# the engine is collected, which drops the file).
_outputs: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()


def traced_calls(store) -> list[HostCall]:
    """The calls recorded in `store` so far (with `record` on), oldest first."""
    return store.stash.get(CALLS, [])


@hookimpl
def wasmcore_register_settings(register):
    register(NAMESPACE, TracerSettings)


@hookimpl
def wasmcore_engine_created(engine):
    output = engine.plugin_settings(NAMESPACE).output
    if output:
        _outputs[engine] = open(output, "a", encoding="utf-8")


@hookimpl
def wasmcore_engine_closed(engine):
    file = _outputs.pop(engine, None)
    if file is not None:
        file.close()


@hookimpl(wrapper=True)
def wasmcore_host_call(store, func, host, backend, instance):
    adapter = yield  # the backend's (or the core's generic) callable
    engine = store.engine
    settings = engine.plugin_settings(NAMESPACE)
    if adapter is None or not (settings.output or settings.record):
        return adapter
    module, name = _import_name(func, host, instance)
    calls = store.stash.setdefault(CALLS, []) if settings.record else None
    output = _outputs.get(engine)
    return _traced(adapter, host.type, module, name, backend, calls, output)


def _import_name(func, host, instance) -> tuple[str, str]:
    """The (module, name) the importing instance imported `func` under."""
    if instance is not None:
        imported = [imp for imp in instance.module.imports if imp.kind == ExternKind.FUNC]
        # Imports come first in the function index space; a function imported twice is
        # reported under its first import.
        for index, candidate in enumerate(instance.funcs[:len(imported)]):
            if candidate is func:
                return imported[index].module, imported[index].name
    return "", host.name or func.name or ""


def _bits(value_type, value):
    # Backends may pass f32/f64 as Python floats (interp's f64 does); integers already are bits.
    if isinstance(value, float):
        return f32_to_bits(value) if value_type == ValueType.F32 else f64_to_bits(value)
    return value


def _traced(adapter: Callable, func_type, module: str, name: str, backend: str,
            calls: list | None, output) -> Callable:
    params, results = tuple(func_type.params), tuple(func_type.results)

    def traced(*args):
        arg_bits = tuple(_bits(t, a) for t, a in zip(params, args))
        try:
            result = adapter(*args)
        except BaseException as error:  # a trap, WASI's exit, a host exception: traced, re-raised
            _emit(HostCall(module, name, arg_bits, (), repr(error), backend), calls, output)
            raise
        # A backend may return one result bare and none as None; the trace always has a tuple.
        values = result if isinstance(result, tuple) else () if result is None else (result,)
        result_bits = tuple(_bits(t, v) for t, v in zip(results, values))
        _emit(HostCall(module, name, arg_bits, result_bits, None, backend), calls, output)
        return result

    traced.__wrapped__ = adapter
    return traced


def _emit(call: HostCall, calls: list | None, output) -> None:
    if calls is not None:
        calls.append(call)
    if output is not None:
        record = {"module": call.module, "name": call.name, "args": list(call.args),
                  "result": call.result, "backend": call.backend}
        if call.error is not None:
            record["error"] = call.error
        output.write(json.dumps(record, default=repr) + "\n")
        output.flush()  # the trace survives a crash of the guest or the host


__all__ = ["HostCall", "TracerSettings", "traced_calls"]
