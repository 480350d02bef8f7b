"""Numeric literals of the text format (spec 6.3.1 "Integers" and 6.3.2 "Floating-Point"):
naturals, signed/unsigned iN constants with their range checks, fN constants (decimal and hex
mantissas, `inf`, `nan` and `nan:0x` payloads) rounded exactly to nearest-even, underscores
between digits, and the lane literals of `v128.const`."""

from __future__ import annotations

import re
from typing import Any

from wasmcore.errors import DecodeError

_HEX = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_DEC = r"[0-9](?:_?[0-9])*"
_INT_RE = re.compile(rf"([+-]?)(?:0x({_HEX})|({_DEC}))$")
_NAT_RE = re.compile(rf"(?:0x({_HEX})|({_DEC}))$")
FLOAT_RE = re.compile(
    rf"([+-]?)(?:(inf)|(nan)(?::0x({_HEX}))?"
    rf"|0x({_HEX})(?:\.({_HEX})?)?(?:[pP]([+-]?{_DEC}))?"
    rf"|({_DEC})(?:\.({_DEC})?)?(?:[eE]([+-]?{_DEC}))?)$"
)

# Mantissa and exponent widths of f32 / f64.
_FLOAT_FORMATS = {32: (23, 8), 64: (52, 11)}

# v128 shape -> (lane width in bits, lane count).
LANE_SHAPES = {"i8x16": (8, 16), "i16x8": (16, 8), "i32x4": (32, 4), "i64x2": (64, 2),
               "f32x4": (32, 4), "f64x2": (64, 2)}


def malformed_number(token: Any) -> DecodeError:
    # A well-formed float (or a NaN pattern) where an integer belongs is a misplaced token;
    # anything else that is not a number is a malformed one (the reference's wording).
    if type(token) is not str or FLOAT_RE.match(token) or \
            token in ("nan:canonical", "nan:arithmetic"):
        return DecodeError(f"unexpected token: {token!r}")
    return DecodeError(f"unknown operator: malformed number {token!r}")


def parse_nat(token: Any) -> int | None:
    """A natural number (`u32`, index, offset...), or None when `token` is not one."""
    if type(token) is not str:
        return None
    m = _NAT_RE.match(token)
    if m is None:
        return None
    hex_digits, dec_digits = m.groups()
    if hex_digits is not None:
        return int(hex_digits.replace("_", ""), 16)
    return int(dec_digits.replace("_", ""))


def parse_int(token: Any, bits: int) -> int:
    """An iN literal -> its signed value; either an sN or a uN spelling is accepted."""
    m = _INT_RE.match(token) if type(token) is str else None
    if m is None:
        raise malformed_number(token)
    sign, hex_digits, dec_digits = m.groups()
    if hex_digits is not None:
        value = int(hex_digits.replace("_", ""), 16)
    else:
        value = int(dec_digits.replace("_", ""))
    if sign == "-":
        value = -value
        if value < -(1 << (bits - 1)):
            raise DecodeError(f"i{bits} constant out of range")
    elif value >= 1 << bits:
        raise DecodeError(f"i{bits} constant out of range")
    if value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def _round_float(num: int, den: int, mbits: int, ebits: int) -> int | None:
    """Round num/den (>0) to the nearest float, ties to even; None when it overflows."""
    bias = (1 << (ebits - 1)) - 1
    emin = 1 - bias
    exponent = num.bit_length() - den.bit_length()
    if exponent >= 0:
        if num < den << exponent:
            exponent -= 1
    elif num << -exponent < den:
        exponent -= 1
    if exponent < emin:
        exponent = emin  # subnormal: the mantissa keeps fewer bits
    shift = exponent - mbits
    if shift >= 0:
        n2, d2 = num, den << shift
    else:
        n2, d2 = num << -shift, den
    quotient, remainder = divmod(n2, d2)
    twice = remainder * 2
    if twice > d2 or (twice == d2 and quotient & 1):
        quotient += 1
    if quotient >= 1 << (mbits + 1):  # rounding carried into a new bit
        quotient >>= 1
        exponent += 1
    if quotient < 1 << mbits:
        return quotient  # subnormal (or zero): biased exponent 0
    if exponent > bias:
        return None
    return ((exponent + bias) << mbits) | (quotient - (1 << mbits))


def parse_float(token: Any, bits: int) -> int:
    """An fN literal -> its raw IEEE 754 bits."""
    m = FLOAT_RE.match(token) if type(token) is str else None
    if m is None:
        raise malformed_number(token)
    mbits, ebits = _FLOAT_FORMATS[bits]
    sign, inf, nan, payload, hex_int, hex_frac, hex_exp, dec_int, dec_frac, dec_exp = m.groups()
    sign_bit = (1 << (bits - 1)) if sign == "-" else 0
    exponent_all_ones = ((1 << ebits) - 1) << mbits
    if inf:
        return sign_bit | exponent_all_ones
    if nan:
        if payload is None:
            payload_bits = 1 << (mbits - 1)  # the canonical NaN
        else:
            payload_bits = int(payload.replace("_", ""), 16)
            if not 1 <= payload_bits < 1 << mbits:
                raise DecodeError(f"f{bits} constant out of range: nan payload")
        return sign_bit | exponent_all_ones | payload_bits
    if hex_int is not None:
        frac = (hex_frac or "").replace("_", "")
        num = int(hex_int.replace("_", "") + frac, 16)
        exp2 = int(hex_exp.replace("_", "")) if hex_exp else 0
        exp2 -= 4 * len(frac)
        exp10 = 0
    else:
        frac = (dec_frac or "").replace("_", "")
        num = int(dec_int.replace("_", "") + frac)
        exp10 = (int(dec_exp.replace("_", "")) if dec_exp else 0) - len(frac)
        exp2 = 0
    if num == 0:
        return sign_bit
    den = 1
    # Exponents far beyond any float's range are decided without building huge integers.
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


def lane_value(shape: str, token: Any) -> int:
    """One lane literal of a `v128.const <shape>` as unsigned lane bits."""
    bits, _ = LANE_SHAPES[shape]
    if shape[0] == "f":
        return parse_float(token, bits)
    return parse_int(token, bits) & ((1 << bits) - 1)


def v128_from_lanes(shape: str, lanes: list[int]) -> int:
    """Lane bits (lane 0 first) -> the 128-bit little-endian value."""
    bits, _ = LANE_SHAPES[shape]
    value = 0
    for index, lane in enumerate(lanes):
        value |= lane << (index * bits)
    return value


__all__ = ["FLOAT_RE", "LANE_SHAPES", "lane_value", "malformed_number", "parse_float",
           "parse_int", "parse_nat", "v128_from_lanes"]
