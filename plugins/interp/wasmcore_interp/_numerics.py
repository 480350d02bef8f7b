"""Numeric helpers of the interp backend (spec "Numerics",
https://webassembly.github.io/spec/core/exec/numerics.html).

Representation inside generated code: i32/i64 are unsigned Python ints, f64 is a Python float,
f32 is its raw IEEE bit pattern (an unsigned int) so NaN payloads, signalling ones included,
survive loads, stores, locals and the bit operations (abs/neg/copysign/reinterpret). f32
arithmetic unpacks to a double, computes (exactly rounded in double for + - * / sqrt, so one more
rounding to single is correct) and rounds back to single through a C float.
"""

from __future__ import annotations

import math
import struct
from array import array

from wasmcore.errors import Trap, TrapCode

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF
NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000000))[0]
INF = math.inf
F32_CANON = 0x7FC00000

_copysign = math.copysign
_isinf = math.isinf
_floor = math.floor
_ceil = math.ceil
_sqrt = math.sqrt

# --- f32 <-> float --------------------------------------------------------------------------
_fbuf = array("f", [0.0])
_ibuf = memoryview(_fbuf).cast("B").cast("I")


def f32v(bits: int) -> float:
    """f32 bits -> the float value (a signalling NaN comes back quiet)."""
    _ibuf[0] = bits
    return _fbuf[0]


def f32b(x: float) -> int:
    """float -> f32 bits, rounding to nearest-even (overflow gives infinity)."""
    _fbuf[0] = x
    return _ibuf[0]


_D = struct.Struct("<d")
_Q = struct.Struct("<Q")
_dpack = _D.pack
_dunpack = _D.unpack
_qpack = _Q.pack
_qunpack = _Q.unpack


def d2q(x: float) -> int:
    return _qunpack(_dpack(x))[0]


def q2d(bits: int) -> float:
    return _dunpack(_qpack(bits))[0]


def f32_to_f64(bits: int) -> float:  # f64.promote_f32
    _ibuf[0] = bits
    return _fbuf[0]


f64_to_f32 = f32b  # f32.demote_f64


# --- traps ----------------------------------------------------------------------------------
def trap_div0():
    raise Trap(TrapCode.INTEGER_DIVISION_BY_ZERO)


def trap_overflow():
    raise Trap(TrapCode.INTEGER_OVERFLOW)


def trap_conversion():
    raise Trap(TrapCode.BAD_CONVERSION_TO_INTEGER)


# --- integer ---------------------------------------------------------------------------------
def div_s32(a: int, b: int) -> int:
    if not b:
        raise Trap(TrapCode.INTEGER_DIVISION_BY_ZERO)
    a = a - ((a & 0x80000000) << 1)
    b = b - ((b & 0x80000000) << 1)
    if a == -0x80000000 and b == -1:
        raise Trap(TrapCode.INTEGER_OVERFLOW)
    q = abs(a) // abs(b)
    return (-q if (a < 0) != (b < 0) else q) & M32


def div_u32(a: int, b: int) -> int:
    if not b:
        raise Trap(TrapCode.INTEGER_DIVISION_BY_ZERO)
    return a // b


def rem_s32(a: int, b: int) -> int:
    if not b:
        raise Trap(TrapCode.INTEGER_DIVISION_BY_ZERO)
    a = a - ((a & 0x80000000) << 1)
    b = b - ((b & 0x80000000) << 1)
    r = abs(a) % abs(b)
    return (-r if a < 0 else r) & M32


def rem_u32(a: int, b: int) -> int:
    if not b:
        raise Trap(TrapCode.INTEGER_DIVISION_BY_ZERO)
    return a % b


def div_s64(a: int, b: int) -> int:
    if not b:
        raise Trap(TrapCode.INTEGER_DIVISION_BY_ZERO)
    a = a - ((a & 0x8000000000000000) << 1)
    b = b - ((b & 0x8000000000000000) << 1)
    if a == -0x8000000000000000 and b == -1:
        raise Trap(TrapCode.INTEGER_OVERFLOW)
    q = abs(a) // abs(b)
    return (-q if (a < 0) != (b < 0) else q) & M64


def div_u64(a: int, b: int) -> int:
    if not b:
        raise Trap(TrapCode.INTEGER_DIVISION_BY_ZERO)
    return a // b


def rem_s64(a: int, b: int) -> int:
    if not b:
        raise Trap(TrapCode.INTEGER_DIVISION_BY_ZERO)
    a = a - ((a & 0x8000000000000000) << 1)
    b = b - ((b & 0x8000000000000000) << 1)
    r = abs(a) % abs(b)
    return (-r if a < 0 else r) & M64


def rem_u64(a: int, b: int) -> int:
    if not b:
        raise Trap(TrapCode.INTEGER_DIVISION_BY_ZERO)
    return a % b


def ctz32(a: int) -> int:
    return (a & -a).bit_length() - 1 if a else 32


def ctz64(a: int) -> int:
    return (a & -a).bit_length() - 1 if a else 64


def rotl32(a: int, k: int) -> int:
    k &= 31
    return ((a << k) | (a >> (32 - k))) & M32


def rotr32(a: int, k: int) -> int:
    k &= 31
    return ((a >> k) | (a << (32 - k))) & M32


def rotl64(a: int, k: int) -> int:
    k &= 63
    return ((a << k) | (a >> (64 - k))) & M64


def rotr64(a: int, k: int) -> int:
    k &= 63
    return ((a >> k) | (a << (64 - k))) & M64


# --- f64 -------------------------------------------------------------------------------------
def fdiv(a: float, b: float) -> float:
    if b:
        return a / b
    return fdiv0(a, b)


def fdiv0(a: float, b: float) -> float:
    """a / b for b == ±0 (IEEE: ±inf, or NaN for 0/0 and NaN/0)."""
    if a != a or not a:
        return NAN
    return _copysign(INF, a) * _copysign(1.0, b)


def fsqrt(a: float) -> float:
    if a >= 0.0:
        return _sqrt(a)
    return NAN  # negative or NaN


def fmin(a: float, b: float) -> float:
    if a < b:
        return a
    if b < a:
        return b
    if a == b:  # equal, or +0/-0: prefer the negative zero
        return a if _copysign(1.0, a) < 0.0 else b
    return NAN


def fmax(a: float, b: float) -> float:
    if a > b:
        return a
    if b > a:
        return b
    if a == b:
        return a if _copysign(1.0, a) > 0.0 else b
    return NAN


def fceil(a: float) -> float:
    if a != a:
        return NAN
    if _isinf(a):
        return a
    return _copysign(float(_ceil(a)), a)


def ffloor(a: float) -> float:
    if a != a:
        return NAN
    if _isinf(a):
        return a
    return _copysign(float(_floor(a)), a)


def ftrunc(a: float) -> float:
    if a != a:
        return NAN
    if _isinf(a):
        return a
    return _copysign(float(int(a)), a)


def fnearest(a: float) -> float:
    if a != a:
        return NAN
    if _isinf(a) or abs(a) >= 4503599627370496.0:
        return a
    return _copysign(float(round(a)), a)


# --- f32 (bits in, bits out) -----------------------------------------------------------------
def _f32_nan(*operands: int) -> int:
    return F32_CANON


def f32_add(a: int, b: int) -> int:
    _ibuf[0] = a
    x = _fbuf[0]
    _ibuf[0] = b
    _fbuf[0] = x + _fbuf[0]
    return _ibuf[0]


def f32_sub(a: int, b: int) -> int:
    _ibuf[0] = a
    x = _fbuf[0]
    _ibuf[0] = b
    _fbuf[0] = x - _fbuf[0]
    return _ibuf[0]


def f32_mul(a: int, b: int) -> int:
    _ibuf[0] = a
    x = _fbuf[0]
    _ibuf[0] = b
    _fbuf[0] = x * _fbuf[0]
    return _ibuf[0]


def f32_div(a: int, b: int) -> int:
    _ibuf[0] = a
    x = _fbuf[0]
    _ibuf[0] = b
    y = _fbuf[0]
    _fbuf[0] = x / y if y else fdiv0(x, y)
    return _ibuf[0]


def f32_sqrt(a: int) -> int:
    return f32b(fsqrt(f32v(a)))


def f32_min(a: int, b: int) -> int:
    x, y = f32v(a), f32v(b)
    if x != x or y != y:
        return F32_CANON
    return f32b(fmin(x, y))


def f32_max(a: int, b: int) -> int:
    x, y = f32v(a), f32v(b)
    if x != x or y != y:
        return F32_CANON
    return f32b(fmax(x, y))


def f32_ceil(a: int) -> int:
    x = f32v(a)
    return F32_CANON if x != x else f32b(fceil(x))


def f32_floor(a: int) -> int:
    x = f32v(a)
    return F32_CANON if x != x else f32b(ffloor(x))


def f32_trunc(a: int) -> int:
    x = f32v(a)
    return F32_CANON if x != x else f32b(ftrunc(x))


def f32_nearest(a: int) -> int:
    x = f32v(a)
    return F32_CANON if x != x else f32b(fnearest(x))


def _round_int_to_f32(n: int) -> int:
    """An integer to f32 bits with a single round-to-nearest-even (no double rounding)."""
    if -(1 << 53) <= n <= (1 << 53):
        return f32b(float(n))
    sign = n < 0
    m = -n if sign else n
    shift = m.bit_length() - 24
    q = m >> shift
    rest = m & ((1 << shift) - 1)
    half = 1 << (shift - 1)
    if rest > half or (rest == half and q & 1):
        q += 1
    value = float(q << shift)  # exact: q has at most 25 significant bits
    return f32b(-value if sign else value)


def f32_convert_i64_s(a: int) -> int:
    return _round_int_to_f32(a - ((a & 0x8000000000000000) << 1))


def f32_convert_i64_u(a: int) -> int:
    return _round_int_to_f32(a)


def f32_convert_i32_s(a: int) -> int:
    return f32b(float(a - ((a & 0x80000000) << 1)))


def f32_convert_i32_u(a: int) -> int:
    return f32b(float(a))


# --- float -> int ----------------------------------------------------------------------------
def _trunc_check(x: float, lo: float, hi: float) -> int:
    if x != x:
        raise Trap(TrapCode.BAD_CONVERSION_TO_INTEGER)
    if not lo < x < hi:
        raise Trap(TrapCode.INTEGER_OVERFLOW)
    return int(x)


def trunc_i32_s(x: float) -> int:
    return _trunc_check(x, -2147483649.0, 2147483648.0) & M32


def trunc_i32_u(x: float) -> int:
    return _trunc_check(x, -1.0, 4294967296.0)


def trunc_i64_s(x: float) -> int:
    if x != x:
        raise Trap(TrapCode.BAD_CONVERSION_TO_INTEGER)
    if not -9223372036854775808.0 <= x < 9223372036854775808.0:
        raise Trap(TrapCode.INTEGER_OVERFLOW)
    return int(x) & M64


def trunc_i64_u(x: float) -> int:
    return _trunc_check(x, -1.0, 18446744073709551616.0)


def _sat(x: float, lo: int, hi: int) -> int:
    if x != x:
        return 0
    if x <= lo:
        return lo
    if x >= hi:
        return hi
    return int(x)


def trunc_sat_i32_s(x: float) -> int:
    return _sat(x, -0x80000000, 0x7FFFFFFF) & M32


def trunc_sat_i32_u(x: float) -> int:
    return _sat(x, 0, M32)


def trunc_sat_i64_s(x: float) -> int:
    return _sat(x, -0x8000000000000000, 0x7FFFFFFFFFFFFFFF) & M64


def trunc_sat_i64_u(x: float) -> int:
    return _sat(x, 0, M64)
