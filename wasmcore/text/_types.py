"""Types in the text format (spec 6.4 "Types"): value and reference types, parameter and
result lists, function types, limits, table, memory and global types. These read only the
tree; type *uses* (`(type $t)` referring to the module's type section) need the module's index
spaces and live in `_module.py`."""

from __future__ import annotations

from typing import Any

from wasmcore.errors import DecodeError
from wasmcore.syntax.types import FuncType, GlobalType, Limits, MemoryType, TableType, ValueType
from wasmcore.text._lexer import head, is_id, unexpected
from wasmcore.text._numbers import parse_nat

VALTYPES = {
    "i32": ValueType.I32, "i64": ValueType.I64, "f32": ValueType.F32, "f64": ValueType.F64,
    "v128": ValueType.V128, "funcref": ValueType.FUNCREF, "externref": ValueType.EXTERNREF,
}
# The heap types of `(ref null <heaptype>)` and `ref.null <heaptype>`.
HEAP_TYPES = {"func": ValueType.FUNCREF, "extern": ValueType.EXTERNREF}


def valtype(item: Any) -> ValueType:
    if type(item) is str:
        t = VALTYPES.get(item)
        if t is not None:
            return t
    if head(item) == "ref" and len(item) in (2, 3):  # (ref null func)
        rest = item[1:]
        if rest[0] == "null":
            rest = rest[1:]
        if len(rest) == 1 and rest[0] in HEAP_TYPES:
            return HEAP_TYPES[rest[0]]
    if type(item) is str and item[:1].isalpha():
        raise DecodeError(f"unknown operator {item}")
    raise DecodeError(f"unexpected token: unknown value type {item!r}")


def reftype(item: Any) -> ValueType:
    t = valtype(item)
    if not t.is_reference:
        raise DecodeError(f"unexpected token: malformed reference type {item!r}")
    return t


def params_results(items: list, i: int, names: list | None):
    """Parse `(param ...)* (result ...)*` from items[i:]; returns (params, results, i).

    With `names`, parameter ids (or None) are appended to it, one per parameter; without it
    (block types) a named parameter is an error."""
    params: list[ValueType] = []
    results: list[ValueType] = []
    n = len(items)
    while i < n and head(items[i]) == "param":
        node = items[i]
        if len(node) > 1 and is_id(node[1]):
            if names is None or len(node) != 3:
                raise unexpected(node)
            names.append(node[1])
            params.append(valtype(node[2]))
        else:
            for t in node[1:]:
                params.append(valtype(t))
                if names is not None:
                    names.append(None)
        i += 1
    while i < n and head(items[i]) == "result":
        for t in items[i][1:]:
            results.append(valtype(t))
        i += 1
    if i < n and head(items[i]) == "param":
        raise unexpected(items[i])
    return params, results, i


def functype_def(node: Any) -> FuncType:
    """The `(func (param ...)* (result ...)*)` of a type definition."""
    if head(node) != "func":
        raise unexpected(node)
    i = 1
    if i < len(node) and is_id(node[i]):
        i += 1
    params, results, i = params_results(node, i, [])
    if i != len(node):
        raise unexpected(node[i])
    return FuncType(tuple(params), tuple(results))


def limits(items: list, i: int, bits: int = 32):
    """`min max?` -> (Limits, i); both bounded by the index type's width."""
    low = parse_nat(items[i]) if i < len(items) else None
    if low is None:
        raise unexpected(items[i] if i < len(items) else None)
    i += 1
    high = parse_nat(items[i]) if i < len(items) else None
    if high is not None:
        i += 1
    if low >= 1 << bits or (high is not None and high >= 1 << bits):
        raise DecodeError(f"i{bits} constant out of range")
    return Limits(low, high), i


def table_type(items: list, i: int):
    if i < len(items) and items[i] == "i64":
        i += 1
    lim, i = limits(items, i)
    if i >= len(items):
        raise unexpected()
    return TableType(reftype(items[i]), lim), i + 1


def memory_type(items: list, i: int):
    is64 = False
    if i < len(items) and items[i] in ("i32", "i64"):
        is64 = items[i] == "i64"
        i += 1
    lim, i = limits(items, i, 64 if is64 else 32)
    shared = False
    if i < len(items) and items[i] == "shared":
        shared = True
        i += 1
    return MemoryType(lim, shared, is64), i


def global_type(items: list, i: int):
    if i >= len(items):
        raise unexpected()
    item = items[i]
    if head(item) == "mut":
        if len(item) != 2:
            raise unexpected(item)
        return GlobalType(valtype(item[1]), True), i + 1
    return GlobalType(valtype(item), False), i + 1


__all__ = ["HEAP_TYPES", "VALTYPES", "functype_def", "global_type", "limits", "memory_type",
           "params_results", "reftype", "table_type", "valtype"]
