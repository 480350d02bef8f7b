"""Table and memory operations with the spec's bounds rules, for every backend (spec "Table
Instructions" and "Memory Instructions",
https://webassembly.github.io/spec/core/exec/instructions.html#table-instructions).

Operands are as the instructions take them: indices, offsets and counts unsigned (i32), memories
`MemoryInstance`s, tables `TableInstance`s, references in the store's representation (a
`FuncInstance` or None, any object for externref), segments the instance's lists of data bytes
(`datas`) and of element references (`elements`) with the segment's index. A range is checked
whole before anything is written, so an out-of-bounds operation writes nothing, and a range of
length zero is still checked (it may end exactly at the size). A dropped segment is empty.
"""

from __future__ import annotations

from wasmcore.errors import Trap, TrapCode

M32 = 0xFFFFFFFF
TABLE_OUT_OF_BOUNDS = "out of bounds table access"  # the spec testsuite's wording for tables


def memory_out_of_bounds() -> Trap:
    return Trap(TrapCode.MEMORY_OUT_OF_BOUNDS)  # "out of bounds memory access"


def table_out_of_bounds() -> Trap:
    return Trap(TrapCode.TABLE_OUT_OF_BOUNDS, TABLE_OUT_OF_BOUNDS)


# --- memory ------------------------------------------------------------------------------------
def memory_grow(memory, delta: int) -> int:
    """memory.grow: the old size in pages, or 0xFFFFFFFF (-1) if refused."""
    return memory.grow(delta) & M32


def memory_fill(memory, d: int, value: int, n: int) -> None:
    if d + n > memory.size:
        raise memory_out_of_bounds()
    if n:
        memory.data[d:d + n] = bytes((value & 0xFF,)) * n


def memory_copy(dst_memory, src_memory, d: int, s: int, n: int) -> None:
    """memory.copy; the ranges may overlap (the copy goes through a slice)."""
    if s + n > src_memory.size or d + n > dst_memory.size:
        raise memory_out_of_bounds()
    if n:
        dst_memory.data[d:d + n] = src_memory.data[s:s + n]


def memory_init(memory, datas: list, k: int, d: int, s: int, n: int) -> None:
    segment = datas[k]
    if s + n > len(segment) or d + n > memory.size:
        raise memory_out_of_bounds()
    if n:
        memory.data[d:d + n] = segment[s:s + n]


def data_drop(datas: list, k: int) -> None:
    datas[k] = b""


# --- tables ------------------------------------------------------------------------------------
def table_get(table, i: int):
    elements = table.elements
    if i >= len(elements):
        raise table_out_of_bounds()
    return elements[i]


def table_set(table, i: int, value) -> None:
    if i >= len(table.elements):
        raise table_out_of_bounds()
    table.set(i, value)


def table_grow(table, init, n: int) -> int:
    """table.grow: the old size, or 0xFFFFFFFF (-1) if refused."""
    return table.grow(n, init) & M32


def table_fill(table, i: int, value, n: int) -> None:
    if i + n > len(table.elements):
        raise table_out_of_bounds()
    if n:
        table.set_range(i, [value] * n)


def table_copy(dst_table, src_table, d: int, s: int, n: int) -> None:
    """table.copy; the ranges may overlap (the copy goes through a slice)."""
    if s + n > len(src_table.elements) or d + n > len(dst_table.elements):
        raise table_out_of_bounds()
    if n:
        dst_table.set_range(d, src_table.elements[s:s + n])


def table_init(table, elements: list, k: int, d: int, s: int, n: int) -> None:
    segment = elements[k]
    if s + n > len(segment) or d + n > len(table.elements):
        raise table_out_of_bounds()
    if n:
        table.set_range(d, segment[s:s + n])


def elem_drop(elements: list, k: int) -> None:
    elements[k] = []
