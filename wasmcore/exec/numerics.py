"""The spec's numerics, backend-neutral (spec "Numerics",
https://webassembly.github.io/spec/core/exec/numerics.html): f32/f64 <-> bits casts, the
canonical and arithmetic NaN classes, the float -> int truncation bounds, the fuel each operator
costs (Wasmtime's charges), fast helpers for backends that compute in Python, and `evaluate`, a
reference evaluator of every scalar numeric operator.

Conventions. `evaluate` works in the bits convention of `wasmcore.runtime` (i32/i64 unsigned
ints, f32/f64 their raw IEEE bits). The fast helpers take i32/i64 as unsigned ints, f32 as bits
(Python has no single-precision type, and bits keep NaN payloads) and f64 as Python floats; f32
arithmetic computes in double, exact before the one rounding to single for + - * / sqrt (double
has more than 2 * 24 + 2 significand bits). `evaluate` shares none of their arithmetic: it
computes exactly (`fractions.Fraction`, integer square roots) and rounds once, as the spec
defines each operator, so differential tests can check the helpers and native code against it.
Traps are `wasmcore.errors.Trap` with the spec's codes ("integer divide by zero", "integer
overflow", "invalid conversion to integer").
"""

from __future__ import annotations

import math
import struct
from array import array
from fractions import Fraction

from wasmcore.errors import Trap, TrapCode
from wasmcore.syntax import opcodes as op
from wasmcore.syntax.types import ValueType

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF
F32_CANONICAL_NAN = 0x7FC00000  # exponent all ones, only the quiet (top mantissa) bit set
F64_CANONICAL_NAN = 0x7FF8000000000000
INF = math.inf

# --- f32/f64 <-> bits -----------------------------------------------------------------------
_fbuf = array("f", [0.0])  # a C float: the store rounds a double to single (overflow: inf)
_ibuf = memoryview(_fbuf).cast("B").cast("I")
_D = struct.Struct("<d")
_Q = struct.Struct("<Q")
_dpack, _dunpack, _qpack, _qunpack = _D.pack, _D.unpack, _Q.pack, _Q.unpack


def f32v(bits: int) -> float:
    """f32 bits -> the float value (a signalling NaN comes back quiet)."""
    _ibuf[0] = bits
    return _fbuf[0]


def f32b(x: float) -> int:
    """float -> f32 bits, rounding to nearest-even (overflow gives infinity)."""
    _fbuf[0] = x
    return _ibuf[0]


def d2q(x: float) -> int:
    """f64 value -> bits (every bit pattern, NaN payloads included)."""
    return _qunpack(_dpack(x))[0]


def q2d(bits: int) -> float:
    return _dunpack(_qpack(bits))[0]


def f32_to_f64(bits: int) -> float:  # f64.promote_f32
    _ibuf[0] = bits
    return _fbuf[0]


f64_to_f32 = f32b  # f32.demote_f64
NAN = q2d(F64_CANONICAL_NAN)

_EXPONENT = {32: 0x7F800000, 64: 0x7FF0000000000000}
_QUIET = {32: 0x00400000, 64: 0x0008000000000000}
_SIGN = {32: 0x80000000, 64: 0x8000000000000000}


def is_nan(bits: int, width: int) -> bool:
    magnitude = bits & ~_SIGN[width]
    return magnitude > _EXPONENT[width]


def is_canonical_nan(bits: int, width: int) -> bool:
    """A canonical NaN of either sign: only the quiet bit of the payload set."""
    return bits & ~_SIGN[width] == _EXPONENT[width] | _QUIET[width]


def is_arithmetic_nan(bits: int, width: int) -> bool:
    """A NaN with the quiet bit set (any payload, either sign)."""
    return is_nan(bits, width) and bool(bits & _QUIET[width])


# --- float -> int truncation ----------------------------------------------------------------
def int_range(int_width: int, signed: bool) -> tuple[int, int]:
    """The integers of iN, interpreted signed or unsigned: trunc_sat saturates to these."""
    if signed:
        return -(1 << (int_width - 1)), (1 << (int_width - 1)) - 1
    return 0, (1 << int_width) - 1


def trunc_bounds(float_width: int, int_width: int, signed: bool) -> tuple[float, bool, float]:
    """(lower, lower inclusive?, upper) of the fN values whose truncation fits iN; the upper
    bound is exclusive. Outside them trunc traps with integer overflow (NaN: invalid
    conversion). The lower bound is the integer below the smallest result when fN has it
    (exclusive), else the smallest result itself (inclusive): f64 -> i32_s is
    (-2147483649.0, False, 2147483648.0), f32 -> i32_s is (-2147483648.0, True, ...)."""
    if not signed:
        return -1.0, False, float(1 << int_width)
    lowest = -(1 << (int_width - 1))
    if (1 - lowest).bit_length() <= (24 if float_width == 32 else 53):
        return float(lowest - 1), False, float(-lowest)
    return float(lowest), True, float(-lowest)


# --- fuel -------------------------------------------------------------------------------------
#: Fuel charged on every function entry, as Wasmtime charges it.
FUEL_ENTRY = 1
#: Operators Wasmtime charges nothing for: no code, or pure control flow.
FUEL_FREE = frozenset((op.NOP, op.DROP, op.BLOCK, op.LOOP, op.ELSE, op.END, op.RETURN,
                       op.UNREACHABLE))
#: Operators charged 1 more per byte / element / page they move or grant (a grow only when
#: it succeeds), after they ran.
FUEL_PER_UNIT = frozenset((op.MEMORY_GROW, op.MEMORY_FILL, op.MEMORY_COPY, op.MEMORY_INIT,
                           op.TABLE_GROW, op.TABLE_FILL, op.TABLE_COPY, op.TABLE_INIT))


def fuel_cost(opcode: int) -> int:
    """The fuel an operator is charged when it runs (before any per-unit charge)."""
    return 0 if opcode in FUEL_FREE else 1


# --- fast helpers: integers (unsigned ints in and out) ---------------------------------------
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


def rem_s64(a: int, b: int) -> int:
    if not b:
        raise Trap(TrapCode.INTEGER_DIVISION_BY_ZERO)
    a = a - ((a & 0x8000000000000000) << 1)
    b = b - ((b & 0x8000000000000000) << 1)
    r = abs(a) % abs(b)
    return (-r if a < 0 else r) & M64


def div_u64(a: int, b: int) -> int:
    if not b:
        raise Trap(TrapCode.INTEGER_DIVISION_BY_ZERO)
    return a // b


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


# --- fast helpers: f64 (Python floats) --------------------------------------------------------
_copysign = math.copysign
_isinf = math.isinf


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
        return math.sqrt(a)
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
    return _copysign(float(math.ceil(a)), a)


def ffloor(a: float) -> float:
    if a != a:
        return NAN
    if _isinf(a):
        return a
    return _copysign(float(math.floor(a)), a)


def ftrunc(a: float) -> float:
    if a != a:
        return NAN
    if _isinf(a):
        return a
    return _copysign(float(int(a)), a)


def fnearest(a: float) -> float:
    if a != a:
        return NAN
    if _isinf(a) or abs(a) >= 4503599627370496.0:  # 2**52: already an integer
        return a
    return _copysign(float(round(a)), a)  # round() ties to even


# --- fast helpers: f32 (bits in, bits out) ----------------------------------------------------
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
        return F32_CANONICAL_NAN
    return f32b(fmin(x, y))


def f32_max(a: int, b: int) -> int:
    x, y = f32v(a), f32v(b)
    if x != x or y != y:
        return F32_CANONICAL_NAN
    return f32b(fmax(x, y))


def f32_ceil(a: int) -> int:
    x = f32v(a)
    return F32_CANONICAL_NAN if x != x else f32b(fceil(x))


def f32_floor(a: int) -> int:
    x = f32v(a)
    return F32_CANONICAL_NAN if x != x else f32b(ffloor(x))


def f32_trunc(a: int) -> int:
    x = f32v(a)
    return F32_CANONICAL_NAN if x != x else f32b(ftrunc(x))


def f32_nearest(a: int) -> int:
    x = f32v(a)
    return F32_CANONICAL_NAN if x != x else f32b(fnearest(x))


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


# --- fast helpers: float -> int (f32 and f64 both as Python floats) ---------------------------
def _trunc_check(x: float, lo: float, hi: float) -> int:
    if x != x:
        raise Trap(TrapCode.BAD_CONVERSION_TO_INTEGER)
    if not lo < x < hi:
        raise Trap(TrapCode.INTEGER_OVERFLOW)
    return int(x)


# doubles hold every f32, so the f64 bounds serve both
_I32_S_LOW, _, _I32_S_HIGH = trunc_bounds(64, 32, True)
_I64_S_LOW, _, _I64_S_HIGH = trunc_bounds(64, 64, True)  # inclusive lower bound
_I32_U_HIGH, _I64_U_HIGH = trunc_bounds(64, 32, False)[2], trunc_bounds(64, 64, False)[2]


def trunc_i32_s(x: float) -> int:
    return _trunc_check(x, _I32_S_LOW, _I32_S_HIGH) & M32


def trunc_i32_u(x: float) -> int:
    return _trunc_check(x, -1.0, _I32_U_HIGH)


def trunc_i64_s(x: float) -> int:
    if x != x:
        raise Trap(TrapCode.BAD_CONVERSION_TO_INTEGER)
    if not _I64_S_LOW <= x < _I64_S_HIGH:
        raise Trap(TrapCode.INTEGER_OVERFLOW)
    return int(x) & M64


def trunc_i64_u(x: float) -> int:
    return _trunc_check(x, -1.0, _I64_U_HIGH)


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


# --- the reference evaluator (bits in, bits out) -----------------------------------------------
_I32, _I64, _F32, _F64 = ValueType.I32, ValueType.I64, ValueType.F32, ValueType.F64
_WIDTH = {_I32: 32, _I64: 64, _F32: 32, _F64: 64}
_FORMAT = {32: (24, -126), 64: (53, -1022)}  # significand bits (with the implicit one), emin
_CANONICAL = {32: F32_CANONICAL_NAN, 64: F64_CANONICAL_NAN}
_F32S = struct.Struct("<f")
_U32S = struct.Struct("<I")

#: opcode -> (operand types, result type), for every scalar numeric operator `evaluate` knows.
SIGNATURES: dict[int, tuple[tuple[ValueType, ...], ValueType]] = {}
_EVALUATORS: dict = {}
_NAN_OPEN: set[int] = set()


def evaluate(opcode: int, *operands: int) -> int:
    """The result of a numeric operator, as the spec defines it, in the bits convention;
    raises `Trap` where the spec traps. Where the spec lets a NaN result be any NaN of a class
    (`NAN_OPEN`), the result is the positive canonical NaN: `allows` accepts the whole class."""
    return _EVALUATORS[opcode](*operands)


def nan_class(opcode: int, *operands: int) -> str:
    """Which NaNs an operator of `NAN_OPEN` may return when its result is a NaN: "canonical"
    when every NaN operand is canonical (or none is a NaN), else "arithmetic"."""
    params, _ = SIGNATURES[opcode]
    for vt, bits in zip(params, operands):
        if vt in (_F32, _F64) and is_nan(bits, _WIDTH[vt]) and \
                not is_canonical_nan(bits, _WIDTH[vt]):
            return "arithmetic"
    return "canonical"


def allows(opcode: int, operands, result: int) -> bool:
    """Whether `result` is one the spec allows for the operator on `operands` (an operator
    that traps there allows none: `evaluate` raises the trap)."""
    expected = evaluate(opcode, *operands)
    width = _WIDTH[SIGNATURES[opcode][1]]
    if opcode in NAN_OPEN and is_nan(expected, width):
        if nan_class(opcode, *operands) == "canonical":
            return is_canonical_nan(result, width)
        return is_arithmetic_nan(result, width)
    return result == expected


def _signed(x: int, n: int) -> int:
    return x - (1 << n) if x >> (n - 1) else x


def _value(bits: int, width: int) -> float:
    return _F32S.unpack(_U32S.pack(bits))[0] if width == 32 else q2d(bits)


def _encode(x: float, width: int) -> int:
    """An exactly representable value (or an infinity) -> bits."""
    return _U32S.unpack(_F32S.pack(x))[0] if width == 32 else d2q(x)


def _floor_log2(q: Fraction) -> int:
    e = q.numerator.bit_length() - q.denominator.bit_length()
    below = q.numerator < q.denominator << e if e >= 0 else q.numerator << -e < q.denominator
    return e - 1 if below else e


def _finish(negative: bool, m: int, shift: int, width: int) -> int:
    """Bits of ±m * 2**shift, m the rounded significand; beyond the largest finite: infinity."""
    emax = (1 << (10 if width == 64 else 7)) - 1
    if m and m.bit_length() + shift - 1 > emax:
        return _SIGN[width] * negative | _EXPONENT[width]
    bits = _encode(math.ldexp(m, shift), width)
    return bits | _SIGN[width] if negative else bits


def _round(q: Fraction, width: int, negative_zero: bool = False) -> int:
    """The exact value q rounded to the nearest fN (ties to even), as bits."""
    if q == 0:
        return _SIGN[width] if negative_zero else 0
    negative, q = q < 0, abs(q)
    precision, emin = _FORMAT[width]
    shift = max(_floor_log2(q), emin) - (precision - 1)  # the unit in the last place: 2**shift
    num, den = (q.numerator, q.denominator << shift) if shift >= 0 else \
        (q.numerator << -shift, q.denominator)
    m, rest = divmod(num, den)
    if 2 * rest > den or (2 * rest == den and m & 1):
        m += 1
    return _finish(negative, m, shift, width)


def _round_sqrt(q: Fraction, width: int) -> int:
    """The square root of q > 0 rounded to the nearest fN, as bits."""
    precision, emin = _FORMAT[width]
    shift = max(_floor_log2(q) >> 1, emin) - (precision - 1)
    y = q / Fraction(4) ** shift  # sqrt(q) / 2**shift == sqrt(y)
    m = math.isqrt(y.numerator // y.denominator)
    half = Fraction((2 * m + 1) ** 2, 4)  # (m + 1/2)**2
    if y > half or (y == half and m & 1):
        m += 1
    return _finish(False, m, shift, width)


def _define(name: str, params, result, fn, nan_open: bool = False) -> None:
    code = op.BY_NAME[name]
    SIGNATURES[code] = (tuple(params), result)
    _EVALUATORS[code] = fn
    if nan_open:
        _NAN_OPEN.add(code)


def _define_integers(vt: ValueType, n: int) -> None:
    t, m = f"i{n}", (1 << n) - 1

    def div_s(a, b):
        if not b:
            raise Trap(TrapCode.INTEGER_DIVISION_BY_ZERO)
        q = int(Fraction(_signed(a, n), _signed(b, n)))  # int() truncates toward zero
        if q >= 1 << (n - 1):
            raise Trap(TrapCode.INTEGER_OVERFLOW)
        return q & m

    def rem_s(a, b):
        if not b:
            raise Trap(TrapCode.INTEGER_DIVISION_BY_ZERO)
        x, y = _signed(a, n), _signed(b, n)
        return (x - y * int(Fraction(x, y))) & m

    def unsigned(fn):
        def checked(a, b):
            if not b:
                raise Trap(TrapCode.INTEGER_DIVISION_BY_ZERO)
            return fn(a, b)
        return checked

    def rotate(a, k):  # left by k, as a string of n bits
        text = format(a, f"0{n}b")
        return int(text[k:] + text[:k], 2)

    binary = {
        "add": lambda a, b: (a + b) & m, "sub": lambda a, b: (a - b) & m,
        "mul": lambda a, b: (a * b) & m, "div_s": div_s, "div_u": unsigned(lambda a, b: a // b),
        "rem_s": rem_s, "rem_u": unsigned(lambda a, b: a % b),
        "and": lambda a, b: a & b, "or": lambda a, b: a | b, "xor": lambda a, b: a ^ b,
        "shl": lambda a, b: (a << (b % n)) & m, "shr_u": lambda a, b: a >> (b % n),
        "shr_s": lambda a, b: (_signed(a, n) >> (b % n)) & m,
        "rotl": lambda a, b: rotate(a, b % n), "rotr": lambda a, b: rotate(a, (n - b % n) % n),
    }
    for name, fn in binary.items():
        _define(f"{t}.{name}", (vt, vt), vt, fn)
    compare = {
        "eq": lambda a, b: a == b, "ne": lambda a, b: a != b,
        "lt_u": lambda a, b: a < b, "gt_u": lambda a, b: a > b,
        "le_u": lambda a, b: a <= b, "ge_u": lambda a, b: a >= b,
        "lt_s": lambda a, b: _signed(a, n) < _signed(b, n),
        "gt_s": lambda a, b: _signed(a, n) > _signed(b, n),
        "le_s": lambda a, b: _signed(a, n) <= _signed(b, n),
        "ge_s": lambda a, b: _signed(a, n) >= _signed(b, n),
    }
    for name, fn in compare.items():
        _define(f"{t}.{name}", (vt, vt), _I32, (lambda f: lambda a, b: int(f(a, b)))(fn))
    _define(f"{t}.eqz", (vt,), _I32, lambda a: int(a == 0))
    _define(f"{t}.clz", (vt,), vt, lambda a: n - a.bit_length())
    _define(f"{t}.ctz", (vt,), vt, lambda a: len(text := format(a, "b")) - len(text.rstrip("0"))
            if a else n)
    _define(f"{t}.popcnt", (vt,), vt, lambda a: format(a, "b").count("1"))
    for k in (8, 16, 32):
        if k < n:
            _define(f"{t}.extend{k}_s", (vt,), vt,
                    (lambda k: lambda a: _signed(a & ((1 << k) - 1), k) & m)(k))


def _define_floats(vt: ValueType, w: int) -> None:
    t, sign, canonical = f"f{w}", _SIGN[w], _CANONICAL[w]
    inf = math.isinf

    def add(a, b):
        x, y = _value(a, w), _value(b, w)
        if x != x or y != y or (inf(x) and inf(y) and (a ^ b) & sign):
            return canonical
        if inf(x) or inf(y):
            return a if inf(x) else b
        # an exact zero sum is +0, but -0 + -0 = -0
        return _round(Fraction(x) + Fraction(y), w, negative_zero=bool(a & b & sign))

    def mul(a, b):
        x, y = _value(a, w), _value(b, w)
        negative = bool((a ^ b) & sign)
        if x != x or y != y or (inf(x) or inf(y)) and (x == 0 or y == 0):
            return canonical
        if inf(x) or inf(y):
            return sign * negative | _EXPONENT[w]
        return _round(Fraction(x) * Fraction(y), w, negative_zero=negative)

    def div(a, b):
        x, y = _value(a, w), _value(b, w)
        negative = bool((a ^ b) & sign)
        if x != x or y != y or (inf(x) and inf(y)) or (x == 0 and y == 0):
            return canonical
        if inf(x) or (y == 0):
            return sign * negative | _EXPONENT[w]
        if inf(y):
            return sign * negative
        return _round(Fraction(x) / Fraction(y), w, negative_zero=negative)

    def sqrt(a):
        x = _value(a, w)
        if x != x or x < 0:
            return canonical
        if x == 0 or inf(x):
            return a
        return _round_sqrt(Fraction(x), w)

    def minimum(a, b):
        x, y = _value(a, w), _value(b, w)
        if x != x or y != y:
            return canonical
        if x == y:  # equal values; of two zeros the negative one
            return a if a & sign else b
        return a if x < y else b

    def maximum(a, b):
        x, y = _value(a, w), _value(b, w)
        if x != x or y != y:
            return canonical
        if x == y:
            return b if a & sign else a
        return a if x > y else b

    def integral(rounding):
        def fn(a):
            x = _value(a, w)
            if x != x:
                return canonical
            if inf(x) or x == 0:
                return a
            return _round(Fraction(rounding(Fraction(x))), w, negative_zero=bool(a & sign))
        return fn

    def nearest(q: Fraction) -> int:  # ties to even
        low = math.floor(q)
        rest = q - low
        return low + 1 if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and low & 1) else low

    for name, fn in (("add", add), ("sub", lambda a, b: add(a, b ^ sign)), ("mul", mul),
                     ("div", div), ("min", minimum), ("max", maximum)):
        _define(f"{t}.{name}", (vt, vt), vt, fn, nan_open=True)
    _define(f"{t}.sqrt", (vt,), vt, sqrt, nan_open=True)
    for name, rounding in (("ceil", math.ceil), ("floor", math.floor), ("trunc", math.trunc),
                           ("nearest", nearest)):
        _define(f"{t}.{name}", (vt,), vt, integral(rounding), nan_open=True)
    _define(f"{t}.abs", (vt,), vt, lambda a: a & ~sign)
    _define(f"{t}.neg", (vt,), vt, lambda a: a ^ sign)
    _define(f"{t}.copysign", (vt, vt), vt, lambda a, b: (a & ~sign) | (b & sign))
    compare = {"eq": lambda x, y: x == y, "ne": lambda x, y: x != y, "lt": lambda x, y: x < y,
               "gt": lambda x, y: x > y, "le": lambda x, y: x <= y, "ge": lambda x, y: x >= y}
    for name, fn in compare.items():  # Python compares NaNs as the spec does: only ne holds
        _define(f"{t}.{name}", (vt, vt), _I32,
                (lambda f: lambda a, b: int(f(_value(a, w), _value(b, w))))(fn))


def _define_conversions() -> None:
    for iv, n in ((_I32, 32), (_I64, 64)):
        for fv, w in ((_F32, 32), (_F64, 64)):
            for sign in ("s", "u"):
                signed = sign == "s"
                _define(f"i{n}.trunc_f{w}_{sign}", (fv,), iv, _truncation(w, n, signed, False))
                _define(f"i{n}.trunc_sat_f{w}_{sign}", (fv,), iv, _truncation(w, n, signed, True))
                _define(f"f{w}.convert_i{n}_{sign}", (iv,), fv,
                        (lambda n, w, signed: lambda a: _round(
                            Fraction(_signed(a, n) if signed else a), w))(n, w, signed))
    _define("i32.wrap_i64", (_I64,), _I32, lambda a: a & M32)
    _define("i64.extend_i32_s", (_I32,), _I64, lambda a: _signed(a, 32) & M64)
    _define("i64.extend_i32_u", (_I32,), _I64, lambda a: a)
    _define("i32.reinterpret_f32", (_F32,), _I32, lambda a: a)
    _define("i64.reinterpret_f64", (_F64,), _I64, lambda a: a)
    _define("f32.reinterpret_i32", (_I32,), _F32, lambda a: a)
    _define("f64.reinterpret_i64", (_I64,), _F64, lambda a: a)

    def demote(a):
        x = _value(a, 64)
        if x != x:
            return F32_CANONICAL_NAN
        if math.isinf(x):
            return _SIGN[32] * (x < 0) | _EXPONENT[32]
        return _round(Fraction(x), 32, negative_zero=bool(a & _SIGN[64]))

    def promote(a):
        x = _value(a, 32)
        return F64_CANONICAL_NAN if x != x else d2q(x)  # every f32 is a double
    _define("f32.demote_f64", (_F64,), _F32, demote, nan_open=True)
    _define("f64.promote_f32", (_F32,), _F64, promote, nan_open=True)


def _truncation(w: int, n: int, signed: bool, saturating: bool):
    lowest, highest = int_range(n, signed)
    mask = (1 << n) - 1

    def fn(a):
        x = _value(a, w)
        if x != x:
            if saturating:
                return 0
            raise Trap(TrapCode.BAD_CONVERSION_TO_INTEGER)
        if math.isinf(x):
            result = highest if x > 0 else lowest
        else:
            result = math.trunc(Fraction(x))
        if not lowest <= result <= highest or math.isinf(x):
            if not saturating:
                raise Trap(TrapCode.INTEGER_OVERFLOW)
            result = min(max(result, lowest), highest)
        return result & mask
    return fn


_define_integers(_I32, 32)
_define_integers(_I64, 64)
_define_floats(_F32, 32)
_define_floats(_F64, 64)
_define_conversions()
#: The operators whose NaN results are nondeterministic: any NaN of the class `nan_class` gives.
NAN_OPEN = frozenset(_NAN_OPEN)
del _NAN_OPEN
