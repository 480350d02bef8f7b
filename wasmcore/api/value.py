"""`Val`: a typed wasm value, as wasmtime-py spells it (`Val.i32(1)`, `val.value`, `val.type`)."""

from __future__ import annotations

from typing import Any

from wasmcore.api.types import ValType


class Val:
    _wasm_val = True
    __slots__ = ("_type", "_value")

    def __init__(self, type: ValType, value: Any):
        self._type = type
        self._value = value

    @classmethod
    def i32(cls, value: int) -> "Val":
        return cls(ValType.i32(), _wrap_signed(value, 32))

    @classmethod
    def i64(cls, value: int) -> "Val":
        return cls(ValType.i64(), _wrap_signed(value, 64))

    @classmethod
    def f32(cls, value: float) -> "Val":
        return cls(ValType.f32(), float(value))

    @classmethod
    def f64(cls, value: float) -> "Val":
        return cls(ValType.f64(), float(value))

    @classmethod
    def v128(cls, value: int) -> "Val":
        """A v128 from an int: lane 0 in the low bits; negative ints wrap (two's complement)
        as they do for i32/i64. (wasmtime-py 50 has no v128 value; this follows Rust wasmtime's
        `Val::V128(u128)`.)"""
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected an int, got {type(value).__name__}")
        return cls(ValType.v128(), value & ((1 << 128) - 1))

    @classmethod
    def funcref(cls, func: Any) -> "Val":
        return cls(ValType.funcref(), func)

    @classmethod
    def externref(cls, value: Any) -> "Val":
        return cls(ValType.externref(), value)

    @property
    def type(self) -> ValType:
        return self._type

    @property
    def value(self) -> Any:
        return self._value

    @classmethod
    def ref_null(cls, ty: ValType) -> "Val":
        """A null reference of the reference type `ty`."""
        from wasmcore.errors import WasmcoreError

        if ty == ValType.externref():
            return cls.externref(None)
        if ty == ValType.funcref():
            return cls.funcref(None)
        raise WasmcoreError(f"Invalid reference type for `ref_null`: {ty}")

    # as_<kind>(): the value if this Val has that kind, else None (wasmtime-py).
    def _as(self, kind: ValType) -> Any:
        return self._value if self._type == kind else None

    def as_i32(self) -> int | None:
        return self._as(ValType.i32())

    def as_i64(self) -> int | None:
        return self._as(ValType.i64())

    def as_f32(self) -> float | None:
        return self._as(ValType.f32())

    def as_f64(self) -> float | None:
        return self._as(ValType.f64())

    def as_externref(self) -> Any:
        return self._as(ValType.externref())

    def as_funcref(self) -> Any:
        return self._as(ValType.funcref())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Val):
            return self._type == other._type and self._value == other._value
        return self._value == other

    def __repr__(self) -> str:
        return f"Val.{self._type}({self._value!r})"


def _wrap_signed(value: int, bits: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an int, got {type(value).__name__}")
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value
