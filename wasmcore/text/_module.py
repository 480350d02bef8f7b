"""Modules in the text format (spec 6.6 "Modules"): the module builder turns a
`(module $id? field*)` tree (or a bare field sequence) into a `DecodedModule`. Two passes: the
first binds every index space (types, functions, tables, memories, globals, elem and data
segments) so fields may refer forward; the second reads each field: type definitions and type
uses, imports, functions with their locals, tables, memories, globals, exports, start, element
and data segments, with the abbreviations (inline exports and imports, inline `(elem ...)` and
`(data ...)`, implicit type uses). Function bodies are read by `_instructions.FuncBody`."""

from __future__ import annotations

from typing import Any

from wasmcore.errors import DecodeError
from wasmcore.syntax import opcodes as op
from wasmcore.syntax.types import (
    DataSegment,
    DecodedModule,
    ElementSegment,
    Export,
    ExternKind,
    Function,
    FuncType,
    Global,
    Import,
    Limits,
    MemoryType,
    Names,
    SegmentMode,
    TableType,
    ValueType,
)
from wasmcore.text._instructions import END, FuncBody
from wasmcore.text._lexer import Node, WStr, head, is_id, name_of, read_sexprs, unexpected
from wasmcore.text._numbers import parse_nat
from wasmcore.text._types import (
    VALTYPES,
    functype_def,
    global_type,
    memory_type,
    params_results,
    reftype,
    table_type,
    valtype,
)

_KIND_NAMES = {"func": ExternKind.FUNC, "table": ExternKind.TABLE, "memory": ExternKind.MEMORY,
               "global": ExternKind.GLOBAL}
# index space -> the word its "unknown ..." error uses
_SPACE_WORD = {"type": "type", "func": "function", "table": "table", "memory": "memory",
               "global": "global", "elem": "elem segment", "data": "data segment"}


class ModuleBuilder:
    """Builds one module from its fields; `FuncBody` asks it for indices and type uses."""

    def __init__(self, fields: list, name: str | None = None):
        self.fields = fields
        self.module_name = name
        self.types: list[FuncType] = []
        self.type_lookup: dict[FuncType, int] = {}
        self.ids: dict[str, dict[str, int]] = {k: {} for k in _SPACE_WORD}
        self.counts: dict[str, int] = {k: 0 for k in _SPACE_WORD}
        self.imports: list[Import] = []
        self.functions: list[Function] = []
        self.tables: list[TableType] = []
        self.memories: list[MemoryType] = []
        self.globals: list[Global] = []
        self.exports: list[Export] = []
        self.start: int | None = None
        self.elements: list[ElementSegment | None] = []
        self.datas: list[DataSegment | None] = []
        self.func_names: dict[int, str] = {}
        self.local_names: dict[int, dict[int, str]] = {}
        self.uses_data_count = False
        self.inline_seg: dict[int, int] = {}

    # --- index spaces --------------------------------------------------------------------------
    def bind(self, space: str, ident: Any) -> int:
        index = self.counts[space]
        self.counts[space] = index + 1
        if is_id(ident):
            table = self.ids[space]
            key = ident[1:]
            if key in table:
                raise DecodeError(f"duplicate {space} {ident}")
            table[key] = index
        return index

    def resolve(self, space: str, item: Any) -> int:
        if type(item) is str:
            if item[:1] == "$":
                index = self.ids[space].get(item[1:])
                if index is None:
                    raise DecodeError(f"unknown {_SPACE_WORD[space]} {item}")
                return index
            n = parse_nat(item)
            if n is not None:
                if n >= 1 << 32:
                    raise DecodeError("constant out of range: index")
                return n
        raise unexpected(item)

    def is_index(self, item: Any) -> bool:
        return type(item) is str and (is_id(item) or parse_nat(item) is not None)

    # --- types -----------------------------------------------------------------------------------
    def type_index(self, ft: FuncType) -> int:
        index = self.type_lookup.get(ft)
        if index is None:
            index = len(self.types)
            self.types.append(ft)
            self.type_lookup[ft] = index
        return index

    def typeuse(self, items: list, i: int, names: list | None = None):
        """`(type x)? (param)* (result)*` -> (type index, i); fills names with param ids."""
        explicit = None
        if i < len(items) and head(items[i]) == "type":
            node = items[i]
            if len(node) != 2:
                raise unexpected(node)
            explicit = self.resolve("type", node[1])
            i += 1
        params, results, i = params_results(items, i, names)
        if explicit is None:
            return self.type_index(FuncType(tuple(params), tuple(results))), i
        if explicit >= len(self.types) and (params or results):
            raise DecodeError(f"unknown type {explicit}")
        if explicit < len(self.types):
            ft = self.types[explicit]
            if params or results:
                if ft != FuncType(tuple(params), tuple(results)):
                    raise DecodeError("inline function type")
            elif names is not None:
                names.extend([None] * len(ft.params))
        return explicit, i

    # --- pass 1: index spaces -----------------------------------------------------------------
    def build(self) -> DecodedModule:
        fields = self.fields
        defined: str | None = None
        plan = []
        for field in fields:
            kind = head(field)
            if kind is None:
                raise unexpected(field)
            if kind == "type":
                i = 1
                ident = None
                if i < len(field) and is_id(field[i]):
                    ident = field[i]
                    i += 1
                if len(field) != i + 1:
                    raise unexpected(field)
                self.bind("type", ident)
                ft = functype_def(field[i])
                self.types.append(ft)
                self.type_lookup.setdefault(ft, len(self.types) - 1)
            elif kind == "import":
                if len(field) != 4:
                    raise unexpected(field)
                desc = field[3]
                dk = head(desc)
                if dk not in _KIND_NAMES:
                    raise unexpected(desc)
                if defined:
                    raise DecodeError(f"import after {defined}")
                ident = desc[1] if len(desc) > 1 and is_id(desc[1]) else None
                index = self.bind(dk, ident)
                plan.append((field, "import", index, True))
            elif kind in _KIND_NAMES:
                i = 1
                ident = None
                if i < len(field) and is_id(field[i]):
                    ident = field[i]
                    i += 1
                while i < len(field) and head(field[i]) == "export":
                    i += 1
                imported = i < len(field) and head(field[i]) == "import"
                if imported:
                    if defined:
                        raise DecodeError(f"import after {defined}")
                elif defined is None:
                    defined = {"func": "function"}.get(kind, kind)
                index = self.bind(kind, ident)
                plan.append((field, kind, index, imported))
                if not imported:
                    # inline segments take their index in order
                    if kind == "table" and any(head(x) == "elem" for x in field[i:]):
                        self.inline_seg[id(field)] = self.bind("elem", None)
                    if kind == "memory" and any(head(x) == "data" for x in field[i:]):
                        self.inline_seg[id(field)] = self.bind("data", None)
            elif kind in ("elem", "data"):
                ident = field[1] if len(field) > 1 and is_id(field[1]) else None
                index = self.bind(kind, ident)
                plan.append((field, kind, index, False))
            elif kind in ("export", "start"):
                plan.append((field, kind, None, False))
            else:
                raise DecodeError(f"unexpected token: unknown module field {kind!r}")
        self.elements = [None] * self.counts["elem"]
        self.datas = [None] * self.counts["data"]
        self.elem_cursor = 0
        self.data_cursor = 0
        for field, kind, index, imported in plan:
            if kind == "import":
                self.import_field(field)
            elif kind == "func":
                self.func_field(field, index, imported)
            elif kind == "table":
                self.table_field(field, index, imported)
            elif kind == "memory":
                self.memory_field(field, index, imported)
            elif kind == "global":
                self.global_field(field, index, imported)
            elif kind == "elem":
                self.elem_field(field, index)
            elif kind == "data":
                self.data_field(field, index)
            elif kind == "export":
                self.export_field(field)
            elif kind == "start":
                if len(field) != 2:
                    raise unexpected(field)
                if self.start is not None:
                    raise DecodeError("multiple start sections")
                self.start = self.resolve("func", field[1])
        return DecodedModule(
            types=tuple(self.types),
            imports=tuple(self.imports),
            functions=tuple(self.functions),
            tables=tuple(self.tables),
            memories=tuple(self.memories),
            globals=tuple(self.globals),
            exports=tuple(self.exports),
            start=self.start,
            elements=tuple(self.elements),
            datas=tuple(self.datas),
            data_count=len(self.datas) if self.uses_data_count else None,
            names=Names(module=self.module_name, functions=self.func_names,
                        locals=self.local_names),
        )

    # --- fields -----------------------------------------------------------------------------------
    def _prefix(self, field: Node, kind: str, index: int):
        """Skip id, collect inline exports and inline import; returns (import, i)."""
        i = 1
        if i < len(field) and is_id(field[i]):
            if kind == "func":
                self.func_names[index] = field[i][1:]
            i += 1
        ekind = _KIND_NAMES[kind]
        while i < len(field) and head(field[i]) == "export":
            node = field[i]
            if len(node) != 2:
                raise unexpected(node)
            self.exports.append(Export(name_of(node[1]), ekind, index))
            i += 1
        imp = None
        if i < len(field) and head(field[i]) == "import":
            node = field[i]
            if len(node) != 3:
                raise unexpected(node)
            imp = (name_of(node[1]), name_of(node[2]))
            i += 1
        return imp, i

    def import_field(self, field: Node) -> None:
        module, name = name_of(field[1]), name_of(field[2])
        desc = field[3]
        kind = desc[0]
        i = 1
        if i < len(desc) and is_id(desc[i]):
            i += 1
        self._import_desc(desc, kind, i, module, name)

    def _import_desc(self, node: Node, kind: str, i: int, module: str, name: str, findex=None):
        if kind == "func":
            names: list = []
            tidx, i = self.typeuse(node, i, names)
            if i != len(node):
                raise unexpected(node[i])
            desc: Any = tidx
            if findex is None:
                findex = sum(1 for imp in self.imports if imp.kind == ExternKind.FUNC)
                if len(node) > 1 and is_id(node[1]):
                    self.func_names[findex] = node[1][1:]
        elif kind == "table":
            desc, i = table_type(node, i)
        elif kind == "memory":
            desc, i = memory_type(node, i)
        else:
            desc, i = global_type(node, i)
        if i != len(node):
            raise unexpected(node[i])
        self.imports.append(Import(module, name, _KIND_NAMES[kind], desc))

    def func_field(self, field: Node, index: int, imported: bool) -> None:
        imp, i = self._prefix(field, "func", index)
        if imp is not None:
            self._import_desc(field, "func", i, imp[0], imp[1], findex=index)
            return
        names: list = []
        tidx, i = self.typeuse(field, i, names)
        local_types: list[ValueType] = []
        n = len(field)
        while i < n and head(field[i]) == "local":
            node = field[i]
            if len(node) > 1 and is_id(node[1]):
                if len(node) != 3:
                    raise unexpected(node)
                names.append(node[1])
                local_types.append(valtype(node[2]))
            else:
                for t in node[1:]:
                    local_types.append(valtype(t))
                    names.append(None)
            i += 1
        local_ids: dict[str, int] = {}
        for k, ident in enumerate(names):
            if ident is not None:
                key = ident[1:]
                if key in local_ids:
                    raise DecodeError(f"duplicate local {ident}")
                local_ids[key] = k
        if local_ids:
            self.local_names[index] = {k: key for key, k in local_ids.items()}
        body = FuncBody(self, local_ids)
        body.seq(field, i)
        body.out.append(END)
        self.functions.append(Function(tidx, tuple(local_types), tuple(body.out)))

    def table_field(self, field: Node, index: int, imported: bool) -> None:
        imp, i = self._prefix(field, "table", index)
        if imp is not None:
            self._import_desc(field, "table", i, imp[0], imp[1])
            return
        n = len(field)
        if i < n and (field[i] in VALTYPES or head(field[i]) == "ref") and i + 1 < n \
                and head(field[i + 1]) == "elem":
            et = reftype(field[i])
            enode = field[i + 1]
            if i + 2 != n:
                raise unexpected(field[i + 2])
            if len(enode) > 1 and type(enode[1]) is Node:
                init = [self.elem_expr(x) for x in enode[1:]]
            else:
                init = [self.func_ref_expr(x) for x in enode[1:]]
            self.tables.append(TableType(et, Limits(len(init), len(init))))
            seg = ElementSegment(et, tuple(init), SegmentMode.ACTIVE, index,
                                 ((op.I32_CONST, 0), END))
            self.elements[self.inline_seg[id(field)]] = seg
            return
        tt, i = table_type(field, i)
        if i < n:
            # table with an init expression (function-references); not supported in 2.0
            raise unexpected(field[i])
        self.tables.append(tt)

    def memory_field(self, field: Node, index: int, imported: bool) -> None:
        imp, i = self._prefix(field, "memory", index)
        if imp is not None:
            self._import_desc(field, "memory", i, imp[0], imp[1])
            return
        n = len(field)
        is64 = False
        if i < n and field[i] in ("i32", "i64") and i + 1 < n and head(field[i + 1]) == "data":
            is64 = field[i] == "i64"
            i += 1
        if i < n and head(field[i]) == "data":
            dnode = field[i]
            if i + 1 != n:
                raise unexpected(field[i + 1])
            data = b"".join(self.string(x) for x in dnode[1:])
            pages = (len(data) + 65535) // 65536
            self.memories.append(MemoryType(Limits(pages, pages), False, is64))
            seg = DataSegment(data, SegmentMode.ACTIVE, index,
                              ((op.I64_CONST if is64 else op.I32_CONST, 0), END))
            self.datas[self.inline_seg[id(field)]] = seg
            return
        mt, i = memory_type(field, i)
        if i != n:
            raise unexpected(field[i])
        self.memories.append(mt)

    def string(self, item: Any) -> bytes:
        if type(item) is not WStr:
            raise unexpected(item)
        return bytes(item)

    def global_field(self, field: Node, index: int, imported: bool) -> None:
        imp, i = self._prefix(field, "global", index)
        if imp is not None:
            self._import_desc(field, "global", i, imp[0], imp[1])
            return
        gt, i = global_type(field, i)
        self.globals.append(Global(gt, self.const_expr(field, i)))

    def const_expr(self, items: list, i: int) -> tuple:
        body = FuncBody(self, {})
        body.seq(items, i)
        body.out.append(END)
        return tuple(body.out)

    def export_field(self, field: Node) -> None:
        if len(field) != 3:
            raise unexpected(field)
        desc = field[2]
        kind = head(desc)
        if kind not in _KIND_NAMES or len(desc) != 2:
            raise unexpected(desc)
        self.exports.append(Export(name_of(field[1]), _KIND_NAMES[kind],
                                   self.resolve(kind, desc[1])))

    def func_ref_expr(self, item: Any) -> tuple:
        return ((op.REF_FUNC, self.resolve("func", item)), END)

    def elem_expr(self, item: Any) -> tuple:
        if head(item) == "item":
            return self.const_expr(item, 1)
        if type(item) is not Node:
            raise unexpected(item)
        return self.const_expr([item], 0)

    def offset_expr(self, item: Node) -> tuple:
        if head(item) == "offset":
            return self.const_expr(item, 1)
        return self.const_expr([item], 0)

    def elem_field(self, field: Node, index: int) -> None:
        i = 1
        n = len(field)
        if i < n and is_id(field[i]):
            i += 1
        mode = SegmentMode.PASSIVE
        table = 0
        offset = None
        if i < n and field[i] == "declare":
            mode = SegmentMode.DECLARATIVE
            i += 1
        else:
            if i < n and head(field[i]) == "table":
                if len(field[i]) != 2:
                    raise unexpected(field[i])
                table = self.resolve("table", field[i][1])
                i += 1
                mode = SegmentMode.ACTIVE
            elif i < n and type(field[i]) is str and self.is_index(field[i]) and i + 1 < n \
                    and type(field[i + 1]) is Node:
                table = self.resolve("table", field[i])
                i += 1
                mode = SegmentMode.ACTIVE
            if i < n and type(field[i]) is Node and head(field[i]) != "item" and \
                    not (head(field[i]) == "ref"):
                offset = self.offset_expr(field[i])
                mode = SegmentMode.ACTIVE
                i += 1
            elif mode == SegmentMode.ACTIVE:
                raise unexpected(field[i] if i < n else None)
        # element list
        if i < n and field[i] == "func":
            et = ValueType.FUNCREF
            init = [self.func_ref_expr(x) for x in field[i + 1:]]
        elif i < n and (field[i] in ("funcref", "externref") or head(field[i]) == "ref"):
            et = reftype(field[i])
            init = [self.elem_expr(x) for x in field[i + 1:]]
        else:
            if mode != SegmentMode.ACTIVE or offset is None:
                if i < n:
                    raise unexpected(field[i])
            et = ValueType.FUNCREF
            init = [self.func_ref_expr(x) for x in field[i:]]
        self.elements[index] = ElementSegment(et, tuple(init), mode, table, offset)

    def data_field(self, field: Node, index: int) -> None:
        i = 1
        n = len(field)
        if i < n and is_id(field[i]):
            i += 1
        mode = SegmentMode.PASSIVE
        memory = 0
        offset = None
        if i < n and head(field[i]) == "memory":
            if len(field[i]) != 2:
                raise unexpected(field[i])
            memory = self.resolve("memory", field[i][1])
            i += 1
            mode = SegmentMode.ACTIVE
        elif i < n and type(field[i]) is str and self.is_index(field[i]):
            memory = self.resolve("memory", field[i])
            i += 1
            mode = SegmentMode.ACTIVE
        if i < n and type(field[i]) is Node:
            offset = self.offset_expr(field[i])
            mode = SegmentMode.ACTIVE
            i += 1
        elif mode == SegmentMode.ACTIVE:
            raise unexpected(field[i] if i < n else None)
        data = b"".join(self.string(x) for x in field[i:])
        self.datas[index] = DataSegment(data, mode, memory, offset)


# --- entry points -------------------------------------------------------------------------------


def build_module(node: Node) -> DecodedModule:
    """Build from a `(module $id? field*)` node (binary/quote forms are the script's job)."""
    i = 1
    name = None
    if i < len(node) and is_id(node[i]):
        name = node[i][1:]
        i += 1
    if i < len(node) and type(node[i]) in (str, WStr):
        if node[i] in ("binary", "quote"):
            raise DecodeError(f"unexpected token: module {node[i]} where text expected")
        raise unexpected(node[i])
    return _build(list(node[i:]), name)


def _build(fields: list, name: str | None = None) -> DecodedModule:
    try:
        return ModuleBuilder(fields, name).build()
    except (IndexError, KeyError, TypeError, ValueError, AttributeError) as error:
        raise DecodeError(f"unexpected token ({type(error).__name__}: {error})") from None


def parse_module(text: str | bytes, features: Any = None) -> DecodedModule:
    """Parse a WAT module: `(module ...)` or a bare sequence of module fields."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError("malformed UTF-8 encoding") from None
    items = read_sexprs(text, lenient=True)
    late_error = None
    if items and isinstance(items[-1], DecodeError):
        late_error = items.pop()
    module = _parse_items(items)
    if late_error is not None:
        raise late_error
    return module


def _parse_items(items: list) -> DecodedModule:
    if len(items) == 1 and head(items[0]) == "module":
        node = items[0]
        j = 1
        if j < len(node) and is_id(node[j]):
            j += 1
        if j < len(node) and node[j] in ("binary", "quote") and type(node[j]) is str:
            from wasmcore.binary import decode_module

            blob = b"".join(bytes(x) for x in node[j + 1:])
            if node[j] == "binary":
                return decode_module(blob)
            return parse_module(blob)
        return build_module(node)
    for item in items:
        if head(item) == "module":
            raise unexpected(item)
    return _build(items)

__all__ = ["ModuleBuilder", "build_module", "parse_module"]
