"""The interp backend's numeric representation, and the core numerics its generated code calls
(spec "Numerics", https://webassembly.github.io/spec/core/exec/numerics.html; the functions
are `wasmcore.exec.numerics`'s fast helpers).

Representation inside generated code: i32/i64 are unsigned Python ints, f64 is a Python float,
f32 is its raw IEEE bit pattern (an unsigned int) so NaN payloads, signalling ones included,
survive loads, stores, locals and the bit operations (abs/neg/copysign/reinterpret). Only f64
differs from the bits convention of the boundary (`d2q` / `q2d` convert).
"""

from __future__ import annotations

from wasmcore.exec import numerics as core
from wasmcore.exec.numerics import M32, M64, NAN, d2q, f32b, f32v, q2d  # noqa: F401 - re-exported

# Bound as `_<name>` in every instance namespace (generated code calls e.g. `_div_s32`).
GENERATED_CODE_HELPERS = (
    "f32v", "f32b", "d2q", "q2d", "f32_to_f64", "f64_to_f32",
    "div_s32", "div_u32", "rem_s32", "rem_u32", "div_s64", "div_u64", "rem_s64", "rem_u64",
    "ctz32", "ctz64", "rotl32", "rotr32", "rotl64", "rotr64",
    "fdiv", "fdiv0", "fsqrt", "fmin", "fmax", "fceil", "ffloor", "ftrunc", "fnearest",
    "f32_add", "f32_sub", "f32_mul", "f32_div", "f32_sqrt", "f32_min", "f32_max",
    "f32_ceil", "f32_floor", "f32_trunc", "f32_nearest",
    "f32_convert_i32_s", "f32_convert_i32_u", "f32_convert_i64_s", "f32_convert_i64_u",
    "trunc_i32_s", "trunc_i32_u", "trunc_i64_s", "trunc_i64_u",
    "trunc_sat_i32_s", "trunc_sat_i32_u", "trunc_sat_i64_s", "trunc_sat_i64_u",
)


def helpers() -> dict:
    return {f"_{name}": getattr(core, name) for name in GENERATED_CODE_HELPERS}
