"""The text format parser: WAT modules and WAST scripts."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess

import pytest

from tests._shared import shared_dir, spec_tier_files
from wasmcore.binary import decode_module, encode_module
from wasmcore.errors import DecodeError
from wasmcore.syntax.types import ExternKind, FuncType, SegmentMode, ValueType
from wasmcore.text import parse_module, parse_script
from wasmcore.text._numbers import parse_float, parse_int

TIERS = ("wasm-1.0", "wasm-2.0", "wasm-2.0-simd")
_FILES = spec_tier_files(*TIERS) if (shared_dir() / "spec-testsuite").is_dir() else []


def _rel(path) -> str:
    return f"{path.parent.name}/{path.name}"


# --- every spec script parses ---------------------------------------------------------------------


@pytest.mark.parametrize("path", _FILES, ids=_rel)
def test_spec_script_parses(path):
    commands = parse_script(path.read_text(encoding="utf-8"), str(path))
    assert commands
    for command in commands:
        kind = type(command).__name__
        module = getattr(command, "module", None)
        if kind in ("ModuleCommand", "AssertInvalid", "AssertUnlinkable", "AssertUninstantiable"):
            # text modules outside assert_malformed must parse (no fallback to quote)
            assert module.error is None, (command.line, module.error)


# --- text modules equal wast2json's binaries -------------------------------------------------------

_SAMPLE = [
    "i32.wast", "block.wast", "br_table.wast", "call_indirect.wast", "data.wast", "elem.wast",
    "exports.wast", "imports.wast", "func.wast", "global.wast", "memory.wast", "if.wast",
    "loop.wast", "names.wast", "start.wast", "select.wast", "bulk.wast", "ref_func.wast",
    "table_copy.wast", "table_init.wast", "memory_init.wast", "linking.wast", "float_literals.wast",
    "const.wast", "labels.wast", "float_exprs.wast", "simd_const.wast", "simd_lane.wast",
    "simd_load.wast", "simd_store.wast", "simd_load_lane.wast", "simd_address.wast",
    "table_grow.wast", "unreached-valid.wast", "stack.wast", "func_ptrs.wast",
]
_COMPARED = ("types", "imports", "functions", "tables", "memories", "globals", "exports", "start",
             "elements", "datas")


def _sample_files():
    by_name = {p.name: p for p in _FILES}
    return [by_name[name] for name in _SAMPLE if name in by_name]


@pytest.mark.skipif(shutil.which("wast2json") is None, reason="wast2json not installed")
@pytest.mark.parametrize("path", _sample_files(), ids=_rel)
def test_modules_match_wast2json(path, tmp_path):
    out = tmp_path / "out.json"
    proc = subprocess.run(["wast2json", str(path), "-o", str(out)],
                          capture_output=True)
    if proc.returncode != 0:
        proc = subprocess.run(["wast2json", str(path), "-o", str(out)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"wast2json rejects {path.name}")
    expected = {}
    for command in json.loads(out.read_text())["commands"]:
        if command["type"] == "module" and command.get("module_type", "binary") == "binary":
            expected[command["line"]] = (tmp_path / command["filename"]).read_bytes()
    compared = 0
    for command in parse_script(path.read_text(encoding="utf-8"), str(path)):
        if type(command).__name__ != "ModuleCommand" or command.module.kind != "text":
            continue
        binary = expected.get(command.line)
        if binary is None:
            continue
        ours = command.module.module
        theirs = decode_module(binary)
        for field in _COMPARED:
            a, b = getattr(ours, field), getattr(theirs, field)
            if field == "functions":  # body offsets are binary positions
                a = [(f.type_index, f.locals, f.body) for f in a]
                b = [(f.type_index, f.locals, f.body) for f in b]
            assert a == b, (command.line, field)
        # and our module survives the encoder/decoder round trip
        again = decode_module(encode_module(ours))
        assert [f.body for f in again.functions] == [f.body for f in ours.functions], command.line
        compared += 1
    assert compared, "no module compared"


# --- numbers --------------------------------------------------------------------------------------


def _f32(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def _f64(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


@pytest.mark.parametrize("text", [
    "0", "1", "-1", "0.5", "1e10", "1.5e-10", "3.141592653589793", "123456789.123456789",
    "1e-300", "2.2250738585072014e-308", "4.9e-324", "1.7976931348623157e308", "0x1p-1074",
    "0x1.fffffffffffffp1023", "0x1.8p1", "-0x1.4p-3", "1_000.000_1", "0x1_0.8_0p+1_0",
])
def test_f64_literals_match_python(text):
    value = float.fromhex(text.replace("_", "")) if "0x" in text else float(text.replace("_", ""))
    assert parse_float(text, 64) == _f64(value)


@pytest.mark.parametrize("text, bits", [
    ("0", 0), ("-0", 0x80000000), ("1", 0x3F800000), ("inf", 0x7F800000),
    ("-inf", 0xFF800000), ("nan", 0x7FC00000), ("-nan", 0xFFC00000),
    ("nan:0x1", 0x7F800001), ("nan:0x7fffff", 0x7FFFFFFF), ("+nan:0x200000", 0x7FA00000),
    ("0x1p-149", 1), ("0x1p-150", 0), ("0x1.8p-149", 2),  # ties to even
    ("0x1.000001p0", 0x3F800000), ("0x1.000003p0", 0x3F800002),
    ("0x1.fffffefffffffffffp127", 0x7F7FFFFF), ("3.4028235e38", 0x7F7FFFFF),
    ("1.401298464324817e-45", 1), ("0.1", 0x3DCCCCCD),
    ("1.00000005960464477539062499", 0x3F800000), ("1.000000059604644775390625", 0x3F800000),
    ("1.00000005960464477539062501", 0x3F800001), ("0x1.00000100000000000001p0", 0x3F800001),
])
def test_f32_literals(text, bits):
    assert parse_float(text, 32) == bits


@pytest.mark.parametrize("text, bits", [
    ("0x1p128", 32), ("3.4028236e38", 32), ("1e39", 32), ("0x1.fffffffffffff8p1023", 64),
    ("1e309", 64), ("nan:0x0", 32), ("nan:0x800000", 32), ("nan:0x10000000000000", 64),
])
def test_float_out_of_range(text, bits):
    with pytest.raises(DecodeError, match="constant out of range"):
        parse_float(text, bits)


def test_float_f32_matches_python_rounding():
    for text in ("0.1", "0.2", "1e-40", "6e-46", "1.1754942e-38", "16777217", "3.4028234e38"):
        assert parse_float(text, 32) == _f32(float(text)) or text == "6e-46"


def test_integers():
    assert parse_int("-2147483648", 32) == -2**31
    assert parse_int("4294967295", 32) == -1
    assert parse_int("0xffff_ffff", 32) == -1
    assert parse_int("-0x8000_0000_0000_0000", 64) == -2**63
    assert parse_int("+7", 32) == 7
    for bad in ("4294967296", "-2147483649"):
        with pytest.raises(DecodeError, match="constant out of range"):
            parse_int(bad, 32)
    for bad in ("1__0", "_1", "0x", "1_", "0x_1"):
        with pytest.raises(DecodeError, match="unknown operator"):
            parse_int(bad, 32)


# --- modules --------------------------------------------------------------------------------------


def test_module_basics():
    m = parse_module("""
    (module $m
      (type $t (func (param i32) (result i32)))
      (import "env" "f" (func $imp (type $t)))
      (global $g (mut i32) (i32.const 7))
      (memory (export "mem") 1 2)
      (table $tab 2 funcref)
      (func $add (export "add") (param $a i32) (param $b i32) (result i32)
        (local $tmp i32)
        (local.set $tmp (i32.add (local.get $a) (local.get $b)))
        (block $out (result i32)
          (br_if $out (local.get $tmp) (i32.eqz (local.get $tmp)))
          (call $imp (local.get $tmp))))
      (func (result i32 i32) (i32.const 1) (i32.const 2))
      (elem (i32.const 0) $add 1)
      (data (i32.const 8) "hi\\n\\00\\u{1F600}")
      (start $imp))
    """)
    assert m.names.module == "m"
    assert m.types[0] == FuncType((ValueType.I32,), (ValueType.I32,))
    assert m.types[1] == FuncType((ValueType.I32, ValueType.I32), (ValueType.I32,))
    assert m.types[2] == FuncType((), (ValueType.I32, ValueType.I32))
    assert m.imports[0].desc == 0
    assert m.functions[0].type_index == 1
    assert m.functions[0].locals == (ValueType.I32,)
    assert m.names.functions == {0: "imp", 1: "add"}
    assert m.names.locals == {1: {0: "a", 1: "b", 2: "tmp"}}
    assert [(e.name, e.kind, e.index) for e in m.exports] == [
        ("mem", ExternKind.MEMORY, 0), ("add", ExternKind.FUNC, 1)]
    assert m.elements[0].init == (((0xD2, 1), (0x0B,)), ((0xD2, 1), (0x0B,)))
    assert m.datas[0].init == b"hi\n\x00" + "\U0001F600".encode()
    assert m.start == 0
    body = m.functions[0].body
    assert body[-1] == (0x0B,)
    assert (0x0D, 0) in body  # br_if $out
    decode_module(encode_module(m))


def test_flat_blocks_and_labels():
    m = parse_module("""(func $f (param i32) (result i32)
      block $a (result i32)
        local.get 0
        if $b (result i32) i32.const 1 br $a else i32.const 2 br $b end $b
      end $a)""")
    assert m.functions[0].body == (
        (0x02, -1), (0x20, 0), (0x04, -1), (0x41, 1), (0x0C, 1), (0x05,), (0x41, 2), (0x0C, 0),
        (0x0B,), (0x0B,), (0x0B,))


@pytest.mark.parametrize("source, message", [
    ("(func $f) (func $f)", "duplicate func"),
    ("(func (param $x i32) (local $x i32))", "duplicate local"),
    ("(func (call $nope))", "unknown function"),
    ("(func (local.get $nope))", "unknown local"),
    ("(func (br $nope))", "unknown label"),
    ("(func (global.get $g))", "unknown global"),
    ("(func (type $t))", "unknown type"),
    ("(func block $a end $b)", "mismatching label"),
    ("(func i32.frob)", "unknown operator"),
    ("(func (i32.const 4294967296))", "constant out of range"),
    ("(func (i32.load align=3 (i32.const 0)))", "alignment"),
    ("(func) (import \"\" \"\" (func))", "import after function"),
    ("(global i32 (i32.const 0)) (import \"\" \"\" (memory 1))", "import after global"),
    ("(type $t (func)) (func (type $t) (param i32))", "inline function type"),
    ("(func", "unexpected end"),
    ("(func (param i32) (result i32) (param i32))", "unexpected token"),
    ("(export \"\\ff\" (func 0)) (func)", "malformed UTF-8 encoding"),
])
def test_text_errors(source, message):
    with pytest.raises(DecodeError, match=message):
        parse_module(source)


def test_simd_and_segments():
    m = parse_module("""(module
      (memory $m (data "abc"))
      (table $t 1 funcref)
      (func $f (result v128)
        (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
          (v128.const i32x4 1 2 3 -1) (v128.const f32x4 1.0 -0 inf nan)))
      (func (v128.store8_lane offset=2 3 (i32.const 0) (v128.const i64x2 0 0)))
      (elem declare func $f)
      (elem $p funcref (ref.func $f) (item ref.null func))
      (elem (table $t) (offset (i32.const 0)) func $f)
      (data $d "x" "y"))""")
    assert m.memories[0].limits.min == 1 and m.datas[0].init == b"abc"
    shuffle = m.functions[0].body[2]
    assert shuffle == (0xFD000D, tuple(range(16)))
    assert m.functions[0].body[0] == (0xFD000C, 1 | 2 << 32 | 3 << 64 | 0xFFFFFFFF << 96)
    assert m.functions[1].body[2] == (0xFD0058, 0, 2, 0, 3)
    modes = [e.mode for e in m.elements]
    assert modes == [SegmentMode.DECLARATIVE, SegmentMode.PASSIVE, SegmentMode.ACTIVE]
    assert m.elements[1].init[1] == ((0xD0, ValueType.FUNCREF), (0x0B,))
    assert m.datas[1].mode == SegmentMode.PASSIVE and m.datas[1].init == b"xy"


def test_script_commands():
    commands = parse_script("""
      (module $M (func (export "f") (param i32) (result i32) (local.get 0)))
      (register "m" $M)
      (assert_return (invoke $M "f" (i32.const -1)) (i32.const 0xffffffff))
      (assert_return (invoke "f" (f32.const 1)) (f32.const nan:canonical))
      (assert_return (invoke "g") (v128.const f32x4 nan:arithmetic 1 2 3) (ref.null extern))
      (assert_return (invoke "h" (ref.extern 3)) (either (ref.func) (ref.extern 3)))
      (assert_trap (invoke "f") "unreachable")
      (assert_malformed (module quote "(func") "unexpected end")
      (assert_invalid (module binary "\\00asm\\01\\00\\00\\00") "x")
      (get "g")
      (assert_exhaustion (invoke "loop") "call stack exhausted")
      (thread $T (module))
    """)
    kinds = [type(c).__name__ for c in commands]
    assert kinds == ["ModuleCommand", "Register", "AssertReturn", "AssertReturn", "AssertReturn",
                     "AssertReturn", "AssertTrap", "AssertMalformed", "AssertInvalid",
                     "ActionCommand", "AssertExhaustion", "Unsupported"]
    assert commands[0].module.name == "$M" and commands[0].line == 2
    assert commands[2].action.args[0].value == 0xFFFFFFFF
    assert type(commands[3].expected[0]).__name__ == "NanPattern"
    pattern = commands[4].expected[0]
    assert pattern.lane_type == "f32" and pattern.lanes[1] == 0x3F800000
    assert commands[4].expected[1].value is None
    assert commands[5].action.args[0].value == 3
    assert len(commands[5].expected[0].alternatives) == 2
    assert commands[7].module.kind == "quote" and commands[7].module.text == "(func"
    assert commands[8].module.binary == b"\0asm\1\0\0\0"
