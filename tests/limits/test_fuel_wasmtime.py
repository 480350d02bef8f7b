"""Differential: the fuel a call consumes, and the least fuel it needs to complete, equal
wasmtime-py's for the same module and call (wasmtime is the oracle, tests only)."""

from __future__ import annotations

import json

import pytest

import wasmcore
from tests._shared import shared_dir
from tests.limits._util import make_engine, module

wasmtime = pytest.importorskip("wasmtime", reason="wasmtime-py is the fuel oracle")

SPEC_LIKE = r"""(module
  (memory 1)
  (table 4 funcref)
  (type $ii (func (param i32) (result i32)))
  (elem (i32.const 0) $sq $inc $sq)
  (data (i32.const 100) "abcdefghijklmnop")
  (data "passive segment")
  (global $g (mut i32) (i32.const 0))
  (func $sq (type $ii) (i32.mul (local.get 0) (local.get 0)))
  (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func (export "fac") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 1))
      (else (i64.mul (local.get 0) (call 100 (i64.sub (local.get 0) (i64.const 1)))))))
  (func (export "switch") (param i32) (result i32) (local i32) (local i32)
    (loop $l
      (block $d (block $c (block $b (block $a
        (br_table $a $b $c $d (i32.rem_u (local.get 1) (i32.const 5))))
        (local.set 2 (i32.add (local.get 2) (i32.const 1))) (br $d))
        (local.set 2 (i32.xor (local.get 2) (i32.const 7))))
        (local.set 2 (i32.shl (local.get 2) (i32.const 1))) (nop) (drop (i32.const 9)))
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
    (local.get 2))
  (func (export "memsum") (param i32) (result i32) (local i32) (local i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get 1) (local.get 0)))
      (i32.store8 (i32.add (local.get 1) (i32.const 1000)) (local.get 1))
      (local.set 2 (i32.add (local.get 2) (i32.load8_u offset=1000 (local.get 1))))
      (global.set $g (i32.add (global.get $g) (i32.const 1)))
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br $l)))
    (memory.copy (i32.const 2000) (i32.const 100) (i32.const 16))
    (memory.fill (i32.const 3000) (i32.const 1) (local.get 0))
    (memory.init 1 (i32.const 4000) (i32.const 2) (i32.const 5))
    (drop (memory.grow (i32.const 1)))
    (i32.add (local.get 2) (i32.load (i32.const 2000))))
  (func (export "indirect") (param i32) (result i32) (local i32) (local i32)
    (loop $l
      (local.set 2 (i32.add (local.get 2)
        (call_indirect (type $ii) (local.get 1) (i32.rem_u (local.get 1) (i32.const 3)))))
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
    (select (local.get 2) (i32.const -1) (local.get 2)))
  (func (export "leaves") (param i32) (result i32) (local i32)
    ;; direct calls of static-cost functions (the interp charges them at the call site)
    (loop $l
      (local.set 1 (i32.add (call $sq (local.get 0)) (call $inc (local.get 1))))
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get 1))
  (func (export "early") (param i32) (result i32)
    (block $out (result i32)
      (if (i32.gt_u (local.get 0) (i32.const 10)) (then (return (i32.const 1))))
      (drop (br_if $out (i32.const 2) (i32.eq (local.get 0) (i32.const 3))))
      (if (result i32) (local.get 0) (then (i32.const 4)) (else (unreachable)))))
  (func (export "tables") (param i32) (result i32)
    (drop (table.grow (ref.null func) (local.get 0)))
    (table.fill (i32.const 4) (ref.func $inc) (local.get 0))
    (table.copy (i32.const 0) (i32.const 1) (i32.const 2))
    (table.size)))
"""
# `call 100` above is patched to the index of "fac" itself (defined after the elements).
SPEC_LIKE = SPEC_LIKE.replace("(call 100", "(call 2")

CALLS = [("fac", 0), ("fac", 7), ("switch", 0), ("switch", 23), ("memsum", 0), ("memsum", 40),
         ("indirect", 1), ("indirect", 12), ("early", 0x20), ("early", 3), ("early", 5),
         ("tables", 0), ("tables", 3), ("leaves", 1), ("leaves", 9)]


def wasmtime_run(wasm, name, arg, fuel, initialize=False):
    config = wasmtime.Config()
    config.consume_fuel = True
    engine = wasmtime.Engine(config)
    store = wasmtime.Store(engine)
    store.set_fuel(10 ** 12)
    mod = wasmtime.Module(engine, wasm)
    exports = wasmtime.Instance(store, mod, []).exports(store)
    if initialize:
        exports["_initialize"](store)
    store.set_fuel(fuel)
    try:
        result = exports[name](store, arg)
    except wasmtime.Trap as trap:
        return "trap", str(trap.trap_code).rsplit(".", 1)[-1], fuel - store.get_fuel()
    return result, fuel - store.get_fuel()


def wasmcore_run(backend, wasm, name, arg, fuel, initialize=False, cache={}):
    key = (backend, wasm if isinstance(wasm, str) else bytes(wasm))
    if key not in cache:
        engine = make_engine(backend, consume_fuel=True)
        cache[key] = (engine, module(engine, wasm))
    engine, mod = cache[key]
    store = wasmcore.Store(engine)
    store.set_fuel(10 ** 12)
    exports = wasmcore.Instance(store, mod, []).exports(store)
    if initialize:
        exports["_initialize"](store)
    store.set_fuel(fuel)
    try:
        result = exports[name](store, arg)
    except wasmcore.Trap as trap:
        if trap.trap_code is None or trap.trap_code.name not in ("OUT_OF_FUEL", "UNREACHABLE"):
            raise
        return "trap", trap.trap_code.name, None
    return result, fuel - store.get_fuel()


def normalized(outcome):
    # After a trap Wasmtime may not have published the fuel of the trapping block: compare
    # traps by code only.
    return outcome[:2] if outcome[0] == "trap" else outcome


def least_fuel(run) -> int:
    """The least fuel with which `run(fuel)` completes (it is monotonic in fuel)."""
    lo, hi = 0, 1
    while normalized(run(hi))[0] == "trap":
        lo, hi = hi, hi * 2
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if normalized(run(mid))[0] == "trap":
            lo = mid
        else:
            hi = mid
    return hi


@pytest.mark.parametrize("name, arg", CALLS)
def test_spec_like_functions_consume_wasmtime_fuel(backend, name, arg):
    expected = normalized(wasmtime_run(SPEC_LIKE, name, arg, 10 ** 9))
    assert normalized(wasmcore_run(backend, SPEC_LIKE, name, arg, 10 ** 9)) == expected


@pytest.mark.parametrize("name, arg", [("fac", 7), ("switch", 23), ("memsum", 40),
                                       ("indirect", 12), ("tables", 3), ("early", 5),
                                       ("leaves", 9)])
def test_out_of_fuel_happens_where_wasmtime_runs_out(backend, name, arg):
    need = least_fuel(lambda fuel: wasmtime_run(SPEC_LIKE, name, arg, fuel))
    assert least_fuel(lambda fuel: wasmcore_run(backend, SPEC_LIKE, name, arg, fuel)) == need
    for fuel in (need - 1, need // 2, 1):
        assert normalized(wasmcore_run(backend, SPEC_LIKE, name, arg, fuel)) == \
            normalized(wasmtime_run(SPEC_LIKE, name, arg, fuel))


def bench_kernels():
    bench = shared_dir() / "bench"
    expected = json.loads((bench / "expected.json").read_text())["benchmarks"]
    kernels = []
    for name, spec in expected.items():
        if spec.get("kind") == "c":
            kernels.append(pytest.param(bench / spec["kernel"], spec["sizes"]["tiny"], id=name))
    return kernels


@pytest.mark.parametrize("path, arg", bench_kernels())
def test_bench_kernels_consume_wasmtime_fuel(backend, path, arg):
    wasm = path.read_bytes()
    initialize = any(e.name == "_initialize" for e in
                     wasmtime.Module(wasmtime.Engine(), wasm).exports)
    expected = wasmtime_run(wasm, "run", arg, 10 ** 12, initialize)
    assert expected[0] != "trap"
    assert wasmcore_run(backend, wasm, "run", arg, 10 ** 12, initialize) == expected


def _deep_loops(depth: int, count: int) -> str:
    """`depth` nested loops, each run `count` times: deeper than CPython's static nesting
    limit, so the interp compiles it as a state machine ("flat" mode)."""
    body = "(local.set 0 (i32.add (local.get 0) (i32.const 1)))"
    for i in range(depth):
        k = i + 1
        body = (f"(local.set {k} (i32.const {count})) (loop $l{k} {body} "
                f"(br_if $l{k} (local.tee {k} (i32.sub (local.get {k}) (i32.const 1)))))")
    locals_ = " ".join(["i32"] * depth)
    return (f'(module (func (export "run") (param i32) (result i32) (local {locals_}) '
            f'{body} (local.get 0)))')


@pytest.mark.parametrize("depth, count", [(20, 2), (24, 1), (6, 3)])
def test_flat_mode_functions_consume_wasmtime_fuel(backend, depth, count):
    wat = _deep_loops(depth, count)
    expected = wasmtime_run(wat, "run", 0, 10 ** 9)
    assert expected[0] == count ** depth
    assert wasmcore_run(backend, wat, "run", 0, 10 ** 9) == expected
    if count ** depth < 1000:
        need = least_fuel(lambda fuel: wasmtime_run(wat, "run", 0, fuel))
        assert least_fuel(lambda fuel: wasmcore_run(backend, wat, "run", 0, fuel)) == need
