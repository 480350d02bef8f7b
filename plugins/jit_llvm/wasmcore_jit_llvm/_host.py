"""Host functions called from llvm code: a bits-convention `invoke(*bits) -> tuple` per
imported host function, knowing the calling instance (for `access_caller`), and the direct
array-style handler generated for this plugin's own `HostCallable`s (`fast_handler`)."""

from __future__ import annotations

import functools
from typing import Callable

from wasmcore.runtime.values import convert_host_results as _results, to_python
from wasmcore.syntax.types import ValueType

_REFS = (ValueType.FUNCREF, ValueType.EXTERNREF)


def _caller(store, instance):
    import wasmcore  # the embedding API's Caller (the plugin never imports it at load time)
    return wasmcore.Caller(store, instance)


def host_invoke(store, host, instance) -> Callable[..., tuple]:
    params, results = tuple(host.type.params), tuple(host.type.results)
    function = host.callable
    bits = host.convention == "bits"
    caller = _caller(store, instance) if host.access_caller else None

    if bits and caller is not None:
        def invoke(*args):
            return _results(results, function(caller, *args), store, True)
    elif bits:
        def invoke(*args):
            return _results(results, function(*args), store, True)
    else:
        def invoke(*args):
            values = [to_python(t, a, store) for t, a in zip(params, args)]
            if caller is not None:
                values.insert(0, caller)
            return _results(results, function(*values), store, False)
    return invoke


class HostCallable:
    """What this plugin's `wasmcore_host_call` returns: a bits-convention invoke that also
    remembers its HostFunction, so the backend can generate a direct array-style handler for
    it. A hook wrapper that replaces it (tracing) gets the generic path instead."""

    __slots__ = ("invoke", "host", "store", "instance")

    def __init__(self, store, host, instance):
        self.invoke = host_invoke(store, host, instance)
        self.host = host
        self.store = store
        self.instance = instance

    def __call__(self, *args):
        return self.invoke(*args)


# Handler factories are cached per signature and convention; they refer to nothing of a store
# or module (those are their arguments), and the bound keeps a stream of types in check.
FACTORY_CACHE_SIZE = 512


def fast_handler(hc: HostCallable, state, status_exception: int, arr_type) -> Callable:
    """`status handler(record, args)` calling the host function directly, converting each
    argument and result inline (one generated function per signature and convention)."""
    from wasmcore.runtime import values as V

    host = hc.host
    params, results = tuple(host.type.params), tuple(int(t) for t in host.type.results)
    factory = _fast_handler_factory(params, results, host.convention == "bits",
                                    bool(host.access_caller), status_exception)
    caller = _caller(hc.store, hc.instance) if host.access_caller else None
    return factory(host.callable, state, arr_type, caller, hc.store, state.obj, state.handle,
                   V.to_python, V.from_python, V.f32_from_bits, V.f64_from_bits, _results)


@functools.lru_cache(maxsize=FACTORY_CACHE_SIZE)
def _fast_handler_factory(params: tuple, results: tuple, bits: bool, access_caller: bool,
                          status_exception: int):
    args = []
    for i, vt in enumerate(params):
        x = f"a[{i}]"
        if vt in _REFS:
            args.append(f"_obj({x})" if bits else f"_to_py({vt}, _obj({x}), store)")
        elif bits:
            args.append(x)
        elif vt == ValueType.I32:
            args.append(f"(({x} ^ 0x80000000) - 0x80000000)")
        elif vt == ValueType.I64:
            args.append(f"(({x} ^ 0x8000000000000000) - 0x8000000000000000)")
        elif vt == ValueType.F32:
            args.append(f"_f32({x})")
        else:
            args.append(f"_f64({x})")
    if access_caller:
        args.insert(0, "caller")
    lines = ["def _make(fn, state, ARR, caller, store, _obj, _h, _to_py, _from_py, _f32, _f64, _res):",
             "    def handler(rec, p):", "        try:", "            a = ARR.from_address(p)",
             f"            r = fn({', '.join(args)})"]

    def out(vt, expr):
        if vt in _REFS:
            return f"_h({expr})" if bits else f"_h(_from_py({vt}, {expr}, store))"
        return expr if bits else f"_from_py({vt}, {expr}, store)"

    if not results:
        lines += ["            if r is not None:",
                  "                _res((), r, store, False)"]
    elif len(results) == 1:
        lines += ["            if r.__class__ is tuple or r.__class__ is list:",
                  f"                r = _res({results!r}, r, store, True)[0]",
                  f"            a[0] = {out(results[0], 'r')}"]
    else:
        lines.append(f"            r = _res({results!r}, r, store, True)")
        lines += [f"            a[{i}] = {out(vt, f'r[{i}]')}" for i, vt in enumerate(results)]
    lines += ["            return 0", "        except BaseException as error:",
              "            state.pending = error", f"            return {status_exception}",
              "    return handler"]
    namespace: dict = {}
    exec(compile("\n".join(lines) + "\n", "<wasm-llvm host>", "exec"), namespace)
    return namespace["_make"]
