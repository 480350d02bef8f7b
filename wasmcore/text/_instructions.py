"""Instructions in the text format (spec 6.5 "Instructions"): one function body (or constant
expression) at a time, plain and folded forms, structured control with labels and block types,
and every immediate: indices, constants, memargs (`offset=`/`align=`), `br_table`,
`call_indirect`, typed `select`, bulk memory/table operands and the SIMD immediates (`v128.const`
shapes, shuffle lanes, lane indices). Instructions come out as the tuples described in
`wasmcore.syntax.opcodes`. Index spaces and type uses are asked of the module builder."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from wasmcore.errors import DecodeError
from wasmcore.syntax import opcodes as op
from wasmcore.syntax.types import BLOCKTYPE_EMPTY, FuncType, blocktype_from_value_type
from wasmcore.text._lexer import Node, head, is_id, unexpected
from wasmcore.text._numbers import (
    FLOAT_RE,
    LANE_SHAPES,
    lane_value,
    parse_float,
    parse_int,
    parse_nat,
    v128_from_lanes,
)
from wasmcore.text._types import HEAP_TYPES, params_results, valtype

if TYPE_CHECKING:
    from wasmcore.text._module import ModuleBuilder

END = (op.END,)
_BLOCKS = {"block": op.BLOCK, "loop": op.LOOP}
_ACCESS_WIDTH = re.compile(r"(?:load|store)(\d+)?(x\d+)?")


def _natural_align_of_name(name: str) -> int:
    """Natural alignment (log2) of a memory instruction, from its name: `i64.load32_s` -> 2,
    `v128.load8x8_s` -> 3, `f64.store` -> 3."""
    prefix, _, rest = name.partition(".")
    m = _ACCESS_WIDTH.match(rest)
    if m and m.group(2):  # v128.loadNxM_s/u read eight bytes
        return 3
    if m and m.group(1):
        size = int(m.group(1)) // 8
    else:
        size = {"i32": 4, "i64": 8, "f32": 4, "f64": 8, "v128": 16}[prefix]
    return size.bit_length() - 1


_ALIGN_CACHE: dict[int, int] = {}


def natural_align(opcode: int) -> int:
    align = _ALIGN_CACHE.get(opcode)
    if align is None:
        align = _ALIGN_CACHE[opcode] = _natural_align_of_name(op.NAMES[opcode])
    return align


def _at(items: list, i: int) -> Any:
    return items[i] if i < len(items) else None


def _lane_index(token: Any) -> int:
    value = parse_nat(token)
    if value is None:
        raise DecodeError(f"unexpected token: malformed lane index {token}")
    if value >= 256:
        raise DecodeError("constant out of range: malformed lane index")
    return value


class FuncBody:
    """Reads one instruction sequence into `out`, resolving labels and locals."""

    def __init__(self, builder: "ModuleBuilder", local_ids: dict[str, int]):
        self.b = builder
        self.local_ids = local_ids
        self.labels: list[str | None] = []
        self.out: list[tuple] = []

    # --- labels, locals, block types -------------------------------------------------------
    def label_index(self, item: Any) -> int:
        if type(item) is str and item[:1] == "$":
            labels = self.labels
            for k in range(len(labels) - 1, -1, -1):
                if labels[k] == item:
                    return len(labels) - 1 - k
            raise DecodeError(f"unknown label {item}")
        n = parse_nat(item)
        if n is None:
            raise unexpected(item)
        return n

    def local_index(self, item: Any) -> int:
        if type(item) is str and item[:1] == "$":
            index = self.local_ids.get(item[1:])
            if index is None:
                raise DecodeError(f"unknown local {item}")
            return index
        n = parse_nat(item)
        if n is None:
            raise unexpected(item)
        return n

    def blocktype(self, items: list, i: int) -> tuple[int, int]:
        n = len(items)
        if i < n and type(items[i]) is Node and items[i] and \
                items[i][0] in ("type", "param", "result"):
            if items[i][0] == "type":
                index, j = self.b.typeuse(items, i)
                types = self.b.types
                if index < len(types) and not types[index].params and \
                        len(types[index].results) <= 1:  # as wat2wasm encodes it
                    results = types[index].results
                    return (blocktype_from_value_type(results[0]) if results
                            else BLOCKTYPE_EMPTY), j
                return index, j
            params, results, j = params_results(items, i, None)
            if not params and len(results) == 1:
                return blocktype_from_value_type(results[0]), j
            if not params and not results:
                return BLOCKTYPE_EMPTY, j
            return self.b.type_index(FuncType(tuple(params), tuple(results))), j
        return BLOCKTYPE_EMPTY, i

    def _label(self, items: list, i: int):
        if i < len(items) and is_id(items[i]):
            return items[i], i + 1
        return None, i

    def _end_label(self, items: list, i: int, label) -> int:
        if i < len(items) and is_id(items[i]):
            if items[i] != label:
                raise DecodeError(f"mismatching label {items[i]}")
            return i + 1
        return i

    # --- plain and folded instructions --------------------------------------------------------
    def seq(self, items: list, i: int, stop: tuple = ()) -> int:
        """Read instructions from items[i:] up to one of the `stop` keywords (or the end)."""
        n = len(items)
        out = self.out
        while i < n:
            item = items[i]
            t = type(item)
            if t is Node:
                self.folded(item)
                i += 1
            elif t is str:
                if item in stop:
                    return i
                if item in _BLOCKS:
                    label, i = self._label(items, i + 1)
                    bt, i = self.blocktype(items, i)
                    out.append((_BLOCKS[item], bt))
                    self.labels.append(label)
                    i = self.seq(items, i, ("end",))
                    if i >= n:
                        raise DecodeError("unexpected end")
                    i = self._end_label(items, i + 1, label)
                    self.labels.pop()
                    out.append(END)
                elif item == "if":
                    label, i = self._label(items, i + 1)
                    bt, i = self.blocktype(items, i)
                    out.append((op.IF, bt))
                    self.labels.append(label)
                    i = self.seq(items, i, ("else", "end"))
                    if i >= n:
                        raise DecodeError("unexpected end")
                    if items[i] == "else":
                        i = self._end_label(items, i + 1, label)
                        out.append((op.ELSE,))
                        i = self.seq(items, i, ("end",))
                        if i >= n:
                            raise DecodeError("unexpected end")
                    i = self._end_label(items, i + 1, label)
                    self.labels.pop()
                    out.append(END)
                else:
                    opcode = op.BY_NAME.get(item)
                    if opcode is None or item in ("end", "else"):
                        if item in ("end", "else", "then"):
                            raise unexpected(item)
                        raise DecodeError(f"unknown operator {item}")
                    instr, i = self.immediates(opcode, items, i + 1)
                    out.append(instr)
            else:
                raise unexpected(item)
        return i

    def folded(self, node: Node) -> None:
        """`(op immediates* folded*)`: the operands' instructions first, then the operator."""
        name = node[0] if node else None
        if type(name) is not str:
            raise unexpected(node)
        out = self.out
        if name in _BLOCKS:
            label, i = self._label(node, 1)
            bt, i = self.blocktype(node, i)
            out.append((_BLOCKS[name], bt))
            self.labels.append(label)
            self.seq(node, i)
            self.labels.pop()
            out.append(END)
            return
        if name == "if":
            label, i = self._label(node, 1)
            bt, i = self.blocktype(node, i)
            n = len(node)
            while i < n and head(node[i]) not in ("then", None):  # the condition
                self.folded(node[i])
                i += 1
            if i >= n or head(node[i]) != "then":
                raise unexpected(node[i] if i < n else None)
            out.append((op.IF, bt))
            self.labels.append(label)
            self.seq(node[i], 1)
            i += 1
            if i < n and head(node[i]) == "else":
                if len(node[i]) > 1:  # an empty else is omitted, as wat2wasm does
                    out.append((op.ELSE,))
                    self.seq(node[i], 1)
                i += 1
            if i != n:
                raise unexpected(node[i])
            self.labels.pop()
            out.append(END)
            return
        opcode = op.BY_NAME.get(name)
        if opcode is None or name in ("end", "else"):
            if name in ("end", "else", "then", "param", "result", "type", "local"):
                raise unexpected(node)
            raise DecodeError(f"unknown operator {name}")
        instr, i = self.immediates(opcode, node, 1)
        n = len(node)
        while i < n:
            item = node[i]
            if type(item) is not Node:
                raise unexpected(item)
            self.folded(item)
            i += 1
        out.append(instr)

    # --- immediates ------------------------------------------------------------------------------
    def immediates(self, opcode: int, items: list, i: int) -> tuple[tuple, int]:
        """The instruction tuple of `opcode` with its immediates read from items[i:]."""
        # `select` is untyped unless result types follow: decided by what is there.
        kind = "select_t" if opcode == op.SELECT else op.IMMEDIATES[opcode]
        if kind == "none":
            return (opcode,), i
        reader = _IMMEDIATE_READERS.get(kind)
        if reader is None:
            raise DecodeError(f"unknown operator {op.NAMES.get(opcode)}")
        return reader(self, opcode, items, i)

    def _offset_align(self, opcode: int, items: list, i: int) -> tuple[int, int, int]:
        """`offset=N? align=N?` -> (align log2, offset, i); align defaults to natural."""
        n = len(items)
        offset = 0
        align = natural_align(opcode)
        if i < n and type(items[i]) is str and items[i].startswith("offset="):
            offset = parse_nat(items[i][7:])
            if offset is None:
                raise DecodeError(f"unknown operator {items[i]}")
            if offset >= 1 << 32:
                raise DecodeError("i32 constant out of range: offset")
            i += 1
        if i < n and type(items[i]) is str and items[i].startswith("align="):
            value = parse_nat(items[i][6:])
            if value is None:
                raise DecodeError(f"unknown operator {items[i]}")
            if value == 0 or value & (value - 1):
                raise DecodeError("alignment must be a power of two")
            align = value.bit_length() - 1
            i += 1
        return align, offset, i

    def _read_local(self, opcode, items, i):
        return (opcode, self.local_index(_at(items, i))), i + 1

    def _read_int(self, opcode, items, i):
        token = _at(items, i)
        if token is None:
            raise unexpected()
        return (opcode, parse_int(token, 32 if op.IMMEDIATES[opcode] == "i32" else 64)), i + 1

    def _read_float(self, opcode, items, i):
        token = _at(items, i)
        if token is None:
            raise unexpected()
        return (opcode, parse_float(token, 32 if op.IMMEDIATES[opcode] == "f32" else 64)), i + 1

    def _read_global(self, opcode, items, i):
        return (opcode, self.b.resolve("global", _at(items, i))), i + 1

    def _read_func(self, opcode, items, i):
        return (opcode, self.b.resolve("func", _at(items, i))), i + 1

    def _read_label(self, opcode, items, i):
        return (opcode, self.label_index(_at(items, i))), i + 1

    def _read_memarg(self, opcode, items, i):
        memory = 0
        token = _at(items, i)
        if type(token) is str and (is_id(token) or parse_nat(token) is not None):
            memory = self.b.resolve("memory", token)
            i += 1
        align, offset, i = self._offset_align(opcode, items, i)
        return (opcode, align, offset, memory), i

    def _read_br_table(self, opcode, items, i):
        first = _at(items, i)
        labels = []
        n = len(items)
        while i < n and type(items[i]) is str and self.b.is_index(items[i]):
            labels.append(self.label_index(items[i]))
            i += 1
        if not labels:
            raise unexpected(first)
        return (opcode, tuple(labels[:-1]), labels[-1]), i

    def _read_call_indirect(self, opcode, items, i):
        table = 0
        token = _at(items, i)
        if type(token) is str and self.b.is_index(token):
            table = self.b.resolve("table", token)
            i += 1
        type_index, i = self.b.typeuse(items, i)
        return (opcode, type_index, table), i

    def _read_one_index(self, opcode, items, i):
        # table.get/set/size/grow/fill, memory.size/grow/fill take an optional index (0);
        # data.drop and elem.drop require theirs.
        kind = op.IMMEDIATES[opcode]
        if kind == "data":
            self.b.uses_data_count = True
        token = _at(items, i)
        if type(token) is str and self.b.is_index(token):
            return (opcode, self.b.resolve(kind, token)), i + 1
        if kind in ("data", "elem"):
            raise unexpected(token)
        return (opcode, 0), i

    def _read_reftype(self, opcode, items, i):
        token = _at(items, i)
        t = HEAP_TYPES.get(token) if type(token) is str else None
        if t is None:
            raise unexpected(token)
        return (opcode, t), i + 1

    def _read_select(self, opcode, items, i):
        types = []
        j = i
        n = len(items)
        while j < n and head(items[j]) == "result":
            types.extend(valtype(t) for t in items[j][1:])
            j += 1
        if j == i:
            return (op.SELECT,), i
        return (op.SELECT_T, tuple(types)), j

    def _read_init(self, opcode, items, i):
        # memory.init / table.init: `segment` or `target segment`
        b = self.b
        memory_init = op.IMMEDIATES[opcode] == "memory_init"
        segment_space, target_space = ("data", "memory") if memory_init else ("elem", "table")
        token = _at(items, i)
        if i + 1 < len(items) and type(items[i + 1]) is str and b.is_index(items[i + 1]) and \
                b.is_index(token):
            target = b.resolve(target_space, token)
            segment = b.resolve(segment_space, items[i + 1])
            i += 2
        else:
            target = 0
            segment = b.resolve(segment_space, token)
            i += 1
        if memory_init:
            b.uses_data_count = True
        return (opcode, segment, target), i

    def _read_copy(self, opcode, items, i):
        # memory.copy / table.copy: nothing (0 0) or `destination source`
        space = "memory" if op.IMMEDIATES[opcode] == "memory_copy" else "table"
        token = _at(items, i)
        if type(token) is str and self.b.is_index(token):
            destination = self.b.resolve(space, token)
            if i + 1 >= len(items):
                raise unexpected()
            source = self.b.resolve(space, items[i + 1])
            return (opcode, destination, source), i + 2
        return (opcode, 0, 0), i

    def _read_v128(self, opcode, items, i):
        shape = _at(items, i)
        if shape not in LANE_SHAPES:
            raise DecodeError(f"unexpected token: unknown vector shape {shape!r}")
        _, count = LANE_SHAPES[shape]
        lanes = items[i + 1:i + 1 + count]
        after = i + 1 + count
        if len(lanes) != count or any(type(x) is not str for x in lanes) or (
                after < len(items) and type(items[after]) is str
                and FLOAT_RE.match(items[after])):
            raise DecodeError("unexpected token: wrong number of lane literals")
        return (opcode, v128_from_lanes(shape, [lane_value(shape, x) for x in lanes])), after

    def _read_shuffle(self, opcode, items, i):
        j = i
        n = len(items)
        while j < n and type(items[j]) is str:
            j += 1
        lanes = items[i:j]
        if len(lanes) != 16:
            raise DecodeError("unexpected token: invalid lane length")
        return (opcode, tuple(_lane_index(x) for x in lanes)), i + 16

    def _read_lane(self, opcode, items, i):
        return (opcode, _lane_index(_at(items, i))), i + 1

    def _read_memarg_lane(self, opcode, items, i):
        # memarg, then the lane index; a leading index is a memory only if a lane follows
        memory = 0
        token = _at(items, i)
        following = _at(items, i + 1)
        if type(token) is str and (is_id(token) or (
                parse_nat(token) is not None and type(following) is str
                and (parse_nat(following) is not None
                     or following.startswith(("offset=", "align="))))):
            memory = self.b.resolve("memory", token)
            i += 1
        align, offset, i = self._offset_align(opcode, items, i)
        return (opcode, align, offset, memory, _lane_index(_at(items, i))), i + 1

    def _read_blocktype(self, opcode, items, i):
        # block/loop/if are read by seq/folded; only a stray use lands here
        raise unexpected(_at(items, i))


# immediate kind (wasmcore.syntax.opcodes) -> its reader
_IMMEDIATE_READERS = {
    "local": FuncBody._read_local,
    "i32": FuncBody._read_int,
    "i64": FuncBody._read_int,
    "f32": FuncBody._read_float,
    "f64": FuncBody._read_float,
    "global": FuncBody._read_global,
    "func": FuncBody._read_func,
    "label": FuncBody._read_label,
    "memarg": FuncBody._read_memarg,
    "br_table": FuncBody._read_br_table,
    "call_indirect": FuncBody._read_call_indirect,
    "table": FuncBody._read_one_index,
    "memory": FuncBody._read_one_index,
    "data": FuncBody._read_one_index,
    "elem": FuncBody._read_one_index,
    "reftype": FuncBody._read_reftype,
    "select_t": FuncBody._read_select,
    "memory_init": FuncBody._read_init,
    "table_init": FuncBody._read_init,
    "memory_copy": FuncBody._read_copy,
    "table_copy": FuncBody._read_copy,
    "v128": FuncBody._read_v128,
    "shuffle": FuncBody._read_shuffle,
    "lane": FuncBody._read_lane,
    "memarg_lane": FuncBody._read_memarg_lane,
    "blocktype": FuncBody._read_blocktype,
}

__all__ = ["END", "FuncBody", "natural_align"]
