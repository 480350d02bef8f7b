"""Host functions called from interp code: one adapter per import, generated per signature.

"python" convention (wasmtime-py): i32/i64 arrive as signed ints, f32/f64 as floats, references
through the core's converter; the callable returns None, one value or a sequence.
"bits" convention: the bits convention of `wasmcore.runtime` (only f64 differs from ours).
"""

from __future__ import annotations

from typing import Any, Callable

from wasmcore.errors import WasmcoreError
from wasmcore_interp import _numerics as N
from wasmcore_interp._runtime import _compile_factory

I32, I64, F32, F64, V128, FUNCREF, EXTERNREF = 0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F
M32, M64 = N.M32, N.M64


def _values():
    from wasmcore.runtime import values  # the core's generic converter (lazy: written by the lead)
    return values


def _to_python(vt, value, store):
    try:
        conv = _values().to_python
    except (ImportError, AttributeError):
        return value
    return conv(vt, value, store)


def _from_python(vt, value, store):
    try:
        conv = _values().from_python
    except (ImportError, AttributeError):
        return value
    return conv(vt, value, store)


def _res_i32(v):
    if isinstance(v, int):
        return v & M32
    raise TypeError(f"expected an integer for an i32 result, got {v!r}")


def _res_i64(v):
    if isinstance(v, int):
        return v & M64
    raise TypeError(f"expected an integer for an i64 result, got {v!r}")


def _res_f32(v):
    if isinstance(v, float):
        return N.f32b(v)
    raise TypeError(f"expected a float for an f32 result, got {v!r}")


def _res_f64(v):
    if isinstance(v, float):
        return v
    raise TypeError(f"expected a float for an f64 result, got {v!r}")


def _res_v128(v):
    if isinstance(v, int):
        return v & ((1 << 128) - 1)
    raise TypeError(f"expected an integer for a v128 result, got {v!r}")


def _bits_res_f64(v):
    return N.q2d(v)


def _make_caller_factory(store, instance) -> Callable[[], Any]:
    """A zero-argument callable making the `Caller` passed to access_caller host functions."""
    cache: list = []

    def factory():
        if not cache:
            import wasmcore
            cls = getattr(wasmcore, "Caller", None)
            if cls is not None:
                cache.append(lambda: cls(store, instance))
            elif hasattr(store, "make_caller"):
                cache.append(lambda: store.make_caller(instance))
            else:
                cache.append(lambda: _FallbackCaller(store, instance))
        return cache[0]()
    return factory


class _FallbackCaller:
    """Used only until `wasmcore.Caller` exists."""

    def __init__(self, store, instance):
        self.store = store
        self.instance = instance

    def get(self, name):
        return self.instance.exports.get(name) if self.instance is not None else None


def host_adapter(store, func, host, instance) -> Callable:
    """The interp-convention callable for one imported host function."""
    ft = host.type if host.type is not None else func.type
    params, results = tuple(ft.params), tuple(ft.results)
    bits = host.convention == "bits"
    names = [f"a{i}" for i in range(len(params))]
    args = []
    for vt, n in zip(params, names):
        if bits:
            args.append(f"_d2q({n})" if vt == F64 else n)
        elif vt == I32:
            args.append(f"({n} - (({n} & 0x80000000) << 1))")
        elif vt == I64:
            args.append(f"({n} - (({n} & 0x8000000000000000) << 1))")
        elif vt == F32:
            args.append(f"_f32v({n})")
        elif vt == FUNCREF:
            args.append(f"_to_py({vt}, {n}, store)")
        else:  # f64, v128, externref
            args.append(n)
    if host.access_caller:
        args.insert(0, "_caller()")
    call = f"call({', '.join(args)})"
    lines = ["def _make(call, store, _caller, _to_py, _from_py):",
             f"    def host({', '.join(names)}):"]

    def conv(vt, expr):
        if bits:
            return f"_q2d({expr})" if vt == F64 else expr
        if vt in (FUNCREF, EXTERNREF):
            return f"_from_py({vt}, {expr}, store)" if vt == FUNCREF else expr
        return {I32: "_res_i32", I64: "_res_i64", F32: "_res_f32", F64: "_res_f64",
                V128: "_res_v128"}[vt] + f"({expr})"

    if not results:
        lines.append(f"        if {call} is not None:")
        lines.append("            raise _Err('callback produced results when it shouldn\\'t')")
    elif len(results) == 1:
        if bits:
            lines.append(f"        r = {call}")
            lines.append("        if r.__class__ is tuple:")
            lines.append("            r = r[0]")
            lines.append(f"        return {conv(results[0], 'r')}")
        else:
            lines.append(f"        return {conv(results[0], call)}")
    else:
        lines.append(f"        r = tuple({call})")
        lines.append(f"        if len(r) != {len(results)}:")
        lines.append("            raise _Err('callback produced wrong number of results')")
        lines.append("        return (" + ", ".join(conv(vt, f"r[{i}]") for i, vt in enumerate(results))
                     + ",)")
    lines.append("    return host")
    key = ("host", params, results, host.convention, host.access_caller)
    env = {"_d2q": N.d2q, "_q2d": N.q2d, "_f32v": N.f32v, "_res_i32": _res_i32,
           "_res_i64": _res_i64, "_res_f32": _res_f32, "_res_f64": _res_f64,
           "_res_v128": _res_v128, "_Err": WasmcoreError}
    factory = _compile_factory(key, "\n".join(lines) + "\n", env)
    caller = _make_caller_factory(store, instance) if host.access_caller else None
    return factory(host.callable, store, caller, _to_python, _from_python)
