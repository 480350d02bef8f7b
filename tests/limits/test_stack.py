"""`config.max_wasm_stack` bounds guest recursion: a STACK_OVERFLOW trap, never a
RecursionError or a dead interpreter."""

from __future__ import annotations

import sys

import pytest

import wasmcore
from wasmcore import Trap, TrapCode

from tests.limits._util import instance, make_engine, module

RECURSE = """(module
  (func $down (export "down") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
  (func $forever (export "forever") (param i32) (result i32)
    (i32.add (i32.const 1) (call $forever (local.get 0)))))"""


def deepest(store, down, limit=1 << 17) -> int:
    """The deepest recursion `down` completes (binary search; every failure must be a trap)."""
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            assert down(store, mid) == mid
            lo = mid
        except Trap as trap:
            assert trap.trap_code == TrapCode.STACK_OVERFLOW
            hi = mid - 1
    return lo


def test_runaway_recursion_is_a_stack_overflow_trap_and_the_store_survives(backend):
    store, exports = instance(backend, RECURSE)
    for _ in range(3):
        with pytest.raises(Trap) as info:
            exports["forever"](store, 0)
        assert info.value.trap_code == TrapCode.STACK_OVERFLOW
        assert info.value.message.startswith("call stack exhausted")
    assert exports["down"](store, 100) == 100


def test_the_default_allows_deep_but_bounded_recursion(backend):
    store, exports = instance(backend, RECURSE)
    depth = deepest(store, exports["down"])
    assert 5000 <= depth < (1 << 17)


def test_a_smaller_max_wasm_stack_traps_sooner(backend):
    depths = {}
    for size in (16 * 1024, 64 * 1024, 512 * 1024):
        store, exports = instance(backend, RECURSE, max_wasm_stack=size)
        depths[size] = deepest(store, exports["down"])
    assert 0 < depths[16 * 1024] < depths[64 * 1024] < depths[512 * 1024]
    limit_before = sys.getrecursionlimit()
    store, exports = instance(backend, RECURSE, max_wasm_stack=16 * 1024)
    with pytest.raises(Trap):
        exports["forever"](store, 0)
    assert sys.getrecursionlimit() == limit_before  # the bound is lifted after the call


def test_a_host_function_recursing_through_wasm_is_bounded(backend):
    engine = make_engine(backend, max_wasm_stack=64 * 1024)
    store = wasmcore.Store(engine)
    wat = """(module (import "" "again" (func $again (param i32) (result i32)))
      (func (export "f") (param i32) (result i32)
        (if (result i32) (local.get 0)
          (then (call $again (i32.sub (local.get 0) (i32.const 1)))) (else (i32.const 0)))))"""
    holder = {}
    i32 = wasmcore.ValType.i32()
    again = wasmcore.Func(store, wasmcore.FuncType([i32], [i32]), lambda n: holder["f"](store, n))
    holder["f"] = wasmcore.Instance(store, module(engine, wat), [again]).exports(store)["f"]
    # (host frames count against the bound too: Wasmtime itself traps at a depth of 20 here)
    assert holder["f"](store, 3) == 0
    with pytest.raises(Trap) as info:
        holder["f"](store, 100_000)
    assert info.value.trap_code == TrapCode.STACK_OVERFLOW
    assert holder["f"](store, 3) == 0
