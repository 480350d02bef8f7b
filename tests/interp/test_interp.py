"""The interp backend driven directly (no embedding API): compile + instantiate hooks, the
generated code's semantics, traps and their backtraces, host calls, resource limits."""

from __future__ import annotations

import json
import math
import struct

import pytest
from hypothesis import given, settings, strategies as st

from wasmcore.errors import Trap, TrapCode
from wasmcore.plugin import HostFunction
from wasmcore.runtime import FuncInstance
from wasmcore.syntax.types import FuncType, ValueType
from tests._shared import shared_dir
from tests.interp._harness import call, fake_engine, instantiate, wat2wasm

BENCH = shared_dir() / "bench"
M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF


def test_interp_registers_as_a_backend_and_compiles():
    import wasmcore_interp
    from tests.interp._harness import decode

    registered = []
    wasmcore_interp.wasmcore_register_backends(register=registered.append)
    [backend] = registered
    assert backend.name == "interp" and {"simd", "fuel", "epochs"} <= backend.features
    module = decode(wat2wasm('(module (func (export "f")))'))
    compiled = backend.compile(fake_engine(), module)
    assert compiled.backend == "interp" and compiled.code_regions() == []
    [published] = compiled.published_functions()
    assert published.index == 0 and published.code.co_name == "f0"


# --- benchmarks (tiny sizes) ------------------------------------------------------------------------
def _expected():
    path = BENCH / "expected.json"
    return json.loads(path.read_text())["benchmarks"] if path.is_file() else {}


KERNELS = [name for name, b in _expected().items() if b.get("kind") == "c"]


@pytest.mark.parametrize("name", KERNELS)
def test_bench_kernel_tiny(name):
    bench = _expected()[name]
    inst = instantiate((BENCH / bench["kernel"]).read_bytes())
    call(inst, "_initialize")
    assert call(inst, "run", bench["sizes"]["tiny"]) == bench["checksum"]["tiny"]


@pytest.mark.parametrize("name", ["loop_i32", "calls", "calls_indirect", "memory"])
def test_bench_wat_tiny(name):
    bench = _expected()[name]
    inst = instantiate((BENCH / bench["wasm"]).read_bytes())
    assert call(inst, bench.get("export", "run"), bench["sizes"]["tiny"]) == bench["result"]["tiny"]


# --- integer semantics against wasmtime -------------------------------------------------------------
I_BINOPS = ["add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl",
            "shr_s", "shr_u", "rotl", "rotr", "eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s",
            "le_u", "ge_s", "ge_u"]
I_UNOPS = ["clz", "ctz", "popcnt", "eqz", "extend8_s", "extend16_s"]


def _int_module():
    funcs = []
    for t in ("i32", "i64"):
        for opname in I_BINOPS:
            res = "i32" if opname[:2] in ("eq", "ne", "lt", "gt", "le", "ge") else t
            funcs.append(f'(func (export "{t}.{opname}") (param {t} {t}) (result {res}) '
                         f'({t}.{opname} (local.get 0) (local.get 1)))')
            # the same op with a constant right operand (constant-folded code paths)
            funcs.append(f'(func (export "{t}.{opname}.k7") (param {t}) (result {res}) '
                         f'({t}.{opname} (local.get 0) ({t}.const 7)))')
        for opname in I_UNOPS:
            res = "i32" if opname == "eqz" else t
            funcs.append(f'(func (export "{t}.{opname}") (param {t}) (result {res}) '
                         f'({t}.{opname} (local.get 0)))')
    funcs.append('(func (export "i64.extend32_s") (param i64) (result i64) '
                 '(i64.extend32_s (local.get 0)))')
    funcs.append('(func (export "wrap") (param i64) (result i32) (i32.wrap_i64 (local.get 0)))')
    funcs.append('(func (export "ext_s") (param i32) (result i64) (i64.extend_i32_s (local.get 0)))')
    return "(module " + "\n".join(funcs) + ")"


@pytest.fixture(scope="module")
def int_pair():
    wasmtime = pytest.importorskip("wasmtime")
    text = _int_module()
    binary = wat2wasm(text)
    inst = instantiate(binary)
    store = wasmtime.Store()
    oracle = wasmtime.Instance(store, wasmtime.Module(store.engine, binary), [])
    return inst, store, oracle


def _oracle(store, oracle, name, args, bits):
    func = oracle.exports(store)[name]
    signed = [a - (1 << bits) if a >> (bits - 1) else a for a in args]
    try:
        r = func(store, *signed)
    except wasmtime_trap() as trap:
        return ("trap", str(trap).splitlines()[0])
    return r & (M64 if name.startswith("i64") and "." in name and not name.split(".")[1][:2] in
                ("eq", "ne", "lt", "gt", "le", "ge") else M32) if name != "i64.eqz" else r & M32


def wasmtime_trap():
    import wasmtime
    return wasmtime.Trap


_edge32 = st.sampled_from([0, 1, 2, 7, 31, 32, 33, 0x7FFFFFFF, 0x80000000, 0x80000001, M32, M32 - 1])
_edge64 = st.sampled_from([0, 1, 7, 63, 64, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, M64, 0xFFFFFFFF,
                           0x100000000])


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["i32", "i64"]), st.sampled_from(I_BINOPS + I_UNOPS),
       st.integers(0, M64), st.integers(0, M64), st.booleans(), st.booleans(), st.booleans(),
       _edge32, _edge64)
def test_integer_ops_match_wasmtime(int_pair, t, opname, a, b, edge_a, edge_b, const, e32, e64):
    inst, store, oracle = int_pair
    bits = 32 if t == "i32" else 64
    mask = (1 << bits) - 1
    a = (e32 if bits == 32 else e64) if edge_a else a & mask
    b = (e32 if bits == 32 else e64) if edge_b else b & mask
    if opname in I_UNOPS:
        name, args = f"{t}.{opname}", [a]
    elif const:
        name, args = f"{t}.{opname}.k7", [a]
    else:
        name, args = f"{t}.{opname}", [a, b]
    func = oracle.exports(store)[name]
    signed = [x - (1 << bits) if x >> (bits - 1) else x for x in args]
    try:
        want = func(store, *signed)
    except wasmtime_trap() as trap:
        with pytest.raises(Trap) as info:
            inst.exports[name].invoke(*args)
        assert info.value.message in str(trap)
        return
    result_bits = 32 if opname in ("eq", "ne", "eqz") or opname[:2] in ("lt", "gt", "le", "ge") else bits
    assert call(inst, name, *args) == want & ((1 << result_bits) - 1)


# --- floats ---------------------------------------------------------------------------------------------
def test_f32_nan_payloads_survive_bit_operations():
    inst = instantiate("""(module (memory 1)
      (func (export "roundtrip") (param i32) (result i32)
        (f32.store (i32.const 0) (f32.reinterpret_i32 (local.get 0)))
        (i32.reinterpret_f32 (f32.load (i32.const 0))))
      (func (export "neg") (param f32) (result f32) (f32.neg (local.get 0)))
      (func (export "abs") (param f32) (result f32) (f32.abs (local.get 0)))
      (func (export "copysign") (param f32 f32) (result f32) (f32.copysign (local.get 0) (local.get 1)))
      (func (export "f64neg") (param f64) (result f64) (f64.neg (local.get 0)))
      (func (export "f64copysign") (param f64 f64) (result f64)
        (f64.copysign (local.get 0) (local.get 1)))
      (func (export "add") (param f32 f32) (result f32) (f32.add (local.get 0) (local.get 1))))""")
    snan = 0x7FA00001
    assert call(inst, "roundtrip", snan) == snan
    assert call(inst, "neg", snan) == snan | 0x80000000
    assert call(inst, "abs", snan | 0x80000000) == snan
    assert call(inst, "copysign", snan, 0x80000000) == snan | 0x80000000
    snan64 = 0x7FF0000000000001
    assert call(inst, "f64neg", snan64) == snan64 | 1 << 63
    assert call(inst, "f64copysign", snan64, 1 << 63) == snan64 | 1 << 63
    r = call(inst, "add", snan, 0x3F800000)
    assert r & 0x7FC00000 == 0x7FC00000  # an arithmetic (quiet) NaN


def test_f32_arithmetic_rounds_to_single():
    inst = instantiate("""(module
      (func (export "add") (param f32 f32) (result f32) (f32.add (local.get 0) (local.get 1)))
      (func (export "conv") (param i64) (result f32) (f32.convert_i64_s (local.get 0)))
      (func (export "convu") (param i64) (result f32) (f32.convert_i64_u (local.get 0)))
      (func (export "demote") (param f64) (result f32) (f32.demote_f64 (local.get 0))))""")
    f = lambda x: struct.unpack("<I", struct.pack("<f", x))[0]
    assert call(inst, "add", f(1.0), f(1e-8)) == f(1.0)
    assert call(inst, "add", f(3.4e38), f(3.4e38)) == 0x7F800000  # overflow to +inf
    # a value where rounding through a double would round twice
    assert call(inst, "convu", 0x8000008000000001) == 0x5F000001
    assert call(inst, "conv", (-0x7FFFFF4000000001) & M64) == 0xDEFFFFFF
    assert call(inst, "demote", struct.unpack("<Q", struct.pack("<d", 1e300))[0]) == 0x7F800000


def test_f64_special_cases():
    inst = instantiate("""(module
      (func (export "div") (param f64 f64) (result f64) (f64.div (local.get 0) (local.get 1)))
      (func (export "min") (param f64 f64) (result f64) (f64.min (local.get 0) (local.get 1)))
      (func (export "max") (param f64 f64) (result f64) (f64.max (local.get 0) (local.get 1)))
      (func (export "nearest") (param f64) (result f64) (f64.nearest (local.get 0)))
      (func (export "sqrt") (param f64) (result f64) (f64.sqrt (local.get 0)))
      (func (export "trunc") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
      (func (export "sat") (param f64) (result i32) (i32.trunc_sat_f64_u (local.get 0))))""")
    d = lambda x: struct.unpack("<Q", struct.pack("<d", x))[0]
    assert call(inst, "div", d(1.0), d(-0.0)) == d(-math.inf)
    assert call(inst, "div", d(0.0), d(0.0)) & 0x7FF8000000000000 == 0x7FF8000000000000
    assert call(inst, "min", d(0.0), d(-0.0)) == d(-0.0)
    assert call(inst, "max", d(-0.0), d(0.0)) == d(0.0)
    assert call(inst, "nearest", d(2.5)) == d(2.0)
    assert call(inst, "nearest", d(-0.5)) == d(-0.0)
    assert call(inst, "sqrt", d(-1.0)) & 0x7FF8000000000000 == 0x7FF8000000000000
    with pytest.raises(Trap, match="invalid conversion to integer"):
        call(inst, "trunc", d(math.nan))
    with pytest.raises(Trap, match="integer overflow"):
        call(inst, "trunc", d(2147483648.0))
    assert call(inst, "trunc", d(-2147483648.9)) == 0x80000000
    assert call(inst, "sat", d(-5.0)) == 0 and call(inst, "sat", d(1e20)) == M32


# --- control flow ---------------------------------------------------------------------------------------
def test_multi_value_blocks_calls_and_loops():
    inst = instantiate("""(module
      (func $swap (param i32 i32) (result i32 i32) (local.get 1) (local.get 0))
      (func (export "f") (param i32 i32) (result i32 i32 i32)
        (call $swap (local.get 0) (local.get 1))
        (block (param i32 i32) (result i32 i32 i32)
          (i32.const 9)))
      (func (export "fac") (param i64) (result i64)
        (i64.const 1) (local.get 0)
        (loop $l (param i64 i64) (result i64)
          (local.set 0) (local.get 0) (i64.mul)
          (local.get 0) (i64.const 1) (i64.sub) (local.tee 0)
          (i64.const 0) (i64.ne)
          (if (param i64) (result i64) (then (local.get 0) (br $l)))
          )))""")
    assert call(inst, "f", 1, 2) == (2, 1, 9)
    assert call(inst, "fac", 10) == 3628800


def _deep_switch(depth: int) -> str:
    """`depth` nested blocks dispatched by br_table: beyond CPython's static nesting limit."""
    body = f"(br_table {' '.join(str(i) for i in range(depth))} (local.get 0))"
    for i in range(depth):
        body = f"(block {body}) (return (i32.const {i * 10}))"
    return f'(module (func (export "f") (param i32) (result i32) {body} (i32.const -1)))'


def test_deeply_nested_blocks_use_flat_mode():
    inst = instantiate(_deep_switch(60))
    assert [call(inst, "f", i) for i in (0, 1, 30, 59, 60, 1000)] == [0, 10, 300, 590, 590, 590]


def test_br_table_and_nested_loops():
    inst = instantiate("""(module
      (func (export "count") (param i32) (result i32) (local $i i32) (local $acc i32)
        (block $done
          (loop $outer
            (br_if $done (i32.ge_u (local.get $i) (local.get 0)))
            (block $a
              (block $b
                (block $c
                  (br_table $a $b $c (i32.rem_u (local.get $i) (i32.const 3))))
                (local.set $acc (i32.add (local.get $acc) (i32.const 100)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $outer))
              (local.set $acc (i32.add (local.get $acc) (i32.const 10))))
            (local.set $acc (i32.add (local.get $acc) (i32.const 1)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $outer)))
        (local.get $acc)))""")
    assert call(inst, "count", 7) == 225


# --- traps, backtraces, resources -------------------------------------------------------------------
def test_trap_backtrace_names_frames_innermost_first():
    inst = instantiate("""(module $mod
      (func $inner (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
      (func $middle (export "middle") (param i32) (result i32) (call $inner (local.get 0)))
      (func (export "outer") (param i32) (result i32) (call $middle (local.get 0))))""")
    with pytest.raises(Trap) as info:
        call(inst, "outer", 0)
    trap = info.value
    assert trap.trap_code == TrapCode.INTEGER_DIVISION_BY_ZERO
    assert trap.message == "integer divide by zero"
    names = [f.func_name for f in trap.frames]
    assert names[:2] == ["inner", "middle"] and len(names) == 3
    assert [f.func_index for f in trap.frames] == [0, 1, 2]


@pytest.mark.parametrize("code, message", [
    ("(i32.load (i32.const 65534))", "out of bounds memory access"),
    ("(i32.load offset=4294967295 (i32.const 1))", "out of bounds memory access"),
    ("(call_indirect (type $t) (i32.const 5))", "undefined element"),
    ("(call_indirect (type $t) (i32.const 1))", "uninitialized element"),
    ("(call_indirect (type $u) (i32.const 1) (i32.const 0))", "indirect call type mismatch"),
    ("(unreachable)", "unreachable"),
    ("(i32.rem_s (i32.const 1) (i32.const 0))", "integer divide by zero"),
    ("(i32.div_s (i32.const 0x80000000) (i32.const -1))", "integer overflow"),
    ("(table.get $tab (i32.const 9)) (drop) (i32.const 0)", "out of bounds table access"),
    ("(memory.fill (i32.const 65536) (i32.const 0) (i32.const 1)) (i32.const 0)",
     "out of bounds memory access"),
])
def test_trap_messages(code, message):
    inst = instantiate(f"""(module (memory 1)
      (type $t (func (result i32))) (type $u (func (param i32) (result i32)))
      (table $tab 2 funcref) (elem (i32.const 0) $k)
      (func $k (result i32) (i32.const 3))
      (func (export "f") (result i32) {code}))""")
    with pytest.raises(Trap) as info:
        call(inst, "f")
    assert info.value.message == message


def test_memory_fill_at_the_boundary_with_zero_length_is_fine():
    inst = instantiate("""(module (memory 1)
      (func (export "f") (memory.fill (i32.const 65536) (i32.const 0) (i32.const 0))
        (memory.copy (i32.const 65536) (i32.const 0) (i32.const 0))))""")
    assert call(inst, "f") == ()


def test_stack_overflow_is_a_trap_and_the_interpreter_survives():
    inst = instantiate("""(module
      (func $f (export "f") (param i32) (result i32) (i32.add (i32.const 1) (call $f (local.get 0))))
      (func $g (export "g") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
          (else (i32.add (i32.const 1) (call $g (i32.sub (local.get 0) (i32.const 1))))))))""")
    for _ in range(2):
        with pytest.raises(Trap) as info:
            call(inst, "f", 0)
        assert info.value.trap_code == TrapCode.STACK_OVERFLOW
        assert info.value.message == "call stack exhausted"
    assert call(inst, "g", 5000) == 5000  # max_wasm_stack's default allows this depth


def test_simd_and_plain_functions_in_one_module():
    inst = instantiate("""(module
      (func (export "simd") (result i32) (i32x4.extract_lane 2 (v128.const i32x4 1 2 3 4)))
      (func (export "plain") (result i32) (i32.const 5)))""")
    assert call(inst, "plain") == 5
    assert call(inst, "simd") == 3


# --- host functions -----------------------------------------------------------------------------------
HOST_WAT = """(module
  (import "env" "h" (func $h (param i32 i64 f32 f64) (result i32)))
  (func (export "f") (result i32)
    (call $h (i32.const -1) (i64.const -2) (f32.const 1.5) (f64.const 2.25))))"""


def _host(fn, params, results, **kw):
    ft = FuncType(tuple(params), tuple(results))
    hf = HostFunction(ft, fn, **kw)
    return FuncInstance(ft, lambda *a: (_ for _ in ()).throw(AssertionError("generic path")), host=hf)


def test_python_convention_host_call():
    seen = []

    def h(a, b, c, d):
        seen.append((a, b, c, d))
        return -5

    V = ValueType
    inst = instantiate(HOST_WAT, [_host(h, [V.I32, V.I64, V.F32, V.F64], [V.I32])])
    assert call(inst, "f") == (-5) & M32
    assert seen == [(-1, -2, 1.5, 2.25)]


def test_bits_convention_host_call_and_caller():
    seen = []

    def h(caller, a, b, c, d):
        seen.append((caller.instance is not None, a, b, c, d))
        return 7

    V = ValueType
    inst = instantiate(HOST_WAT, [_host(h, [V.I32, V.I64, V.F32, V.F64], [V.I32],
                                        convention="bits", access_caller=True)])
    assert call(inst, "f") == 7
    assert seen == [(True, M32, M64 - 1, 0x3FC00000, 0x4002000000000000)]


def test_host_exceptions_propagate_unchanged_and_bad_results_raise_type_error():
    class Boom(Exception):
        pass

    def boom(*args):
        raise Boom("x")

    V = ValueType
    params = [V.I32, V.I64, V.F32, V.F64]
    inst = instantiate(HOST_WAT, [_host(boom, params, [V.I32])])
    with pytest.raises(Boom):
        call(inst, "f")
    inst = instantiate(HOST_WAT, [_host(lambda *a: "nope", params, [V.I32])])
    with pytest.raises(TypeError):
        call(inst, "f")


def test_dump_env_var(monkeypatch, capsys):
    monkeypatch.setenv("WASMCORE_INTERP_DUMP", "1")
    inst = instantiate('(module (func (export "f") (result i32) (i32.const 42)))')
    assert call(inst, "f") == 42
    assert "def f0():" in capsys.readouterr().err
