"""Fuel: `config.consume_fuel`, `store.set_fuel`/`get_fuel`, the OUT_OF_FUEL trap, refuelling."""

from __future__ import annotations

import time

import pytest

import wasmcore
from wasmcore import Trap, TrapCode, WasmcoreError

from tests.limits._util import instance, make_engine

LOOPS = """(module
  (memory 1)
  (func (export "spin") (loop (br 0)))
  (func (export "count") (param i32) (result i32)
    (loop $l (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br_if $l (local.get 0)))
    (local.get 0))
  (func $leaf (result i32) (i32.const 1))
  (func (export "calls") (param i32) (result i32) (local i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (call $leaf)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br $l)))
    (local.get 1))
  (func $down (param i32) (result i32)
    (if (result i32) (local.get 0)
      (then (call $down (i32.sub (local.get 0) (i32.const 1)))) (else (i32.const 0))))
  (func (export "recurse") (param i32) (result i32) (call $down (local.get 0)))
  (func (export "fill") (param i32) (memory.fill (i32.const 0) (i32.const 7) (local.get 0))))"""


def fuel_instance(backend, wat=LOOPS, fuel=None, imports=()):
    store, exports = instance(backend, wat, imports, consume_fuel=True)
    if fuel is not None:
        store.set_fuel(fuel)
    return store, exports


def test_an_infinite_loop_runs_out_of_fuel_in_bounded_time(backend):
    store, exports = fuel_instance(backend, fuel=200_000)
    started = time.perf_counter()
    with pytest.raises(Trap) as info:
        exports["spin"](store)
    assert info.value.trap_code == TrapCode.OUT_OF_FUEL
    assert info.value.message == "all fuel consumed by WebAssembly"
    assert time.perf_counter() - started < 10
    assert store.get_fuel() == 0


def test_a_refuelled_store_continues(backend):
    store, exports = fuel_instance(backend, fuel=30)
    with pytest.raises(Trap) as info:
        exports["count"](store, 1000)
    assert info.value.trap_code == TrapCode.OUT_OF_FUEL
    store.set_fuel(100_000)
    assert exports["count"](store, 1000) == 0
    # 1 on entry, 5 per iteration (local.get, i32.const, i32.sub, local.set... br_if), 1 after
    assert 100_000 - store.get_fuel() == 1 + 1000 * 6 + 1
    store.set_fuel(0)
    with pytest.raises(Trap, match="all fuel consumed"):
        exports["count"](store, 1)


def test_fuel_is_charged_per_operator(backend):
    store, exports = fuel_instance(backend, fuel=10_000)
    exports["count"](store, 3)
    assert 10_000 - store.get_fuel() == 1 + 3 * 6 + 1
    before = store.get_fuel()
    assert exports["calls"](store, 4) == 4
    # per iteration: local.get, eqz, br_if, local.get, call (+1 entry, +1 const in $leaf),
    # add, local.set, local.get, const, sub, local.set, br = 14; exit: get, eqz, br_if; get
    assert before - store.get_fuel() == 1 + 4 * 14 + 3 + 1
    before = store.get_fuel()
    exports["fill"](store, 100)  # bulk memory: 1 per byte on top
    assert before - store.get_fuel() == 1 + 4 + 100


def test_fuel_runs_out_in_recursion_without_loops(backend):
    store, exports = fuel_instance(backend, fuel=50)
    with pytest.raises(Trap) as info:
        exports["recurse"](store, 1000)
    assert info.value.trap_code == TrapCode.OUT_OF_FUEL


def test_out_of_fuel_is_checked_where_wasmtime_checks(backend):
    # Function entry charges 1 and needs fuel left; a loop header needs fuel left.
    store, exports = fuel_instance(backend)
    for fuel in (0, 1):
        store.set_fuel(fuel)
        with pytest.raises(Trap, match="all fuel consumed"):
            exports["spin"](store) if fuel else exports["count"](store, 1)
    store.set_fuel(2)
    with pytest.raises(Trap, match="all fuel consumed"):
        exports["spin"](store)  # entry (1) + br (1) leaves 0 at the second loop header
    # count(3): the last loop header is reached after 1 + 2 * 6 units
    store.set_fuel(1 + 2 * 6)
    with pytest.raises(Trap, match="all fuel consumed"):
        exports["count"](store, 3)
    store.set_fuel(1 + 2 * 6 + 1)
    assert exports["count"](store, 3) == 0
    assert store.get_fuel() == 0  # overdrawn after the last check: reported as 0


def test_host_functions_see_the_current_fuel(backend):
    seen = []
    engine = make_engine(backend, consume_fuel=True)
    store = wasmcore.Store(engine)

    def host():
        seen.append(store.get_fuel())
        store.set_fuel(store.get_fuel() + 1000)  # a host function may refuel

    func = wasmcore.Func(store, wasmcore.FuncType([], []), host)
    from tests.limits._util import module
    wat = """(module (import "" "h" (func $h))
      (func (export "f") (call $h) (call $h)))"""
    exports = wasmcore.Instance(store, module(engine, wat), [func]).exports(store)
    store.set_fuel(10)
    exports["f"](store)
    assert seen == [10 - 2, 10 - 2 + 1000 - 1]
    assert store.get_fuel() == 10 + 2000 - 3


def test_fuel_settings_are_checked(backend):
    store, _ = instance(backend, "(module)")
    with pytest.raises(WasmcoreError, match="fuel is not configured"):
        store.set_fuel(10)
    with pytest.raises(WasmcoreError, match="fuel is not configured"):
        store.get_fuel()
    store, _ = fuel_instance(backend, "(module)")
    assert store.get_fuel() == 0  # a store starts without fuel, as in Wasmtime
    with pytest.raises(ValueError):
        store.set_fuel(-1)


def test_fuel_beyond_the_active_window_is_refilled_exactly(backend, monkeypatch):
    # Generated code works on at most ACTIVE_FUEL at a time; the rest is refilled at checks.
    import wasmcore.api.store as store_module

    monkeypatch.setattr(store_module, "ACTIVE_FUEL", 16)
    store, exports = fuel_instance(backend)
    store.set_fuel(1000)
    assert store.vm.fuel == 16 and store.get_fuel() == 1000
    assert exports["count"](store, 100) == 0
    assert 1000 - store.get_fuel() == 1 + 100 * 6 + 1
    assert exports["calls"](store, 10) == 10
    assert 1000 - 602 - store.get_fuel() == 1 + 10 * 14 + 3 + 1
    store.set_fuel(1 + 2 * 6)  # as in test_out_of_fuel_is_checked_where_wasmtime_checks
    with pytest.raises(Trap, match="all fuel consumed"):
        exports["count"](store, 3)
    store.set_fuel(1 + 2 * 6 + 1)
    assert exports["count"](store, 3) == 0


def test_deeply_nested_loops_run_out_of_fuel(backend):
    body = "(nop)"
    for k in range(1, 25):
        body = f"(loop $l{k} {body} (br_if $l{k} (i32.const 1)))"
    store, exports = fuel_instance(backend, f'(module (func (export "run") {body}))', 100_000)
    with pytest.raises(Trap) as info:
        exports["run"](store)
    assert info.value.trap_code == TrapCode.OUT_OF_FUEL
