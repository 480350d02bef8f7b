"""The IR vocabulary the llvm translators share: the LLVM types of wasm values, function
types of wasm functions and their bodies (docs/jit_llvm.md, "Functions and calling
conventions"), the bits convention at array boundaries, and small IRBuilder helpers
(opaque-pointer allocas and indirect calls, multi-value returns)."""

from __future__ import annotations

import struct

from llvmlite import ir

from wasmcore.syntax.types import ValueType
from wasmcore_jit_llvm import _simd

I1, I8, I16, I32, I64 = (ir.IntType(n) for n in (1, 8, 16, 32, 64))
F32, F64 = ir.FloatType(), ir.DoubleType()
PTR = ir.PointerType()
VOID = ir.VoidType()

LLTYPE = {ValueType.I32: I32, ValueType.I64: I64, ValueType.F32: F32, ValueType.F64: F64,
          ValueType.FUNCREF: I64, ValueType.EXTERNREF: I64, ValueType.V128: _simd.I128}


RT_TYPE = ir.FunctionType(I64, [PTR, I32, I64, I64, I64, I64])
HOST_CALLBACK_TYPE = ir.FunctionType(I32, [PTR, PTR])


def sig_key(ft) -> str:
    code = {ValueType.I32: "i", ValueType.I64: "l", ValueType.F32: "f", ValueType.F64: "d",
            ValueType.FUNCREF: "r", ValueType.EXTERNREF: "x", ValueType.V128: "v"}
    return "".join(code[t] for t in ft.params) + "_" + "".join(code[t] for t in ft.results)


def ret_type(ft):
    if not ft.results:
        return VOID
    if len(ft.results) == 1:
        return LLTYPE[ft.results[0]]
    return ir.LiteralStructType([LLTYPE[t] for t in ft.results])


def fn_type(ft):
    return ir.FunctionType(ret_type(ft), [PTR] + [LLTYPE[t] for t in ft.params])


def body_type(ft):
    """With fuel on, a defined function's body takes the fuel left and returns it first:
    between direct calls it stays in registers instead of the shared slot."""
    return ir.FunctionType(ir.LiteralStructType([I64] + [LLTYPE[t] for t in ft.results]),
                           [PTR, I64] + [LLTYPE[t] for t in ft.params])


def f32_bits(bits: int):
    return ir.Constant(I32, bits).bitcast(F32)


def f64_bits(bits: int):
    return ir.Constant(I64, bits).bitcast(F64)


def f32_value(x: float):
    return f32_bits(struct.unpack("<I", struct.pack("<f", x))[0])


def f64_value(x: float):
    return f64_bits(struct.unpack("<Q", struct.pack("<d", x))[0])


UNARY_FLOAT = ("llvm.fabs", "llvm.ceil", "llvm.floor", "llvm.trunc", "llvm.roundeven", "llvm.sqrt")


def mangle(t):
    if t is PTR or isinstance(t, ir.PointerType):
        return "p0"
    return {I8: "i8", I16: "i16", I32: "i32", I64: "i64", F32: "f32", F64: "f64"}[t]


def alloca(b, typ, name=""):
    a = b.alloca(typ, name=name)
    a.type = PTR  # opaque pointers only: LLVM no longer parses typed ones
    return a


def call_ptr(b, target, fnty, args):
    """An indirect call through the opaque pointer `target` with function type `fnty`."""
    return b.call(_FnPtr(target, fnty), args)


class _FnPtr:
    """Adapts an opaque pointer value so IRBuilder.call sees its function type."""

    def __init__(self, value, fnty):
        self._value = value
        self.function_type = fnty
        self.type = PTR

    def get_reference(self):
        return self._value.get_reference()

    def __getattr__(self, name):
        return getattr(self._value, name)


def slot_type(vt):
    return _simd.I128 if vt == ValueType.V128 else I64


def from_bits(b, raw, vt):
    if vt == ValueType.I32:
        return b.trunc(raw, I32)
    if vt == ValueType.F32:
        return b.bitcast(b.trunc(raw, I32), F32)
    if vt == ValueType.F64:
        return b.bitcast(raw, F64)
    return raw


def to_bits(b, v, vt):
    if vt == ValueType.I32:
        return b.zext(v, I64)
    if vt == ValueType.F32:
        return b.zext(b.bitcast(v, I32), I64)
    if vt == ValueType.F64:
        return b.bitcast(v, I64)
    return v


def unpack(b, result, ft):
    if not ft.results:
        return []
    if len(ft.results) == 1:
        return [result]
    return [b.extract_value(result, i) for i in range(len(ft.results))]


def ret_values(b, ft, values):
    if not ft.results:
        b.ret_void()
    elif len(ft.results) == 1:
        b.ret(values[0])
    else:
        st = ir.Constant(ret_type(ft), ir.Undefined)
        for i, v in enumerate(values):
            st = b.insert_value(st, v, i)
        b.ret(st)


def ret_undef(b, ft):
    if not ft.results:
        b.ret_void()
    else:
        b.ret(ir.Constant(ret_type(ft), ir.Undefined))


def zero_value(vt):
    t = LLTYPE[vt]
    if t is F32 or t is F64:
        return ir.Constant(t, 0.0)
    return ir.Constant(t, 0)
