"""Conversions between the bits convention and Python values (wasmtime-py's conventions:
i32/i64 signed ints, f32/f64 floats, v128 an int, funcref a `Func` or None, externref any
object). Used by the embedding API and by backends for what they do not specialise."""

from __future__ import annotations

import struct
from typing import Any

from wasmcore.syntax.types import ValueType

_F32 = struct.Struct("<f")
_U32 = struct.Struct("<I")
_F64 = struct.Struct("<d")
_U64 = struct.Struct("<Q")


def f32_to_bits(value: float) -> int:
    try:
        return _U32.unpack(_F32.pack(value))[0]
    except OverflowError:  # beyond f32 range: round to infinity as a conversion would
        return 0x7F800000 if value > 0 else 0xFF800000


def f32_from_bits(bits: int) -> float:
    return _F32.unpack(_U32.pack(bits))[0]


def f64_to_bits(value: float) -> int:
    return _U64.unpack(_F64.pack(value))[0]


def f64_from_bits(bits: int) -> float:
    return _F64.unpack(_U64.pack(bits))[0]


def _check_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if hasattr(value, "_wasm_val"):  # a Val
            return _check_int(value.value, what)
        raise TypeError(f"expected an int for {what}, got {type(value).__name__}")
    return value


def _check_float(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if hasattr(value, "_wasm_val"):
            return _check_float(value.value, what)
        raise TypeError(f"expected a float for {what}, got {type(value).__name__}")
    return float(value)


def from_python(value_type: ValueType, value: Any, store: Any = None) -> Any:
    """A Python value -> bits; TypeError for a value of the wrong type."""
    if value_type == ValueType.I32:
        return _check_int(value, "i32") & 0xFFFFFFFF
    if value_type == ValueType.I64:
        return _check_int(value, "i64") & 0xFFFFFFFFFFFFFFFF
    if value_type == ValueType.F32:
        return f32_to_bits(_check_float(value, "f32"))
    if value_type == ValueType.F64:
        return f64_to_bits(_check_float(value, "f64"))
    if value_type == ValueType.V128:
        if hasattr(value, "_wasm_val") and value.type._kind != ValueType.V128:
            raise TypeError(f"expected a v128 for v128, got a Val of type {value.type}")
        return _check_int(value, "v128") & ((1 << 128) - 1)
    if hasattr(value, "_wasm_val"):
        value = value.value
    if value_type == ValueType.FUNCREF:
        if value is None:
            return None
        instance = getattr(value, "_func_instance", None)
        if instance is None:
            raise TypeError(f"expected a Func or None for funcref, got {type(value).__name__}")
        return instance
    return value  # externref: any object, None is null


def to_python(value_type: ValueType, bits: Any, store: Any = None) -> Any:
    """Bits -> the Python value wasmtime-py would return."""
    if value_type == ValueType.I32:
        return bits - 0x100000000 if bits & 0x80000000 else bits
    if value_type == ValueType.I64:
        return bits - 0x10000000000000000 if bits & 0x8000000000000000 else bits
    if value_type == ValueType.F32:
        return f32_from_bits(bits)
    if value_type == ValueType.F64:
        return f64_from_bits(bits)
    if value_type == ValueType.FUNCREF:
        if bits is None:
            return None
        from wasmcore.api.func import Func

        return Func._from_instance(bits)
    return bits  # v128 int, externref object


def convert_host_results(results: tuple, out: Any, store: Any, bits_convention: bool) -> tuple:
    """A host function's return value (None, one value or a sequence) as a bits tuple."""
    if not results:
        if out is not None:
            raise TypeError("host function returned a value but its type has no results")
        return ()
    if len(results) == 1:
        if isinstance(out, (list, tuple)):
            if len(out) != 1:
                raise TypeError(f"host function returned {len(out)} values, expected 1")
            out = out[0]
        out = (out,)
    elif not isinstance(out, (list, tuple)) or len(out) != len(results):
        raise TypeError(f"host function must return {len(results)} values")
    if bits_convention:
        return tuple(out)
    return tuple(from_python(t, v, store) for t, v in zip(results, out))
