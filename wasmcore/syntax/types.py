"""The decoded module: plain immutable data shared by every phase.

Implements the spec's "Structure" chapter
(https://webassembly.github.io/spec/core/syntax/index.html). The decoder and the text parser
produce a `DecodedModule`; the validator checks it; backends receive it read-only and never
re-validate it.

Differences from the specification:
- Instructions are plain tuples `(opcode, *immediates)` in one flat sequence per body, block
  structure included (`block`/`loop`/`if`/`else`/`end`), exactly as the binary format orders
  them; a function body and a constant expression both end with their final `end`.
  Opcodes and immediate layouts are listed in `wasmcore.syntax.opcodes`.
- A block type is kept as the binary format's s33 value (`blocktype` helpers below).
- `f32.const` / `f64.const` carry the raw IEEE bit pattern (an unsigned int), so NaN payloads,
  signalling ones included, survive decoding, encoding and execution.
- `i32.const` / `i64.const` carry the signed value as the binary format encodes it.
- Function locals are stored expanded (one entry per local); the decoder bounds their count.
"""

from __future__ import annotations

import enum
from typing import Any, Union

import msgspec


class ValueType(enum.IntEnum):
    """A value type, numbered by its binary encoding."""

    I32 = 0x7F
    I64 = 0x7E
    F32 = 0x7D
    F64 = 0x7C
    V128 = 0x7B
    FUNCREF = 0x70
    EXTERNREF = 0x6F

    @property
    def is_reference(self) -> bool:
        return self in (ValueType.FUNCREF, ValueType.EXTERNREF)

    @property
    def text(self) -> str:
        return _VALUE_TYPE_TEXT[self]


_VALUE_TYPE_TEXT = {
    ValueType.I32: "i32",
    ValueType.I64: "i64",
    ValueType.F32: "f32",
    ValueType.F64: "f64",
    ValueType.V128: "v128",
    ValueType.FUNCREF: "funcref",
    ValueType.EXTERNREF: "externref",
}

NUMERIC_TYPES = frozenset({ValueType.I32, ValueType.I64, ValueType.F32, ValueType.F64})
REFERENCE_TYPES = frozenset({ValueType.FUNCREF, ValueType.EXTERNREF})


class ExternKind(enum.IntEnum):
    """The kind of an import or export, numbered by its binary encoding."""

    FUNC = 0
    TABLE = 1
    MEMORY = 2
    GLOBAL = 3
    TAG = 4


# Block types (https://webassembly.github.io/spec/core/binary/instructions.html#binary-blocktype):
# the s33 value as encoded. -64 (0x40) is empty, other negatives are a single value type
# (value & 0x7F is its ValueType byte), non-negatives are a type index.
BLOCKTYPE_EMPTY = -64


def blocktype_from_value_type(value_type: ValueType) -> int:
    return int(value_type) - 0x80


def blocktype_value_type(blocktype: int) -> ValueType | None:
    """The single result type of a value blocktype, None for empty; only for blocktype < 0."""
    if blocktype == BLOCKTYPE_EMPTY:
        return None
    return ValueType(blocktype & 0x7F)


class FuncType(msgspec.Struct, frozen=True):
    """https://webassembly.github.io/spec/core/syntax/types.html#function-types"""

    params: tuple[ValueType, ...] = ()
    results: tuple[ValueType, ...] = ()


class Limits(msgspec.Struct, frozen=True):
    """https://webassembly.github.io/spec/core/syntax/types.html#limits"""

    min: int
    max: int | None = None


class TableType(msgspec.Struct, frozen=True):
    element: ValueType
    limits: Limits


class MemoryType(msgspec.Struct, frozen=True):
    limits: Limits
    shared: bool = False
    is_64: bool = False  # memory64 proposal (Wasm 3.0)


class GlobalType(msgspec.Struct, frozen=True):
    value_type: ValueType
    mutable: bool = False


# An import's description: a type index for functions, otherwise the entity's type.
ImportDesc = Union[int, TableType, MemoryType, GlobalType]


class Import(msgspec.Struct, frozen=True):
    module: str
    name: str
    kind: ExternKind
    desc: Any  # ImportDesc; Any so msgspec accepts the union of an int and structs


class Export(msgspec.Struct, frozen=True):
    name: str
    kind: ExternKind
    index: int


# An instruction: (opcode, *immediates); see wasmcore.syntax.opcodes.
Instruction = tuple
Expression = tuple  # tuple[Instruction, ...], ending with `end`


class Global(msgspec.Struct, frozen=True):
    type: GlobalType
    init: Expression


class SegmentMode(enum.IntEnum):
    ACTIVE = 0
    PASSIVE = 1
    DECLARATIVE = 2


class ElementSegment(msgspec.Struct, frozen=True):
    """https://webassembly.github.io/spec/core/syntax/modules.html#element-segments

    `init` holds one constant expression per element; the binary form that lists function
    indices is decoded into `ref.func` expressions so every consumer sees one shape.
    """

    type: ValueType
    init: tuple[Expression, ...]
    mode: SegmentMode
    table: int = 0
    offset: Expression | None = None


class DataSegment(msgspec.Struct, frozen=True):
    init: bytes
    mode: SegmentMode
    memory: int = 0
    offset: Expression | None = None


class Function(msgspec.Struct, frozen=True):
    """A defined function: its type index, expanded locals (params excluded) and body."""

    type_index: int
    locals: tuple[ValueType, ...]
    body: Expression
    # Byte offset of the body in the binary (0 for modules from text): for traps and profilers.
    offset: int = 0


class CustomSection(msgspec.Struct, frozen=True):
    name: str
    data: bytes


class Names(msgspec.Struct, frozen=True):
    """The decoded "name" custom section (https://webassembly.github.io/spec/core/appendix/custom.html)."""

    module: str | None = None
    functions: dict[int, str] = {}
    locals: dict[int, dict[int, str]] = {}


class DecodedModule(msgspec.Struct, frozen=True):
    """https://webassembly.github.io/spec/core/syntax/modules.html

    Index spaces (funcs, tables, memories, globals) start with the imports of that kind, as the
    spec defines; `functions` etc. hold only the module's own definitions.
    """

    types: tuple[FuncType, ...] = ()
    imports: tuple[Import, ...] = ()
    functions: tuple[Function, ...] = ()
    tables: tuple[TableType, ...] = ()
    memories: tuple[MemoryType, ...] = ()
    globals: tuple[Global, ...] = ()
    exports: tuple[Export, ...] = ()
    start: int | None = None
    elements: tuple[ElementSegment, ...] = ()
    datas: tuple[DataSegment, ...] = ()
    data_count: int | None = None
    customs: tuple[CustomSection, ...] = ()
    names: Names = Names()
    id: str = ""  # sha256 hex of the binary it was decoded from ("" if built in memory)

    # Derived views. Plain methods, not cached: the Struct is frozen and cheap to scan.
    def imports_of(self, kind: ExternKind) -> tuple[Import, ...]:
        return tuple(imp for imp in self.imports if imp.kind == kind)

    def func_type_of(self, func_index: int) -> FuncType:
        """The type of a function in the function index space (imports first)."""
        imported = [imp for imp in self.imports if imp.kind == ExternKind.FUNC]
        if func_index < len(imported):
            return self.types[imported[func_index].desc]
        return self.types[self.functions[func_index - len(imported)].type_index]
