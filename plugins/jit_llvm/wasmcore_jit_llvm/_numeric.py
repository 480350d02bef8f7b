"""Numeric instructions (spec "Numeric Instructions"): constants, integer and float
arithmetic, comparisons and conversions, as a part of FunctionTranslator. Where LLVM's
operation differs from wasm the translation spells wasm out (docs/jit_llvm.md, "Numerics"):
trapping division and truncation, masked shift counts, NaN-propagating min/max, and float
constants LLVM would fold hidden behind an empty inline asm.

`HANDLERS` maps each opcode handled here to its method; FunctionTranslator merges it into
its dispatch table."""

from __future__ import annotations

import struct

from llvmlite import ir

from wasmcore.errors import TrapCode
from wasmcore.syntax import opcodes as op
from wasmcore_jit_llvm import _layout as L
from wasmcore_jit_llvm._ir import (F32, F64, I1, I8, I16, I32, I64, f32_bits, f32_value, f64_bits,
                                   f64_value)

# i32/i64 binary ops that map straight onto LLVM
_INT_BIN = {
    op.I32_ADD: "add", op.I32_SUB: "sub", op.I32_MUL: "mul", op.I32_AND: "and_",
    op.I32_OR: "or_", op.I32_XOR: "xor",
    op.I64_ADD: "add", op.I64_SUB: "sub", op.I64_MUL: "mul", op.I64_AND: "and_",
    op.I64_OR: "or_", op.I64_XOR: "xor",
}
_SHIFTS = {op.I32_SHL: ("shl", 31), op.I32_SHR_S: ("ashr", 31), op.I32_SHR_U: ("lshr", 31),
           op.I64_SHL: ("shl", 63), op.I64_SHR_S: ("ashr", 63), op.I64_SHR_U: ("lshr", 63)}
_ICMP = {
    op.I32_EQ: ("==", True), op.I32_NE: ("!=", True), op.I32_LT_S: ("<", True),
    op.I32_LT_U: ("<", False), op.I32_GT_S: (">", True), op.I32_GT_U: (">", False),
    op.I32_LE_S: ("<=", True), op.I32_LE_U: ("<=", False), op.I32_GE_S: (">=", True),
    op.I32_GE_U: (">=", False),
    op.I64_EQ: ("==", True), op.I64_NE: ("!=", True), op.I64_LT_S: ("<", True),
    op.I64_LT_U: ("<", False), op.I64_GT_S: (">", True), op.I64_GT_U: (">", False),
    op.I64_LE_S: ("<=", True), op.I64_LE_U: ("<=", False), op.I64_GE_S: (">=", True),
    op.I64_GE_U: (">=", False),
}
_FCMP = {
    op.F32_EQ: "==", op.F32_NE: "!=", op.F32_LT: "<", op.F32_GT: ">", op.F32_LE: "<=",
    op.F32_GE: ">=",
    op.F64_EQ: "==", op.F64_NE: "!=", op.F64_LT: "<", op.F64_GT: ">", op.F64_LE: "<=",
    op.F64_GE: ">=",
}
_FBIN = {op.F32_ADD: "fadd", op.F32_SUB: "fsub", op.F32_MUL: "fmul", op.F32_DIV: "fdiv",
         op.F64_ADD: "fadd", op.F64_SUB: "fsub", op.F64_MUL: "fmul", op.F64_DIV: "fdiv"}
_FUNARY = {op.F32_ABS: "llvm.fabs", op.F32_CEIL: "llvm.ceil", op.F32_FLOOR: "llvm.floor",
           op.F32_TRUNC: "llvm.trunc", op.F32_NEAREST: "llvm.roundeven", op.F32_SQRT: "llvm.sqrt",
           op.F64_ABS: "llvm.fabs", op.F64_CEIL: "llvm.ceil", op.F64_FLOOR: "llvm.floor",
           op.F64_TRUNC: "llvm.trunc", op.F64_NEAREST: "llvm.roundeven", op.F64_SQRT: "llvm.sqrt"}
# trapping float -> int: opcode -> (src, dst, signed)
_TRUNC = {
    op.I32_TRUNC_F32_S: (F32, I32, True), op.I32_TRUNC_F32_U: (F32, I32, False),
    op.I32_TRUNC_F64_S: (F64, I32, True), op.I32_TRUNC_F64_U: (F64, I32, False),
    op.I64_TRUNC_F32_S: (F32, I64, True), op.I64_TRUNC_F32_U: (F32, I64, False),
    op.I64_TRUNC_F64_S: (F64, I64, True), op.I64_TRUNC_F64_U: (F64, I64, False),
}
_TRUNC_SAT = {
    op.I32_TRUNC_SAT_F32_S: (F32, I32, True), op.I32_TRUNC_SAT_F32_U: (F32, I32, False),
    op.I32_TRUNC_SAT_F64_S: (F64, I32, True), op.I32_TRUNC_SAT_F64_U: (F64, I32, False),
    op.I64_TRUNC_SAT_F32_S: (F32, I64, True), op.I64_TRUNC_SAT_F32_U: (F32, I64, False),
    op.I64_TRUNC_SAT_F64_S: (F64, I64, True), op.I64_TRUNC_SAT_F64_U: (F64, I64, False),
}
_CONVERT = {
    op.F32_CONVERT_I32_S: (F32, True), op.F32_CONVERT_I32_U: (F32, False),
    op.F32_CONVERT_I64_S: (F32, True), op.F32_CONVERT_I64_U: (F32, False),
    op.F64_CONVERT_I32_S: (F64, True), op.F64_CONVERT_I32_U: (F64, False),
    op.F64_CONVERT_I64_S: (F64, True), op.F64_CONVERT_I64_U: (F64, False),
}


def _trunc_bounds(src, dst, signed):
    """(lower bound, lower inclusive?, upper bound exclusive) of the valid float inputs."""
    bits = dst.width
    if signed:
        lo = -(2.0 ** (bits - 1))
        if src is F64 and bits == 32:
            return -2147483649.0, False, 2.0 ** 31
        return lo, True, 2.0 ** (bits - 1)
    return -1.0, False, 2.0 ** bits


_IDENTITY = (1.0, -1.0, 0.0)  # -0.0 == 0.0


class NumericOps:
    """The numeric instructions of one function (a base of FunctionTranslator)."""

    def opaque(self, v):
        """`v` through an empty inline asm: the optimizer cannot see its value."""
        asm = ir.InlineAsm(ir.FunctionType(v.type, [v.type]), "", "=x,0")
        return self.b.call(asm, [v])

    # table-driven
    def op_int_binary(self, ins):
        b2, a = self.pop(), self.pop()
        self.push(getattr(self.b, _INT_BIN[ins[0]])(a, b2))

    def op_icmp(self, ins):
        b2, a = self.pop(), self.pop()
        cmp, signed = _ICMP[ins[0]]
        c = (self.b.icmp_signed if signed else self.b.icmp_unsigned)(cmp, a, b2)
        self.push(self.b.zext(c, I32))

    def op_fcmp(self, ins):
        b2, a = self.pop(), self.pop()
        cmp = _FCMP[ins[0]]
        c = self.b.fcmp_unordered(cmp, a, b2) if cmp == "!=" else self.b.fcmp_ordered(cmp, a, b2)
        self.push(self.b.zext(c, I32))

    def op_float_binary(self, ins):
        b2, a = self.pop(), self.pop()
        # LLVM folds x*1, x/1, x*-1, x+-0, x-0 to x or -x, which keeps a signalling NaN
        # signalling; wasm wants a quiet NaN, so hide such constants from the optimizer.
        if self.fconst.get(id(b2)) in _IDENTITY:
            b2 = self.opaque(b2)
        if self.fconst.get(id(a)) in _IDENTITY:
            a = self.opaque(a)
        self.push(getattr(self.b, _FBIN[ins[0]])(a, b2))

    def op_shift(self, ins):
        name, mask = _SHIFTS[ins[0]]
        b2, a = self.pop(), self.pop()
        self.push(getattr(self.b, name)(a, self.b.and_(b2, ir.Constant(a.type, mask))))

    def op_float_unary(self, ins):
        a = self.pop()
        self.push(self.b.call(self.mt.intrinsic(_FUNARY[ins[0]], [a.type]), [a]))

    def op_trunc_sat(self, ins):
        src, dst, signed = _TRUNC_SAT[ins[0]]
        a = self.pop()
        name = "llvm.fptosi.sat" if signed else "llvm.fptoui.sat"
        fn = self.mt.intrinsic_typed(f"{name}.i{dst.width}.{'f32' if src is F32 else 'f64'}",
                                     ir.FunctionType(dst, [src]))
        self.push(self.b.call(fn, [a]))

    def op_convert(self, ins):
        dst, signed = _CONVERT[ins[0]]
        a = self.pop()
        self.push(self.b.sitofp(a, dst) if signed else self.b.uitofp(a, dst))

    # constants
    def op_i32_const(self, ins):
        self.push(ir.Constant(I32, ins[1] & 0xFFFFFFFF))

    def op_i64_const(self, ins):
        self.push(ir.Constant(I64, ins[1] & 0xFFFFFFFFFFFFFFFF))

    def op_f32_const(self, ins):
        v = f32_bits(ins[1])
        self.fconst[id(v)] = struct.unpack("<f", struct.pack("<I", ins[1]))[0]
        self.keep.append(v)
        self.push(v)

    def op_f64_const(self, ins):
        v = f64_bits(ins[1])
        self.fconst[id(v)] = struct.unpack("<d", struct.pack("<Q", ins[1]))[0]
        self.keep.append(v)
        self.push(v)

    # integer arithmetic
    def op_eqz(self, ins):
        a = self.pop()
        self.push(self.b.zext(self.b.icmp_unsigned("==", a, ir.Constant(a.type, 0)), I32))

    def op_clz(self, ins):
        a = self.pop()
        self.push(self.b.call(self.mt.intrinsic("llvm.ctlz", [a.type]), [a, ir.Constant(I1, 0)]))

    def op_ctz(self, ins):
        a = self.pop()
        self.push(self.b.call(self.mt.intrinsic("llvm.cttz", [a.type]), [a, ir.Constant(I1, 0)]))

    def op_popcnt(self, ins):
        a = self.pop()
        self.push(self.b.call(self.mt.intrinsic("llvm.ctpop", [a.type]), [a]))

    def op_div(self, ins):
        b2, a = self.pop(), self.pop()
        t = a.type
        b = self.b
        signed = ins[0] in (op.I32_DIV_S, op.I64_DIV_S, op.I32_REM_S, op.I64_REM_S)
        rem = ins[0] in (op.I32_REM_S, op.I64_REM_S, op.I32_REM_U, op.I64_REM_U)
        self.trap_if(b.icmp_unsigned("==", b2, ir.Constant(t, 0)),
                     L.status_of(TrapCode.INTEGER_DIVISION_BY_ZERO))
        if signed:
            minus1 = b.icmp_unsigned("==", b2, ir.Constant(t, (1 << t.width) - 1))
            if rem:
                # INT_MIN % -1 is 0 in wasm and UB in LLVM: divide by 1 instead
                safe = b.select(minus1, ir.Constant(t, 1), b2)
                self.push(b.srem(a, safe))
                return
            overflow = b.and_(minus1, b.icmp_unsigned("==", a, ir.Constant(t, 1 << (t.width - 1))))
            self.trap_if(overflow, L.status_of(TrapCode.INTEGER_OVERFLOW))
            self.push(b.sdiv(a, b2))
        else:
            self.push(b.urem(a, b2) if rem else b.udiv(a, b2))

    def op_rot(self, ins):
        b2, a = self.pop(), self.pop()
        name = "llvm.fshl" if ins[0] in (op.I32_ROTL, op.I64_ROTL) else "llvm.fshr"
        self.push(self.b.call(self.mt.intrinsic(name, [a.type]), [a, a, b2]))

    # float
    def op_fneg(self, ins):
        self.push(self.b.fneg(self.pop()))

    def op_copysign(self, ins):
        b2, a = self.pop(), self.pop()
        self.push(self.b.call(self.mt.intrinsic("llvm.copysign", [a.type]), [a, b2]))

    def op_fminmax(self, ins):
        b2, a = self.pop(), self.pop()
        b = self.b
        t = a.type
        it = I32 if t is F32 else I64
        is_min = ins[0] in (op.F32_MIN, op.F64_MIN)
        nan = b.fcmp_unordered("uno", a, b2)
        lt = b.fcmp_ordered("<" if is_min else ">", a, b2)
        eq = b.fcmp_ordered("==", a, b2)
        ai, bi = b.bitcast(a, it), b.bitcast(b2, it)
        # equal operands differ only for +-0: min takes the sign bit of either, max of both
        same = b.bitcast(b.or_(ai, bi) if is_min else b.and_(ai, bi), t)
        r = b.select(lt, a, b2)
        r = b.select(eq, same, r)
        r = b.select(nan, b.fadd(a, b2), r)
        self.push(r)

    # conversions
    def op_wrap(self, ins):
        self.push(self.b.trunc(self.pop(), I32))

    def op_extend_s(self, ins):
        self.push(self.b.sext(self.pop(), I64))

    def op_extend_u(self, ins):
        self.push(self.b.zext(self.pop(), I64))

    def op_demote(self, ins):
        # opaque: LLVM folds demote(promote(x)) to x, keeping a signalling NaN signalling
        self.push(self.b.fptrunc(self.opaque(self.pop()), F32))

    def op_promote(self, ins):
        self.push(self.b.fpext(self.pop(), F64))

    def op_reinterpret(self, ins):
        target = {op.I32_REINTERPRET_F32: I32, op.I64_REINTERPRET_F64: I64,
                  op.F32_REINTERPRET_I32: F32, op.F64_REINTERPRET_I64: F64}[ins[0]]
        self.push(self.b.bitcast(self.pop(), target))

    def op_sign_extend(self, ins):
        narrow = {op.I32_EXTEND8_S: (I8, I32), op.I32_EXTEND16_S: (I16, I32),
                  op.I64_EXTEND8_S: (I8, I64), op.I64_EXTEND16_S: (I16, I64),
                  op.I64_EXTEND32_S: (I32, I64)}[ins[0]]
        self.push(self.b.sext(self.b.trunc(self.pop(), narrow[0]), narrow[1]))

    def op_trunc(self, ins):
        src, dst, signed = _TRUNC[ins[0]]
        a = self.pop()
        b = self.b
        self.trap_if(b.fcmp_unordered("uno", a, a), L.status_of(TrapCode.BAD_CONVERSION_TO_INTEGER))
        lo, lo_incl, hi = _trunc_bounds(src, dst, signed)
        c = f32_value if src is F32 else f64_value
        low_ok = b.fcmp_ordered(">=" if lo_incl else ">", a, c(lo))
        high_ok = b.fcmp_ordered("<", a, c(hi))
        self.trap_if(b.not_(b.and_(low_ok, high_ok)), L.status_of(TrapCode.INTEGER_OVERFLOW))
        self.push(b.fptosi(a, dst) if signed else b.fptoui(a, dst))



HANDLERS = {}
for _table, _handler in ((_INT_BIN, NumericOps.op_int_binary), (_ICMP, NumericOps.op_icmp),
                         (_FCMP, NumericOps.op_fcmp), (_FBIN, NumericOps.op_float_binary),
                         (_SHIFTS, NumericOps.op_shift), (_FUNARY, NumericOps.op_float_unary),
                         (_TRUNC, NumericOps.op_trunc), (_TRUNC_SAT, NumericOps.op_trunc_sat),
                         (_CONVERT, NumericOps.op_convert)):
    HANDLERS.update(dict.fromkeys(_table, _handler))
HANDLERS.update({
    op.I32_CONST: NumericOps.op_i32_const, op.I64_CONST: NumericOps.op_i64_const,
    op.F32_CONST: NumericOps.op_f32_const, op.F64_CONST: NumericOps.op_f64_const,
    op.I32_EQZ: NumericOps.op_eqz, op.I64_EQZ: NumericOps.op_eqz,
    op.I32_CLZ: NumericOps.op_clz, op.I64_CLZ: NumericOps.op_clz,
    op.I32_CTZ: NumericOps.op_ctz, op.I64_CTZ: NumericOps.op_ctz,
    op.I32_POPCNT: NumericOps.op_popcnt, op.I64_POPCNT: NumericOps.op_popcnt,
    op.I32_ROTL: NumericOps.op_rot, op.I32_ROTR: NumericOps.op_rot,
    op.I64_ROTL: NumericOps.op_rot, op.I64_ROTR: NumericOps.op_rot,
    op.F32_NEG: NumericOps.op_fneg, op.F64_NEG: NumericOps.op_fneg,
    op.F32_COPYSIGN: NumericOps.op_copysign, op.F64_COPYSIGN: NumericOps.op_copysign,
    op.F32_MIN: NumericOps.op_fminmax, op.F32_MAX: NumericOps.op_fminmax,
    op.F64_MIN: NumericOps.op_fminmax, op.F64_MAX: NumericOps.op_fminmax,
    op.I32_WRAP_I64: NumericOps.op_wrap,
    op.I64_EXTEND_I32_S: NumericOps.op_extend_s, op.I64_EXTEND_I32_U: NumericOps.op_extend_u,
    op.F32_DEMOTE_F64: NumericOps.op_demote, op.F64_PROMOTE_F32: NumericOps.op_promote,
})
HANDLERS.update(dict.fromkeys((op.I32_DIV_S, op.I32_DIV_U, op.I32_REM_S, op.I32_REM_U,
                               op.I64_DIV_S, op.I64_DIV_U, op.I64_REM_S, op.I64_REM_U),
                              NumericOps.op_div))
HANDLERS.update(dict.fromkeys((op.I32_REINTERPRET_F32, op.I64_REINTERPRET_F64,
                               op.F32_REINTERPRET_I32, op.F64_REINTERPRET_I64),
                              NumericOps.op_reinterpret))
HANDLERS.update(dict.fromkeys((op.I32_EXTEND8_S, op.I32_EXTEND16_S, op.I64_EXTEND8_S,
                               op.I64_EXTEND16_S, op.I64_EXTEND32_S), NumericOps.op_sign_extend))
