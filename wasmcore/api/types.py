"""The type objects of the embedding API (wasmtime-py's ValType, FuncType, Limits,
MemoryType, TableType, GlobalType, ImportType, ExportType), thin views over `wasmcore.syntax`."""

from __future__ import annotations

from typing import Any, Sequence

from wasmcore import syntax as _s
from wasmcore.syntax.types import ValueType


class ValType:
    """A value type: `ValType.i32()`, `.i64()`, `.f32()`, `.f64()`, `.v128()`, `.funcref()`,
    `.externref()`. Compares equal by kind; `str()` is the text name."""

    __slots__ = ("_kind",)

    def __init__(self, kind: ValueType):
        self._kind = ValueType(kind)

    @classmethod
    def i32(cls) -> "ValType": return cls(ValueType.I32)
    @classmethod
    def i64(cls) -> "ValType": return cls(ValueType.I64)
    @classmethod
    def f32(cls) -> "ValType": return cls(ValueType.F32)
    @classmethod
    def f64(cls) -> "ValType": return cls(ValueType.F64)
    @classmethod
    def v128(cls) -> "ValType": return cls(ValueType.V128)
    @classmethod
    def funcref(cls) -> "ValType": return cls(ValueType.FUNCREF)
    @classmethod
    def externref(cls) -> "ValType": return cls(ValueType.EXTERNREF)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ValType) and other._kind == self._kind

    def __hash__(self) -> int:
        return hash(self._kind)

    def __str__(self) -> str:
        return self._kind.text

    def __repr__(self) -> str:
        return f"ValType.{self._kind.text}()"


def _kind(value_type: ValType | ValueType) -> ValueType:
    if isinstance(value_type, ValType):
        return value_type._kind
    if isinstance(value_type, ValueType):
        return value_type
    raise TypeError(f"expected a ValType, got {type(value_type).__name__}")


class FuncType:
    def __init__(self, params: Sequence[ValType], results: Sequence[ValType]):
        self._type = _s.FuncType(tuple(_kind(p) for p in params), tuple(_kind(r) for r in results))

    @classmethod
    def _from(cls, func_type: _s.FuncType) -> "FuncType":
        self = cls.__new__(cls)
        self._type = func_type
        return self

    @property
    def params(self) -> list[ValType]:
        return [ValType(p) for p in self._type.params]

    @property
    def results(self) -> list[ValType]:
        return [ValType(r) for r in self._type.results]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FuncType) and other._type == self._type

    def __hash__(self) -> int:
        return hash(self._type)

    def __repr__(self) -> str:
        return f"FuncType({self.params}, {self.results})"


class Limits:
    def __init__(self, min: int, max: int | None):
        self.min = min
        self.max = max

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Limits) and (self.min, self.max) == (other.min, other.max)

    def __repr__(self) -> str:
        return f"Limits({self.min}, {self.max})"


class MemoryType:
    def __init__(self, limits: Limits, is_64: bool = False, shared: bool = False):
        if not isinstance(limits, Limits):
            raise TypeError("expected Limits")
        self._type = _s.MemoryType(_s.Limits(limits.min, limits.max), shared=shared, is_64=is_64)

    @classmethod
    def _from(cls, memory_type: _s.MemoryType) -> "MemoryType":
        self = cls.__new__(cls)
        self._type = memory_type
        return self

    @property
    def limits(self) -> Limits:
        return Limits(self._type.limits.min, self._type.limits.max)

    @property
    def is_64(self) -> bool:
        return self._type.is_64

    @property
    def is_shared(self) -> bool:
        return self._type.shared

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MemoryType) and other._type == self._type


class TableType:
    def __init__(self, valtype: ValType, limits: Limits):
        self._type = _s.TableType(_kind(valtype), _s.Limits(limits.min, limits.max))

    @classmethod
    def _from(cls, table_type: _s.TableType) -> "TableType":
        self = cls.__new__(cls)
        self._type = table_type
        return self

    @property
    def element(self) -> ValType:
        return ValType(self._type.element)

    @property
    def limits(self) -> Limits:
        return Limits(self._type.limits.min, self._type.limits.max)


class GlobalType:
    def __init__(self, valtype: ValType, mutable: bool):
        self._type = _s.GlobalType(_kind(valtype), bool(mutable))

    @classmethod
    def _from(cls, global_type: _s.GlobalType) -> "GlobalType":
        self = cls.__new__(cls)
        self._type = global_type
        return self

    @property
    def content(self) -> ValType:
        return ValType(self._type.value_type)

    @property
    def mutable(self) -> bool:
        return self._type.mutable


def extern_type(kind: _s.ExternKind, desc: Any) -> Any:
    if kind == _s.ExternKind.FUNC:
        return FuncType._from(desc)
    if kind == _s.ExternKind.TABLE:
        return TableType._from(desc)
    if kind == _s.ExternKind.MEMORY:
        return MemoryType._from(desc)
    return GlobalType._from(desc)


class ImportType:
    def __init__(self, module: str, name: str, type: Any):
        self.module, self.name, self.type = module, name, type

    def __repr__(self) -> str:
        return f"ImportType({self.module!r}, {self.name!r}, {self.type!r})"


class ExportType:
    def __init__(self, name: str, type: Any):
        self.name, self.type = name, type

    def __repr__(self) -> str:
        return f"ExportType({self.name!r}, {self.type!r})"
