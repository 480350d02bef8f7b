"""A minimal wasm binary decoder for the interp tests, used only while (or where)
`wasmcore.binary.decode_module` is unavailable. No validation, Wasm 2.0 only."""

from __future__ import annotations

from wasmcore.syntax import opcodes as op
from wasmcore.syntax.types import (
    DataSegment, DecodedModule, ElementSegment, Export, ExternKind, Function, FuncType, Global,
    GlobalType, Import, Limits, MemoryType, Names, SegmentMode, TableType, ValueType,
)


class R:
    def __init__(self, data, pos=0, end=None):
        self.d = data
        self.p = pos
        self.end = len(data) if end is None else end

    def byte(self):
        b = self.d[self.p]
        self.p += 1
        return b

    def u(self):
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result

    def s(self):
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                if b & 0x40:
                    result -= 1 << shift
                return result

    def bytes(self, n):
        v = self.d[self.p:self.p + n]
        self.p += n
        return bytes(v)

    def name(self):
        return self.bytes(self.u()).decode("utf-8")

    def vec(self, fn):
        return tuple(fn() for _ in range(self.u()))

    def limits(self):
        flag = self.byte()
        mn = self.u()
        mx = self.u() if flag & 1 else None
        return Limits(mn, mx)

    def valtype(self):
        return ValueType(self.byte())

    def instr(self):
        code = self.byte()
        if code in (op.MISC_PREFIX, op.SIMD_PREFIX):
            code = code << 16 | self.u()
        kind = op.IMMEDIATES[code]
        if kind == "none":
            return (code,)
        if kind == "blocktype":
            return (code, self.s())
        if kind in ("label", "func", "local", "global", "table", "memory", "data", "elem"):
            return (code, self.u())
        if kind == "br_table":
            return (code, self.vec(self.u), self.u())
        if kind == "call_indirect":
            t = self.u()
            return (code, t, self.u())
        if kind == "memarg":
            a = self.u()
            return (code, a, self.u(), 0)
        if kind in ("i32", "i64"):
            return (code, self.s())
        if kind == "f32":
            return (code, int.from_bytes(self.bytes(4), "little"))
        if kind == "f64":
            return (code, int.from_bytes(self.bytes(8), "little"))
        if kind == "reftype":
            return (code, ValueType(self.byte()))
        if kind == "select_t":
            return (code, self.vec(self.valtype))
        if kind in ("memory_init",):
            d = self.u()
            return (code, d, self.u())
        if kind in ("memory_copy", "table_copy", "table_init"):
            a = self.u()
            return (code, a, self.u())
        if kind == "v128":
            return (code, int.from_bytes(self.bytes(16), "little"))
        if kind == "shuffle":
            return (code, tuple(self.bytes(16)))
        if kind == "lane":
            return (code, self.byte())
        if kind == "memarg_lane":
            a = self.u()
            o = self.u()
            return (code, a, o, 0, self.byte())
        raise ValueError(kind)

    def expr(self):
        out = []
        depth = 0
        while True:
            ins = self.instr()
            out.append(ins)
            if ins[0] in (0x02, 0x03, 0x04):
                depth += 1
            elif ins[0] == 0x0B:
                if depth == 0:
                    return tuple(out)
                depth -= 1


def decode(data: bytes) -> DecodedModule:
    r = R(data, 8)
    f = {"types": (), "imports": (), "functions": (), "tables": (), "memories": (), "globals": (),
         "exports": (), "start": None, "elements": (), "datas": (), "data_count": None}
    func_types = ()
    names = Names()
    while r.p < len(data):
        sid = r.byte()
        size = r.u()
        end = r.p + size
        s = R(data, r.p, end)
        if sid == 0:
            nm = s.name()
            if nm == "name":
                fnames = {}
                modname = None
                while s.p < end:
                    sub = s.byte()
                    sz = s.u()
                    sub_end = s.p + sz
                    if sub == 0:
                        modname = s.name()
                    elif sub == 1:
                        for _ in range(s.u()):
                            i = s.u()
                            fnames[i] = s.name()
                    s.p = sub_end
                names = Names(module=modname, functions=fnames)
        elif sid == 1:
            def ft():
                assert s.byte() == 0x60
                return FuncType(s.vec(s.valtype), s.vec(s.valtype))
            f["types"] = s.vec(ft)
        elif sid == 2:
            def imp():
                mod, nm = s.name(), s.name()
                kind = ExternKind(s.byte())
                if kind == ExternKind.FUNC:
                    desc = s.u()
                elif kind == ExternKind.TABLE:
                    et = s.valtype()
                    desc = TableType(et, s.limits())
                elif kind == ExternKind.MEMORY:
                    desc = MemoryType(s.limits())
                else:
                    vt = s.valtype()
                    desc = GlobalType(vt, bool(s.byte()))
                return Import(mod, nm, kind, desc)
            f["imports"] = s.vec(imp)
        elif sid == 3:
            func_types = s.vec(s.u)
        elif sid == 4:
            def tt():
                et = s.valtype()
                return TableType(et, s.limits())
            f["tables"] = s.vec(tt)
        elif sid == 5:
            f["memories"] = s.vec(lambda: MemoryType(s.limits()))
        elif sid == 6:
            def gl():
                vt = s.valtype()
                m = bool(s.byte())
                return Global(GlobalType(vt, m), s.expr())
            f["globals"] = s.vec(gl)
        elif sid == 7:
            def ex():
                nm = s.name()
                k = ExternKind(s.byte())
                return Export(nm, k, s.u())
            f["exports"] = s.vec(ex)
        elif sid == 8:
            f["start"] = s.u()
        elif sid == 9:
            def el():
                flag = s.u()
                table = 0
                offset = None
                if flag & 1:
                    mode = SegmentMode.DECLARATIVE if flag & 2 else SegmentMode.PASSIVE
                else:
                    mode = SegmentMode.ACTIVE
                    if flag & 2:
                        table = s.u()
                    offset = s.expr()
                et = ValueType.FUNCREF
                if flag & 4:
                    if flag & 3:
                        et = s.valtype()
                    init = s.vec(s.expr)
                else:
                    if flag & 3:
                        s.byte()
                    init = tuple(((0xD2, i), (0x0B,)) for i in s.vec(s.u))
                return ElementSegment(et, init, mode, table, offset)
            f["elements"] = s.vec(el)
        elif sid == 10:
            def body(i):
                size = s.u()
                start = s.p
                locs = []
                for _ in range(s.u()):
                    n = s.u()
                    locs.extend([s.valtype()] * n)
                code = s.expr()
                s.p = start + size
                return Function(func_types[i], tuple(locs), code, start)
            n = s.u()
            f["functions"] = tuple(body(i) for i in range(n))
        elif sid == 11:
            def da():
                flag = s.u()
                if flag == 1:
                    return DataSegment(s.bytes(s.u()), SegmentMode.PASSIVE)
                mem = s.u() if flag == 2 else 0
                off = s.expr()
                return DataSegment(s.bytes(s.u()), SegmentMode.ACTIVE, mem, off)
            f["datas"] = s.vec(da)
        elif sid == 12:
            f["data_count"] = s.u()
        r.p = end
    return DecodedModule(names=names, **f)
