"""The llvm backend specifically: differential runs against interp (and wasmtime-py as the
oracle), hostile guests (out-of-bounds, runaway recursion, host exceptions through native
frames), and state shared with the core and with interp instances (memory, globals, tables)."""

from __future__ import annotations

import json
import random

import pytest

import wasmcore as w
from tests._shared import shared_dir

pytestmark = pytest.mark.skipif("llvm" not in w.Engine().plugins.backends(),
                                reason="the llvm backend is not installed")


def engine_for(backend: str, **settings) -> w.Engine:
    config = w.Config()
    config.backend = backend
    for name, value in settings.items():
        setattr(config, name, value)
    return w.Engine(config)


def instance(engine, wasm, store=None, imports=()):
    store = store or w.Store(engine)
    module = w.Module(engine, wasm)
    return store, w.Instance(store, module, list(imports)).exports(store)


BENCH = shared_dir() / "bench"
KERNELS = sorted(p.name for p in (BENCH / "wasm").glob("*.kernel.wasm")
                 if "simd" not in p.name) if BENCH.is_dir() else []


@pytest.mark.parametrize("name", KERNELS)
def test_bench_kernels_match_interp(name):
    """run(n) of every benchmark kernel gives interp's result, the expected checksum at the
    tiny size, and for a few random small sizes the same value or the same trap."""
    wasm = (BENCH / "wasm" / name).read_bytes()
    bench = name.split(".")[0]
    expected = json.loads((BENCH / "expected.json").read_text())["benchmarks"][bench]
    tiny = expected["sizes"]["tiny"]
    results = {}
    rng = random.Random(bench)
    sizes = [tiny] + [rng.randrange(0, max(2, tiny // 4)) for _ in range(3)]
    for backend in ("interp", "llvm"):
        outs = []
        engine = engine_for(backend)
        module = w.Module(engine, wasm)  # compiled once, a fresh instance per run
        for n in sizes:
            store = w.Store(engine)
            ex = w.Instance(store, module, []).exports(store)
            if "_initialize" in ex:
                ex["_initialize"](store)
            try:
                outs.append(ex["run"](store, n))
            except w.Trap as trap:
                outs.append(("trap", trap.trap_code))
        results[backend] = outs
    assert results["llvm"] == results["interp"]
    assert results["llvm"][0] & 0xFFFFFFFF == expected["checksum"]["tiny"]


NUMERIC_WAT = """(module
  (func (export "div_s") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "rem_s") (param i64 i64) (result i64) (i64.rem_s (local.get 0) (local.get 1)))
  (func (export "div_u") (param i64 i64) (result i64) (i64.div_u (local.get 0) (local.get 1)))
  (func (export "rotl") (param i32 i32) (result i32) (i32.rotl (local.get 0) (local.get 1)))
  (func (export "shr_s") (param i64 i64) (result i64) (i64.shr_s (local.get 0) (local.get 1)))
  (func (export "trunc") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
  (func (export "trunc_u") (param f32) (result i64) (i64.trunc_f32_u (local.get 0)))
  (func (export "sat") (param f64) (result i32) (i32.trunc_sat_f64_u (local.get 0)))
  (func (export "min") (param f32 f32) (result f32) (f32.min (local.get 0) (local.get 1)))
  (func (export "max") (param f64 f64) (result f64) (f64.max (local.get 0) (local.get 1)))
  (func (export "nearest") (param f64) (result f64) (f64.nearest (local.get 0)))
  (func (export "bits") (param i32) (result i32)
    (i32.reinterpret_f32 (f32.reinterpret_i32 (local.get 0))))
  (func (export "multi") (param i32 i64) (result i64 i32) (local.get 1) (local.get 0))
)"""

SPECIAL_I32 = [0, 1, -1, 2, -2, 7, 0x7FFFFFFF, -0x80000000, 31, 32, 33]
SPECIAL_I64 = [0, 1, -1, 3, -3, 63, 64, 0x7FFFFFFFFFFFFFFF, -0x8000000000000000]
SPECIAL_F = [0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 1e10, -1e10, 2147483647.5, -2147483648.5,
             4294967295.0, 4294967296.0, float("inf"), float("-inf"), float("nan")]


def _call(ex, store, name, *args):
    try:
        r = ex[name](store, *args)
    except w.Trap as trap:
        return ("trap", trap.trap_code)
    if isinstance(r, float) and r != r:
        return "nan"
    if isinstance(r, float):
        return (r, str(r))  # tells -0.0 from 0.0
    return r


def test_numerics_match_interp(wat_to_binary):
    wasm = wat_to_binary(NUMERIC_WAT)
    runs = {}
    for backend in ("interp", "llvm"):
        store, ex = instance(engine_for(backend), wasm)
        out = []
        for a in SPECIAL_I32:
            for b in SPECIAL_I32:
                out += [_call(ex, store, "div_s", a, b), _call(ex, store, "rotl", a, b)]
            out.append(_call(ex, store, "bits", a))
        for a in SPECIAL_I64:
            for b in SPECIAL_I64:
                out += [_call(ex, store, n, a, b) for n in ("rem_s", "div_u", "shr_s")]
        for x in SPECIAL_F:
            out += [_call(ex, store, n, x) for n in ("trunc", "trunc_u", "sat", "nearest")]
            for y in SPECIAL_F:
                out += [_call(ex, store, "min", x, y), _call(ex, store, "max", x, y)]
        out.append(ex["multi"](store, 5, -9))
        runs[backend] = out
    assert runs["llvm"] == runs["interp"]
    assert ("trap", w.TrapCode.INTEGER_OVERFLOW) in runs["llvm"]
    assert ("trap", w.TrapCode.INTEGER_DIVISION_BY_ZERO) in runs["llvm"]
    assert ("trap", w.TrapCode.BAD_CONVERSION_TO_INTEGER) in runs["llvm"]


def test_signalling_nan_payloads_survive_loads_stores_and_calls(wat_to_binary):
    wasm = wat_to_binary("""(module (memory 1)
      (func $id (param f32) (result f32) (local.get 0))
      (func (export "f") (param i32) (result i32)
        (f32.store (i32.const 8) (call $id (f32.reinterpret_i32 (local.get 0))))
        (i32.load (i32.const 8))))""")
    store, ex = instance(engine_for("llvm"), wasm)
    for bits in (0x7FA00001, 0xFF800001, 0x7FC00000, 0x00000001):
        assert ex["f"](store, bits - (1 << 32) if bits >> 31 else bits) & 0xFFFFFFFF == bits


def test_out_of_bounds_accesses_trap_at_the_current_size(wat_to_binary):
    wasm = wat_to_binary("""(module (memory (export "mem") 1 3)
      (func (export "load") (param i32) (result i32) (i32.load offset=4 (local.get 0)))
      (func (export "store") (param i32) (i32.store8 (local.get 0) (i32.const 7)))
      (func (export "fill") (param i32 i32) (memory.fill (local.get 0) (i32.const 1) (local.get 1)))
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))""")
    store, ex = instance(engine_for("llvm"), wasm)
    assert ex["load"](store, 65528) == 0
    for addr in (65529, 65536, -1, -5):
        with pytest.raises(w.Trap) as info:
            ex["load"](store, addr)
        assert info.value.trap_code == w.TrapCode.MEMORY_OUT_OF_BOUNDS
    with pytest.raises(w.Trap):
        ex["store"](store, 65536)
    with pytest.raises(w.Trap):
        ex["fill"](store, 65000, 537)
    # growth from Python is seen by native code (the memory's native cell)
    assert ex["mem"].grow(store, 1) == 1
    ex["store"](store, 65536)
    assert ex["mem"].read(store, 65536, 65537) == b"\x07"
    assert ex["grow"](store, 1) == 2
    assert ex["grow"](store, 1) == -1
    ex["store"](store, 3 * 65536 - 1)
    with pytest.raises(w.Trap):
        ex["store"](store, 3 * 65536)


RECURSE = """(module (func $f (export "f") (param i32) (result i32)
  (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
    (else (i32.add (i32.const 1) (call $f (i32.sub (local.get 0) (i32.const 1))))))))"""


def test_deep_recursion_traps_and_respects_max_wasm_stack(wat_to_binary):
    wasm = wat_to_binary(RECURSE)
    store, ex = instance(engine_for("llvm"), wasm)
    assert ex["f"](store, 5000) == 5000
    for _ in range(3):  # the depth counter is restored after a trap
        with pytest.raises(w.Trap) as info:
            ex["f"](store, 10**9)
        assert info.value.trap_code == w.TrapCode.STACK_OVERFLOW
    assert ex["f"](store, 5000) == 5000
    small_store, small = instance(engine_for("llvm", max_wasm_stack=64 * 100), wasm)
    assert small["f"](small_store, 50) == 50
    with pytest.raises(w.Trap) as info:
        small["f"](small_store, 200)
    assert info.value.trap_code == w.TrapCode.STACK_OVERFLOW


def test_huge_frames_cannot_overflow_the_native_stack(wat_to_binary):
    """Frames far bigger than the depth limit assumes hit the native stack guard instead."""
    locals_ = " ".join(["f64"] * 3000)
    body = "".join(f"(local.set {i} (f64.add (local.get {i}) (f64.convert_i32_s (local.get 0))))"
                   for i in range(1, 3000))
    use = "(f64.const 0)" + "".join(f"(f64.add (local.get {i}))" for i in range(1, 3000))
    wasm = wat_to_binary(f"""(module (func $f (export "f") (param i32) (result f64) (local {locals_})
      {body} (f64.add {use} (call $f (i32.add (local.get 0) (i32.const 1))))))""")
    store, ex = instance(engine_for("llvm", max_wasm_stack=1 << 30), wasm)
    with pytest.raises(w.Trap) as info:
        ex["f"](store, 0)
    assert info.value.trap_code == w.TrapCode.STACK_OVERFLOW


def test_host_exceptions_propagate_through_native_frames(wat_to_binary):
    class Boom(Exception):
        pass

    wasm = wat_to_binary("""(module (import "" "h" (func $h (param i32) (result i32)))
      (func $inner (param i32) (result i32) (i32.add (call $h (local.get 0)) (i32.const 1)))
      (func (export "outer") (param i32) (result i32) (call $inner (local.get 0))))""")
    engine = engine_for("llvm")
    store = w.Store(engine)
    seen = []

    def host(x):
        seen.append(x)
        if x == 13:
            raise Boom("unlucky")
        if x == 14:
            raise w.Trap("host trap")
        return x * 2

    func = w.Func(store, w.FuncType([w.ValType.i32()], [w.ValType.i32()]), host)
    _, ex = instance(engine, wasm, store, [func])
    assert ex["outer"](store, 20) == 41
    with pytest.raises(Boom, match="unlucky"):
        ex["outer"](store, 13)
    with pytest.raises(w.Trap, match="host trap"):
        ex["outer"](store, 14)
    assert ex["outer"](store, 1) == 3  # still usable
    assert seen == [20, 13, 14, 1]


def test_reentrant_host_calls_and_traps_inside_them(wat_to_binary):
    wasm = wat_to_binary("""(module (import "" "h" (func $h (param i32) (result i32)))
      (func (export "f") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 100))
          (else (i32.add (i32.const 1) (call $h (i32.sub (local.get 0) (i32.const 1)))))))
      (func (export "bad") (unreachable)))""")
    engine = engine_for("llvm")
    store = w.Store(engine)
    exports = {}

    def host(x):
        if x == 3:
            try:
                exports["bad"](store)
            except w.Trap as trap:
                assert trap.trap_code == w.TrapCode.UNREACHABLE
        return exports["f"](store, x)

    func = w.Func(store, w.FuncType([w.ValType.i32()], [w.ValType.i32()]), host)
    _, ex = instance(engine, wasm, store, [func])
    exports.update(f=ex["f"], bad=ex["bad"])
    assert ex["f"](store, 6) == 106


def test_trap_backtrace_names_wasm_functions(wat_to_binary):
    wasm = wat_to_binary("""(module (func $inner (unreachable))
      (func $outer (export "run") (call $inner)))""")
    store, ex = instance(engine_for("llvm"), wasm)
    with pytest.raises(w.Trap) as info:
        ex["run"](store)
    assert [f.func_name for f in info.value.frames] == ["inner", "outer"]


def test_state_shared_with_interp_instances(wat_to_binary):
    """An interp instance and an llvm instance (one store is one backend, so they meet
    through the runtime objects): memory writes, global values and table entries agree."""
    provider = wat_to_binary("""(module
      (memory (export "mem") 1) (global (export "g") (mut i64) (i64.const 5))
      (table (export "t") 2 funcref) (elem (i32.const 0) $seven)
      (func $seven (result i32) (i32.const 7))
      (func (export "bump") (global.set 0 (i64.add (global.get 0) (i64.const 1))))
      (func (export "peek") (result i32) (i32.load8_u (i32.const 100))))""")
    user = wat_to_binary("""(module
      (import "p" "mem" (memory 1)) (import "p" "g" (global $g (mut i64)))
      (import "p" "t" (table 2 funcref))
      (type $r (func (result i32)))
      (func (export "poke") (i32.store8 (i32.const 100) (i32.const 42)))
      (func (export "get") (result i64) (global.get $g))
      (func (export "set") (param i64) (global.set $g (local.get 0)))
      (func (export "call") (param i32) (result i32) (call_indirect (type $r) (local.get 0))))""")
    engine = engine_for("llvm")
    store = w.Store(engine)
    _, p = instance(engine, provider, store)
    _, u = instance(engine, user, store, [p["mem"], p["g"], p["t"]])
    u["poke"](store)
    assert p["peek"](store) == 42
    p["bump"](store)
    assert u["get"](store) == 6 and p["g"].value(store) == 6
    u["set"](store, -3)
    assert p["g"].value(store) == -3
    p["g"].set_value(store, 11)
    assert u["get"](store) == 11
    assert u["call"](store, 0) == 7
    with pytest.raises(w.Trap) as info:
        u["call"](store, 1)
    assert info.value.trap_code == w.TrapCode.INDIRECT_CALL_TO_NULL
    # a host function written into the table from Python is callable through call_indirect
    p["t"].set(store, 1, w.Func(store, w.FuncType([], [w.ValType.i32()]), lambda: 99))
    assert u["call"](store, 1) == 99
    p["t"].set(store, 1, w.Func(store, w.FuncType([w.ValType.i32()], []), lambda x: None))
    with pytest.raises(w.Trap) as info:
        u["call"](store, 1)
    assert info.value.trap_code == w.TrapCode.BAD_SIGNATURE
    assert p["t"].grow(store, 3, None) == 2
    with pytest.raises(w.Trap) as info:
        u["call"](store, 5)
    assert info.value.trap_code == w.TrapCode.TABLE_OUT_OF_BOUNDS


def test_host_function_in_a_table_before_any_module_with_its_signature(wat_to_binary):
    """A table entry for a host function calls the store's host trampoline of its signature.
    Written from Python before any llvm module with that signature was compiled, the entry
    had no code (call_indirect then jumped to address 0); it is filled in when an instance
    of such a module joins the store."""
    engine = engine_for("llvm")
    store = w.Store(engine)
    _, a = instance(engine, wat_to_binary('(module (table (export "t") 2 funcref))'), store)
    # A signature no other test uses: no module anywhere has its trampoline yet.
    ty = w.FuncType([w.ValType.f64(), w.ValType.i64(), w.ValType.f32(), w.ValType.f64()],
                    [w.ValType.i64()])
    a["t"].set(store, 1, w.Func(store, ty, lambda x, y, z, u: y + int(x) + int(z) + int(u)))
    _, b = instance(engine, wat_to_binary("""(module
      (type $t (func (param f64 i64 f32 f64) (result i64)))
      (import "a" "t" (table 2 funcref))
      (func (export "go") (result i64)
        (call_indirect (type $t) (f64.const 1) (i64.const 40) (f32.const 1) (f64.const 2)
                       (i32.const 1))))"""), store, [a["t"]])
    assert b["go"](store) == 44


def test_llvm_module_imports_interp_functions_and_globals(wat_to_binary):
    engine_i, engine_l = engine_for("interp"), engine_for("llvm")
    store_i = w.Store(engine_i)
    _, lib = instance(engine_i, wat_to_binary("""(module
      (global (export "g") (mut i32) (i32.const 1))
      (func (export "sq") (param i32) (result i32) (i32.mul (local.get 0) (local.get 0))))"""),
                      store_i)
    # Another engine's Func is a plain bits-convention FuncInstance to llvm code.
    store_l = w.Store(engine_l)
    _, ex = instance(engine_l, wat_to_binary("""(module
      (import "" "sq" (func $sq (param i32) (result i32)))
      (import "" "g" (global $g (mut i32)))
      (func (export "f") (param i32) (result i32)
        (global.set $g (i32.add (global.get $g) (i32.const 1)))
        (i32.add (call $sq (local.get 0)) (global.get $g))))"""), store_l, [lib["sq"], lib["g"]])
    assert ex["f"](store_l, 9) == 83
    assert lib["g"].value(store_i) == 2


def test_code_regions_are_reported(wat_to_binary):
    engine = engine_for("llvm")
    module = w.Module(engine, wat_to_binary('(module (func $hello (export "h")) (func $world))'))
    regions = {r.name: r for r in module._compiled.code_regions()}
    assert {"hello", "world"} <= set(regions)
    assert all(r.address > 0 and r.size > 0 for r in regions.values() if r.name == "hello")


def test_opt_level_none_runs_the_same(wat_to_binary):
    wasm = wat_to_binary(RECURSE)
    store, ex = instance(engine_for("llvm", cranelift_opt_level="none"), wasm)
    assert ex["f"](store, 100) == 100


def test_llvm_function_of_another_store_is_called_through_its_invoke(wat_to_binary):
    """Each store has its own trap slot and depth counter, so a cross-store import must not
    be called directly: its trap has to reach the importer."""
    engine = engine_for("llvm")
    store_a, a = instance(engine, wat_to_binary("""(module
      (func (export "f") (param i32) (result i32)
        (if (result i32) (local.get 0) (then (i32.const 5)) (else (unreachable)))))"""))
    store_b = w.Store(engine)
    _, b = instance(engine, wat_to_binary("""(module (import "" "f" (func $f (param i32) (result i32)))
      (func (export "g") (param i32) (result i32) (i32.add (call $f (local.get 0)) (i32.const 1))))"""),
                    store_b, [a["f"]])
    assert b["g"](store_b, 1) == 6
    with pytest.raises(w.Trap) as info:
        b["g"](store_b, 0)
    assert info.value.trap_code == w.TrapCode.UNREACHABLE
    assert b["g"](store_b, 1) == 6


def test_epoch_checks_left_out_are_only_the_redundant_ones(wat_to_binary):
    """Entry checks where a chain of calls goes on (or leaves the module); a loop header check
    unless each iteration first calls a function that checks on entry
    (docs/resource-control.md)."""
    from wasmcore.binary import decode_module
    from wasmcore.syntax import opcodes as op
    from wasmcore_jit_llvm._liveness import call_checked_loops, epoch_checked_entries

    module = decode_module(wat_to_binary("""(module
      (import "env" "host" (func $host))
      (table 1 funcref)
      (func $leaf (loop (br_if 0 (i32.const 0))))
      (func $mid (call $leaf) (call $leaf))
      (func $caller (call $mid))
      (func $self (call $self))
      (func $indirect (call_indirect (i32.const 0)))
      (func $every_turn (loop (call $caller) (br 0)))
      (func $exit_first (loop (br_if 1 (i32.const 1)) (call $caller) (br 0)))
      (func $back_first (loop (br_if 0 (i32.const 1)) (call $caller)))
      (func $mid_only (loop (call $mid) (br 0)))
      (func $host_only (loop (call $host) (br 0)))
      (func $nested_first (loop (block (call $caller)) (br 0))))"""))
    checked = set(epoch_checked_entries(module))
    # all but $leaf (1) and $mid (2, which only calls a function that makes no calls)
    assert checked == set(range(3, 12))

    def loops_skipped(j):
        body = module.functions[j - 1].body
        skipped = call_checked_loops(body, checked)
        return [id(ins) in skipped for ins in body if ins[0] == op.LOOP]

    # every_turn, exit_first: checked at $caller's entry; the others keep the header check
    assert [loops_skipped(j) for j in range(6, 12)] == [[True], [True], [False], [False],
                                                        [False], [False]]
