"""The module builder: S-expression tree -> DecodedModule."""

from __future__ import annotations

import re
from typing import Any

from wasmcore.errors import DecodeError
from wasmcore.syntax import opcodes as op
from wasmcore.syntax.types import (
    BLOCKTYPE_EMPTY,
    DataSegment,
    DecodedModule,
    ElementSegment,
    Export,
    ExternKind,
    Function,
    FuncType,
    Global,
    GlobalType,
    Import,
    Limits,
    MemoryType,
    Names,
    SegmentMode,
    TableType,
    ValueType,
    blocktype_from_value_type,
)

# --- reader (one master regex; S-expression tree) ----------------------------------------------


class Node(list):
    """A parenthesised list, remembering its source span."""

    __slots__ = ("start", "end")


class WStr(bytes):
    """A string literal's bytes (escapes decoded)."""


_TOKEN = re.compile(
    r"""(?P<ws>[ \t\n\r]+|;;[^\n\r]*)
    |(?P<bc>\(;)
    |(?P<lp>\()
    |(?P<rp>\))
    |(?P<str>"(?:[^"\\]|\\.)*")
    |(?P<atom>[0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~]+)
    """,
    re.X | re.S,
)

_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{2})|u\{([0-9a-fA-F](?:_?[0-9a-fA-F])*)\}|(.))", re.S)
_SIMPLE = {"n": b"\n", "t": b"\t", "r": b"\r", '"': b'"', "'": b"'", "\\": b"\\"}


def decode_string(raw: str, pos: int = 0) -> bytes:
    """Decode a string literal's body (without quotes)."""
    if "\\" not in raw:
        return raw.encode("utf-8", "surrogateescape")
    out = bytearray()
    last = 0
    for m in _ESCAPE.finditer(raw):
        out += raw[last:m.start()].encode("utf-8", "surrogateescape")
        last = m.end()
        hx, uni, ch = m.groups()
        if hx is not None:
            out.append(int(hx, 16))
        elif uni is not None:
            code = int(uni.replace("_", ""), 16)
            if code >= 0x110000 or 0xD800 <= code < 0xE000:
                raise DecodeError("malformed UTF-8 encoding", pos)
            out += chr(code).encode("utf-8")
        else:
            esc = _SIMPLE.get(ch)
            if esc is None:
                raise DecodeError("unknown operator: malformed string escape", pos)
            out += esc
    out += raw[last:].encode("utf-8", "surrogateescape")
    return bytes(out)


def _skip_block_comment(text: str, pos: int) -> int:
    depth = 1
    n = len(text)
    while depth:
        open_at = text.find("(;", pos)
        close_at = text.find(";)", pos)
        if close_at < 0:
            raise DecodeError("unexpected end: unclosed comment", n)
        if 0 <= open_at < close_at:
            depth += 1
            pos = open_at + 2
        else:
            depth -= 1
            pos = close_at + 2
    return pos


def read_sexprs(text: str, lenient: bool = False) -> list:
    """Read all top-level S-expressions of `text`.

    With `lenient`, an unbalanced `)` ends the reading: the error is appended as the last
    item (a DecodeError) so a parser can report an earlier error first, as the reference
    interpreter (which parses while it reads) does.
    """
    match = _TOKEN.match
    prev = None
    top: list = []
    stack: list = []
    current = top
    pos = 0
    n = len(text)
    while pos < n:
        m = match(text, pos)
        if m is None:
            raise DecodeError("unexpected token", pos)
        kind = m.lastgroup
        end = m.end()
        if kind in ("atom", "str"):
            if prev is not None:
                raise DecodeError("unknown operator: tokens must be separated", pos)
            prev = kind
        else:
            prev = None
        if kind == "ws":
            pass
        elif kind == "lp":
            node = Node()
            node.start = pos
            current.append(node)
            stack.append(current)
            current = node
        elif kind == "rp":
            if not stack:
                error = DecodeError("unexpected token: unbalanced `)`", pos)
                if lenient:
                    top.append(error)
                    return top
                raise error
            current.end = end
            current = stack.pop()
        elif kind == "atom":
            current.append(m.group())
        elif kind == "str":
            current.append(WStr(decode_string(m.group()[1:-1], pos)))
        else:
            end = _skip_block_comment(text, end)
        pos = end
    if stack:
        raise DecodeError("unexpected end", n)
    return top


# --- numbers ----------------------------------------------------------------------------------

_HEX = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_DEC = r"[0-9](?:_?[0-9])*"
_INT_RE = re.compile(rf"([+-]?)(?:0x({_HEX})|({_DEC}))$")
_NAT_RE = re.compile(rf"(?:0x({_HEX})|({_DEC}))$")
_FLOAT_RE = re.compile(
    rf"([+-]?)(?:(inf)|(nan)(?::0x({_HEX}))?"
    rf"|0x({_HEX})(?:\.({_HEX})?)?(?:[pP]([+-]?{_DEC}))?"
    rf"|({_DEC})(?:\.({_DEC})?)?(?:[eE]([+-]?{_DEC}))?)$"
)


def _malformed_number(tok: Any) -> DecodeError:
    if type(tok) is not str or _FLOAT_RE.match(tok) or \
            tok in ("nan:canonical", "nan:arithmetic"):
        return DecodeError(f"unexpected token: {tok!r}")
    return DecodeError(f"unknown operator: malformed number {tok!r}")


def parse_nat(tok: Any) -> int | None:
    if type(tok) is not str:
        return None
    m = _NAT_RE.match(tok)
    if m is None:
        return None
    h, d = m.groups()
    return int(h.replace("_", ""), 16) if h is not None else int(d.replace("_", ""))


def parse_int(tok: Any, bits: int) -> int:
    """An iN literal -> signed value."""
    m = _INT_RE.match(tok) if type(tok) is str else None
    if m is None:
        raise _malformed_number(tok)
    sign, h, d = m.groups()
    v = int(h.replace("_", ""), 16) if h is not None else int(d.replace("_", ""))
    if sign == "-":
        v = -v
        if v < -(1 << (bits - 1)):
            raise DecodeError(f"i{bits} constant out of range")
    elif v >= 1 << bits:
        raise DecodeError(f"i{bits} constant out of range")
    if v >= 1 << (bits - 1):
        v -= 1 << bits
    return v


_FMT = {32: (23, 8), 64: (52, 11)}


def _round_float(num: int, den: int, mbits: int, ebits: int) -> int | None:
    """Round num/den (>0) to the nearest float, ties to even; None when it overflows."""
    bias = (1 << (ebits - 1)) - 1
    emin = 1 - bias
    e = num.bit_length() - den.bit_length()
    if e >= 0:
        if num < den << e:
            e -= 1
    elif num << -e < den:
        e -= 1
    if e < emin:
        e = emin
    shift = e - mbits
    if shift >= 0:
        n2, d2 = num, den << shift
    else:
        n2, d2 = num << -shift, den
    q, r = divmod(n2, d2)
    r2 = r * 2
    if r2 > d2 or (r2 == d2 and q & 1):
        q += 1
    if q >= 1 << (mbits + 1):
        q >>= 1
        e += 1
    if q < 1 << mbits:
        return q
    if e > bias:
        return None
    return ((e + bias) << mbits) | (q - (1 << mbits))


def parse_float(tok: Any, bits: int) -> int:
    """An fN literal -> raw IEEE bits."""
    m = _FLOAT_RE.match(tok) if type(tok) is str else None
    if m is None:
        raise _malformed_number(tok)
    mbits, ebits = _FMT[bits]
    sign, inf, nan, payload, hi, hf, hp, di, df, de = m.groups()
    sign_bit = (1 << (bits - 1)) if sign == "-" else 0
    exp_all = ((1 << ebits) - 1) << mbits
    if inf:
        return sign_bit | exp_all
    if nan:
        if payload is None:
            p = 1 << (mbits - 1)
        else:
            p = int(payload.replace("_", ""), 16)
            if not 1 <= p < 1 << mbits:
                raise DecodeError(f"f{bits} constant out of range: nan payload")
        return sign_bit | exp_all | p
    if hi is not None:
        frac = (hf or "").replace("_", "")
        num = int(hi.replace("_", "") + frac, 16)
        exp2 = int(hp.replace("_", "")) if hp else 0
        exp2 -= 4 * len(frac)
        exp10 = 0
    else:
        frac = (df or "").replace("_", "")
        num = int(di.replace("_", "") + frac)
        exp10 = (int(de.replace("_", "")) if de else 0) - len(frac)
        exp2 = 0
    if num == 0:
        return sign_bit
    den = 1
    if exp10 > 0:
        if exp10 > 5000:
            raise DecodeError(f"f{bits} constant out of range")
        num *= 10 ** exp10
    elif exp10 < 0:
        if exp10 < -5000 - len(str(num)):
            return sign_bit
        den = 10 ** -exp10
    if exp2 > 0:
        if exp2 > 20000:
            raise DecodeError(f"f{bits} constant out of range")
        num <<= exp2
    elif exp2 < 0:
        if exp2 < -20000 - num.bit_length():
            return sign_bit
        den <<= -exp2
    result = _round_float(num, den, mbits, ebits)
    if result is None:
        raise DecodeError(f"f{bits} constant out of range")
    return sign_bit | result


# --- helpers ----------------------------------------------------------------------------------

VALTYPES = {
    "i32": ValueType.I32, "i64": ValueType.I64, "f32": ValueType.F32, "f64": ValueType.F64,
    "v128": ValueType.V128, "funcref": ValueType.FUNCREF, "externref": ValueType.EXTERNREF,
}
_HEAPTYPES = {"func": ValueType.FUNCREF, "extern": ValueType.EXTERNREF}
_KIND_NAMES = {"func": ExternKind.FUNC, "table": ExternKind.TABLE, "memory": ExternKind.MEMORY,
               "global": ExternKind.GLOBAL}
_SPACE_WORD = {"type": "type", "func": "function", "table": "table", "memory": "memory",
               "global": "global", "elem": "elem segment", "data": "data segment"}

END = (0x0B,)
_BLOCKS = {"block": 0x02, "loop": 0x03}


def head(item: Any) -> str | None:
    if type(item) is Node and item and type(item[0]) is str:
        return item[0]
    return None


def is_id(item: Any) -> bool:
    return type(item) is str and item.startswith("$") and len(item) > 1


_KEYWORDS = frozenset(op.BY_NAME) | frozenset(VALTYPES) | frozenset("""
    module func param result type local export import table memory global elem data start
    block loop if then else end mut offset item declare funcref externref ref null extern
    binary quote shared i8x16 i16x8 i32x4 i64x2 f32x4 f64x2 nan:canonical nan:arithmetic
    """.split())


def unexpected(item: Any = None) -> DecodeError:
    if item is None:
        return DecodeError("unexpected token")
    if type(item) is str and item[:1] != "$" and item not in _KEYWORDS and \
            not _FLOAT_RE.match(item) and "=" not in item:
        return DecodeError(f"unknown operator {item}")
    if type(item) is Node:
        return DecodeError(f"unexpected token: ({head(item) or '...'} ...)", item.start)
    return DecodeError(f"unexpected token: {item!r}")


def name_of(item: Any) -> str:
    if type(item) is not WStr:
        raise unexpected(item)
    try:
        return item.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("malformed UTF-8 encoding") from None


def valtype(item: Any) -> ValueType:
    if type(item) is str:
        t = VALTYPES.get(item)
        if t is not None:
            return t
    if head(item) == "ref" and len(item) in (2, 3):  # (ref null func)
        rest = item[1:]
        if rest[0] == "null":
            rest = rest[1:]
        if len(rest) == 1 and rest[0] in _HEAPTYPES:
            return _HEAPTYPES[rest[0]]
    if type(item) is str and item[:1].isalpha():
        raise DecodeError(f"unknown operator {item}")
    raise DecodeError(f"unexpected token: unknown value type {item!r}")


def reftype(item: Any) -> ValueType:
    t = valtype(item)
    if not t.is_reference:
        raise DecodeError(f"unexpected token: malformed reference type {item!r}")
    return t


def _natural_align(name: str) -> int:
    """Natural alignment (log2) of a memory instruction, from its name."""
    prefix, _, rest = name.partition(".")
    m = re.match(r"(?:load|store)(\d+)?(x\d+)?", rest)
    if m and m.group(2):
        return 3
    if m and m.group(1):
        size = int(m.group(1)) // 8
    else:
        size = {"i32": 4, "i64": 8, "f32": 4, "f64": 8, "v128": 16}[prefix]
    return size.bit_length() - 1


_ALIGN_CACHE: dict[int, int] = {}


def natural_align(opcode: int) -> int:
    a = _ALIGN_CACHE.get(opcode)
    if a is None:
        a = _ALIGN_CACHE[opcode] = _natural_align(op.NAMES[opcode])
    return a


_LANES = {"i8x16": (8, 16), "i16x8": (16, 8), "i32x4": (32, 4), "i64x2": (64, 2),
          "f32x4": (32, 4), "f64x2": (64, 2)}


def lane_value(shape: str, tok: Any) -> int:
    bits, _ = _LANES[shape]
    if shape[0] == "f":
        return parse_float(tok, bits)
    return parse_int(tok, bits) & ((1 << bits) - 1)


def v128_from_lanes(shape: str, lanes: list[int]) -> int:
    bits, _ = _LANES[shape]
    value = 0
    for i, lane in enumerate(lanes):
        value |= lane << (i * bits)
    return value


# --- the module builder -------------------------------------------------------------------------


class ModuleBuilder:
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

    def params_results(self, items: list, i: int, names: list | None):
        """Parse `(param ...)* (result ...)*` from items[i:]; returns (params, results, i)."""
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

    def typeuse(self, items: list, i: int, names: list | None = None):
        """`(type x)? (param)* (result)*` -> (type index, i); fills names with param ids."""
        explicit = None
        if i < len(items) and head(items[i]) == "type":
            node = items[i]
            if len(node) != 2:
                raise unexpected(node)
            explicit = self.resolve("type", node[1])
            i += 1
        params, results, i = self.params_results(items, i, names)
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

    def functype_def(self, node: Any) -> FuncType:
        if head(node) != "func":
            raise unexpected(node)
        i = 1
        if i < len(node) and is_id(node[i]):
            i += 1
        params, results, i = self.params_results(node, i, [])
        if i != len(node):
            raise unexpected(node[i])
        return FuncType(tuple(params), tuple(results))

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
                ft = self.functype_def(field[i])
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
            desc, i = self.table_type(node, i)
        elif kind == "memory":
            desc, i = self.memory_type(node, i)
        else:
            desc, i = self.global_type(node, i)
        if i != len(node):
            raise unexpected(node[i])
        self.imports.append(Import(module, name, _KIND_NAMES[kind], desc))

    def limits(self, items: list, i: int, bits: int = 32):
        lo = parse_nat(items[i]) if i < len(items) else None
        if lo is None:
            raise unexpected(items[i] if i < len(items) else None)
        i += 1
        hi = parse_nat(items[i]) if i < len(items) else None
        if hi is not None:
            i += 1
        if lo >= 1 << bits or (hi is not None and hi >= 1 << bits):
            raise DecodeError(f"i{bits} constant out of range")
        return Limits(lo, hi), i

    def table_type(self, items: list, i: int):
        if i < len(items) and items[i] == "i64":
            i += 1
        lim, i = self.limits(items, i)
        if i >= len(items):
            raise unexpected()
        return TableType(reftype(items[i]), lim), i + 1

    def memory_type(self, items: list, i: int):
        is64 = False
        if i < len(items) and items[i] in ("i32", "i64"):
            is64 = items[i] == "i64"
            i += 1
        lim, i = self.limits(items, i, 64 if is64 else 32)
        shared = False
        if i < len(items) and items[i] == "shared":
            shared = True
            i += 1
        return MemoryType(lim, shared, is64), i

    def global_type(self, items: list, i: int):
        if i >= len(items):
            raise unexpected()
        item = items[i]
        if head(item) == "mut":
            if len(item) != 2:
                raise unexpected(item)
            return GlobalType(valtype(item[1]), True), i + 1
        return GlobalType(valtype(item), False), i + 1

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
                                 ((0x41, 0), END))
            self.elements[self.inline_seg[id(field)]] = seg
            return
        tt, i = self.table_type(field, i)
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
                              ((0x42 if is64 else 0x41, 0), END))
            self.datas[self.inline_seg[id(field)]] = seg
            return
        mt, i = self.memory_type(field, i)
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
        gt, i = self.global_type(field, i)
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
        return ((0xD2, self.resolve("func", item)), END)

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


# --- instructions -------------------------------------------------------------------------------


class FuncBody:
    def __init__(self, builder: ModuleBuilder, local_ids: dict[str, int]):
        self.b = builder
        self.local_ids = local_ids
        self.labels: list[str | None] = []
        self.out: list[tuple] = []

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
            params, results, j = self.b.params_results(items, i, None)
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

    def seq(self, items: list, i: int, stop: tuple = ()) -> int:
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
                    out.append((0x04, bt))
                    self.labels.append(label)
                    i = self.seq(items, i, ("else", "end"))
                    if i >= n:
                        raise DecodeError("unexpected end")
                    if items[i] == "else":
                        i = self._end_label(items, i + 1, label)
                        out.append((0x05,))
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
                    instr, i = self.immediates(opcode, items, i + 1, False)
                    out.append(instr)
            else:
                raise unexpected(item)
        return i

    def folded(self, node: Node) -> None:
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
            while i < n and head(node[i]) not in ("then", None):
                self.folded(node[i])
                i += 1
            if i >= n or head(node[i]) != "then":
                raise unexpected(node[i] if i < n else None)
            out.append((0x04, bt))
            self.labels.append(label)
            self.seq(node[i], 1)
            i += 1
            if i < n and head(node[i]) == "else":
                if len(node[i]) > 1:  # an empty else is omitted, as wat2wasm does
                    out.append((0x05,))
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
        instr, i = self.immediates(opcode, node, 1, True)
        n = len(node)
        while i < n:
            item = node[i]
            if type(item) is not Node:
                raise unexpected(item)
            self.folded(item)
            i += 1
        out.append(instr)

    def _memarg(self, opcode: int, items: list, i: int):
        n = len(items)
        mem = 0
        if i < n and type(items[i]) is str and (is_id(items[i]) or (
                parse_nat(items[i]) is not None and op.IMMEDIATES[opcode] == "memarg")):
            mem = self.b.resolve("memory", items[i])
            i += 1
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
            a = parse_nat(items[i][6:])
            if a is None:
                raise DecodeError(f"unknown operator {items[i]}")
            if a == 0 or a & (a - 1):
                raise DecodeError("alignment must be a power of two")
            align = a.bit_length() - 1
            i += 1
        return (align, offset, mem), i

    def immediates(self, opcode: int, items: list, i: int, folded: bool):
        kind = op.IMMEDIATES[opcode]
        if opcode == 0x1B:
            kind = "select_t"
        if kind == "none":
            return (opcode,), i
        b = self.b
        n = len(items)
        nxt = items[i] if i < n else None
        if kind == "local":
            return (opcode, self.local_index(nxt)), i + 1
        if kind in ("i32", "i64"):
            if nxt is None:
                raise unexpected()
            return (opcode, parse_int(nxt, 32 if kind == "i32" else 64)), i + 1
        if kind in ("f32", "f64"):
            if nxt is None:
                raise unexpected()
            return (opcode, parse_float(nxt, 32 if kind == "f32" else 64)), i + 1
        if kind == "global":
            return (opcode, b.resolve("global", nxt)), i + 1
        if kind == "func":
            return (opcode, b.resolve("func", nxt)), i + 1
        if kind == "label":
            return (opcode, self.label_index(nxt)), i + 1
        if kind == "memarg":
            arg, i = self._memarg(opcode, items, i)
            return (opcode, *arg), i
        if kind == "br_table":
            labels = []
            while i < n and type(items[i]) is str and b.is_index(items[i]):
                labels.append(self.label_index(items[i]))
                i += 1
            if not labels:
                raise unexpected(nxt)
            return (opcode, tuple(labels[:-1]), labels[-1]), i
        if kind == "call_indirect":
            table = 0
            if nxt is not None and type(nxt) is str and b.is_index(nxt):
                table = b.resolve("table", nxt)
                i += 1
            tidx, i = b.typeuse(items, i)
            return (opcode, tidx, table), i
        if kind in ("table", "memory", "data", "elem"):
            space = kind
            if kind == "data":
                b.uses_data_count = True
            if nxt is not None and type(nxt) is str and b.is_index(nxt):
                return (opcode, b.resolve(space, nxt)), i + 1
            if kind in ("data", "elem"):
                raise unexpected(nxt)
            return (opcode, 0), i
        if kind == "reftype":
            t = _HEAPTYPES.get(nxt) if type(nxt) is str else None
            if t is None:
                raise unexpected(nxt)
            return (opcode, t), i + 1
        if kind == "select_t":
            types = []
            j = i
            while j < n and head(items[j]) == "result":
                types.extend(valtype(t) for t in items[j][1:])
                j += 1
            if j == i:
                return (0x1B,), i
            return (0x1C, tuple(types)), j
        if kind in ("memory_init", "table_init"):
            space, other = ("data", "memory") if kind == "memory_init" else ("elem", "table")
            if i + 1 < n and type(items[i + 1]) is str and b.is_index(items[i + 1]) and \
                    b.is_index(nxt):
                o = b.resolve(other, nxt)
                s = b.resolve(space, items[i + 1])
                i += 2
            else:
                o = 0
                s = b.resolve(space, nxt)
                i += 1
            if kind == "memory_init":
                b.uses_data_count = True
            return (opcode, s, o), i
        if kind in ("memory_copy", "table_copy"):
            space = "memory" if kind == "memory_copy" else "table"
            if nxt is not None and type(nxt) is str and b.is_index(nxt):
                d = b.resolve(space, nxt)
                s = b.resolve(space, items[i + 1]) if i + 1 < n else None
                if s is None:
                    raise unexpected()
                return (opcode, d, s), i + 2
            return (opcode, 0, 0), i
        if kind == "v128":
            if nxt not in _LANES:
                raise DecodeError(f"unexpected token: unknown vector shape {nxt!r}")
            bits, count = _LANES[nxt]
            lanes = items[i + 1:i + 1 + count]
            if len(lanes) != count or any(type(x) is not str for x in lanes) or (
                    i + 1 + count < n and type(items[i + 1 + count]) is str
                    and _FLOAT_RE.match(items[i + 1 + count])):
                raise DecodeError("unexpected token: wrong number of lane literals")
            return (opcode, v128_from_lanes(nxt, [lane_value(nxt, x) for x in lanes])), \
                i + 1 + count
        if kind == "shuffle":
            j = i
            while j < n and type(items[j]) is str:
                j += 1
            lanes = items[i:j]
            if len(lanes) != 16:
                raise DecodeError("unexpected token: invalid lane length")
            vals = []
            for x in lanes:
                v = parse_nat(x)
                if v is None:
                    raise DecodeError(f"unexpected token: malformed lane index {x}")
                if v >= 256:
                    raise DecodeError("constant out of range: malformed lane index")
                vals.append(v)
            return (opcode, tuple(vals)), i + 16
        if kind == "lane":
            v = parse_nat(nxt)
            if v is None:
                raise DecodeError(f"unexpected token: malformed lane index {nxt}")
            if v >= 256:
                raise DecodeError("constant out of range: malformed lane index")
            return (opcode, v), i + 1
        if kind == "memarg_lane":
            # memarg, then the lane index; a leading index is a memory only if a lane follows
            mem = 0
            if nxt is not None and type(nxt) is str and (is_id(nxt) or (
                    parse_nat(nxt) is not None and i + 1 < n and type(items[i + 1]) is str
                    and (parse_nat(items[i + 1]) is not None
                         or items[i + 1].startswith(("offset=", "align="))))):
                mem = b.resolve("memory", nxt)
                i += 1
            (align, offset, _), i = self._memarg_nomem(opcode, items, i)
            lane_tok = items[i] if i < n else None
            v = parse_nat(lane_tok)
            if v is None:
                raise DecodeError(f"unexpected token: malformed lane index {lane_tok}")
            if v >= 256:
                raise DecodeError("constant out of range: malformed lane index")
            return (opcode, align, offset, mem, v), i + 1
        if kind == "blocktype":  # only reached for unusual uses
            raise unexpected(nxt)
        raise DecodeError(f"unknown operator {op.NAMES.get(opcode)}")

    def _memarg_nomem(self, opcode: int, items: list, i: int):
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
            a = parse_nat(items[i][6:])
            if a is None:
                raise DecodeError(f"unknown operator {items[i]}")
            if a == 0 or a & (a - 1):
                raise DecodeError("alignment must be a power of two")
            align = a.bit_length() - 1
            i += 1
        return (align, offset, 0), i


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
