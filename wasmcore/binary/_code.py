"""Instruction-sequence decoding: the decoder's hot loop
(https://webassembly.github.io/spec/core/binary/instructions.html).

One function decodes a whole expression (function body or constant expression) into the flat
instruction-tuple list of `wasmcore.syntax.opcodes`. It is written for speed: local aliases,
a dispatch list indexed by opcode byte, single-byte LEB128 fast paths, shared tuples for
zero-immediate instructions, and helper calls only for rare forms. Nesting is tracked with a
list, never recursion, so deep nesting cannot exhaust the Python stack.
"""

from __future__ import annotations

from wasmcore.kernel.limits import MAX_BR_TABLE_TARGETS
from wasmcore.binary._reader import (
    TOO_LARGE, TOO_LONG, read_signed, read_u32, read_unsigned,
)
from wasmcore.errors import DecodeError
from wasmcore.syntax import opcodes
from wasmcore.syntax.features import WasmFeatures
from wasmcore.syntax.types import BLOCKTYPE_EMPTY, ValueType

# Immediate kinds of single-byte opcodes, as small ints for the if-chain (most frequent first).
K_ILLEGAL = 0
K_U32 = 1  # one LEB128 immediate: label, func, local, global, table; i32/i64 constants
K_NONE = 2
K_MEMARG = 4
K_END = 5
K_BLOCK = 6
K_ELSE = 7
K_F32 = 9
K_F64 = 10
K_BR_TABLE = 11
K_CALL_INDIRECT = 12
K_MEMORY = 13
K_SELECT_T = 14
K_REFTYPE = 15
K_MISC = 16  # 0xFC prefix
K_SIMD = 17  # 0xFD prefix

_PLAIN_KINDS = {
    "none": K_NONE, "label": K_U32, "func": K_U32, "local": K_U32, "global": K_U32,
    "table": K_U32, "i32": K_U32, "i64": K_U32, "f32": K_F32, "f64": K_F64,
    "memarg": K_MEMARG, "blocktype": K_BLOCK, "br_table": K_BR_TABLE,
    "call_indirect": K_CALL_INDIRECT, "memory": K_MEMORY, "select_t": K_SELECT_T,
    "reftype": K_REFTYPE,
}

VALUE_TYPES: dict[int, ValueType] = {int(t): t for t in ValueType}
REFERENCE_TYPES: dict[int, ValueType] = {0x70: ValueType.FUNCREF, 0x6F: ValueType.EXTERNREF}

END = (0x0B,)
ELSE = (0x05,)
_SINGLES = [(b,) for b in range(256)]
_SINGLES[0x0B] = END
_SINGLES[0x05] = ELSE
# Interned tuples for zero-immediate prefixed instructions.
_PREFIXED_SINGLES = {op: (op,) for op, kind in opcodes.IMMEDIATES.items()
                     if op > 0xFF and kind == "none"}
_MEMORY_ZERO = {op: (op, 0) for op in (0x3F, 0x40)}
# Shared tuples for the commonest one-immediate instructions with a one-byte immediate:
# _U32_PAIRS[op][byte] for index immediates and for i32.const / i64.const (signed).
_U32_PAIRS: list = [None] * 256
for _op, _kind in opcodes.IMMEDIATES.items():
    if _op <= 0xFF and _kind in ("label", "func", "local", "global", "table"):
        _U32_PAIRS[_op] = [(_op, _b) for _b in range(0x80)]
_I32_PAIRS = [(0x41, _b if _b < 0x40 else _b - 0x80) for _b in range(0x80)]
_I64_PAIRS = [(0x42, _b if _b < 0x40 else _b - 0x80) for _b in range(0x80)]
# _BLOCKS[op][byte]: block/loop/if with a one-byte block type; None where the byte does not
# complete a valid block type on its own.
_BLOCKS: list = [None] * 256
for _op in (0x02, 0x03, 0x04):
    _row: list = [None] * 256
    for _b in range(0x40):
        _row[_b] = (_op, _b)
    _row[0x40] = (_op, BLOCKTYPE_EMPTY)
    for _b in VALUE_TYPES:
        _row[_b] = (_op, _b - 0x80)
    _BLOCKS[_op] = _row
_U32_PAIRS[0x41] = _I32_PAIRS
_U32_PAIRS[0x42] = _I64_PAIRS
del _op, _kind, _b, _row

MEMORY_INIT = opcodes.misc(0x08)
DATA_DROP = opcodes.misc(0x09)

# Feature gates of the single-byte opcodes and of the 0xFC sub-opcodes.
_SIGN_EXTENSION_OPS = range(0xC0, 0xC5)
_REFERENCE_TYPES_OPS = (0x1C, 0x25, 0x26, 0xD1)
_REF_OPS = (0xD0, 0xD2)  # also part of bulk memory (element expressions)


class CodeTables:
    """Dispatch tables for one feature set, built once and cached."""

    __slots__ = ("kinds", "misc", "simd", "zero_memory", "multi_memory", "memory64",
                 "table_index")

    def __init__(self, features: WasmFeatures):
        kinds = [K_ILLEGAL] * 256
        for op, kind in opcodes.IMMEDIATES.items():
            if op <= 0xFF:
                kinds[op] = _PLAIN_KINDS[kind]
        kinds[0x0B] = K_END
        kinds[0x05] = K_ELSE
        if not features.tail_call:
            for op in opcodes.TAIL_CALL:
                kinds[op] = K_ILLEGAL
        if not features.sign_extension:
            for op in _SIGN_EXTENSION_OPS:
                kinds[op] = K_ILLEGAL
        if not features.reference_types:
            for op in _REFERENCE_TYPES_OPS:
                kinds[op] = K_ILLEGAL
            if not features.bulk_memory:
                for op in _REF_OPS:
                    kinds[op] = K_ILLEGAL
        misc = {}
        for op, kind in opcodes.IMMEDIATES.items():
            if op >> 16 != opcodes.MISC_PREFIX:
                continue
            sub = op & 0xFFFF
            if sub <= 0x07 and not features.saturating_float_to_int:
                continue
            if 0x08 <= sub <= 0x0E and not features.bulk_memory:
                continue
            if 0x0F <= sub <= 0x11 and not features.reference_types:
                continue
            misc[sub] = kind
        kinds[opcodes.MISC_PREFIX] = K_MISC if misc else K_ILLEGAL
        simd = {}
        if features.simd:
            simd = {op & 0xFFFF: kind for op, kind in opcodes.IMMEDIATES.items()
                    if op >> 16 == opcodes.SIMD_PREFIX}
            kinds[opcodes.SIMD_PREFIX] = K_SIMD
        self.kinds = kinds
        self.misc = misc
        self.simd = simd
        self.multi_memory = features.multi_memory
        self.memory64 = features.memory64
        self.zero_memory = not features.multi_memory
        # Without reference types call_indirect's table index is a reserved zero byte.
        self.table_index = features.reference_types


_TABLES: dict[WasmFeatures, CodeTables] = {}


def code_tables(features: WasmFeatures) -> CodeTables:
    tables = _TABLES.get(features)
    if tables is None:
        tables = _TABLES[features] = CodeTables(features)
    return tables


def _illegal(op: int, pos: int, sub: int | None = None) -> DecodeError:
    text = f"illegal opcode {op:02x}" if sub is None else f"illegal opcode {op:02x} {sub:02x}"
    return DecodeError(text, pos)


def _zero_byte(data: bytes, pos: int) -> int:
    if data[pos] != 0:
        raise DecodeError("zero byte expected", pos)
    return pos + 1


def _memory_index(data: bytes, pos: int, tables: CodeTables) -> tuple[int, int]:
    if tables.zero_memory:
        return 0, _zero_byte(data, pos)
    return read_u32(data, pos)


def read_memarg(data: bytes, pos: int, tables: CodeTables) -> tuple[int, int, int, int]:
    """The general memarg: (align, offset, memidx, position after it)."""
    flags, p = read_u32(data, pos)
    memory = 0
    if tables.multi_memory and flags & 0x40:
        flags -= 0x40
        memory, p = read_u32(data, p)
    if flags >= 32:
        raise DecodeError("malformed memop flags", p - 1)
    if tables.memory64:
        offset, p = read_unsigned(data, p, 64)
    else:
        offset, p = read_u32(data, p)
    return flags, offset, memory, p


def _value_type(data: bytes, pos: int) -> ValueType:
    b = data[pos]
    value_type = VALUE_TYPES.get(b)
    if value_type is None:
        if b & 0x80:
            read_signed(data, pos, 7)  # raises the LEB128 error the spec expects
        raise DecodeError("malformed value type", pos)
    return value_type


def reference_type(data: bytes, pos: int) -> ValueType:
    b = data[pos]
    ref = REFERENCE_TYPES.get(b)
    if ref is None:
        if b & 0x80:
            read_signed(data, pos, 7)
        raise DecodeError("malformed reference type", pos)
    return ref


def _block(op: int, data: bytes, pos: int) -> tuple[tuple, int]:
    """block/loop/if whose block type is not one of the one-byte forms of `_BLOCKS`."""
    b = data[pos]
    if 0x40 <= b < 0x80:
        raise DecodeError("malformed value type", pos)
    value, end = read_signed(data, pos, 33)
    if value < 0:
        raise DecodeError("malformed block type", pos)
    return (op, value), end


def _misc(data: bytes, pos: int, tables: CodeTables) -> tuple[tuple, int]:
    """A 0xFC instruction, `pos` just after the prefix byte."""
    start = pos - 1
    sub, pos = read_u32(data, pos)
    kind = tables.misc.get(sub)
    if kind is None:
        raise _illegal(0xFC, start, sub)
    op = 0xFC0000 | sub
    if kind == "none":
        return _PREFIXED_SINGLES[op], pos
    if kind in ("table", "data", "elem"):
        index, pos = read_u32(data, pos)
        return (op, index), pos
    if kind == "memory":  # memory.fill
        memory, pos = _memory_index(data, pos, tables)
        return (op, memory), pos
    if kind == "memory_init":
        segment, pos = read_u32(data, pos)
        memory, pos = _memory_index(data, pos, tables)
        return (op, segment, memory), pos
    if kind == "memory_copy":
        dst, pos = _memory_index(data, pos, tables)
        src, pos = _memory_index(data, pos, tables)
        return (op, dst, src), pos
    if kind in ("table_init", "table_copy"):
        first, pos = read_u32(data, pos)
        second, pos = read_u32(data, pos)
        return (op, first, second), pos
    raise AssertionError(f"unhandled immediate kind {kind}")  # pragma: no cover


def _simd(data: bytes, pos: int, tables: CodeTables) -> tuple[tuple, int]:
    """A 0xFD instruction, `pos` just after the prefix byte."""
    start = pos - 1
    sub, pos = read_u32(data, pos)
    kind = tables.simd.get(sub)
    if kind is None:
        raise _illegal(0xFD, start, sub)
    op = 0xFD0000 | sub
    if kind == "none":
        return _PREFIXED_SINGLES[op], pos
    if kind == "memarg":
        align, offset, memory, pos = read_memarg(data, pos, tables)
        return (op, align, offset, memory), pos
    if kind == "lane":
        lane = data[pos]
        return (op, lane), pos + 1
    if kind == "memarg_lane":
        align, offset, memory, pos = read_memarg(data, pos, tables)
        lane = data[pos]
        return (op, align, offset, memory, lane), pos + 1
    if len(data) < pos + 16:
        raise IndexError  # "unexpected end", like every other read past the end
    if kind == "v128":
        return (op, int.from_bytes(data[pos:pos + 16], "little")), pos + 16
    if kind == "shuffle":
        return (op, tuple(data[pos:pos + 16])), pos + 16
    raise AssertionError(f"unhandled immediate kind {kind}")  # pragma: no cover


def _position(it, data: bytes) -> int:
    """Where an iterator over `data` stands (the index of the next byte)."""
    state = it.__reduce__()
    return state[2] if len(state) > 2 else len(data)


def _more_u32(it, b: int, data: bytes, second: int | None = None) -> int:
    """The rest of a u32 LEB128 whose first byte `b` (>= 0x80), and maybe its second byte,
    were already read."""
    result = b & 0x7F
    shift = 7
    while True:
        if second is None:
            b = next(it)
        else:
            b, second = second, None
        if shift == 28:
            if b & 0x70:
                raise DecodeError(TOO_LARGE, _position(it, data) - 1)
            if b & 0x80:
                raise DecodeError(TOO_LONG, _position(it, data))
            return result | b << 28
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result
        shift += 7


def _more_s32(it, b: int, data: bytes, second: int | None = None) -> int:
    """The rest of an s32 LEB128 whose first byte `b` (>= 0x80), and maybe its second byte,
    were already read."""
    result = b & 0x7F
    shift = 7
    while True:
        if second is None:
            b = next(it)
        else:
            b, second = second, None
        if shift == 28:
            high = b & 0x78
            if high != 0 and high != 0x78:
                raise DecodeError(TOO_LARGE, _position(it, data) - 1)
            if b & 0x80:
                raise DecodeError(TOO_LONG, _position(it, data))
            result |= (b & 0x7F) << 28
            return result - (1 << 35) if b & 0x40 else result
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result - (1 << shift) if b & 0x40 else result


def _at(it, data: bytes, back: int, read):
    """Run a position-based reader `read(data, pos)` from `back` bytes before the iterator,
    then move the iterator after what it read. For the rare, complex forms."""
    result = read(data, _position(it, data) - back)
    it.__setstate__(result[-1])
    return result


def decode_expression(data: bytes, pos: int, tables: CodeTables) -> tuple[tuple, int, bool]:
    """Decode instructions from `pos` up to and including the `end` that closes the expression.

    Returns (instructions, position after the final end, whether memory.init or data.drop
    occurs). Raises IndexError when the binary ends first (the caller reports it).
    """
    kinds = tables.kinds
    singles = _SINGLES
    pairs = _U32_PAIRS
    blocks = _BLOCKS
    code: list = []
    control: list = []  # per open block: True for an `if` that has not seen `else`
    uses_data = False
    # Iterating over the bytes is much faster than indexing them: the hot loop reads through
    # `it`, and only rare forms fall back to position-based readers (`_at`).
    it = iter(data)
    it.__setstate__(pos)
    try:
        for op in it:
            kind = kinds[op]
            if kind == 1:  # K_U32 (i32.const / i64.const included)
                value = next(it)
                if value < 0x80:
                    code.append(pairs[op][value])
                elif op == 0x41:
                    high = next(it)
                    if high < 0x80:  # two-byte form, inline
                        value = (value & 0x7F) | high << 7
                        if high & 0x40:
                            value -= 0x4000
                        code.append((op, value))
                    else:
                        code.append((op, _more_s32(it, value, data, high)))
                elif op == 0x42:
                    code.append((op, _at(it, data, 1, lambda d, p: read_signed(d, p, 64))[0]))
                else:
                    high = next(it)
                    if high < 0x80:  # two-byte form, inline
                        code.append((op, (value & 0x7F) | high << 7))
                    else:
                        code.append((op, _more_u32(it, value, data, high)))
            elif kind == 2:  # K_NONE
                code.append(singles[op])
            elif kind == 4:  # K_MEMARG
                align = next(it)
                if align < 0x20:
                    offset = next(it)
                    if offset >= 0x80:
                        if tables.memory64:
                            offset = _at(it, data, 1,
                                         lambda d, p: read_unsigned(d, p, 64))[0]
                        else:
                            offset = _more_u32(it, offset, data)
                    code.append((op, align, offset, 0))
                else:
                    align, offset, memory, _ = _at(
                        it, data, 1, lambda d, p: read_memarg(d, p, tables))
                    code.append((op, align, offset, memory))
            elif kind == 5:  # K_END
                code.append(END)
                if control:
                    control.pop()
                else:
                    break
            elif kind == 6:  # K_BLOCK
                block = blocks[op][next(it)]
                if block is None:
                    block = _at(it, data, 1, lambda d, p: _block(op, d, p))[0]
                control.append(op == 0x04)
                code.append(block)
            elif kind == 7:  # K_ELSE
                if control and control[-1]:
                    control[-1] = False
                    code.append(ELSE)
                else:
                    # The spec decoder ends the enclosing sequence here and expects its `end`.
                    raise DecodeError("END opcode expected", _position(it, data) - 1)
            elif kind == 9:  # K_F32
                code.append((op, next(it) | next(it) << 8 | next(it) << 16 | next(it) << 24))
            elif kind == 10:  # K_F64
                code.append((op, next(it) | next(it) << 8 | next(it) << 16 | next(it) << 24
                             | next(it) << 32 | next(it) << 40 | next(it) << 48
                             | next(it) << 56))
            elif kind == 11:  # K_BR_TABLE
                code.append(_at(it, data, 0, _br_table)[0])
            elif kind == 12:  # K_CALL_INDIRECT
                type_index = next(it)
                if type_index >= 0x80:
                    type_index = _more_u32(it, type_index, data)
                table = next(it)
                if tables.table_index:
                    if table >= 0x80:
                        table = _more_u32(it, table, data)
                elif table != 0:
                    raise DecodeError("zero byte expected", _position(it, data) - 1)
                code.append((op, type_index, table))
            elif kind == 13:  # K_MEMORY: memory.size, memory.grow
                memory = next(it)
                if tables.zero_memory:
                    if memory != 0:
                        raise DecodeError("zero byte expected", _position(it, data) - 1)
                    code.append(_MEMORY_ZERO[op])
                else:
                    if memory >= 0x80:
                        memory = _more_u32(it, memory, data)
                    code.append((op, memory))
            elif kind == 16:  # K_MISC
                instruction = _at(it, data, 0, lambda d, p: _misc(d, p, tables))[0]
                if instruction[0] == MEMORY_INIT or instruction[0] == DATA_DROP:
                    uses_data = True
                code.append(instruction)
            elif kind == 17:  # K_SIMD
                code.append(_at(it, data, 0, lambda d, p: _simd(d, p, tables))[0])
            elif kind == 14:  # K_SELECT_T
                code.append(_at(it, data, 0, lambda d, p: _select_t(op, d, p))[0])
            elif kind == 15:  # K_REFTYPE
                code.append((op, reference_type(data, _position(it, data))))
                next(it)
            else:
                raise _illegal(op, _position(it, data) - 1)
        else:
            raise IndexError  # the binary ended before the expression's final `end`
    except StopIteration:
        raise IndexError from None
    return tuple(code), _position(it, data), uses_data


def _br_table(data: bytes, pos: int) -> tuple[tuple, int]:
    start = pos
    count, pos = read_u32(data, pos)
    if count > len(data) - start:
        raise DecodeError("length out of bounds", start)
    if count > MAX_BR_TABLE_TARGETS:
        raise DecodeError("br_table has too many targets", start)
    labels = []
    add = labels.append
    for _ in range(count):
        value = data[pos]
        if value < 0x80:
            pos += 1
        else:
            value, pos = read_u32(data, pos)
        add(value)
    default, pos = read_u32(data, pos)
    return (0x0E, tuple(labels), default), pos


def _select_t(op: int, data: bytes, pos: int) -> tuple[tuple, int]:
    start = pos
    count, pos = read_u32(data, pos)
    if count > len(data) - start:
        raise DecodeError("length out of bounds", start)
    types = []
    for _ in range(count):
        types.append(_value_type(data, pos))
        pos += 1
    return (op, tuple(types)), pos
