"""The module encoder: `DecodedModule` back to a binary, minimal LEB128, deterministic output
(https://webassembly.github.io/spec/core/binary/modules.html)."""

from __future__ import annotations

from wasmcore.binary._leb import encode_name, encode_signed, encode_u32
from wasmcore.binary._names import encode_names
from wasmcore.syntax import opcodes
from wasmcore.syntax.types import (
    DecodedModule, ExternKind, GlobalType, Limits, MemoryType, Names, SegmentMode, TableType,
    ValueType,
)

_REF_FUNC, _END = 0xD2, 0x0B
_EMPTY_NAMES = Names()


def _vector(items, encode_item) -> bytes:
    out = bytearray(encode_u32(len(items)))
    for item in items:
        out += encode_item(item)
    return bytes(out)


def _value_types(types) -> bytes:
    return encode_u32(len(types)) + bytes(int(t) for t in types)


def _limits(limits: Limits, flags: int) -> bytes:
    if limits.max is not None:
        return bytes((flags | 1,)) + encode_u32(limits.min) + encode_u32(limits.max)
    return bytes((flags,)) + encode_u32(limits.min)


def _table_type(table: TableType) -> bytes:
    return bytes((int(table.element),)) + _limits(table.limits, 0)


def _memory_type(memory: MemoryType) -> bytes:
    flags = (2 if memory.shared else 0) | (4 if memory.is_64 else 0)
    return _limits(memory.limits, flags)


def _global_type(global_type: GlobalType) -> bytes:
    return bytes((int(global_type.value_type), 1 if global_type.mutable else 0))


def _memarg(out: bytearray, align: int, offset: int, memory: int) -> None:
    if memory:
        out += encode_u32(align | 0x40)
        out += encode_u32(memory)
    else:
        out += encode_u32(align)
    out += encode_u32(offset)


def _blocktype(blocktype: int) -> bytes:
    if blocktype < 0:
        return bytes((blocktype & 0x7F,))
    return encode_signed(blocktype)


def encode_instructions(code, out: bytearray) -> None:
    """Append the binary form of an instruction sequence to `out`."""
    kinds = opcodes.IMMEDIATES
    u32 = encode_u32
    for ins in code:
        op = ins[0]
        if op < 0x100:
            out.append(op)
        else:
            out.append(op >> 16)
            out += u32(op & 0xFFFF)
        if len(ins) == 1:
            continue
        kind = kinds[op]
        if kind in ("label", "func", "local", "global", "table", "memory", "data", "elem"):
            out += u32(ins[1])
        elif kind == "i32" or kind == "i64":
            out += encode_signed(ins[1])
        elif kind == "memarg":
            _memarg(out, ins[1], ins[2], ins[3])
        elif kind == "blocktype":
            out += _blocktype(ins[1])
        elif kind == "f32":
            out += ins[1].to_bytes(4, "little")
        elif kind == "f64":
            out += ins[1].to_bytes(8, "little")
        elif kind == "br_table":
            out += u32(len(ins[1]))
            for label in ins[1]:
                out += u32(label)
            out += u32(ins[2])
        elif kind in ("call_indirect", "memory_init", "memory_copy", "table_init",
                      "table_copy"):
            out += u32(ins[1])
            out += u32(ins[2])
        elif kind == "select_t":
            out += _value_types(ins[1])
        elif kind == "reftype":
            out.append(int(ins[1]))
        elif kind == "v128":
            out += ins[1].to_bytes(16, "little")
        elif kind == "shuffle":
            out += bytes(ins[1])
        elif kind == "lane":
            out.append(ins[1])
        elif kind == "memarg_lane":
            _memarg(out, ins[1], ins[2], ins[3])
            out.append(ins[4])
        else:
            raise ValueError(f"cannot encode instruction {ins!r}")


def _expression(code) -> bytes:
    out = bytearray()
    encode_instructions(code, out)
    return bytes(out)


def _import(imp) -> bytes:
    out = bytearray(encode_name(imp.module) + encode_name(imp.name))
    kind = ExternKind(imp.kind)
    out.append(int(kind))
    if kind == ExternKind.FUNC:
        out += encode_u32(imp.desc)
    elif kind == ExternKind.TABLE:
        out += _table_type(imp.desc)
    elif kind == ExternKind.MEMORY:
        out += _memory_type(imp.desc)
    elif kind == ExternKind.GLOBAL:
        out += _global_type(imp.desc)
    else:
        raise ValueError(f"cannot encode import kind {kind!r}")
    return bytes(out)


def _function_index(expression) -> int | None:
    """The index of a `ref.func x; end` expression, else None."""
    if len(expression) == 2 and expression[1] == (_END,) and expression[0][0] == _REF_FUNC:
        return expression[0][1]
    return None


def _element(segment) -> bytes:
    indices = [_function_index(e) for e in segment.init]
    as_indices = segment.type == ValueType.FUNCREF and None not in indices
    mode = SegmentMode(segment.mode)
    if mode == SegmentMode.ACTIVE:
        implicit = segment.table == 0 and segment.type == ValueType.FUNCREF
        flags = 0 if implicit else 2
    else:
        flags = 1 if mode == SegmentMode.PASSIVE else 3
    if not as_indices:
        flags |= 4
    out = bytearray(encode_u32(flags))
    if mode == SegmentMode.ACTIVE:
        if flags & 2:
            out += encode_u32(segment.table)
        out += _expression(segment.offset)
    if flags & 3:
        out.append(int(segment.type) if flags & 4 else 0x00)
    out += encode_u32(len(segment.init))
    if as_indices:
        for index in indices:
            out += encode_u32(index)
    else:
        for expression in segment.init:
            out += _expression(expression)
    return bytes(out)


def _data(segment) -> bytes:
    if SegmentMode(segment.mode) == SegmentMode.PASSIVE:
        out = bytearray(b"\x01")
    elif segment.memory == 0:
        out = bytearray(b"\x00") + _expression(segment.offset)
    else:
        out = bytearray(b"\x02") + encode_u32(segment.memory) + _expression(segment.offset)
    out += encode_u32(len(segment.init))
    out += segment.init
    return bytes(out)


def _locals(locals_) -> bytes:
    groups: list[list] = []
    for value_type in locals_:
        if groups and groups[-1][1] == value_type:
            groups[-1][0] += 1
        else:
            groups.append([1, value_type])
    out = bytearray(encode_u32(len(groups)))
    for count, value_type in groups:
        out += encode_u32(count)
        out.append(int(value_type))
    return bytes(out)


def _code(function) -> bytes:
    body = bytearray(_locals(function.locals))
    encode_instructions(function.body, body)
    return encode_u32(len(body)) + bytes(body)


def encode(module: DecodedModule) -> bytes:
    out = bytearray(b"\x00asm\x01\x00\x00\x00")

    def section(section_id: int, content: bytes) -> None:
        out.append(section_id)
        out.extend(encode_u32(len(content)))
        out.extend(content)

    m = module
    if m.types:
        section(1, _vector(m.types, lambda t: b"\x60" + _value_types(t.params)
                           + _value_types(t.results)))
    if m.imports:
        section(2, _vector(m.imports, _import))
    if m.functions:
        section(3, _vector(m.functions, lambda f: encode_u32(f.type_index)))
    if m.tables:
        section(4, _vector(m.tables, _table_type))
    if m.memories:
        section(5, _vector(m.memories, _memory_type))
    if m.globals:
        section(6, _vector(m.globals, lambda g: _global_type(g.type) + _expression(g.init)))
    if m.exports:
        section(7, _vector(m.exports, lambda e: encode_name(e.name)
                           + bytes((int(e.kind),)) + encode_u32(e.index)))
    if m.start is not None:
        section(8, encode_u32(m.start))
    if m.elements:
        section(9, _vector(m.elements, _element))
    if m.data_count is not None:
        section(12, encode_u32(m.data_count))
    if m.functions:
        section(10, _vector(m.functions, _code))
    if m.datas:
        section(11, _vector(m.datas, _data))
    emit_names = m.names != _EMPTY_NAMES
    if emit_names:
        section(0, encode_name("name") + encode_names(m.names))
    for custom in m.customs:
        if emit_names and custom.name == "name":
            continue  # superseded by `names`
        section(0, encode_name(custom.name) + custom.data)
    return bytes(out)
