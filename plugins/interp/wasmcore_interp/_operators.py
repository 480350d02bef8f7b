"""Operators in the function compiler: parametric (drop, select), variable, constant, memory,
table, reference and scalar numeric instructions (spec "Instructions",
https://webassembly.github.io/spec/core/exec/instructions.html).

Each instruction becomes an expression on the compile-time stack (`_stack`) or one statement.
Numeric operators are inline Python where that is exact (integer arithmetic on unsigned ints,
masked; f64 on Python floats) and otherwise a call of a helper of the core's numerics bound
into the namespace by name (`_div_s32`, `_f32_add`, `_trunc_i32_s`...; see `_numerics`).
`HANDLERS` maps each opcode to its translation.
"""

from __future__ import annotations

from wasmcore.syntax import opcodes as op
from wasmcore_interp._stack import F32, F64, FUNCREF, I32, I64, M32, M64, It, mask_of, raw, tst, val


class Operators:
    """Non-control instructions of the function compiler (mixed into `FunctionCompiler`)."""

    # --- parametric ---------------------------------------------------------------------------------
    def op_drop(self, ins):
        it = self.pop()
        if it.impure:
            self.flush_impure()
            self.emit(val(it))

    def op_select(self, ins):
        c = self.pop()
        b = self.pop()
        a = self.pop()
        if a.impure or b.impure:
            self.stack.extend((a, b, c))
            n = len(self.stack)
            self.materialize(n - 3)
            self.materialize(n - 2)
            c = self.pop()
            b = self.pop()
            a = self.pop()
        self.push(self.new(f"({val(a)} if {tst(c)} else {val(b)})", a.vt, a, b, c))

    # --- variables ----------------------------------------------------------------------------------
    def op_local_get(self, ins):
        name = f"l{ins[1]}"
        self.stack.append(It(name, self.local_types[ins[1]], atom=True, reads=frozenset((name,))))

    def op_local_set(self, ins, tee=False):
        name = f"l{ins[1]}"
        it = self.pop()
        if it.code != name:
            self.flush_impure()
            self.kill_reads(name)
            self.emit(f"{name} = {val(it)}")
        if tee:
            self.stack.append(It(name, it.vt, atom=True, reads=frozenset((name,))))

    def op_local_tee(self, ins):
        self.op_local_set(ins, tee=True)

    def op_global_get(self, ins):
        k = ins[1]
        vt = self.ctx.global_types[k]
        code = f"_q2d(G{k}.value)" if vt == F64 else f"G{k}.value"
        self.push(It(code, vt, impure=True))

    def op_global_set(self, ins):
        k = ins[1]
        it = self.pop()
        self.flush_impure()
        vt = self.ctx.global_types[k]
        v = f"_d2q({val(it)})" if vt == F64 else val(it)
        self.emit(f"G{k}.value = {v}")

    # --- constants ----------------------------------------------------------------------------------
    def op_i32_const(self, ins):
        v = ins[1] & M32
        self.stack.append(self.const(str(v), I32, v))

    def op_i64_const(self, ins):
        v = ins[1] & M64
        self.stack.append(self.const(str(v), I64, v))

    def op_f32_const(self, ins):
        v = ins[1]
        self.stack.append(self.const(str(v), F32, v))

    def op_f64_const(self, ins):
        code = self.ctx.float_const(ins[1])
        self.stack.append(self.const(code, F64, ins[1]))

    # --- memory ---------------------------------------------------------------------------------------
    def address(self, a: It, offset: int, width: int):
        """(prefix-free address code for the access, bounds test code) for address entry a."""
        if a.atom:
            base = val(a)
            ea = base if not offset else f"{base} + {offset}"
            return ea, f"{base} + {offset + width} <= M{{m}}.size"
        base = "_a"
        ea = base if not offset else f"_a + {offset}"
        return ea, f"(_a := {val(a)}) + {offset + width} <= M{{m}}.size"

    def load(self, ins, vt, width, fmt):
        _, offset, m = ins[1], ins[2], ins[3]
        a = self.pop()
        ea, test = self.address(a, offset, width)
        test = test.replace("{m}", str(m))
        if fmt == "u8":
            expr = f"m{m}[{ea}]"
        elif fmt == "s8":
            expr = f"((m{m}[{ea}] ^ 128) - 128)"
        else:
            expr = f"_L{fmt}(m{m}, {ea})[0]"
        if fmt in ("s8", "s16", "s32"):
            expr = f"({expr} & {mask_of(vt):#x})"
        self.push(self.new(f"({expr} if {test} else _oob())", vt, a, impure=True))

    def store(self, ins, vt, width, fmt):
        _, offset, m = ins[1], ins[2], ins[3]
        v = self.pop()
        if v.fx:
            self.stack.append(v)
            self.materialize(len(self.stack) - 1)
            v = self.pop()
        self.flush_impure(1)
        self.atomize_top()
        a = self.pop()
        ea, test = self.address(a, offset, width)
        test = test.replace("{m}", str(m))
        if fmt == "8":
            self.emit(f"if not {test}: _oob()")
            self.emit(f"m{m}[{ea}] = {raw(v)} & 255")
            return
        if fmt in ("16", "32") and vt == I64 or fmt == "16":
            value = f"{raw(v)} & {(1 << width * 8) - 1:#x}"
            fmt = {"16": "H", "32": "I"}[fmt]
        else:
            value = val(v)
        self.emit(f"_S{fmt}(m{m}, {ea}, {value}) if {test} else _oob()")

    def op_memory_size(self, ins):
        self.push(It(f"(M{ins[1]}.size >> 16)", I32, impure=True))

    def op_memory_grow(self, ins):
        if self.fuel:
            self.atomize_operands(1)
        n = self.pop()
        self.flush_impure()
        d = len(self.stack)
        self.emit(f"s{d} = _mem_grow(M{ins[1]}, {val(n)})")
        self.fuel_grow(n, d)
        self.stack.append(self.slot(d, I32))

    def bulk(self, call: str) -> None:
        """memory/table fill, copy, init: (d, s|v, n) on the stack; `call` formats them."""
        if self.fuel:
            self.atomize_operands(3)
        n, s, d = self.pop(), self.pop(), self.pop()
        self.flush_impure()
        self.emit(call.format(d=val(d), s=val(s), n=val(n)))
        self.fuel_variable(n)

    def op_memory_fill(self, ins):
        self.bulk(f"_mem_fill(M{ins[1]}, {{d}}, {{s}}, {{n}})")

    def op_memory_copy(self, ins):
        self.bulk(f"_mem_copy(M{ins[1]}, M{ins[2]}, {{d}}, {{s}}, {{n}})")

    def op_memory_init(self, ins):
        self.bulk(f"_mem_init(M{ins[2]}, _DATAS, {ins[1]}, {{d}}, {{s}}, {{n}})")

    def op_data_drop(self, ins):
        # wasmcore.exec.bulk.data_drop, inline: the dropped segment is empty
        self.flush_impure()
        self.emit(f"_DATAS[{ins[1]}] = b''")

    # --- tables and references ------------------------------------------------------------------------
    def op_table_get(self, ins):
        i = self.pop()
        t = ins[1]
        vt = self.table_type(t)
        self.push(self.new(f"_table_get(T{t}, {val(i)})", vt, i, impure=True, fx=True))

    def table_type(self, t):
        from wasmcore.syntax.types import ExternKind
        tables = [imp.desc for imp in self.ctx.module.imports if imp.kind == ExternKind.TABLE]
        tables += list(self.ctx.module.tables)
        return tables[t].element

    def op_table_set(self, ins):
        v, i = self.pop(), self.pop()
        self.flush_impure()
        self.emit(f"_table_set(T{ins[1]}, {val(i)}, {val(v)})")

    def op_table_size(self, ins):
        self.push(It(f"len(T{ins[1]}.elements)", I32, impure=True))

    def op_table_grow(self, ins):
        if self.fuel:
            self.atomize_operands(2)
        n, init = self.pop(), self.pop()
        self.flush_impure()
        d = len(self.stack)
        self.emit(f"s{d} = _table_grow(T{ins[1]}, {val(init)}, {val(n)})")
        self.fuel_grow(n, d)
        self.stack.append(self.slot(d, I32))

    def op_table_fill(self, ins):
        self.bulk(f"_table_fill(T{ins[1]}, {{d}}, {{s}}, {{n}})")

    def op_table_copy(self, ins):
        self.bulk(f"_table_copy(T{ins[1]}, T{ins[2]}, {{d}}, {{s}}, {{n}})")

    def op_table_init(self, ins):
        self.bulk(f"_table_init(T{ins[2]}, _ELEMS, {ins[1]}, {{d}}, {{s}}, {{n}})")

    def op_elem_drop(self, ins):
        # wasmcore.exec.bulk.elem_drop, inline: the dropped segment is empty
        self.flush_impure()
        self.emit(f"_ELEMS[{ins[1]}] = []")

    def op_ref_null(self, ins):
        self.stack.append(self.const("None", ins[1], 0))

    def op_ref_is_null(self, ins):
        a = self.pop()
        self.push(self.new(f"({val(a)} is None)", I32, a, cond=True))

    def op_ref_func(self, ins):
        self.stack.append(It(f"F{ins[1]}", FUNCREF, atom=True))

    # --- numeric ----------------------------------------------------------------------------------------
    def unop(self, code_fn, vt, cond=False, lazy=False, impure=False, fx=False):
        a = self.pop()
        self.push(self.new(code_fn(a), vt, a, cond=cond, lazy=lazy, impure=impure, fx=fx))

    def binop(self, code_fn, vt, cond=False, lazy=False, impure=False, fx=False, atoms=False):
        if atoms:
            self.atomize_top()
            b = self.pop()
            self.atomize_top()
            a = self.pop()
        else:
            b = self.pop()
            a = self.pop()
        self.push(self.new(code_fn(a, b), vt, a, b, cond=cond, lazy=lazy, impure=impure, fx=fx))


O = Operators
HANDLERS: dict = {
    op.DROP: O.op_drop, op.SELECT: O.op_select, op.SELECT_T: O.op_select,
    op.LOCAL_GET: O.op_local_get, op.LOCAL_SET: O.op_local_set, op.LOCAL_TEE: O.op_local_tee,
    op.GLOBAL_GET: O.op_global_get, op.GLOBAL_SET: O.op_global_set,
    op.TABLE_GET: O.op_table_get, op.TABLE_SET: O.op_table_set,
    op.MEMORY_SIZE: O.op_memory_size, op.MEMORY_GROW: O.op_memory_grow,
    op.I32_CONST: O.op_i32_const, op.I64_CONST: O.op_i64_const,
    op.F32_CONST: O.op_f32_const, op.F64_CONST: O.op_f64_const,
    op.REF_NULL: O.op_ref_null, op.REF_IS_NULL: O.op_ref_is_null, op.REF_FUNC: O.op_ref_func,
    op.MEMORY_INIT: O.op_memory_init, op.DATA_DROP: O.op_data_drop,
    op.MEMORY_COPY: O.op_memory_copy, op.MEMORY_FILL: O.op_memory_fill,
    op.TABLE_INIT: O.op_table_init, op.ELEM_DROP: O.op_elem_drop,
    op.TABLE_COPY: O.op_table_copy, op.TABLE_GROW: O.op_table_grow,
    op.TABLE_SIZE: O.op_table_size, op.TABLE_FILL: O.op_table_fill,
}
del O

# loads: opcode -> (type, width, struct format or u8/s8)
_LOADS = {
    op.I32_LOAD: (I32, 4, "I"), op.I64_LOAD: (I64, 8, "Q"), op.F32_LOAD: (F32, 4, "I"),
    op.F64_LOAD: (F64, 8, "d"), op.I32_LOAD8_S: (I32, 1, "s8"), op.I32_LOAD8_U: (I32, 1, "u8"),
    op.I32_LOAD16_S: (I32, 2, "s16"), op.I32_LOAD16_U: (I32, 2, "H"),
    op.I64_LOAD8_S: (I64, 1, "s8"), op.I64_LOAD8_U: (I64, 1, "u8"),
    op.I64_LOAD16_S: (I64, 2, "s16"), op.I64_LOAD16_U: (I64, 2, "H"),
    op.I64_LOAD32_S: (I64, 4, "s32"), op.I64_LOAD32_U: (I64, 4, "I"),
}
_STORES = {
    op.I32_STORE: (I32, 4, "I"), op.I64_STORE: (I64, 8, "Q"), op.F32_STORE: (F32, 4, "I"),
    op.F64_STORE: (F64, 8, "d"), op.I32_STORE8: (I32, 1, "8"), op.I32_STORE16: (I32, 2, "16"),
    op.I64_STORE8: (I64, 1, "8"), op.I64_STORE16: (I64, 2, "16"), op.I64_STORE32: (I64, 4, "32"),
}
for _code, (_vt, _w, _fmt) in _LOADS.items():
    HANDLERS[_code] = (lambda vt, w, fmt: lambda self, ins: self.load(ins, vt, w, fmt))(_vt, _w, _fmt)
for _code, (_vt, _w, _fmt) in _STORES.items():
    HANDLERS[_code] = (lambda vt, w, fmt: lambda self, ins: self.store(ins, vt, w, fmt))(_vt, _w, _fmt)


def _signed(a: It, bits: int) -> str:
    sign = 1 << (bits - 1)
    if a.const is not None:
        v = a.const
        return str(v - (v & sign) * 2)
    return f"(({val(a)} ^ {sign:#x}) - {sign:#x})"


def _flip(a: It, bits: int) -> str:
    """The value xor the sign bit: orders like the signed value."""
    sign = 1 << (bits - 1)
    if a.const is not None:
        return str(a.const ^ sign)
    return f"({val(a)} ^ {sign:#x})"


def _int_ops(vt, bits):
    m = (1 << bits) - 1
    mx = f"{m:#x}"
    sh = bits - 1
    sfx = "32" if bits == 32 else "64"
    B = lambda fn, **kw: (lambda self, ins: self.binop(fn, vt, **kw))
    Bc = lambda fn, **kw: (lambda self, ins: self.binop(fn, I32, cond=True, **kw))
    U = lambda fn, **kw: (lambda self, ins: self.unop(fn, vt, **kw))

    def code(name):
        return op.BY_NAME[f"i{bits}.{name}"]

    def shift_amount(b):
        if b.const is not None:
            return str(b.const & sh)
        return f"({raw(b)} & {sh})"

    def div_u(self, ins):
        b = self.stack[-1]
        if b.const:  # a non-zero constant divisor
            self.binop(lambda a, b: f"({val(a)} // {b.code})", vt)
        else:
            self.binop(lambda a, b: f"_div_u{sfx}({val(a)}, {val(b)})", vt, impure=True, fx=True)

    def rem_u(self, ins):
        b = self.stack[-1]
        if b.const:
            self.binop(lambda a, b: f"({val(a)} % {b.code})", vt)
        else:
            self.binop(lambda a, b: f"_rem_u{sfx}({val(a)}, {val(b)})", vt, impure=True, fx=True)

    def rot(name, left):
        def handler(self, ins):
            b = self.stack[-1]
            if b.const is not None:
                k = b.const & sh
                if k == 0:
                    self.pop()
                    return
                if not left:
                    k = bits - k
                self.pop()
                self.atomize_top()
                a = self.pop()
                self.push(self.new(f"((({val(a)} << {k}) | ({val(a)} >> {bits - k})) & {mx})", vt, a))
            else:
                self.binop(lambda a, b: f"_{name}{sfx}({val(a)}, {raw(b)})", vt)
        return handler

    def op_eqz(self, ins):
        a = self.stack[-1]
        if a.cond:
            self.pop()
            self.push(self.new(f"(not {a.code})", I32, a, cond=True))
        else:
            self.unop(lambda a: f"({val(a)} == 0)", I32, cond=True)
    HANDLERS[code("eqz")] = op_eqz
    compares = {
        "eq": lambda a, b: f"({val(a)} == {val(b)})",
        "ne": lambda a, b: f"({val(a)} != {val(b)})",
        "lt_s": lambda a, b: f"({_flip(a, bits)} < {_flip(b, bits)})",
        "lt_u": lambda a, b: f"({val(a)} < {val(b)})",
        "gt_s": lambda a, b: f"({_flip(a, bits)} > {_flip(b, bits)})",
        "gt_u": lambda a, b: f"({val(a)} > {val(b)})",
        "le_s": lambda a, b: f"({_flip(a, bits)} <= {_flip(b, bits)})",
        "le_u": lambda a, b: f"({val(a)} <= {val(b)})",
        "ge_s": lambda a, b: f"({_flip(a, bits)} >= {_flip(b, bits)})",
        "ge_u": lambda a, b: f"({val(a)} >= {val(b)})",
    }
    for name, fn in compares.items():
        HANDLERS[code(name)] = Bc(fn)
    HANDLERS[code("clz")] = U(lambda a: f"({bits} - ({val(a)}).bit_length())")
    HANDLERS[code("ctz")] = U(lambda a: f"_ctz{sfx}({val(a)})")
    HANDLERS[code("popcnt")] = U(lambda a: f"({val(a)}).bit_count()")

    def and_op(self, ins):
        b = self.stack[-1]
        a = self.stack[-2]
        lazy = (a.lazy or a.cond) and (b.lazy or b.cond)
        if b.const is not None or a.const is not None:
            lazy = False
        self.binop(lambda a, b: f"({raw(a)} & {raw(b)})", vt, lazy=lazy)

    def or_op(sym):
        def handler(self, ins):
            b = self.stack[-1]
            a = self.stack[-2]
            self.binop(lambda a, b: f"({raw(a)} {sym} {raw(b)})", vt, lazy=a.lazy or b.lazy)
        return handler

    HANDLERS[code("add")] = B(lambda a, b: f"({raw(a)} + {raw(b)})", lazy=True)
    HANDLERS[code("sub")] = B(lambda a, b: f"({raw(a)} - {raw(b)})", lazy=True)
    HANDLERS[code("mul")] = B(lambda a, b: f"(({raw(a)} * {raw(b)}) & {mx})")
    HANDLERS[code("div_s")] = B(lambda a, b: f"_div_s{sfx}({val(a)}, {val(b)})", impure=True, fx=True)
    HANDLERS[code("div_u")] = div_u
    HANDLERS[code("rem_s")] = B(lambda a, b: f"_rem_s{sfx}({val(a)}, {val(b)})", impure=True, fx=True)
    HANDLERS[code("rem_u")] = rem_u
    HANDLERS[code("and")] = and_op
    HANDLERS[code("or")] = or_op("|")
    HANDLERS[code("xor")] = or_op("^")
    HANDLERS[code("shl")] = B(lambda a, b: f"({raw(a)} << {shift_amount(b)})", lazy=True)
    HANDLERS[code("shr_s")] = B(lambda a, b: f"((({val(a)} ^ {1 << sh:#x}) - {1 << sh:#x}) >> "
                                             f"{shift_amount(b)} & {mx})")
    HANDLERS[code("shr_u")] = B(lambda a, b: f"({val(a)} >> {shift_amount(b)})")
    HANDLERS[code("rotl")] = rot("rotl", True)
    HANDLERS[code("rotr")] = rot("rotr", False)


_int_ops(I32, 32)
_int_ops(I64, 64)


def _float_ops():
    Bd = lambda fn, vt=F64, **kw: (lambda self, ins: self.binop(fn, vt, **kw))
    Ud = lambda fn, vt=F64, **kw: (lambda self, ins: self.unop(fn, vt, **kw))
    N = op.BY_NAME
    # comparisons: f64 are Python floats, f32 are bits (compared as their float values)
    for name, sym in (("eq", "=="), ("ne", "!="), ("lt", "<"), ("gt", ">"), ("le", "<="),
                      ("ge", ">=")):
        HANDLERS[N[f"f64.{name}"]] = Bd((lambda s: lambda a, b: f"({val(a)} {s} {val(b)})")(sym),
                                        I32, cond=True)
        HANDLERS[N[f"f32.{name}"]] = Bd(
            (lambda s: lambda a, b: f"(_f32v({val(a)}) {s} _f32v({val(b)}))")(sym), I32, cond=True)
    # f64 (Python floats)
    HANDLERS[op.F64_ABS] = Ud(lambda a: f"_fabs({val(a)})")
    HANDLERS[op.F64_NEG] = Ud(lambda a: f"(-{val(a)})")
    HANDLERS[op.F64_CEIL] = Ud(lambda a: f"_fceil({val(a)})")
    HANDLERS[op.F64_FLOOR] = Ud(lambda a: f"_ffloor({val(a)})")
    HANDLERS[op.F64_TRUNC] = Ud(lambda a: f"_ftrunc({val(a)})")
    HANDLERS[op.F64_NEAREST] = Ud(lambda a: f"_fnearest({val(a)})")
    HANDLERS[op.F64_SQRT] = Ud(lambda a: f"_fsqrt({val(a)})")
    HANDLERS[op.F64_ADD] = Bd(lambda a, b: f"({val(a)} + {val(b)})")
    HANDLERS[op.F64_SUB] = Bd(lambda a, b: f"({val(a)} - {val(b)})")
    HANDLERS[op.F64_MUL] = Bd(lambda a, b: f"({val(a)} * {val(b)})")

    def fdiv(self, ins):
        b = self.stack[-1]
        if b.const is not None and b.code[0] in "0123456789" and float(b.code) != 0.0:
            self.binop(lambda a, b: f"({val(a)} / {b.code})", F64)
        elif b.atom:
            self.binop(lambda a, b: f"({val(a)} / {b.code} if {b.code} else _fdiv0({val(a)}, {b.code}))"
                       if a.atom else f"_fdiv({val(a)}, {b.code})", F64)
        else:
            self.binop(lambda a, b: f"_fdiv({val(a)}, {val(b)})", F64)
    HANDLERS[op.F64_DIV] = fdiv
    HANDLERS[op.F64_MIN] = Bd(lambda a, b: f"_fmin({val(a)}, {val(b)})")
    HANDLERS[op.F64_MAX] = Bd(lambda a, b: f"_fmax({val(a)}, {val(b)})")
    HANDLERS[op.F64_COPYSIGN] = Bd(lambda a, b: f"_copysign({val(a)}, {val(b)})")
    # f32 (bits)
    HANDLERS[op.F32_ABS] = Ud(lambda a: f"({val(a)} & 0x7fffffff)", F32)
    HANDLERS[op.F32_NEG] = Ud(lambda a: f"({val(a)} ^ 0x80000000)", F32)
    for name in ("ceil", "floor", "trunc", "nearest", "sqrt"):
        HANDLERS[N[f"f32.{name}"]] = Ud((lambda n: lambda a: f"_f32_{n}({val(a)})")(name), F32)
    for name in ("add", "sub", "mul", "div", "min", "max"):
        HANDLERS[N[f"f32.{name}"]] = Bd((lambda n: lambda a, b: f"_f32_{n}({val(a)}, {val(b)})")(name),
                                        F32)
    HANDLERS[op.F32_COPYSIGN] = Bd(lambda a, b: f"(({val(a)} & 0x7fffffff) | ({val(b)} & 0x80000000))",
                                   F32)
    # conversions
    I = lambda fn, vt, **kw: (lambda self, ins: self.unop(fn, vt, **kw))
    trap = {"impure": True, "fx": True}  # may trap
    HANDLERS[op.I32_WRAP_I64] = I(lambda a: f"({raw(a)} & {M32:#x})", I32)
    HANDLERS[op.I32_TRUNC_F32_S] = I(lambda a: f"_trunc_i32_s(_f32v({val(a)}))", I32, **trap)
    HANDLERS[op.I32_TRUNC_F32_U] = I(lambda a: f"_trunc_i32_u(_f32v({val(a)}))", I32, **trap)
    HANDLERS[op.I32_TRUNC_F64_S] = I(lambda a: f"_trunc_i32_s({val(a)})", I32, **trap)
    HANDLERS[op.I32_TRUNC_F64_U] = I(lambda a: f"_trunc_i32_u({val(a)})", I32, **trap)
    HANDLERS[op.I64_EXTEND_I32_S] = I(lambda a: f"({_signed(a, 32)} & {M64:#x})", I64)
    HANDLERS[op.I64_EXTEND_I32_U] = I(lambda a: val(a), I64)
    HANDLERS[op.I64_TRUNC_F32_S] = I(lambda a: f"_trunc_i64_s(_f32v({val(a)}))", I64, **trap)
    HANDLERS[op.I64_TRUNC_F32_U] = I(lambda a: f"_trunc_i64_u(_f32v({val(a)}))", I64, **trap)
    HANDLERS[op.I64_TRUNC_F64_S] = I(lambda a: f"_trunc_i64_s({val(a)})", I64, **trap)
    HANDLERS[op.I64_TRUNC_F64_U] = I(lambda a: f"_trunc_i64_u({val(a)})", I64, **trap)
    HANDLERS[op.F32_CONVERT_I32_S] = I(lambda a: f"_f32_convert_i32_s({val(a)})", F32)
    HANDLERS[op.F32_CONVERT_I32_U] = I(lambda a: f"_f32_convert_i32_u({val(a)})", F32)
    HANDLERS[op.F32_CONVERT_I64_S] = I(lambda a: f"_f32_convert_i64_s({val(a)})", F32)
    HANDLERS[op.F32_CONVERT_I64_U] = I(lambda a: f"_f32_convert_i64_u({val(a)})", F32)
    HANDLERS[op.F32_DEMOTE_F64] = I(lambda a: f"_f64_to_f32({val(a)})", F32)
    HANDLERS[op.F64_CONVERT_I32_S] = I(lambda a: f"float({_signed(a, 32)})", F64)
    HANDLERS[op.F64_CONVERT_I32_U] = I(lambda a: f"float({val(a)})", F64)
    HANDLERS[op.F64_CONVERT_I64_S] = I(lambda a: f"float({_signed(a, 64)})", F64)
    HANDLERS[op.F64_CONVERT_I64_U] = I(lambda a: f"float({val(a)})", F64)
    HANDLERS[op.F64_PROMOTE_F32] = I(lambda a: f"_f32_to_f64({val(a)})", F64)
    HANDLERS[op.I32_REINTERPRET_F32] = I(lambda a: val(a), I32)
    HANDLERS[op.I64_REINTERPRET_F64] = I(lambda a: f"_d2q({val(a)})", I64)
    HANDLERS[op.F32_REINTERPRET_I32] = I(lambda a: val(a), F32)
    HANDLERS[op.F64_REINTERPRET_I64] = I(lambda a: f"_q2d({val(a)})", F64)
    # sign extension
    HANDLERS[op.I32_EXTEND8_S] = I(lambda a: f"((({raw(a)} & 0xff) ^ 0x80) - 0x80 & {M32:#x})", I32)
    HANDLERS[op.I32_EXTEND16_S] = I(lambda a: f"((({raw(a)} & 0xffff) ^ 0x8000) - 0x8000 & {M32:#x})",
                                    I32)
    HANDLERS[op.I64_EXTEND8_S] = I(lambda a: f"((({raw(a)} & 0xff) ^ 0x80) - 0x80 & {M64:#x})", I64)
    HANDLERS[op.I64_EXTEND16_S] = I(lambda a: f"((({raw(a)} & 0xffff) ^ 0x8000) - 0x8000 & {M64:#x})",
                                    I64)
    HANDLERS[op.I64_EXTEND32_S] = I(
        lambda a: f"((({raw(a)} & 0xffffffff) ^ 0x80000000) - 0x80000000 & {M64:#x})", I64)
    # saturating truncation (never traps)
    for bits in (32, 64):
        for sign in ("s", "u"):
            name = f"i{bits}_{sign}"
            HANDLERS[N[f"i{bits}.trunc_sat_f32_{sign}"]] = I(
                (lambda n: lambda a: f"_trunc_sat_{n}(_f32v({val(a)}))")(name), I64 if bits == 64 else I32)
            HANDLERS[N[f"i{bits}.trunc_sat_f64_{sign}"]] = I(
                (lambda n: lambda a: f"_trunc_sat_{n}({val(a)})")(name), I64 if bits == 64 else I32)


_float_ops()
