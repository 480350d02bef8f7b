"""SIMD (v128, opcode prefix 0xFD) for the llvm backend (spec "Vector Instructions").

A v128 is an LLVM `i128` everywhere a value lives (operand stack, locals, phis, globals,
arguments, results); each instruction bitcasts it to the LLVM vector type of its shape
(<16 x i8> ... <2 x double>) and back. At the array boundaries (entry / host trampolines,
Python) a v128 takes two u64 slots, low half first (`slots`); the bits convention in Python
is an int in [0, 2**128), lane 0 in the low bits.

Where LLVM's operation differs from the spec the translation spells the spec out: shift
counts are masked by the lane width, min/max follow the NaN and -0 rules (not minnum),
pmin/pmax are selects, swizzle gives 0 for an index >= 16, narrow saturates,
trunc_sat uses llvm.fpto[su]i.sat, abs of INT_MIN stays INT_MIN.

`translate(ft, ins)` is called by FunctionTranslator.step for every opcode with the SIMD prefix.
"""

from __future__ import annotations

import ctypes

from llvmlite import ir

from wasmcore.syntax import opcodes as op
from wasmcore.syntax.types import ValueType

I1, I8, I16, I32, I64 = (ir.IntType(n) for n in (1, 8, 16, 32, 64))
I128 = ir.IntType(128)
F32, F64 = ir.FloatType(), ir.DoubleType()
M128 = (1 << 128) - 1

VEC = {"i8x16": ir.VectorType(I8, 16), "i16x8": ir.VectorType(I16, 8),
       "i32x4": ir.VectorType(I32, 4), "i64x2": ir.VectorType(I64, 2),
       "f32x4": ir.VectorType(F32, 4), "f64x2": ir.VectorType(F64, 2)}
_INT_OF = {"f32x4": "i32x4", "f64x2": "i64x2"}
_MANGLE = {I8: "i8", I16: "i16", I32: "i32", I64: "i64", F32: "f32", F64: "f64"}


def slots(types) -> list:
    """The u64 slot of each value in an args/results array (a v128 takes two)."""
    out, k = [], 0
    for vt in types:
        out.append(k)
        k += 2 if vt == ValueType.V128 else 1
    return out


def n_slots(types) -> int:
    return sum(2 if vt == ValueType.V128 else 1 for vt in types)


def _vname(t: ir.VectorType) -> str:
    return f"v{t.count}{_MANGLE[t.element]}"


def _vconst(t: ir.VectorType, values):
    return ir.Constant(t, [ir.Constant(t.element, v) for v in values])


def _splat_const(t: ir.VectorType, v):
    return _vconst(t, [v] * t.count)


def _mask(idx):
    return _vconst(ir.VectorType(I32, len(idx)), list(idx))


class _S:
    """The translation of one instruction: helpers over the FunctionTranslator `ft`."""

    def __init__(self, ft):
        self.ft = ft
        self.b = ft.b

    def is_const(self, v) -> bool:
        return isinstance(v, ir.Constant) or id(v) in self.ft.__dict__.get("_simd_consts", ())

    def mark_const(self, v):
        self.ft.__dict__.setdefault("_simd_consts", set()).add(id(v))
        self.ft.keep.append(v)  # keeps the id unique

    def hide_const(self, raw, v):
        """`v` (raw bitcast) through `opaque` if raw is a constant: LLVM folds x*1, x/1,
        x+-0, x-0 to x, keeping a signalling NaN signalling where wasm wants it quiet."""
        return self.ft.opaque(v) if self.is_const(raw) else v

    def vec(self, v, shape):
        return self.b.bitcast(v, VEC[shape])

    def v128(self, v):
        return self.b.bitcast(v, I128)

    def splat(self, x, t: ir.VectorType):
        b = self.b
        v = b.insert_element(ir.Constant(t, ir.Undefined), x, ir.Constant(I32, 0))
        return b.shuffle_vector(v, ir.Constant(t, ir.Undefined), _mask([0] * t.count))

    def intrinsic(self, name, ret, args):
        return self.ft.mt.intrinsic_typed(name, ir.FunctionType(ret, args))

    def call(self, name, ret, args):
        return self.b.call(self.intrinsic(name, ret, [a.type for a in args]), args)

    def mem(self, ins, nbytes):
        """Pop the address: the bounds-checked pointer (traps MEMORY_OUT_OF_BOUNDS)."""
        addr = self.ft.pop()
        return self.ft.effective(ins[3], addr, ins[2], nbytes)

    def load(self, p, t):
        v = self.b.load(p, typ=t, align=1)
        v.set_metadata("tbaa", self.ft.mt.tbaa_mem)
        return v

    def store(self, v, p):
        st = self.b.store(v, p, align=1)
        st.set_metadata("tbaa", self.ft.mt.tbaa_mem)


# --- handlers: fn(s, ins) pushing their result -------------------------------------------------
T: dict = {}


def _on(*names):
    def deco(fn):
        for n in names:
            T[n] = fn
        return fn
    return deco


def _shape(ins):
    return op.NAMES[ins[0]].split(".", 1)


def _half(shape):
    """The shape of lanes half as wide: i16x8 -> i8x16."""
    bits = int(shape[1:].split("x")[0]) // 2
    return f"i{bits}x{128 // bits}"


def _wide_type(t: ir.VectorType, count=None):
    return ir.VectorType(ir.IntType(t.element.width * 2), count or t.count)


@_on("v128.const")
def _const(s, ins):
    s.ft.push(ir.Constant(I128, ins[1] & M128))


@_on("v128.not")
def _not(s, ins):
    s.ft.push(s.b.xor(s.ft.pop(), ir.Constant(I128, M128)))


@_on("v128.and", "v128.or", "v128.xor", "v128.andnot")
def _bitwise(s, ins):
    b2, a = s.ft.pop(), s.ft.pop()
    name = op.NAMES[ins[0]][5:]
    if name == "andnot":
        s.ft.push(s.b.and_(a, s.b.xor(b2, ir.Constant(I128, M128))))
    else:
        s.ft.push(getattr(s.b, {"and": "and_", "or": "or_", "xor": "xor"}[name])(a, b2))


@_on("v128.bitselect")
def _bitselect(s, ins):
    c, b2, a = s.ft.pop(), s.ft.pop(), s.ft.pop()
    b = s.b
    s.ft.push(b.or_(b.and_(a, c), b.and_(b2, b.xor(c, ir.Constant(I128, M128)))))


@_on("v128.any_true")
def _any_true(s, ins):
    a = s.ft.pop()
    s.ft.push(s.b.zext(s.b.icmp_unsigned("!=", a, ir.Constant(I128, 0)), I32))


@_on("i8x16.all_true", "i16x8.all_true", "i32x4.all_true", "i64x2.all_true")
def _all_true(s, ins):
    shape, _ = _shape(ins)
    t = VEC[shape]
    b = s.b
    nz = b.icmp_unsigned("!=", s.vec(s.ft.pop(), shape), ir.Constant(t, None))
    bits = b.bitcast(nz, ir.IntType(t.count))
    s.ft.push(b.zext(b.icmp_unsigned("==", bits, ir.Constant(ir.IntType(t.count), -1)), I32))


@_on("i8x16.bitmask", "i16x8.bitmask", "i32x4.bitmask", "i64x2.bitmask")
def _bitmask(s, ins):
    shape, _ = _shape(ins)
    t = VEC[shape]
    b = s.b
    neg = b.icmp_signed("<", s.vec(s.ft.pop(), shape), ir.Constant(t, None))
    s.ft.push(b.zext(b.bitcast(neg, ir.IntType(t.count)), I32))


# splat / lanes
@_on("i8x16.splat", "i16x8.splat", "i32x4.splat", "i64x2.splat", "f32x4.splat", "f64x2.splat")
def _splat(s, ins):
    shape, _ = _shape(ins)
    t = VEC[shape]
    x = s.ft.pop()
    const = isinstance(x, ir.Constant)
    if x.type != t.element:
        x = s.b.trunc(x, t.element)
    r = s.v128(s.splat(x, t))
    if const:
        s.mark_const(r)
    s.ft.push(r)


@_on("i8x16.extract_lane_s", "i8x16.extract_lane_u", "i16x8.extract_lane_s",
     "i16x8.extract_lane_u", "i32x4.extract_lane", "i64x2.extract_lane", "f32x4.extract_lane",
     "f64x2.extract_lane")
def _extract(s, ins):
    shape, name = _shape(ins)
    x = s.b.extract_element(s.vec(s.ft.pop(), shape), ir.Constant(I32, ins[1]))
    if name.endswith("_s"):
        x = s.b.sext(x, I32)
    elif name.endswith("_u"):
        x = s.b.zext(x, I32)
    s.ft.push(x)


@_on("i8x16.replace_lane", "i16x8.replace_lane", "i32x4.replace_lane", "i64x2.replace_lane",
     "f32x4.replace_lane", "f64x2.replace_lane")
def _replace(s, ins):
    shape, _ = _shape(ins)
    t = VEC[shape]
    x, v = s.ft.pop(), s.ft.pop()
    if x.type != t.element:
        x = s.b.trunc(x, t.element)
    s.ft.push(s.v128(s.b.insert_element(s.vec(v, shape), x, ir.Constant(I32, ins[1]))))


@_on("i8x16.shuffle")
def _shuffle(s, ins):
    b2, a = s.ft.pop(), s.ft.pop()
    r = s.b.shuffle_vector(s.vec(a, "i8x16"), s.vec(b2, "i8x16"), _mask(ins[1]))
    s.ft.push(s.v128(r))


@_on("i8x16.swizzle")
def _swizzle(s, ins):
    idx, a = s.ft.pop(), s.ft.pop()
    b = s.b
    t = VEC["i8x16"]
    src, ix = s.vec(a, "i8x16"), s.vec(idx, "i8x16")
    clamped = b.and_(ix, _splat_const(t, 15))
    r = ir.Constant(t, ir.Undefined)
    for i in range(16):  # LLVM has no variable shuffle; lane by lane with dynamic indices
        k = b.extract_element(clamped, ir.Constant(I32, i))
        r = b.insert_element(r, b.extract_element(src, k), ir.Constant(I32, i))
    inside = b.icmp_unsigned("<", ix, _splat_const(t, 16))
    s.ft.push(s.v128(b.select(inside, r, ir.Constant(t, None))))


# integer arithmetic
_INT_BIN = {"add": "add", "sub": "sub", "mul": "mul"}


@_on(*[f"{sh}.{o}" for sh in ("i8x16", "i16x8", "i32x4", "i64x2") for o in ("add", "sub")],
     "i16x8.mul", "i32x4.mul", "i64x2.mul")
def _int_bin(s, ins):
    shape, name = _shape(ins)
    b2, a = s.ft.pop(), s.ft.pop()
    r = getattr(s.b, _INT_BIN[name])(s.vec(a, shape), s.vec(b2, shape))
    s.ft.push(s.v128(r))


@_on("i8x16.neg", "i16x8.neg", "i32x4.neg", "i64x2.neg")
def _neg(s, ins):
    shape, _ = _shape(ins)
    s.ft.push(s.v128(s.b.sub(ir.Constant(VEC[shape], None), s.vec(s.ft.pop(), shape))))


@_on("i8x16.abs", "i16x8.abs", "i32x4.abs", "i64x2.abs")
def _abs(s, ins):
    shape, _ = _shape(ins)
    t = VEC[shape]
    a = s.vec(s.ft.pop(), shape)
    # select, not llvm.abs: INT_MIN stays INT_MIN (wrapping negation)
    neg = s.b.icmp_signed("<", a, ir.Constant(t, None))
    s.ft.push(s.v128(s.b.select(neg, s.b.sub(ir.Constant(t, None), a), a)))


@_on("i8x16.popcnt")
def _popcnt(s, ins):
    a = s.vec(s.ft.pop(), "i8x16")
    s.ft.push(s.v128(s.call("llvm.ctpop.v16i8", a.type, [a])))


@_on(*[f"{sh}.{o}" for sh in ("i8x16", "i16x8", "i32x4", "i64x2")
       for o in ("shl", "shr_s", "shr_u")])
def _shift(s, ins):
    shape, name = _shape(ins)
    t = VEC[shape]
    k, a = s.ft.pop(), s.ft.pop()
    b = s.b
    w = t.element.width
    k = b.and_(k, ir.Constant(I32, w - 1))  # the count is taken modulo the lane width
    k = b.zext(k, t.element) if w > 32 else b.trunc(k, t.element) if w < 32 else k
    fn = {"shl": b.shl, "shr_s": b.ashr, "shr_u": b.lshr}[name]
    s.ft.push(s.v128(fn(s.vec(a, shape), s.splat(k, t))))


_ICMPS = {"eq": ("==", True), "ne": ("!=", True), "lt_s": ("<", True), "lt_u": ("<", False),
          "gt_s": (">", True), "gt_u": (">", False), "le_s": ("<=", True), "le_u": ("<=", False),
          "ge_s": (">=", True), "ge_u": (">=", False)}


@_on(*[f"{sh}.{c}" for sh in ("i8x16", "i16x8", "i32x4") for c in _ICMPS],
     *[f"i64x2.{c}" for c in ("eq", "ne", "lt_s", "gt_s", "le_s", "ge_s")])
def _icmp(s, ins):
    shape, name = _shape(ins)
    b2, a = s.ft.pop(), s.ft.pop()
    cmp, signed = _ICMPS[name]
    fn = s.b.icmp_signed if signed else s.b.icmp_unsigned
    c = fn(cmp, s.vec(a, shape), s.vec(b2, shape))
    s.ft.push(s.v128(s.b.sext(c, VEC[shape])))


@_on(*[f"{sh}.{o}" for sh in ("i8x16", "i16x8", "i32x4")
       for o in ("min_s", "min_u", "max_s", "max_u")])
def _int_minmax(s, ins):
    shape, name = _shape(ins)
    b2, a = s.ft.pop(), s.ft.pop()
    x, y = s.vec(a, shape), s.vec(b2, shape)
    fn = s.b.icmp_signed if name.endswith("_s") else s.b.icmp_unsigned
    c = fn("<" if name.startswith("min") else ">", x, y)
    s.ft.push(s.v128(s.b.select(c, x, y)))


@_on("i8x16.avgr_u", "i16x8.avgr_u")
def _avgr(s, ins):
    shape, _ = _shape(ins)
    t = VEC[shape]
    wt = _wide_type(t)
    b2, a = s.ft.pop(), s.ft.pop()
    b = s.b
    x, y = b.zext(s.vec(a, shape), wt), b.zext(s.vec(b2, shape), wt)
    r = b.lshr(b.add(b.add(x, y), _splat_const(wt, 1)), _splat_const(wt, 1))
    s.ft.push(s.v128(b.trunc(r, t)))


@_on(*[f"{sh}.{o}_sat_{u}" for sh in ("i8x16", "i16x8") for o in ("add", "sub") for u in "su"])
def _sat(s, ins):
    shape, name = _shape(ins)
    t = VEC[shape]
    b2, a = s.ft.pop(), s.ft.pop()
    o, _, u = name.split("_")
    r = s.call(f"llvm.{u}{o}.sat.{_vname(t)}", t, [s.vec(a, shape), s.vec(b2, shape)])
    s.ft.push(s.v128(r))


@_on("i16x8.q15mulr_sat_s")
def _q15(s, ins):
    b2, a = s.ft.pop(), s.ft.pop()
    b = s.b
    wt = ir.VectorType(I32, 8)
    p = b.mul(b.sext(s.vec(a, "i16x8"), wt), b.sext(s.vec(b2, "i16x8"), wt))
    r = b.ashr(b.add(p, _splat_const(wt, 0x4000)), _splat_const(wt, 15))
    # only -0x8000 * -0x8000 overflows: 0x8000 saturates to 0x7FFF
    r = b.select(b.icmp_signed(">", r, _splat_const(wt, 0x7FFF)), _splat_const(wt, 0x7FFF), r)
    s.ft.push(s.v128(b.trunc(r, VEC["i16x8"])))


@_on("i32x4.dot_i16x8_s")
def _dot(s, ins):
    b2, a = s.ft.pop(), s.ft.pop()
    b = s.b
    wt = ir.VectorType(I32, 8)
    p = b.mul(b.sext(s.vec(a, "i16x8"), wt), b.sext(s.vec(b2, "i16x8"), wt))
    even = b.shuffle_vector(p, p, _mask([0, 2, 4, 6]))
    odd = b.shuffle_vector(p, p, _mask([1, 3, 5, 7]))
    s.ft.push(s.v128(b.add(even, odd)))


def _half_lanes(s, v, shape, part):
    """The low or high half of the lanes of v (shape), as a vector of half the count."""
    t = VEC[shape]
    n = t.count // 2
    start = 0 if part == "low" else n
    return s.b.shuffle_vector(v, v, _mask(range(start, start + n)))


@_on(*[f"{sh}.extend_{p}_{src}_{u}" for sh, src in (("i16x8", "i8x16"), ("i32x4", "i16x8"),
                                                      ("i64x2", "i32x4"))
       for p in ("low", "high") for u in "su"])
def _extend(s, ins):
    shape, name = _shape(ins)
    _, part, src, u = name.split("_")
    h = _half_lanes(s, s.vec(s.ft.pop(), src), src, part)
    ext = s.b.sext if u == "s" else s.b.zext
    s.ft.push(s.v128(ext(h, VEC[shape])))


@_on(*[f"{sh}.extmul_{p}_{src}_{u}" for sh, src in (("i16x8", "i8x16"), ("i32x4", "i16x8"),
                                                      ("i64x2", "i32x4"))
       for p in ("low", "high") for u in "su"])
def _extmul(s, ins):
    shape, name = _shape(ins)
    _, part, src, u = name.split("_")
    b2, a = s.ft.pop(), s.ft.pop()
    ext = s.b.sext if u == "s" else s.b.zext
    x = ext(_half_lanes(s, s.vec(a, src), src, part), VEC[shape])
    y = ext(_half_lanes(s, s.vec(b2, src), src, part), VEC[shape])
    s.ft.push(s.v128(s.b.mul(x, y)))


@_on("i16x8.extadd_pairwise_i8x16_s", "i16x8.extadd_pairwise_i8x16_u",
     "i32x4.extadd_pairwise_i16x8_s", "i32x4.extadd_pairwise_i16x8_u")
def _extadd(s, ins):
    shape, name = _shape(ins)
    src, u = name.split("_")[2:]
    st = VEC[src]
    b = s.b
    ext = b.sext if u == "s" else b.zext
    w = ext(s.vec(s.ft.pop(), src), _wide_type(st))
    even = b.shuffle_vector(w, w, _mask(range(0, st.count, 2)))
    odd = b.shuffle_vector(w, w, _mask(range(1, st.count, 2)))
    s.ft.push(s.v128(b.add(even, odd)))


@_on("i8x16.narrow_i16x8_s", "i8x16.narrow_i16x8_u", "i16x8.narrow_i32x4_s",
     "i16x8.narrow_i32x4_u")
def _narrow(s, ins):
    shape, name = _shape(ins)
    src, u = name.split("_")[1:]
    t, st = VEC[shape], VEC[src]
    b2, a = s.ft.pop(), s.ft.pop()
    b = s.b
    both = b.shuffle_vector(s.vec(a, src), s.vec(b2, src), _mask(range(2 * st.count)))
    wt = both.type
    w = t.element.width
    lo, hi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if u == "s" else (0, (1 << w) - 1)
    lo_c, hi_c = _splat_const(wt, lo), _splat_const(wt, hi)
    # the source lanes are signed in both variants
    r = b.select(b.icmp_signed("<", both, lo_c), lo_c, both)
    r = b.select(b.icmp_signed(">", r, hi_c), hi_c, r)
    s.ft.push(s.v128(b.trunc(r, t)))


# floating point
@_on("f32x4.add", "f32x4.sub", "f32x4.mul", "f32x4.div", "f64x2.add", "f64x2.sub",
     "f64x2.mul", "f64x2.div")
def _fbin(s, ins):
    shape, name = _shape(ins)
    b2, a = s.ft.pop(), s.ft.pop()
    x, y = s.hide_const(a, s.vec(a, shape)), s.hide_const(b2, s.vec(b2, shape))
    s.ft.push(s.v128(getattr(s.b, "f" + name)(x, y)))


@_on("f32x4.abs", "f32x4.neg", "f64x2.abs", "f64x2.neg")
def _fsign(s, ins):
    # bit operations: the NaN payload is kept exactly
    shape, name = _shape(ins)
    w = VEC[shape].element is F32 and 32 or 64
    sign = sum(1 << (k + w - 1) for k in range(0, 128, w))
    a = s.ft.pop()
    if name == "abs":
        s.ft.push(s.b.and_(a, ir.Constant(I128, M128 ^ sign)))
    else:
        s.ft.push(s.b.xor(a, ir.Constant(I128, sign)))


_FUNARY = {"sqrt": "llvm.sqrt", "ceil": "llvm.ceil", "floor": "llvm.floor",
           "trunc": "llvm.trunc", "nearest": "llvm.roundeven"}


@_on(*[f"{sh}.{o}" for sh in ("f32x4", "f64x2") for o in _FUNARY])
def _funary(s, ins):
    shape, name = _shape(ins)
    t = VEC[shape]
    a = s.vec(s.ft.pop(), shape)
    s.ft.push(s.v128(s.call(f"{_FUNARY[name]}.{_vname(t)}", t, [a])))


@_on("f32x4.min", "f32x4.max", "f64x2.min", "f64x2.max")
def _fminmax(s, ins):
    shape, name = _shape(ins)
    b2, a = s.ft.pop(), s.ft.pop()
    b = s.b
    x, y = s.vec(a, shape), s.vec(b2, shape)
    is_min = name == "min"
    nan = b.fcmp_unordered("uno", x, y)
    lt = b.fcmp_ordered("<" if is_min else ">", x, y)
    eq = b.fcmp_ordered("==", x, y)
    # equal operands differ only for +-0: min takes the sign bit of either, max of both
    same = s.vec(b.or_(a, b2) if is_min else b.and_(a, b2), shape)
    r = b.select(lt, x, y)
    r = b.select(eq, same, r)
    r = b.select(nan, b.fadd(s.hide_const(a, x), s.hide_const(b2, y)), r)  # a quiet NaN
    s.ft.push(s.v128(r))


@_on("f32x4.pmin", "f32x4.pmax", "f64x2.pmin", "f64x2.pmax")
def _pminmax(s, ins):
    shape, name = _shape(ins)
    b2, a = s.ft.pop(), s.ft.pop()
    b = s.b
    x, y = s.vec(a, shape), s.vec(b2, shape)
    # pmin = b < a ? b : a; pmax = a < b ? b : a (operand bits, NaNs included)
    c = b.fcmp_ordered("<", y, x) if name == "pmin" else b.fcmp_ordered("<", x, y)
    s.ft.push(s.v128(b.select(c, y, x)))


_FCMPS = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">="}


@_on(*[f"{sh}.{c}" for sh in ("f32x4", "f64x2") for c in _FCMPS])
def _fcmp(s, ins):
    shape, name = _shape(ins)
    b2, a = s.ft.pop(), s.ft.pop()
    x, y = s.vec(a, shape), s.vec(b2, shape)
    cmp = _FCMPS[name]
    c = s.b.fcmp_unordered(cmp, x, y) if cmp == "!=" else s.b.fcmp_ordered(cmp, x, y)
    s.ft.push(s.v128(s.b.sext(c, VEC[_INT_OF[shape]])))


# conversions
@_on("i32x4.trunc_sat_f32x4_s", "i32x4.trunc_sat_f32x4_u")
def _trunc_sat_f32(s, ins):
    signed = op.NAMES[ins[0]].endswith("_s")
    a = s.vec(s.ft.pop(), "f32x4")
    name = f"llvm.fpto{'s' if signed else 'u'}i.sat.v4i32.v4f32"
    s.ft.push(s.v128(s.call(name, VEC["i32x4"], [a])))


@_on("i32x4.trunc_sat_f64x2_s_zero", "i32x4.trunc_sat_f64x2_u_zero")
def _trunc_sat_f64(s, ins):
    signed = op.NAMES[ins[0]].endswith("_s_zero")
    a = s.vec(s.ft.pop(), "f64x2")
    t2 = ir.VectorType(I32, 2)
    r = s.call(f"llvm.fpto{'s' if signed else 'u'}i.sat.v2i32.v2f64", t2, [a])
    s.ft.push(s.v128(s.b.shuffle_vector(r, ir.Constant(t2, None), _mask([0, 1, 2, 3]))))


@_on("f32x4.convert_i32x4_s", "f32x4.convert_i32x4_u")
def _convert_f32(s, ins):
    a = s.vec(s.ft.pop(), "i32x4")
    fn = s.b.sitofp if op.NAMES[ins[0]].endswith("_s") else s.b.uitofp
    s.ft.push(s.v128(fn(a, VEC["f32x4"])))


@_on("f64x2.convert_low_i32x4_s", "f64x2.convert_low_i32x4_u")
def _convert_low(s, ins):
    a = _half_lanes(s, s.vec(s.ft.pop(), "i32x4"), "i32x4", "low")
    fn = s.b.sitofp if op.NAMES[ins[0]].endswith("_s") else s.b.uitofp
    s.ft.push(s.v128(fn(a, VEC["f64x2"])))


@_on("f32x4.demote_f64x2_zero")
def _demote(s, ins):
    a = s.vec(s.ft.pop(), "f64x2")
    t2 = ir.VectorType(F32, 2)
    r = s.b.fptrunc(s.ft.opaque(a), t2)  # opaque: no folding of demote(promote(x)) to x
    s.ft.push(s.v128(s.b.shuffle_vector(r, ir.Constant(t2, None), _mask([0, 1, 2, 3]))))


@_on("f64x2.promote_low_f32x4")
def _promote(s, ins):
    a = _half_lanes(s, s.vec(s.ft.pop(), "f32x4"), "f32x4", "low")
    s.ft.push(s.v128(s.b.fpext(a, VEC["f64x2"])))


# memory
@_on("v128.load")
def _load(s, ins):
    s.ft.push(s.load(s.mem(ins, 16), I128))


@_on("v128.store")
def _store(s, ins):
    v = s.ft.pop()
    s.store(v, s.mem(ins, 16))


_EXT_LOADS = {"8x8": (I8, I16), "16x4": (I16, I32), "32x2": (I32, I64)}


@_on(*[f"v128.load{k}_{u}" for k in _EXT_LOADS for u in "su"])
def _load_extend(s, ins):
    name = op.NAMES[ins[0]][len("v128.load"):]
    src, dst = _EXT_LOADS[name[:-2]]
    n = 64 // src.width
    v = s.load(s.mem(ins, 8), ir.VectorType(src, n))
    ext = s.b.sext if name.endswith("_s") else s.b.zext
    s.ft.push(s.v128(ext(v, ir.VectorType(dst, n))))


_LANE_T = {"8": I8, "16": I16, "32": I32, "64": I64}


@_on("v128.load8_splat", "v128.load16_splat", "v128.load32_splat", "v128.load64_splat")
def _load_splat(s, ins):
    t = _LANE_T[op.NAMES[ins[0]][len("v128.load"):-len("_splat")]]
    x = s.load(s.mem(ins, t.width // 8), t)
    s.ft.push(s.v128(s.splat(x, ir.VectorType(t, 128 // t.width))))


@_on("v128.load32_zero", "v128.load64_zero")
def _load_zero(s, ins):
    t = _LANE_T[op.NAMES[ins[0]][len("v128.load"):-len("_zero")]]
    s.ft.push(s.b.zext(s.load(s.mem(ins, t.width // 8), t), I128))


@_on("v128.load8_lane", "v128.load16_lane", "v128.load32_lane", "v128.load64_lane")
def _load_lane(s, ins):
    t = _LANE_T[op.NAMES[ins[0]][len("v128.load"):-len("_lane")]]
    v = s.ft.pop()
    x = s.load(s.mem(ins, t.width // 8), t)
    vt = ir.VectorType(t, 128 // t.width)
    r = s.b.insert_element(s.b.bitcast(v, vt), x, ir.Constant(I32, ins[4]))
    s.ft.push(s.v128(r))


@_on("v128.store8_lane", "v128.store16_lane", "v128.store32_lane", "v128.store64_lane")
def _store_lane(s, ins):
    t = _LANE_T[op.NAMES[ins[0]][len("v128.store"):-len("_lane")]]
    v = s.ft.pop()
    vt = ir.VectorType(t, 128 // t.width)
    x = s.b.extract_element(s.b.bitcast(v, vt), ir.Constant(I32, ins[4]))
    s.store(x, s.mem(ins, t.width // 8))


def _build() -> dict:
    missing = [n for c, n in op.NAMES.items() if c >> 16 == op.SIMD_PREFIX and n not in T]
    if missing:  # pragma: no cover - guards the table against gaps
        raise AssertionError(f"llvm SIMD: no translation for {missing}")
    return {op.BY_NAME[n]: fn for n, fn in T.items()}


TRANSLATE = _build()


def translate(ft, ins) -> bool:
    """Translate SIMD instruction `ins`; False if it is not one this module knows."""
    handler = TRANSLATE.get(ins[0])
    if handler is None:
        return False
    handler(_S(ft), ins)
    return True


__all__ = ["translate", "slots", "n_slots", "I128", "V128Cell"]


class V128Cell(ctypes.Structure):
    """The native cell of a v128 global: two u64 halves, low first (8-aligned; the code
    accesses it with align 8)."""

    _fields_ = [("lo", ctypes.c_uint64), ("hi", ctypes.c_uint64)]

    @property
    def value(self) -> int:
        return self.lo | self.hi << 64

    @value.setter
    def value(self, v: int) -> None:
        self.lo = v & 0xFFFFFFFFFFFFFFFF
        self.hi = (v >> 64) & 0xFFFFFFFFFFFFFFFF
