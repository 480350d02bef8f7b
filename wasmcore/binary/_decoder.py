"""The module decoder: sections, types, segments and function bodies
(https://webassembly.github.io/spec/core/binary/modules.html).

Error messages are the spec testsuite's; checks follow the order of the spec's reference
interpreter so that malformed modules report what `assert_malformed` expects.
"""

from __future__ import annotations

import gc
import hashlib

from wasmcore.kernel import limits as _limits
from wasmcore.binary._code import (
    VALUE_TYPES, END, CodeTables, code_tables, decode_expression, reference_type,
)
from wasmcore.binary._names import decode_names
from wasmcore.binary._reader import UNEXPECTED_END, Reader, read_signed
from wasmcore.errors import DecodeError
from wasmcore.syntax.features import WasmFeatures
from wasmcore.syntax.types import (
    CustomSection, DataSegment, DecodedModule, ElementSegment, Export, ExternKind, Function,
    FuncType, Global, GlobalType, Import, Limits, MemoryType, Names, SegmentMode, TableType,
    ValueType,
)

MAGIC = b"\x00asm"
VERSION = b"\x01\x00\x00\x00"

# Section ids in the order they must appear (data count, 12, sits between element and code).
_SECTION_RANK = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 12: 10, 10: 11, 11: 12}

_EXTERN_KINDS = (ExternKind.FUNC, ExternKind.TABLE, ExternKind.MEMORY, ExternKind.GLOBAL)
_FUNCREF = ValueType.FUNCREF


def _check_count(count: int, bound: int, what: str, pos: int) -> None:
    if count > bound:
        raise DecodeError(f"too many {what}", pos)


class _ModuleDecoder:
    """Decodes one binary; the fields accumulate the module's parts."""

    def __init__(self, data: bytes, features: WasmFeatures):
        self.data = data
        self.features = features
        self.tables: CodeTables = code_tables(features)
        self.reader = Reader(data)
        self.types: list[FuncType] = []
        self.imports: list[Import] = []
        self.function_types: list[int] = []
        self.table_types: list[TableType] = []
        self.memories: list[MemoryType] = []
        self.globals: list[Global] = []
        self.exports: list[Export] = []
        self.start: int | None = None
        self.elements: list[ElementSegment] = []
        self.data_count: int | None = None
        self.codes: list[tuple] = []  # (locals, body, offset) per function body
        self.datas: list[DataSegment] = []
        self.customs: list[CustomSection] = []
        self.names: Names = Names()
        self.names_seen = False
        # memory.init / data.drop in a function body require the data count section.
        self.uses_data_in_code = False

    # -- values and types --------------------------------------------------------------------

    def value_type(self) -> ValueType:
        r = self.reader
        b = r.u8()
        value_type = VALUE_TYPES.get(b)
        if value_type is None:
            if b & 0x80:
                read_signed(r.data, r.pos - 1, 7)
            raise DecodeError("malformed value type", r.pos - 1)
        return value_type

    def reference_type(self) -> ValueType:
        r = self.reader
        ref = reference_type(r.data, r.pos)
        r.pos += 1
        return ref

    def value_types(self, bound: int, what: str) -> tuple[ValueType, ...]:
        r = self.reader
        start = r.pos
        count = r.len32()
        _check_count(count, bound, what, start)
        return tuple(self.value_type() for _ in range(count))

    def func_type(self) -> FuncType:
        r = self.reader
        b = r.u8()
        if b != 0x60:
            if b & 0x80:
                read_signed(r.data, r.pos - 1, 7)
            raise DecodeError("malformed function type", r.pos - 1)
        params = self.value_types(_limits.MAX_FUNCTION_PARAMS, "parameters")
        results = self.value_types(_limits.MAX_FUNCTION_RESULTS, "results")
        return FuncType(params, results)

    def limits_flags(self, allowed: frozenset[int]) -> int:
        """The limits flags byte. With only flags 0/1 allowed it is read as the spec's u1."""
        r = self.reader
        pos = r.pos
        b = r.data[pos]
        if b in allowed:
            r.pos = pos + 1
            return b
        if allowed == _PLAIN_LIMITS:
            r.unsigned(1)  # raises "integer too large" / "integer representation too long"
        if b & 0x80:
            r.u32()
        raise DecodeError("malformed limits flags", pos)

    def limits(self, flags: int, bits: int) -> Limits:
        r = self.reader
        minimum = r.unsigned(bits) if bits != 32 else r.u32()
        maximum = None
        if flags & 1:
            maximum = r.unsigned(bits) if bits != 32 else r.u32()
        return Limits(minimum, maximum)

    def table_type(self) -> TableType:
        element = self.reference_type()
        flags = self.limits_flags(_PLAIN_LIMITS)
        return TableType(element, self.limits(flags, 32))

    def memory_type(self) -> MemoryType:
        features = self.features
        allowed = _PLAIN_LIMITS
        if features.threads or features.memory64:
            flags = set(_PLAIN_LIMITS)
            if features.threads:
                flags |= {2, 3}
            if features.memory64:
                flags |= {4, 5}
                if features.threads:
                    flags |= {6, 7}
            allowed = frozenset(flags)
        flags = self.limits_flags(allowed)
        is_64 = bool(flags & 4)
        return MemoryType(self.limits(flags, 64 if is_64 else 32), shared=bool(flags & 2),
                          is_64=is_64)

    def global_type(self) -> GlobalType:
        value_type = self.value_type()
        r = self.reader
        mutability = r.u8()
        if mutability > 1:
            raise DecodeError("malformed mutability", r.pos - 1)
        return GlobalType(value_type, bool(mutability))

    def expression(self) -> tuple:
        r = self.reader
        code, r.pos, _ = decode_expression(r.data, r.pos, self.tables)
        return code

    # -- sections ----------------------------------------------------------------------------

    def vector(self, bound: int, what: str) -> int:
        r = self.reader
        start = r.pos
        count = r.len32()
        _check_count(count, bound, what, start)
        return count

    def type_section(self) -> None:
        for _ in range(self.vector(_limits.MAX_TYPES, "types")):
            self.types.append(self.func_type())

    def import_section(self) -> None:
        r = self.reader
        for _ in range(self.vector(_limits.MAX_IMPORTS, "imports")):
            module = r.name()
            name = r.name()
            kind = r.u8()
            if kind == 0:
                desc = r.u32()
            elif kind == 1:
                desc = self.table_type()
            elif kind == 2:
                desc = self.memory_type()
            elif kind == 3:
                desc = self.global_type()
            else:
                raise DecodeError("malformed import kind", r.pos - 1)
            self.imports.append(Import(module, name, _EXTERN_KINDS[kind], desc))

    def function_section(self) -> None:
        r = self.reader
        for _ in range(self.vector(_limits.MAX_FUNCTIONS, "functions")):
            self.function_types.append(r.u32())

    def table_section(self) -> None:
        for _ in range(self.vector(_limits.MAX_TABLES, "tables")):
            self.table_types.append(self.table_type())

    def memory_section(self) -> None:
        for _ in range(self.vector(_limits.MAX_MEMORIES, "memories")):
            self.memories.append(self.memory_type())

    def global_section(self) -> None:
        for _ in range(self.vector(_limits.MAX_GLOBALS, "globals")):
            global_type = self.global_type()
            self.globals.append(Global(global_type, self.expression()))

    def export_section(self) -> None:
        r = self.reader
        for _ in range(self.vector(_limits.MAX_EXPORTS, "exports")):
            name = r.name()
            kind = r.u8()
            if kind > 3:
                raise DecodeError("malformed export kind", r.pos - 1)
            self.exports.append(Export(name, _EXTERN_KINDS[kind], r.u32()))

    def start_section(self) -> None:
        self.start = self.reader.u32()

    def element_kind(self) -> ValueType:
        r = self.reader
        if r.u8() != 0x00:
            raise DecodeError("malformed element kind", r.pos - 1)
        return _FUNCREF

    def function_indices(self) -> tuple:
        r = self.reader
        count = r.len32()
        u32 = r.u32
        return tuple(((0xD2, u32()), END) for _ in range(count))

    def expressions(self) -> tuple:
        count = self.reader.len32()
        return tuple(self.expression() for _ in range(count))

    def element_section(self) -> None:
        r = self.reader
        for _ in range(self.vector(_limits.MAX_ELEMENT_SEGMENTS, "element segments")):
            start = r.pos
            flags = r.u32()
            if flags > 7:
                raise DecodeError("malformed elements segment kind", start)
            table = 0
            offset = None
            if flags & 1:
                mode = SegmentMode.DECLARATIVE if flags & 2 else SegmentMode.PASSIVE
            else:
                mode = SegmentMode.ACTIVE
                if flags & 2:
                    table = r.u32()
                offset = self.expression()
            if flags & 4:
                element_type = self.reference_type() if flags & 3 else _FUNCREF
                init = self.expressions()
            else:
                element_type = self.element_kind() if flags & 3 else _FUNCREF
                init = self.function_indices()
            self.elements.append(ElementSegment(element_type, init, mode, table, offset))

    def data_count_section(self) -> None:
        self.data_count = self.reader.u32()

    def code_section(self) -> None:
        r = self.reader
        data = r.data
        tables = self.tables
        max_locals = _limits.MAX_FUNCTION_LOCALS
        for _ in range(self.vector(_limits.MAX_FUNCTIONS, "functions")):
            size = r.len32()
            start = r.pos
            if size > _limits.MAX_FUNCTION_BODY_SIZE:
                raise DecodeError("function body too large", start)
            locals_: tuple = ()
            total = 0
            for _ in range(r.len32()):
                count = r.u32()
                value_type = self.value_type()
                total += count
                if total > max_locals:
                    raise DecodeError("too many locals", start)
                if count:
                    locals_ += (value_type,) * count
            body, pos, uses_data = decode_expression(data, r.pos, tables)
            r.pos = pos
            if uses_data:
                self.uses_data_in_code = True
            if pos != start + size:
                raise DecodeError("section size mismatch", start)
            self.codes.append((locals_, body, start))

    def data_section(self) -> None:
        r = self.reader
        for _ in range(self.vector(_limits.MAX_DATA_SEGMENTS, "data segments")):
            start = r.pos
            flags = r.u32()
            if flags > 2:
                raise DecodeError("malformed data segment kind", start)
            memory = 0
            offset = None
            if flags == 1:
                mode = SegmentMode.PASSIVE
            else:
                mode = SegmentMode.ACTIVE
                if flags == 2:
                    memory = r.u32()
                offset = self.expression()
            init = r.bytes(r.len32())
            self.datas.append(DataSegment(init, mode, memory, offset))

    def custom_section(self, size: int) -> None:
        r = self.reader
        start = r.pos
        name = r.name()
        name_end = r.pos
        r.skip(size - (name_end - start))
        payload = r.data[name_end:r.pos]
        if name == "name" and not self.names_seen:
            self.names_seen = True
            names = decode_names(payload)
            if names is not None:
                self.names = names
                return
        self.customs.append(CustomSection(name, payload))

    # -- the module --------------------------------------------------------------------------

    _SECTIONS = {
        1: type_section, 2: import_section, 3: function_section, 4: table_section,
        5: memory_section, 6: global_section, 7: export_section, 8: start_section,
        9: element_section, 12: data_count_section, 10: code_section, 11: data_section,
    }

    def module(self) -> DecodedModule:
        data = self.data
        r = self.reader
        if len(data) > _limits.MAX_MODULE_SIZE:
            raise DecodeError("module too large", 0)
        if len(data) < 4:
            raise DecodeError("unexpected end", len(data))
        if data[:4] != MAGIC:
            raise DecodeError("magic header not detected", 0)
        if len(data) < 8:
            raise DecodeError("unexpected end", len(data))
        if data[4:8] != VERSION:
            raise DecodeError("unknown binary version", 4)
        r.pos = 8
        end = len(data)
        last_rank = 0
        sections = self._SECTIONS
        while r.pos < end:
            pos = r.pos
            section_id = data[pos]
            if section_id == 0:
                r.pos += 1
                size = r.len32()
                self.custom_section(size)  # consumes exactly `size` bytes
                continue
            rank = _SECTION_RANK.get(section_id)
            if rank is None:
                raise DecodeError("malformed section id", pos)
            if rank <= last_rank:
                raise DecodeError("unexpected content after last section", pos)
            last_rank = rank
            r.pos += 1
            size = r.len32()
            start = r.pos
            sections[section_id](self)
            if r.pos != start + size:
                raise DecodeError("section size mismatch", start)
        if len(self.function_types) != len(self.codes):
            raise DecodeError("function and code section have inconsistent lengths", end)
        if self.data_count is not None and self.data_count != len(self.datas):
            raise DecodeError("data count and data section have inconsistent lengths", end)
        if self.data_count is None and self.uses_data_in_code:
            raise DecodeError("data count section required", end)
        functions = tuple(
            Function(type_index, locals_, body, offset)
            for type_index, (locals_, body, offset) in zip(self.function_types, self.codes)
        )
        return DecodedModule(
            types=tuple(self.types),
            imports=tuple(self.imports),
            functions=functions,
            tables=tuple(self.table_types),
            memories=tuple(self.memories),
            globals=tuple(self.globals),
            exports=tuple(self.exports),
            start=self.start,
            elements=tuple(self.elements),
            datas=tuple(self.datas),
            data_count=self.data_count,
            customs=tuple(self.customs),
            names=self.names,
            id=hashlib.sha256(data).hexdigest(),
        )


_PLAIN_LIMITS = frozenset({0, 1})


def decode(data: bytes, features: WasmFeatures) -> DecodedModule:
    decoder = _ModuleDecoder(data, features)
    # The decoder allocates hundreds of thousands of tuples and no reference cycles; the
    # cyclic collector would only rescan them over and over (about a quarter of the time).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return decoder.module()
    except IndexError:
        # Every read is of `data`: an index past its end means the binary ended too soon.
        raise DecodeError(UNEXPECTED_END, len(data)) from None
    finally:
        if gc_was_enabled:
            gc.enable()
