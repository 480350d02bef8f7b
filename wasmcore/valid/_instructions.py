"""Per-opcode operand signatures for the function-body validator, built once per feature set.

Spec: https://webassembly.github.io/spec/core/valid/instructions.html
"""

from __future__ import annotations

from functools import lru_cache

from wasmcore.syntax import opcodes
from wasmcore.syntax.features import WasmFeatures

I32, I64, F32, F64, V128, FUNCREF, EXTERNREF = 0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F
UNKNOWN = 0  # the algorithm's "Unknown" operand type (stack-polymorphic code)

_SCALAR = {"i32": I32, "i64": I64, "f32": F32, "f64": F64}
# SIMD shape -> (scalar lane type, lane count)
SHAPES = {"i8x16": (I32, 16), "i16x8": (I32, 8), "i32x4": (I32, 4), "i64x2": (I64, 2),
          "f32x4": (F32, 4), "f64x2": (F64, 2)}

# Instruction kinds: an entry of the table is (kind, a, b, c); the meaning of a/b/c per kind is
# given beside it. The validator's loop branches on the kind, most frequent kinds first.
K_BINARY = 0      # pop a, pop... (a below b), push c: (a b -> c)
K_UNARY = 1       # (a -> c)
K_CONST = 2       # (-> c)
K_LOCAL_SET = 3
K_LOCAL_TEE = 4
K_BLOCK = 5       # block and loop
K_END = 6
K_BR = 7
K_BR_IF = 8
K_LOAD = 9        # a = natural alignment (log2), c = loaded type
K_STORE = 10      # a = natural alignment (log2), b = stored type
K_IF = 11
K_ELSE = 12
K_GLOBAL_GET = 13
K_GLOBAL_SET = 14
K_CALL = 15
K_SELECT = 16
K_BR_TABLE = 17
K_DROP = 18
K_RETURN = 19
K_UNREACHABLE = 20
K_NOP = 21
K_CALL_INDIRECT = 22
K_GENERIC = 23    # a = tuple of popped types (bottom first), c = tuple of pushed types
K_SELECT_T = 24
K_MEMORY = 25     # memory.size/grow/fill: a = popped (address type placeholders), see code
K_MEMORY_COPY = 26
K_MEMORY_INIT = 27
K_DATA_DROP = 28
K_REF_NULL = 29
K_REF_IS_NULL = 30
K_REF_FUNC = 31
K_TABLE = 32      # table.get/set/size/grow/fill
K_TABLE_COPY = 33
K_TABLE_INIT = 34
K_ELEM_DROP = 35
K_LANE = 36       # extract/replace lane: a = lane count, b = scalar type, c = 0 extract, 1 replace
K_SHUFFLE = 37
K_LOAD_LANE = 38  # a = natural alignment, b = lane count, c = 0 load, 1 store
K_RETURN_CALL = 39
K_RETURN_CALL_INDIRECT = 40
K_LOCAL_GET = 41

_CONTROL = {
    0x00: (K_UNREACHABLE, 0, 0, 0), 0x01: (K_NOP, 0, 0, 0),
    0x02: (K_BLOCK, 0, 0, 0), 0x03: (K_BLOCK, 0, 0, 0), 0x04: (K_IF, 0, 0, 0),
    0x05: (K_ELSE, 0, 0, 0), 0x0B: (K_END, 0, 0, 0), 0x0C: (K_BR, 0, 0, 0),
    0x0D: (K_BR_IF, 0, 0, 0), 0x0E: (K_BR_TABLE, 0, 0, 0), 0x0F: (K_RETURN, 0, 0, 0),
    0x10: (K_CALL, 0, 0, 0), 0x11: (K_CALL_INDIRECT, 0, 0, 0),
    0x1A: (K_DROP, 0, 0, 0), 0x1B: (K_SELECT, 0, 0, 0),
    0x20: (K_LOCAL_GET, 0, 0, 0), 0x21: (K_LOCAL_SET, 0, 0, 0), 0x22: (K_LOCAL_TEE, 0, 0, 0),
    0x23: (K_GLOBAL_GET, 0, 0, 0), 0x24: (K_GLOBAL_SET, 0, 0, 0),
    0x3F: (K_MEMORY, 0, 0, 0), 0x40: (K_MEMORY, 1, 0, 0),
    0x41: (K_CONST, 0, 0, I32), 0x42: (K_CONST, 0, 0, I64),
    0x43: (K_CONST, 0, 0, F32), 0x44: (K_CONST, 0, 0, F64),
}
_TAIL_CALL = {0x12: (K_RETURN_CALL, 0, 0, 0), 0x13: (K_RETURN_CALL_INDIRECT, 0, 0, 0)}
_REFERENCE_TYPES = {
    0x1C: (K_SELECT_T, 0, 0, 0),
    0x25: (K_TABLE, 0, 0, 0), 0x26: (K_TABLE, 1, 0, 0),
    opcodes.misc(0x0F): (K_TABLE, 3, 0, 0), opcodes.misc(0x10): (K_TABLE, 2, 0, 0),
    opcodes.misc(0x11): (K_TABLE, 4, 0, 0),
    0xD0: (K_REF_NULL, 0, 0, 0), 0xD1: (K_REF_IS_NULL, 0, 0, 0), 0xD2: (K_REF_FUNC, 0, 0, 0),
}
_BULK_MEMORY = {
    opcodes.misc(0x08): (K_MEMORY_INIT, 0, 0, 0), opcodes.misc(0x09): (K_DATA_DROP, 0, 0, 0),
    opcodes.misc(0x0A): (K_MEMORY_COPY, 0, 0, 0), opcodes.misc(0x0B): (K_MEMORY, 2, 0, 0),
    opcodes.misc(0x0C): (K_TABLE_INIT, 0, 0, 0), opcodes.misc(0x0D): (K_ELEM_DROP, 0, 0, 0),
    opcodes.misc(0x0E): (K_TABLE_COPY, 0, 0, 0),
}

_SCALAR_LOADS = {"load": None, "load8_s": 0, "load8_u": 0, "load16_s": 1, "load16_u": 1,
                 "load32_s": 2, "load32_u": 2}
_NATURAL = {I32: 2, I64: 3, F32: 2, F64: 3}
_SIMD_UNARY = {"not", "abs", "neg", "popcnt", "ceil", "floor", "trunc", "nearest", "sqrt"}
_SIMD_UNARY_PREFIXES = ("extend_", "extadd_pairwise", "convert", "trunc_sat", "demote",
                        "promote")


def _numeric_entry(name: str) -> tuple[int, int, int, int]:
    """The entry of a plain numeric instruction (0x45..0xC4, saturating truncations)."""
    prefix, op = name.split(".")
    t = _SCALAR[prefix]
    for source in ("i32", "i64", "f32", "f64"):
        if f"_{source}" in op:  # a conversion: t.op_source...
            return (K_UNARY, _SCALAR[source], 0, t)
    if op == "eqz":
        return (K_UNARY, t, 0, I32)
    if op in ("eq", "ne", "lt", "gt", "le", "ge") or op[:3] in ("lt_", "gt_", "le_", "ge_"):
        return (K_BINARY, t, t, I32)
    if op in ("clz", "ctz", "popcnt", "abs", "neg", "ceil", "floor", "trunc", "nearest",
              "sqrt") or op.startswith("extend"):
        return (K_UNARY, t, 0, t)
    return (K_BINARY, t, t, t)


def _scalar_memory_entry(name: str) -> tuple[int, int, int, int]:
    prefix, op = name.split(".")
    t = _SCALAR[prefix]
    if op.startswith("load"):
        natural = _SCALAR_LOADS[op]
        return (K_LOAD, _NATURAL[t] if natural is None else natural, 0, t)
    width = op[5:]  # store, store8, store16, store32
    natural = {"": _NATURAL[t], "8": 0, "16": 1, "32": 2}[width]
    return (K_STORE, natural, t, 0)


def _simd_entry(name: str) -> tuple[int, int, int, int]:
    prefix, op = name.split(".")
    if prefix == "v128":
        if op == "const":
            return (K_CONST, 0, 0, V128)
        if op == "store":
            return (K_STORE, 4, V128, 0)
        if op == "load":
            return (K_LOAD, 4, 0, V128)
        if op.startswith(("load8x8", "load16x4", "load32x2")):
            return (K_LOAD, 3, 0, V128)
        if op.endswith(("_splat", "_zero")):
            bits = int(op[4:].split("_")[0])
            return (K_LOAD, (bits // 8).bit_length() - 1, 0, V128)
        if op.endswith("_lane"):  # load8_lane, store64_lane...
            store = op.startswith("store")
            bits = int(op[5 if store else 4:].split("_")[0])
            return (K_LOAD_LANE, (bits // 8).bit_length() - 1, 128 // bits, int(store))
        if op == "bitselect":
            return (K_GENERIC, (V128, V128, V128), 0, (V128,))
        if op == "any_true":
            return (K_UNARY, V128, 0, I32)
        if op == "not":
            return (K_UNARY, V128, 0, V128)
        return (K_BINARY, V128, V128, V128)  # and, andnot, or, xor
    lane_type, lanes = SHAPES[prefix]
    if op == "shuffle":
        return (K_SHUFFLE, 0, 0, 0)
    if op == "splat":
        return (K_UNARY, lane_type, 0, V128)
    if op.startswith("extract_lane"):
        return (K_LANE, lanes, lane_type, 0)
    if op == "replace_lane":
        return (K_LANE, lanes, lane_type, 1)
    if op in ("all_true", "bitmask"):
        return (K_UNARY, V128, 0, I32)
    if op in ("shl", "shr_s", "shr_u"):
        return (K_BINARY, V128, I32, V128)
    if op in _SIMD_UNARY or op.startswith(_SIMD_UNARY_PREFIXES):
        return (K_UNARY, V128, 0, V128)
    return (K_BINARY, V128, V128, V128)


@lru_cache(maxsize=None)
def instruction_table(features: WasmFeatures) -> dict[int, tuple[int, int, int, int]]:
    """opcode -> (kind, a, b, c) for every instruction the feature set enables."""
    table = dict(_CONTROL)
    for code, name in opcodes.NAMES.items():
        prefix = code >> 16
        if prefix == 0 and 0x28 <= code <= 0x3E:
            table[code] = _scalar_memory_entry(name)
        elif prefix == 0 and 0x45 <= code <= 0xBF:
            table[code] = _numeric_entry(name)
        elif prefix == 0 and 0xC0 <= code <= 0xC4:
            if features.sign_extension:
                table[code] = _numeric_entry(name)
        elif prefix == opcodes.MISC_PREFIX and code & 0xFFFF <= 0x07:
            if features.saturating_float_to_int:
                table[code] = _numeric_entry(name)
        elif prefix == opcodes.SIMD_PREFIX:
            if features.simd:
                table[code] = _simd_entry(name)
    if features.tail_call:
        table.update(_TAIL_CALL)
    if features.reference_types:
        table.update(_REFERENCE_TYPES)
    if features.bulk_memory:
        table.update(_BULK_MEMORY)
    return table


def feature_of(opcode: int) -> str | None:
    """The WasmFeatures flag that enables an opcode, for error messages (None if unknown)."""
    prefix = opcode >> 16
    if prefix == opcodes.SIMD_PREFIX:
        return "simd"
    if opcode in _TAIL_CALL:
        return "tail_call"
    if opcode in _REFERENCE_TYPES:
        return "reference_types"
    if opcode in _BULK_MEMORY:
        return "bulk_memory"
    if prefix == opcodes.MISC_PREFIX and opcode & 0xFFFF <= 0x07:
        return "saturating_float_to_int"
    if 0xC0 <= opcode <= 0xC4:
        return "sign_extension"
    return None
