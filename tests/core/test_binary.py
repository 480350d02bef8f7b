"""Tests of the binary decoder and encoder (`wasmcore.binary`) against the spec testsuite's
Wasm 1.0/2.0 tiers, plus fuzzing and unit tests
(https://webassembly.github.io/spec/core/binary/index.html)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import msgspec
import pytest

from tests._shared import json_from_wast
from hypothesis import given, settings
from hypothesis import strategies as st

from wasmcore.binary import decode_module, encode_module
from wasmcore.binary._leb import encode_signed, encode_u32
from wasmcore.binary._reader import read_signed, read_u32, read_unsigned
from wasmcore.errors import DecodeError
from wasmcore.syntax import opcodes
from wasmcore.syntax.features import WasmFeatures
from wasmcore.syntax.types import (
    CustomSection, DataSegment, DecodedModule, ElementSegment, Export, ExternKind, Function,
    FuncType, Global, GlobalType, Import, Limits, MemoryType, Names, SegmentMode, TableType,
    ValueType,
)

TIERS = ("wasm-1.0", "wasm-2.0", "wasm-2.0-simd")
END = (0x0B,)
I32 = ValueType.I32

# Spec cases we knowingly get wrong: "file.wast:line" -> reason. Each one marks its file's
# test xfail(strict=True), so a fix turns the run red until the entry is removed.
KNOWN_FAILURES: dict[str, str] = {}


def shared_dir() -> Path:
    """The shared data directory: $WASMCORE_SHARED, else ../shared beside the repository."""
    env = os.environ.get("WASMCORE_SHARED")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared"


SPEC_DIR = shared_dir() / "spec-testsuite"


def _tier_files() -> list[str]:
    tiers_json = SPEC_DIR / "tiers.json"
    if not tiers_json.exists():
        return []
    tiers = json.loads(tiers_json.read_text())["tiers"]
    return [path for tier in TIERS for path in tiers[tier]["files"]]


SPEC_FILES = _tier_files()
_BINARY_MALFORMED = re.compile(rb"\(assert_malformed\s*\(module\s+(?:\$\S+\s+)?binary")
MALFORMED_FILES = [f for f in SPEC_FILES
                   if _BINARY_MALFORMED.search((SPEC_DIR / f).read_bytes())]


def _params(files: list[str]) -> list:
    params = []
    for path in files:
        name = Path(path).name
        reasons = [reason for case, reason in KNOWN_FAILURES.items()
                   if case.split(":")[0] == name]
        marks = [pytest.mark.xfail(strict=True, reason="; ".join(reasons))] if reasons else []
        params.append(pytest.param(path, id=name, marks=marks))
    return params


def strip(module: DecodedModule) -> DecodedModule:
    """What survives re-encoding: everything but `id` and the bodies' byte offsets."""
    functions = tuple(msgspec.structs.replace(f, offset=0) for f in module.functions)
    return msgspec.structs.replace(module, id="", functions=functions)


def round_trip(module: DecodedModule, features: WasmFeatures | None = None) -> DecodedModule:
    data = encode_module(module)
    again = decode_module(data) if features is None else decode_module(data, features)
    assert strip(again) == strip(module)
    assert encode_module(again) == data  # deterministic, and a fixed point
    return again


# -- the spec testsuite ----------------------------------------------------------------------

@pytest.fixture(scope="session")
def spec_json(tmp_path_factory) -> dict[str, tuple[Path, list[dict]]]:
    """Every tier file converted by `wasm-tools json-from-wast`: path -> (dir, commands).

    (wast2json is not used: for text modules that use data.drop without data segments it
    omits the data count section, producing binaries that are malformed.)"""
    if not SPEC_FILES:
        pytest.skip(f"spec testsuite not found under {SPEC_DIR}")
    if shutil.which("wasm-tools") is None:
        pytest.skip("wasm-tools not on PATH")
    root = tmp_path_factory.mktemp("spec")

    return json_from_wast(SPEC_FILES, SPEC_DIR, root)


def _binaries(spec_json, path: str, malformed: bool):
    directory, commands = spec_json[path]
    for command in commands:
        filename = command.get("filename", "")
        if not filename.endswith(".wasm"):
            continue  # text modules (`module quote` etc.)
        if (command["type"] == "assert_malformed") != malformed:
            continue
        yield command, (directory / filename).read_bytes()


@pytest.mark.parametrize("path", _params(MALFORMED_FILES))
def test_malformed_binary_modules_are_rejected(spec_json, path):
    failures = []
    count = 0
    for command, data in _binaries(spec_json, path, malformed=True):
        count += 1
        where = f"{Path(path).name}:{command['line']}"
        try:
            decode_module(data)
        except DecodeError as error:
            if command["text"] not in str(error):
                failures.append(f"{where}: expected {command['text']!r}, got {str(error)!r}")
            elif error.offset is None or not 0 <= error.offset <= len(data):
                failures.append(f"{where}: bad offset {error.offset!r}")
        else:
            failures.append(f"{where}: decoded, expected {command['text']!r}")
    assert count > 0
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("path", _params(SPEC_FILES))
def test_well_formed_modules_decode(spec_json, path):
    # module, assert_invalid, assert_unlinkable, assert_uninstantiable (assert_trap on a module)
    for command, data in _binaries(spec_json, path, malformed=False):
        module = decode_module(data)
        assert module.id == hashlib.sha256(data).hexdigest(), command["line"]


@pytest.mark.parametrize("path", _params(SPEC_FILES))
def test_round_trip(spec_json, path):
    for command, data in _binaries(spec_json, path, malformed=False):
        module = decode_module(data)
        again = decode_module(encode_module(module))
        assert strip(again) == strip(module), f"{Path(path).name}:{command['line']}"


# -- fuzzing ---------------------------------------------------------------------------------

_RICH_WAT = """
(module
  (type $t (func (param i32 i64) (result f32)))
  (import "env" "f" (func $imp (type $t)))
  (import "env" "g" (global $g (mut i32)))
  (import "env" "m" (memory 1 2))
  (table $tab 2 10 funcref)
  (table $ext 1 externref)
  (global $h (mut i64) (i64.const -5))
  (global $v v128 (v128.const i32x4 1 2 3 4))
  (export "run" (func $run))
  (start $s)
  (elem (i32.const 0) $run $s)
  (elem $p funcref (ref.func $run) (ref.null func))
  (elem declare func $s)
  (data (i32.const 8) "hello")
  (data $d "passive")
  (func $s)
  (func $run (param $x i32) (result i32) (local $y f64) (local i64 i64 v128)
    block $b (result i32)
      i32.const 7
      local.get $x
      br_table $b 0 $b
    end
    if (result i32)
      i32.const -2147483648
    else
      i32.const 2147483647
    end
    drop
    f64.const -0x1.fffffffffffffp+1023
    local.set $y
    (drop (i32.load8_u offset=100000 align=1 (i32.const 4)))
    (memory.init $d (i32.const 0) (i32.const 0) (i32.const 1))
    (data.drop $d)
    (table.init $tab $p (i32.const 0) (i32.const 0) (i32.const 1))
    (elem.drop $p)
    (drop (table.grow $ext (ref.null extern) (i32.const 1)))
    (drop (i32x4.extract_lane 2 (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 31
           (v128.load offset=16 (i32.const 0)) (v128.const i64x2 -1 7))))
    (call_indirect (type $t) (i32.const 1) (i64.const 2) (i32.const 0))
    drop
    (select (result i32) (i32.const 1) (i32.const 2) (i32.const 0))
    (drop (i32.trunc_sat_f32_s (f32.const nan:0x200000)))
    (drop (memory.grow (i32.const 0)))
  )
)
"""


@pytest.fixture(scope="session")
def fuzz_seeds(tmp_path_factory) -> list[bytes]:
    seeds = []
    if shutil.which("wasm-tools"):
        wat = tmp_path_factory.mktemp("fuzz") / "rich.wat"
        wat.write_text(_RICH_WAT)
        seeds.append(subprocess.run(["wasm-tools", "parse", str(wat)], check=True,
                                    capture_output=True).stdout)
    bench = shared_dir() / "bench" / "wasm"
    for name in ("fib.kernel.wasm", "calls.wasm", "mandelbrot.kernel.wasm",
                 "nbody.kernel.wasm", "sha256.kernel.wasm"):
        if (bench / name).exists():
            seeds.append((bench / name).read_bytes())
    if not seeds:
        pytest.skip("no seed modules")
    return seeds


def _check_decoder_is_total(data: bytes) -> None:
    """Only DecodeError or a module; a module re-encodes to itself."""
    try:
        module = decode_module(data)
    except DecodeError as error:
        assert error.offset is None or 0 <= error.offset <= len(data)
        return
    round_trip(module)


_mutation = st.tuples(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]),
                      st.integers(0, 1 << 30), st.integers(0, 255))


@settings(max_examples=300, deadline=None, database=None)
@given(seed=st.integers(0, 1 << 30), mutations=st.lists(_mutation, min_size=1, max_size=4))
def test_fuzz_mutated_modules_give_only_decode_errors(fuzz_seeds, seed, mutations):
    data = bytearray(fuzz_seeds[seed % len(fuzz_seeds)])
    for kind, position, value in mutations:
        if not data:
            break
        i = position % len(data)
        if kind == "flip":
            data[i] ^= 1 << (value % 8)
        elif kind == "set":
            data[i] = value
        elif kind == "insert":
            data.insert(i, value)
        elif kind == "delete":
            del data[i]
        else:
            del data[i:]
    _check_decoder_is_total(bytes(data))


@settings(max_examples=200, deadline=None, database=None)
@given(body=st.binary(max_size=64))
def test_fuzz_random_bytes_after_header(body):
    _check_decoder_is_total(b"\x00asm\x01\x00\x00\x00" + body)


@settings(max_examples=200, deadline=None, database=None)
@given(code=st.binary(max_size=48))
def test_fuzz_random_function_body(code):
    # One function of type [] -> []: random bytes as its body exercise the instruction loop.
    body = b"\x00" + code + b"\x0b"
    data = (b"\x00asm\x01\x00\x00\x00" + b"\x01\x04\x01\x60\x00\x00" + b"\x03\x02\x01\x00"
            + b"\x05\x03\x01\x00\x01" + b"\x0c\x01\x00" + b"\x0a"
            + encode_u32(len(body) + len(encode_u32(len(body))) + 1) + b"\x01"
            + encode_u32(len(body)) + body)
    _check_decoder_is_total(data)


# -- LEB128 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, value", [
    (b"\x00", 0), (b"\x7f", 127), (b"\x80\x01", 128), (b"\x80\x00", 0),
    (b"\xff\xff\xff\xff\x0f", 0xFFFFFFFF), (b"\x80\x80\x80\x80\x00", 0),
])
def test_u32(raw, value):
    assert read_u32(raw, 0) == (value, len(raw))
    assert read_unsigned(raw, 0, 32) == (value, len(raw))


@pytest.mark.parametrize("raw, message", [
    (b"\xff\xff\xff\xff\x1f", "integer too large"),
    (b"\x80\x80\x80\x80\x10", "integer too large"),
    (b"\x80\x80\x80\x80\x80\x00", "integer representation too long"),
    (b"\xff\xff\xff\xff\x8f\x00", "integer representation too long"),
])
def test_u32_errors(raw, message):
    for read in (lambda: read_u32(raw, 0), lambda: read_unsigned(raw, 0, 32)):
        with pytest.raises(DecodeError, match=message):
            read()


@pytest.mark.parametrize("raw, bits, value", [
    (b"\x7f", 32, -1), (b"\x40", 32, -64), (b"\x3f", 32, 63), (b"\xc0\x00", 32, 64),
    (b"\x80\x80\x80\x80\x78", 32, -(1 << 31)), (b"\xff\xff\xff\xff\x07", 32, (1 << 31) - 1),
    (b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x7f", 64, -(1 << 63)),
    (b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00", 64, (1 << 63) - 1),
])
def test_signed(raw, bits, value):
    assert read_signed(raw, 0, bits) == (value, len(raw))


@pytest.mark.parametrize("raw, bits, message", [
    (b"\xff\xff\xff\xff\x4f", 32, "integer too large"),
    (b"\x80\x80\x80\x80\x08", 32, "integer too large"),
    (b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x02", 64, "integer too large"),
    (b"\x80\x80\x80\x80\x80\x00", 32, "integer representation too long"),
])
def test_signed_errors(raw, bits, message):
    with pytest.raises(DecodeError, match=message):
        read_signed(raw, 0, bits)


@settings(database=None)
@given(st.integers(0, (1 << 64) - 1))
def test_unsigned_encoding_is_minimal(value):
    raw = encode_u32(value)
    assert len(raw) == max(1, -(-value.bit_length() // 7))
    assert read_unsigned(raw, 0, 64) == (value, len(raw))


@settings(database=None)
@given(st.integers(-(1 << 63), (1 << 63) - 1))
def test_signed_encoding_is_minimal(value):
    raw = encode_signed(value)
    bits = (value if value >= 0 else ~value).bit_length() + 1  # two's complement, sign bit
    assert len(raw) == max(1, -(-bits // 7))
    assert read_signed(raw, 0, 64) == (value, len(raw))


# -- handwritten modules ---------------------------------------------------------------------

def _module_with_body(*body, locals_=(), **fields) -> DecodedModule:
    return DecodedModule(
        types=(FuncType((), ()),),
        functions=(Function(0, tuple(locals_), tuple(body) + (END,)),),
        **fields,
    )


def test_constants_decode_to_signed_values_and_raw_bits():
    values = [0, 1, -1, 63, 64, -64, -65, 8191, 8192, -8192, -8193, (1 << 31) - 1, -(1 << 31)]
    body = [(0x41, v) for v in values] + [(0x42, -(1 << 63)), (0x42, (1 << 63) - 1),
                                          (0x43, 0x7FA00001), (0x44, 0xFFF8000000000001)]
    body += [(0x1A,)] * len(body)
    round_trip(_module_with_body(*body))


def test_every_opcode_round_trips():
    body = []
    for op, kind in opcodes.IMMEDIATES.items():
        if op in opcodes.TAIL_CALL:
            continue
        immediate = {
            "none": (), "blocktype": (-64,), "label": (0,), "br_table": ((0, 1), 2),
            "func": (0,), "call_indirect": (0, 0), "local": (3,), "global": (0,),
            "table": (0,), "memarg": (2, 300, 0), "memory": (0,), "i32": (-7,),
            "i64": (1 << 40,), "f32": (0x3F800000,), "f64": (1,), "reftype": (ValueType.FUNCREF,),
            "select_t": ((ValueType.I64,),), "memory_init": (0, 0), "data": (0,),
            "memory_copy": (0, 0), "table_init": (0, 0), "elem": (0,), "table_copy": (0, 0),
            "v128": ((1 << 128) - 1,), "shuffle": (tuple(range(16)),), "lane": (3,),
            "memarg_lane": (0, 16, 0, 1),
        }[kind]
        if op in (0x02, 0x03, 0x04):
            body += [(op, -64), END] if op != 0x04 else [(op, -64), (0x05,), END]
        elif op not in (0x05, 0x0B):
            body.append((op,) + immediate)
    module = round_trip(_module_with_body(*body, data_count=0))
    decoded = {ins[0] for ins in module.functions[0].body}
    assert decoded == set(opcodes.IMMEDIATES) - opcodes.TAIL_CALL


def test_locals_are_expanded_and_grouped():
    locals_ = (I32,) * 3 + (ValueType.F64,) + (I32,) * 2 + (ValueType.V128,)
    module = round_trip(_module_with_body(locals_=locals_))
    assert module.functions[0].locals == locals_
    assert module.functions[0].offset > 0


def test_too_many_locals():
    data = encode_module(_module_with_body(locals_=(I32,) * 50_001))
    with pytest.raises(DecodeError, match="too many locals"):
        decode_module(data)


def test_deep_nesting_does_not_recurse():
    depth = 20_000
    module = _module_with_body(*([(0x02, -64)] * depth + [END] * depth))
    assert len(round_trip(module).functions[0].body) == 2 * depth + 1


def test_sections_segments_and_imports_round_trip():
    ref_func = lambda i: ((0xD2, i), END)  # noqa: E731
    module = DecodedModule(
        types=(FuncType((I32, ValueType.I64), (ValueType.F32,)), FuncType()),
        imports=(
            Import("env", "f", ExternKind.FUNC, 0),
            Import("env", "t", ExternKind.TABLE, TableType(ValueType.EXTERNREF, Limits(1, 5))),
            Import("env", "m", ExternKind.MEMORY, MemoryType(Limits(0))),
            Import("ünï", "g", ExternKind.GLOBAL, GlobalType(I32, True)),
        ),
        functions=(Function(1, (), (END,)),),
        tables=(TableType(ValueType.FUNCREF, Limits(3, None)),),
        globals=(Global(GlobalType(ValueType.F64), ((0x44, 0), END)),),
        exports=(Export("f", ExternKind.FUNC, 1), Export("", ExternKind.TABLE, 0)),
        start=1,
        elements=(
            ElementSegment(ValueType.FUNCREF, (ref_func(1),), SegmentMode.ACTIVE, 0,
                           ((0x41, 0), END)),
            ElementSegment(ValueType.FUNCREF, (ref_func(0),), SegmentMode.ACTIVE, 1,
                           ((0x41, 1), END)),
            ElementSegment(ValueType.FUNCREF, (ref_func(0), ((0xD0, ValueType.FUNCREF), END)),
                           SegmentMode.PASSIVE),
            ElementSegment(ValueType.EXTERNREF, (((0xD0, ValueType.EXTERNREF), END),),
                           SegmentMode.ACTIVE, 0, ((0x41, 2), END)),
            ElementSegment(ValueType.FUNCREF, (ref_func(1),), SegmentMode.DECLARATIVE),
        ),
        datas=(DataSegment(b"abc", SegmentMode.ACTIVE, 0, ((0x41, 8), END)),
               DataSegment(b"", SegmentMode.PASSIVE)),
        data_count=2,
        customs=(CustomSection("producers", b"\x00"), CustomSection("", b"raw")),
    )
    round_trip(module)


def test_name_section():
    names = Names(module="m", functions={0: "start", 7: "ünicode"},
                  locals={0: {0: "x", 2: "z"}, 3: {}})
    data = encode_module(_module_with_body(names=names))
    module = decode_module(data)
    assert module.names == names
    assert module.customs == ()  # a well-formed name section lives only in `names`
    round_trip(module)


@pytest.mark.parametrize("payload", [
    b"\x01\x05\x01\x00\x01\xff",          # invalid UTF-8 function name
    b"\x01\x09\x01",                      # subsection size beyond the payload
    b"\x01\x01\x00\x00\x01\x00",          # subsections out of order
    b"\x00\x02\x00\x00",                  # subsection size mismatch
])
def test_malformed_name_section_is_kept_as_custom_section(payload):
    data = encode_module(_module_with_body(customs=(CustomSection("name", payload),)))
    module = decode_module(data)
    assert module.names == Names()
    assert module.customs == (CustomSection("name", payload),)
    assert encode_module(module) == data


def test_id_is_sha256_and_any_bytes_like_input_is_accepted():
    data = encode_module(_module_with_body())
    digest = hashlib.sha256(data).hexdigest()
    assert decode_module(data).id == digest
    assert decode_module(bytearray(data)).id == digest
    assert decode_module(memoryview(data)).id == digest


@pytest.mark.parametrize("features, instruction, message", [
    (WasmFeatures(simd=False), (opcodes.simd(0x0C), 0), "illegal opcode fd"),
    (WasmFeatures(sign_extension=False), (0xC0,), "illegal opcode c0"),
    (WasmFeatures(saturating_float_to_int=False), (opcodes.misc(0),), "illegal opcode fc 00"),
    (WasmFeatures(bulk_memory=False), (opcodes.misc(0x0A), 0, 0), "illegal opcode fc 0a"),
    (WasmFeatures(reference_types=False), (0xD1,), "illegal opcode d1"),
    (WasmFeatures(), (0x12, 0), "illegal opcode 12"),  # return_call needs tail_call
])
def test_feature_gated_opcodes(features, instruction, message):
    data = encode_module(_module_with_body(instruction, (0x1A,)))
    decode_module(data, WasmFeatures(tail_call=True))
    with pytest.raises(DecodeError, match=message):
        decode_module(data, features)


def test_multi_memory_indices():
    body = [(0x41, 0), (0x28, 2, 7, 1), (0x1A,), (0x3F, 1), (0x1A,),
            (0x41, 0), (0x41, 0), (0x41, 0), (opcodes.misc(0x0A), 1, 0)]
    features = WasmFeatures(multi_memory=True)
    module = _module_with_body(*body)
    round_trip(module, features)
    with pytest.raises(DecodeError, match="malformed memop flags"):
        decode_module(encode_module(module))
    with pytest.raises(DecodeError, match="zero byte expected"):
        decode_module(encode_module(_module_with_body((0x3F, 1), (0x1A,))))


def test_memory64_and_shared_memory_types():
    features = WasmFeatures(memory64=True, threads=True)
    module = DecodedModule(memories=(MemoryType(Limits(1, 1 << 40), is_64=True),
                                     MemoryType(Limits(1, 2), shared=True)))
    round_trip(module, features)
    with pytest.raises(DecodeError, match="integer too large"):
        decode_module(encode_module(module))


@pytest.mark.parametrize("data, message", [
    (b"\x00asm\x01\x00\x00\x00\x01\x05\x7f", "length out of bounds"),       # huge type count
    (b"\x00asm\x01\x00\x00\x00\x01\x03\xff\xff\x03", "length out of bounds"),
    (b"\x00asm\x01\x00\x00\x00\x0d\x00", "malformed section id"),
    (b"\x00asm\x01\x00\x00\x00\x0b\x01\x00\x01\x01\x00", "unexpected content after last section"),
])
def test_hostile_counts_and_section_order(data, message):
    with pytest.raises(DecodeError, match=message):
        decode_module(data)


def test_data_count_required_for_memory_init_and_data_drop():
    module = _module_with_body((opcodes.misc(0x09), 0),
                               datas=(DataSegment(b"", SegmentMode.PASSIVE),))
    with pytest.raises(DecodeError, match="data count section required"):
        decode_module(encode_module(module))
    round_trip(msgspec.structs.replace(module, data_count=1))
