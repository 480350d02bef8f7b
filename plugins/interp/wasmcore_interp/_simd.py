"""SIMD (v128, opcode prefix 0xFD) for the interp backend: the translation of each instruction
and the helpers the generated code calls (spec "Vector Instructions",
https://webassembly.github.io/spec/core/exec/instructions.html#vector-instructions).

A v128 is a Python int in [0, 2**128), lane 0 in the low bits, on the operand stack, in locals,
globals and at the boundary (no conversion needed). Each instruction is at most one helper
call (`_v_<shape>_<op>`) or an inline expression (bitwise ops, splat, lane access, loads).
Integer add/sub/neg/abs, shifts, comparisons, min/max, avgr and saturating arithmetic are SWAR
on the int; the rest goes through `int.to_bytes` and struct. f32 + - * / sqrt compute in double
and round once to single (array 'f'); the other f32 operations use the scalar helpers of
`wasmcore.exec.numerics` on raw u32 lane bits; moves, abs, neg and pmin/pmax never reinterpret
lanes, so NaN payloads survive. f64 lanes are Python floats (struct '<d' keeps every bit pattern).

`TRANSLATE` maps each SIMD opcode to its translation `(fc, ins) -> None` (`fc` the function
compiler); `translate` reports the opcodes it lacks.
"""

from __future__ import annotations

import operator
import struct
from array import array

from wasmcore.errors import WasmcoreError
from wasmcore.exec import numerics as N
from wasmcore.syntax import opcodes as op
from wasmcore_interp._stack import F32, F64, I32, I64, V128, val

M32 = N.M32
M64 = N.M64
M128 = (1 << 128) - 1
REP8 = int.from_bytes(b"\x01" * 16, "little")  # x * REP<w> splats a w-bit lane value
REP16 = int.from_bytes(b"\x01\x00" * 8, "little")
REP32 = int.from_bytes(b"\x01\x00\x00\x00" * 4, "little")
REP64 = 1 | 1 << 64
SIGN = {8: 0x80 * REP8, 16: 0x8000 * REP16, 32: 0x80000000 * REP32, 64: (1 << 63) * REP64}

_S = {fmt: struct.Struct("<" + fmt) for fmt in
      ("16b", "16B", "8h", "8H", "4i", "4I", "2q", "2Q", "4f", "2d", "8b", "8B", "4h", "4H",
       "2i", "2I")}
_SIGNED_FMT = {8: "16b", 16: "8h", 32: "4i", 64: "2q"}
_UNSIGNED_FMT = {8: "16B", 16: "8H", 32: "4I", 64: "2Q"}
_map = map
_fb = int.from_bytes


def _unpacker(fmt):
    unpack = _S[fmt].unpack

    def lanes(a: int):
        return unpack(a.to_bytes(16, "little"))
    return lanes


def _packer(fmt):
    pack = _S[fmt].pack

    def join(lanes) -> int:
        return _fb(pack(*lanes), "little")
    return join


H: dict[str, object] = {}  # "<shape>_<op>" -> function, bound as `_v_<shape>_<op>`


def _helper(name):
    def deco(fn):
        H[name] = fn
        return fn
    return deco


# --- integer lanes ------------------------------------------------------------------------------
def _make_int_helpers(bits: int) -> None:
    shape = f"i{bits}x{128 // bits}"
    hi = SIGN[bits]
    lo = M128 ^ hi
    lane_mask = (1 << bits) - 1
    rep = {8: REP8, 16: REP16, 32: REP32, 64: REP64}[bits]
    s_lanes, u_lanes = _unpacker(_SIGNED_FMT[bits]), _unpacker(_UNSIGNED_FMT[bits])
    s_join, u_join = _packer(_SIGNED_FMT[bits]), _packer(_UNSIGNED_FMT[bits])

    # SWAR on the 128-bit int: clearing the lane sign bits keeps carries and borrows inside
    # a lane; a flag in a lane's top bit becomes a whole-lane mask by `fill`.
    sh = bits - 1

    def fill(flags):
        return (flags >> sh) * lane_mask

    def add(a, b):
        return ((a & lo) + (b & lo)) ^ ((a ^ b) & hi)

    def sub(a, b):
        return ((a | hi) - (b & lo)) ^ ((a ^ b ^ hi) & hi)

    def neg(a):
        return ((hi - (a & lo)) ^ ((a ^ hi) & hi))

    def lt_u_mask(a, b):  # Hacker's Delight 2-12: x <u y from the difference's top bit
        d = ((a | hi) - (b & lo)) ^ ((a ^ b ^ hi) & hi)
        return fill(((~a & b) | (~(a ^ b) & d)) & hi)

    def ne_mask(a, b):
        x = a ^ b
        return fill((((x & lo) + lo) | x) & hi)

    def abs_(a):
        m = fill(a & hi)
        return sub(a ^ m, m)

    def shl(a, k):
        k &= sh
        return (a << k) & ((lane_mask << k) & lane_mask) * rep

    def shr_u(a, k):
        k &= sh
        return (a >> k) & (lane_mask >> k) * rep

    def shr_s(a, k):
        k &= sh
        keep = (lane_mask >> k) * rep
        return ((a >> k) & keep) | (fill(a & hi) & ~keep)

    H.update({f"{shape}_add": add, f"{shape}_sub": sub, f"{shape}_neg": neg,
              f"{shape}_abs": abs_, f"{shape}_shl": shl, f"{shape}_shr_s": shr_s,
              f"{shape}_shr_u": shr_u})

    def all_true(a):
        return not (ne_mask(a, 0) ^ M128)

    def bitmask(a):
        r = 0
        for i, x in enumerate(s_lanes(a)):
            if x < 0:
                r |= 1 << i
        return r
    H[f"{shape}_all_true"] = all_true
    H[f"{shape}_bitmask"] = bitmask

    # comparisons: all-ones lanes for true; signed ones compare with the sign bits flipped
    H.update({
        f"{shape}_eq": lambda a, b: M128 ^ ne_mask(a, b),
        f"{shape}_ne": ne_mask,
        f"{shape}_lt_u": lt_u_mask,
        f"{shape}_gt_u": lambda a, b: lt_u_mask(b, a),
        f"{shape}_le_u": lambda a, b: M128 ^ lt_u_mask(b, a),
        f"{shape}_ge_u": lambda a, b: M128 ^ lt_u_mask(a, b),
        f"{shape}_lt_s": lambda a, b: lt_u_mask(a ^ hi, b ^ hi),
        f"{shape}_gt_s": lambda a, b: lt_u_mask(b ^ hi, a ^ hi),
        f"{shape}_le_s": lambda a, b: M128 ^ lt_u_mask(b ^ hi, a ^ hi),
        f"{shape}_ge_s": lambda a, b: M128 ^ lt_u_mask(a ^ hi, b ^ hi),
        f"{shape}_min_u": lambda a, b: b ^ ((a ^ b) & lt_u_mask(a, b)),
        f"{shape}_max_u": lambda a, b: a ^ ((a ^ b) & lt_u_mask(a, b)),
        f"{shape}_min_s": lambda a, b: b ^ ((a ^ b) & lt_u_mask(a ^ hi, b ^ hi)),
        f"{shape}_max_s": lambda a, b: a ^ ((a ^ b) & lt_u_mask(a ^ hi, b ^ hi)),
        # (x + y + 1) >> 1 == (x | y) - ((x ^ y) >> 1), without the carry out of the lane
        f"{shape}_avgr_u": lambda a, b: sub(a | b, ((a ^ b) >> 1) & lo),
    })

    if bits == 32:  # unrolled: about twice as fast as going through struct
        def mul(a, b):
            return (((a & M32) * (b & M32) & M32)
                    | (((a >> 32 & M32) * (b >> 32 & M32) & M32) << 32)
                    | (((a >> 64 & M32) * (b >> 64 & M32) & M32) << 64)
                    | (((a >> 96) * (b >> 96) & M32) << 96))
    elif bits < 32:
        def mul(a, b):
            return u_join([(x * y) & lane_mask for x, y in zip(u_lanes(a), u_lanes(b))])
    else:
        def mul(a, b):
            x0, x1 = u_lanes(a)
            y0, y1 = u_lanes(b)
            return ((x0 * y0) & M64) | (((x1 * y1) & M64) << 64)
    H[f"{shape}_mul"] = mul

    # saturation: overflowing lanes (carry/borrow/signed overflow flags) take the bound
    def add_sat_u(a, b):
        r = add(a, b)
        return r | fill(((a & b) | ((a | b) & ~r)) & hi)

    def sub_sat_u(a, b):
        r = sub(a, b)
        return r & ~fill(((~a & b) | (~(a ^ b) & r)) & hi)

    def add_sat_s(a, b):
        r = add(a, b)
        over = fill(~(a ^ b) & (a ^ r) & hi)
        return (r & ~over) | ((fill(a & hi) ^ lo) & over)

    def sub_sat_s(a, b):
        r = sub(a, b)
        over = fill((a ^ b) & (a ^ r) & hi)
        return (r & ~over) | ((fill(a & hi) ^ lo) & over)
    H.update({f"{shape}_add_sat_s": add_sat_s, f"{shape}_add_sat_u": add_sat_u,
              f"{shape}_sub_sat_s": sub_sat_s, f"{shape}_sub_sat_u": sub_sat_u})

    if bits == 8:
        return
    # operations producing this shape from lanes of half the width
    half = bits // 2
    src = f"i{half}x{256 // bits}"
    n = 64 // bits * 2  # lanes of the result
    hs_lanes, hu_lanes = _unpacker(_SIGNED_FMT[half]), _unpacker(_UNSIGNED_FMT[half])
    for part, sl in (("low", slice(0, n)), ("high", slice(n, 2 * n))):
        def ext_s(a, sl=sl):
            return s_join(hs_lanes(a)[sl])

        def ext_u(a, sl=sl):
            return u_join(hu_lanes(a)[sl])

        def extmul_s(a, b, sl=sl):
            return s_join([x * y for x, y in zip(hs_lanes(a)[sl], hs_lanes(b)[sl])])

        def extmul_u(a, b, sl=sl):
            return u_join([x * y for x, y in zip(hu_lanes(a)[sl], hu_lanes(b)[sl])])
        H[f"{shape}_extend_{part}_{src}_s"] = ext_s
        H[f"{shape}_extend_{part}_{src}_u"] = ext_u
        H[f"{shape}_extmul_{part}_{src}_s"] = extmul_s
        H[f"{shape}_extmul_{part}_{src}_u"] = extmul_u

    if bits <= 32:
        def extadd_s(a):
            x = hs_lanes(a)
            return s_join([x[i] + x[i + 1] for i in range(0, 2 * n, 2)])

        def extadd_u(a):
            x = hu_lanes(a)
            return u_join([x[i] + x[i + 1] for i in range(0, 2 * n, 2)])
        H[f"{shape}_extadd_pairwise_{src}_s"] = extadd_s
        H[f"{shape}_extadd_pairwise_{src}_u"] = extadd_u

        # narrow: this shape's lanes of a then b, saturated into lanes of half the width
        hsmin, hsmax = -(1 << (half - 1)), (1 << (half - 1)) - 1
        hs_join, hu_join = _packer(_SIGNED_FMT[half]), _packer(_UNSIGNED_FMT[half])

        def narrow_s(a, b):
            return hs_join([min(max(x, hsmin), hsmax) for x in s_lanes(a) + s_lanes(b)])

        hu_max = (1 << half) - 1

        def narrow_u(a, b):
            return hu_join([min(max(x, 0), hu_max) for x in s_lanes(a) + s_lanes(b)])
        H[f"{src}_narrow_{shape}_s"] = narrow_s
        H[f"{src}_narrow_{shape}_u"] = narrow_u


for _bits in (8, 16, 32, 64):
    _make_int_helpers(_bits)

_s16 = _unpacker("8h")
_j16 = _packer("8h")
_j32u = _packer("4I")
_POPCNT = bytes(bin(i).count("1") for i in range(256))


@_helper("i8x16_popcnt")
def _popcnt(a):
    return _fb(a.to_bytes(16, "little").translate(_POPCNT), "little")


@_helper("i16x8_q15mulr_sat_s")
def _q15mulr(a, b):
    return _j16([min(max((x * y + 0x4000) >> 15, -0x8000), 0x7FFF)
                 for x, y in zip(_s16(a), _s16(b))])


@_helper("i32x4_dot_i16x8_s")
def _dot(a, b):
    x, y = _s16(a), _s16(b)
    return _j32u([(x[i] * y[i] + x[i + 1] * y[i + 1]) & M32 for i in range(0, 8, 2)])


@_helper("i8x16_swizzle")
def _swizzle(a, s):
    src = a.to_bytes(16, "little")
    return _fb(bytes([src[i] if i < 16 else 0 for i in s.to_bytes(16, "little")]), "little")


@_helper("i8x16_shuffle")
def _shuffle(a, b, lanes):
    src = a.to_bytes(16, "little") + b.to_bytes(16, "little")
    return _fb(bytes([src[i] for i in lanes]), "little")


@_helper("v128_bitselect")
def _bitselect(a, b, c):
    return (a & c) | (b & ~c & M128)


# --- f32 lanes (raw bits) -------------------------------------------------------------------------
_u32 = _unpacker("4I")
_f32 = _unpacker("4f")  # as doubles: exact, though a signalling NaN comes back quiet
_j32s = _packer("4i")


def _f32_binary(fn):
    def helper(a, b):
        return _j32u(_map(fn, _u32(a), _u32(b)))
    return helper


def _f32_unary(fn):
    def helper(a):
        return _j32u(_map(fn, _u32(a)))
    return helper


def _f32_join(values) -> int:
    """Doubles -> f32 lanes, each rounded once to nearest (overflow gives infinity, where
    struct '<f' would raise)."""
    return _fb(array("f", values).tobytes(), "little")


def _f32_exact(fn):
    # + - * / sqrt are exact in double before the one rounding to single (double has more
    # than 2 * 24 + 2 significand bits); a NaN operand stays a (quiet) NaN
    if fn is N.fsqrt:
        return lambda a: _f32_join(_map(fn, _f32(a)))
    return lambda a, b: _f32_join(_map(fn, _f32(a), _f32(b)))


for _name, _fn in (("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("div", N.fdiv), ("sqrt", N.fsqrt)):
    H[f"f32x4_{_name}"] = _f32_exact(_fn)
for _name in ("min", "max"):
    H[f"f32x4_{_name}"] = _f32_binary(getattr(N, f"f32_{_name}"))
for _name in ("ceil", "floor", "trunc", "nearest"):
    H[f"f32x4_{_name}"] = _f32_unary(getattr(N, f"f32_{_name}"))
for _name, _fn in (("eq", operator.eq), ("ne", operator.ne), ("lt", operator.lt),
                   ("gt", operator.gt), ("le", operator.le), ("ge", operator.ge)):
    H[f"f32x4_{_name}"] = (lambda fn: lambda a, b: _j32s([-fn(x, y) for x, y in
                                                           zip(_f32(a), _f32(b))]))(_fn)


@_helper("f32x4_pmin")
def _f32_pmin(a, b):
    # pmin(x, y) = y < x ? y : x, choosing the operand's bits
    return _j32u([y if fy < fx else x for x, y, fx, fy in zip(_u32(a), _u32(b), _f32(a), _f32(b))])


@_helper("f32x4_pmax")
def _f32_pmax(a, b):
    return _j32u([y if fx < fy else x for x, y, fx, fy in zip(_u32(a), _u32(b), _f32(a), _f32(b))])


@_helper("i32x4_trunc_sat_f32x4_s")
def _trunc_sat_f32_s(a):
    return _j32u(_map(N.trunc_sat_i32_s, _f32(a)))


@_helper("i32x4_trunc_sat_f32x4_u")
def _trunc_sat_f32_u(a):
    return _j32u(_map(N.trunc_sat_i32_u, _f32(a)))


@_helper("f32x4_convert_i32x4_s")
def _convert_f32_s(a):
    return _j32u(_map(N.f32_convert_i32_s, _u32(a)))


@_helper("f32x4_convert_i32x4_u")
def _convert_f32_u(a):
    return _j32u(_map(N.f32_convert_i32_u, _u32(a)))


# --- f64 lanes (Python floats) --------------------------------------------------------------------
_f64 = _unpacker("2d")
_j64f = _packer("2d")
_u64 = _unpacker("2Q")
_j64s = _packer("2q")
_s32 = _unpacker("4i")


def _f64_binary(fn):
    def helper(a, b):
        return _j64f(_map(fn, _f64(a), _f64(b)))
    return helper


def _f64_unary(fn):
    def helper(a):
        return _j64f(_map(fn, _f64(a)))
    return helper


for _name, _fn in (("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("div", N.fdiv), ("min", N.fmin), ("max", N.fmax)):
    H[f"f64x2_{_name}"] = _f64_binary(_fn)
for _name, _fn in (("sqrt", N.fsqrt), ("ceil", N.fceil), ("floor", N.ffloor),
                   ("trunc", N.ftrunc), ("nearest", N.fnearest)):
    H[f"f64x2_{_name}"] = _f64_unary(_fn)
for _name, _fn in (("eq", operator.eq), ("ne", operator.ne), ("lt", operator.lt),
                   ("gt", operator.gt), ("le", operator.le), ("ge", operator.ge)):
    H[f"f64x2_{_name}"] = (lambda fn: lambda a, b: _j64s([-fn(x, y) for x, y in
                                                           zip(_f64(a), _f64(b))]))(_fn)


@_helper("f64x2_pmin")
def _f64_pmin(a, b):
    (x0, x1), (y0, y1), (f0, f1), (g0, g1) = _u64(a), _u64(b), _f64(a), _f64(b)
    return (y0 if g0 < f0 else x0) | (y1 if g1 < f1 else x1) << 64


@_helper("f64x2_pmax")
def _f64_pmax(a, b):
    (x0, x1), (y0, y1), (f0, f1), (g0, g1) = _u64(a), _u64(b), _f64(a), _f64(b)
    return (y0 if f0 < g0 else x0) | (y1 if f1 < g1 else x1) << 64


@_helper("i32x4_trunc_sat_f64x2_s_zero")
def _trunc_sat_f64_s(a):
    x0, x1 = _f64(a)
    return N.trunc_sat_i32_s(x0) | N.trunc_sat_i32_s(x1) << 32


@_helper("i32x4_trunc_sat_f64x2_u_zero")
def _trunc_sat_f64_u(a):
    x0, x1 = _f64(a)
    return N.trunc_sat_i32_u(x0) | N.trunc_sat_i32_u(x1) << 32


@_helper("f64x2_convert_low_i32x4_s")
def _convert_low_s(a):
    x = _s32(a)
    return _j64f((float(x[0]), float(x[1])))


@_helper("f64x2_convert_low_i32x4_u")
def _convert_low_u(a):
    return _j64f((float(a & M32), float((a >> 32) & M32)))


@_helper("f32x4_demote_f64x2_zero")
def _demote(a):
    x0, x1 = _f64(a)
    return N.f64_to_f32(x0) | N.f64_to_f32(x1) << 32


@_helper("f64x2_promote_low_f32x4")
def _promote(a):
    return _j64f((N.f32_to_f64(a & M32), N.f32_to_f64((a >> 32) & M32)))


# --- memory ---------------------------------------------------------------------------------------
@_helper("v128_load")
def _load(m, ea):
    return _fb(m[ea:ea + 16], "little")


@_helper("v128_store")
def _store(m, ea, v):
    m[ea:ea + 16] = v.to_bytes(16, "little")


def _load_extend(src_fmt, dst_fmt):
    unpack_from = _S[src_fmt].unpack_from
    join = _packer(dst_fmt)

    def helper(m, ea):
        return join(unpack_from(m, ea))
    return helper


for _name, (_src, _dst) in {"8x8_s": ("8b", "8h"), "8x8_u": ("8B", "8H"),
                            "16x4_s": ("4h", "4i"), "16x4_u": ("4H", "4I"),
                            "32x2_s": ("2i", "2q"), "32x2_u": ("2I", "2Q")}.items():
    H[f"v128_load{_name}"] = _load_extend(_src, _dst)


# only instructions' helpers (the lane-shape factories also make e.g. an unused i8x16_mul)
HELPERS = {f"_v_{name}": fn for name, fn in H.items() if name.replace("_", ".", 1) in op.BY_NAME}


# --- translation ----------------------------------------------------------------------------------
def _call1(name, vt=V128, cond=False):
    def handler(fc, ins):
        a = fc.pop()
        fc.push(fc.new(f"_v_{name}({val(a)})", vt, a, cond=cond))
    return handler


def _call2(name):
    def handler(fc, ins):
        b = fc.pop()
        a = fc.pop()
        fc.push(fc.new(f"_v_{name}({val(a)}, {val(b)})", V128, a, b))
    return handler


def _inline1(fmt, vt=V128, cond=False):
    def handler(fc, ins):
        a = fc.pop()
        fc.push(fc.new(fmt.format(a=val(a)), vt, a, cond=cond))
    return handler


def _inline2(fmt):
    def handler(fc, ins):
        b = fc.pop()
        a = fc.pop()
        fc.push(fc.new(fmt.format(a=val(a), b=val(b)), V128, a, b))
    return handler


def _op_const(fc, ins):
    v = ins[1]
    fc.stack.append(fc.const(hex(v), V128, v))


def _op_shuffle(fc, ins):
    b = fc.pop()
    a = fc.pop()
    lanes = tuple(ins[1])
    fc.push(fc.new(f"_v_i8x16_shuffle({val(a)}, {val(b)}, {lanes!r})", V128, a, b))


def _op_bitselect(fc, ins):
    c = fc.pop()
    b = fc.pop()
    a = fc.pop()
    fc.push(fc.new(f"_v_v128_bitselect({val(a)}, {val(b)}, {val(c)})", V128, a, b, c))


def _splat(bits):
    rep = {8: REP8, 16: REP16, 32: REP32, 64: REP64}[bits]
    mask = (1 << bits) - 1

    def handler(fc, ins):
        a = fc.pop()
        if a.const is not None:  # f32 constants are bits too
            v = (a.const & mask) * rep
            fc.stack.append(fc.const(hex(v), V128, v))
            return
        fc.push(fc.new(f"(({val(a)} & {mask:#x}) * {rep:#x})", V128, a))
    return handler


def _op_f64_splat(fc, ins):
    a = fc.pop()
    if a.const is not None:  # the constant's bits
        v = a.const * REP64
        fc.stack.append(fc.const(hex(v), V128, v))
        return
    fc.push(fc.new(f"(_d2q({val(a)}) * {REP64:#x})", V128, a))


def _extract(bits, vt, signed=False):
    mask = (1 << bits) - 1
    sign = 1 << (bits - 1)
    f64 = vt == F64

    def handler(fc, ins):
        a = fc.pop()
        shift = ins[1] * bits
        code = f"(({val(a)} >> {shift}) & {mask:#x})" if shift else f"({val(a)} & {mask:#x})"
        if signed:
            code = f"((({code} ^ {sign:#x}) - {sign:#x}) & {M32:#x})"
        if f64:
            code = f"_q2d({code})"
        fc.push(fc.new(code, vt, a))
    return handler


def _replace(bits, f64=False):
    mask = (1 << bits) - 1

    def handler(fc, ins):
        x = fc.pop()
        a = fc.pop()
        shift = ins[1] * bits
        keep = M128 ^ (mask << shift)
        lane = f"_d2q({val(x)})" if f64 else f"({val(x)} & {mask:#x})"
        if shift:
            lane = f"({lane} << {shift})"
        fc.push(fc.new(f"(({val(a)} & {keep:#x}) | {lane})", V128, a, x))
    return handler


def _mem_access(fc, ins, width):
    """Pop the address; (effective address code, bounds test code) for memory ins[3]."""
    a = fc.pop()
    ea, test = fc.address(a, ins[2], width)
    return a, ea, test.replace("{m}", str(ins[3]))


def _load_op(width, expr):
    """A load: `expr` formats the loaded v128 from {m} (the memory's data) and {ea}."""
    def handler(fc, ins):
        a, ea, test = _mem_access(fc, ins, width)
        code = expr.format(m=f"m{ins[3]}", ea=ea)
        fc.push(fc.new(f"({code} if {test} else _oob())", V128, a, impure=True))
    return handler


def _op_store(fc, ins):
    v = fc.pop()
    if v.fx:
        fc.stack.append(v)
        fc.materialize(len(fc.stack) - 1)
        v = fc.pop()
    fc.flush_impure(1)
    fc.atomize_top()
    a, ea, test = _mem_access(fc, ins, 16)
    fc.emit(f"_v_v128_store(m{ins[3]}, {ea}, {val(v)}) if {test} else _oob()")


_LANE_LOAD = {1: "m{m}[{ea}]", 2: "_LH(m{m}, {ea})[0]", 4: "_LI(m{m}, {ea})[0]",
              8: "_LQ(m{m}, {ea})[0]"}


def _load_lane(width):
    bits = width * 8
    mask = (1 << bits) - 1

    def handler(fc, ins):
        # the vector operand is evaluated before the access: keep it a name
        fc.atomize_top()
        v = fc.pop()
        a, ea, test = _mem_access(fc, ins, width)
        shift = ins[4] * bits
        keep = M128 ^ (mask << shift)
        loaded = _LANE_LOAD[width].format(m=ins[3], ea=ea)
        lane = f"({loaded} << {shift})" if shift else loaded
        fc.push(fc.new(f"((({val(v)} & {keep:#x}) | {lane}) if {test} else _oob())", V128, a, v,
                       impure=True))
    return handler


def _store_lane(width):
    bits = width * 8
    mask = (1 << bits) - 1
    # the scalar store of the compiler, fed with the lane as an integer
    vt, fmt = {1: (I32, "8"), 2: (I32, "16"), 4: (I32, "I"), 8: (I64, "Q")}[width]

    def handler(fc, ins):
        v = fc.pop()
        shift = ins[4] * bits
        code = f"(({val(v)} >> {shift}) & {mask:#x})" if shift else f"({val(v)} & {mask:#x})"
        fc.push(fc.new(code, vt, v))
        fc.store(ins, vt, width, fmt)
    return handler


def _build() -> dict:
    t = {
        "v128.const": _op_const,
        "i8x16.shuffle": _op_shuffle,
        "i8x16.swizzle": _call2("i8x16_swizzle"),
        "i8x16.splat": _splat(8), "i16x8.splat": _splat(16), "i32x4.splat": _splat(32),
        "i64x2.splat": _splat(64), "f32x4.splat": _splat(32), "f64x2.splat": _op_f64_splat,
        "i8x16.extract_lane_s": _extract(8, I32, True), "i8x16.extract_lane_u": _extract(8, I32),
        "i16x8.extract_lane_s": _extract(16, I32, True),
        "i16x8.extract_lane_u": _extract(16, I32),
        "i32x4.extract_lane": _extract(32, I32), "i64x2.extract_lane": _extract(64, I64),
        "f32x4.extract_lane": _extract(32, F32), "f64x2.extract_lane": _extract(64, F64),
        "i8x16.replace_lane": _replace(8), "i16x8.replace_lane": _replace(16),
        "i32x4.replace_lane": _replace(32), "i64x2.replace_lane": _replace(64),
        "f32x4.replace_lane": _replace(32), "f64x2.replace_lane": _replace(64, f64=True),
        "v128.not": _inline1(f"({{a}} ^ {M128:#x})"),
        "v128.and": _inline2("({a} & {b})"),
        "v128.andnot": _inline2(f"({{a}} & ({{b}} ^ {M128:#x}))"),
        "v128.or": _inline2("({a} | {b})"),
        "v128.xor": _inline2("({a} ^ {b})"),
        "v128.bitselect": _op_bitselect,
        "v128.any_true": _inline1("({a} != 0)", I32, cond=True),
        "f32x4.abs": _inline1(f"({{a}} & {M128 ^ SIGN[32]:#x})"),
        "f32x4.neg": _inline1(f"({{a}} ^ {SIGN[32]:#x})"),
        "f64x2.abs": _inline1(f"({{a}} & {M128 ^ SIGN[64]:#x})"),
        "f64x2.neg": _inline1(f"({{a}} ^ {SIGN[64]:#x})"),
        "v128.load": _load_op(16, "_v_v128_load({m}, {ea})"),
        "v128.load8_splat": _load_op(1, f"({{m}}[{{ea}}] * {REP8:#x})"),
        "v128.load16_splat": _load_op(2, f"(_LH({{m}}, {{ea}})[0] * {REP16:#x})"),
        "v128.load32_splat": _load_op(4, f"(_LI({{m}}, {{ea}})[0] * {REP32:#x})"),
        "v128.load64_splat": _load_op(8, f"(_LQ({{m}}, {{ea}})[0] * {REP64:#x})"),
        "v128.load32_zero": _load_op(4, "_LI({m}, {ea})[0]"),
        "v128.load64_zero": _load_op(8, "_LQ({m}, {ea})[0]"),
        "v128.store": _op_store,
    }
    for name in ("8x8_s", "8x8_u", "16x4_s", "16x4_u", "32x2_s", "32x2_u"):
        t[f"v128.load{name}"] = _load_op(8, f"_v_v128_load{name}({{m}}, {{ea}})")
    for width in (1, 2, 4, 8):
        t[f"v128.load{width * 8}_lane"] = _load_lane(width)
        t[f"v128.store{width * 8}_lane"] = _store_lane(width)
    for name, fn in H.items():
        text = name.replace("_", ".", 1)
        if text in t or text not in op.BY_NAME or text.startswith("v128.load"):
            continue
        if text.endswith(("_shl", ".shl", "shr_s", "shr_u")):
            t[text] = _call2(name)  # (v128, i32)
        elif text.endswith("all_true"):
            t[text] = _call1(name, I32, cond=True)
        elif text.endswith("bitmask"):
            t[text] = _call1(name, I32)
        elif fn.__code__.co_argcount - len(fn.__defaults__ or ()) == 1:
            t[text] = _call1(name)
        else:
            t[text] = _call2(name)
    missing = [name for code, name in op.NAMES.items()
               if code >> 16 == op.SIMD_PREFIX and name not in t]
    if missing:  # pragma: no cover - guards the table against gaps
        raise AssertionError(f"interp SIMD: no translation for {missing}")
    return {op.BY_NAME[name]: fn for name, fn in t.items()}


TRANSLATE = _build()


def translate(fc, ins) -> None:
    handler = TRANSLATE.get(ins[0])
    if handler is None:
        raise WasmcoreError(f"interp: opcode {op.NAMES.get(ins[0], hex(ins[0]))} is not supported")
    handler(fc, ins)
