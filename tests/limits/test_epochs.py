"""Epoch interruption: `config.epoch_interruption`, `engine.increment_epoch()` (from a thread or
a signal handler), `store.set_epoch_deadline`, the deadline callback, the INTERRUPT trap."""

from __future__ import annotations

import signal
import threading
import time

import pytest

import wasmcore
from wasmcore import Trap, TrapCode, WasmcoreError

from tests.limits._util import instance, make_engine, module

WAT = """(module
  (func (export "spin") (loop (br 0)))
  (func (export "seven") (result i32) (i32.const 7))
  (func $tree (param i32)
    ;; no loops: a call tree whose run time is exponential in its depth
    (if (local.get 0) (then
      (call $tree (i32.sub (local.get 0) (i32.const 1)))
      (call $tree (i32.sub (local.get 0) (i32.const 1))))))
  (func (export "tree") (param i32) (call $tree (local.get 0))))"""


def epoch_instance(backend):
    return instance(backend, WAT, epoch_interruption=True)


def assert_interrupted_from_a_timer(store, func, *args):
    """With the deadline one tick away and a timer thread to take it, `func` traps INTERRUPT."""
    store.set_epoch_deadline(1)
    threading.Timer(0.2, store.engine.increment_epoch).start()
    with pytest.raises(Trap) as info:
        func(store, *args)
    assert info.value.trap_code == TrapCode.INTERRUPT


def ticker(engine, stop, period=0.02):
    while not stop.is_set():
        time.sleep(period)
        engine.increment_epoch()


def test_no_deadline_traps_at_once_as_in_wasmtime(backend):
    store, exports = epoch_instance(backend)
    with pytest.raises(Trap) as info:
        exports["seven"](store)
    assert info.value.trap_code == TrapCode.INTERRUPT
    store.set_epoch_deadline(1)
    assert exports["seven"](store) == 7


def test_an_infinite_loop_is_interrupted_from_another_thread(backend):
    store, exports = epoch_instance(backend)
    store.set_epoch_deadline(1)
    timer = threading.Timer(0.2, store.engine.increment_epoch)
    started = time.perf_counter()
    timer.start()
    with pytest.raises(Trap) as info:
        exports["spin"](store)
    elapsed = time.perf_counter() - started
    assert info.value.trap_code == TrapCode.INTERRUPT
    assert info.value.message == "interrupt"
    assert 0.15 < elapsed < 10
    # the store is usable again with a new deadline
    store.set_epoch_deadline(1)
    assert exports["seven"](store) == 7


def test_function_entries_are_checked_too(backend):
    store, exports = epoch_instance(backend)
    # 2**40 calls: only an entry check can stop it
    assert_interrupted_from_a_timer(store, exports["tree"], 40)


CALLING_WAT = """(module
  (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func $mid (param i32) (result i32) (call $leaf (local.get 0)))
  (func $caller (param i32) (result i32) (call $mid (local.get 0)))
  (func (export "spin_calling_leaf") (local i32)
    (loop (local.set 0 (call $leaf (local.get 0))) (br 0)))
  (func (export "spin_calling") (local i32)
    (loop (local.set 0 (call $caller (local.get 0))) (br 0)))
  (func (export "leaf") (param i32) (result i32) (call $leaf (local.get 0)))
  (export "bare_leaf" (func $leaf)))"""


@pytest.mark.parametrize("export", ["spin_calling_leaf", "spin_calling"])
def test_loops_that_call_are_interrupted(backend, export):
    """A loop calling a function with no calls of its own (no entry check on llvm) keeps its
    header check; one calling a function that checks on entry is stopped there."""
    store, exports = instance(backend, CALLING_WAT, epoch_interruption=True)
    assert_interrupted_from_a_timer(store, exports[export])


def test_a_tree_of_calls_without_recursion_is_interrupted(backend):
    """No loop, no recursion: 40 functions each calling the next twice make 2**40 calls, so
    the entry checks of a chain of calls must hold without a cycle."""
    chain = "".join(f"(func $f{k} (call $f{k + 1}) (call $f{k + 1}))" for k in range(40))
    wat = f'(module {chain} (func $f40) (export "run" (func $f0)))'
    store, exports = instance(backend, wat, epoch_interruption=True)
    assert_interrupted_from_a_timer(store, exports["run"])


def test_a_call_from_the_host_checks_the_deadline_once(backend):
    """A function without an entry check is checked as the host enters it: a deadline reached
    traps, and the callback runs once per entry, as at Wasmtime's entry check."""
    store, exports = instance(backend, CALLING_WAT, epoch_interruption=True)
    with pytest.raises(Trap, match="interrupt"):
        exports["bare_leaf"](store, 1)
    calls = []
    store.epoch_deadline_callback(lambda _: calls.append(1) or 0)  # deadline stays reached
    assert exports["bare_leaf"](store, 1) == 2
    assert calls == [1]
    # Wasmtime checks $leaf's entry too (a second call); llvm leaves that check out
    assert exports["leaf"](store, 2) == 3
    assert 2 <= len(calls) <= 3


def test_the_deadline_is_relative_to_the_current_epoch(backend):
    store, exports = epoch_instance(backend)
    engine = store.engine
    for _ in range(5):
        engine.increment_epoch()
    assert engine.epoch == 5 and engine.epoch_cell.value == 5
    store.set_epoch_deadline(2)
    engine.increment_epoch()
    assert exports["seven"](store) == 7
    engine.increment_epoch()
    with pytest.raises(Trap, match="interrupt"):
        exports["seven"](store)


def test_increment_epoch_from_a_signal_handler(backend):
    if not hasattr(signal, "setitimer"):
        pytest.fail("signal.setitimer is needed (POSIX)")
    store, exports = epoch_instance(backend)
    store.set_epoch_deadline(3)
    previous = signal.signal(signal.SIGALRM, lambda *_: store.engine.increment_epoch())
    signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)
    try:
        with pytest.raises(Trap) as info:
            exports["spin"](store)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert info.value.trap_code == TrapCode.INTERRUPT
    assert store.engine.epoch >= 3


def test_the_deadline_callback_extends_the_deadline_then_traps(backend):
    store, exports = epoch_instance(backend)
    store.set_epoch_deadline(1)
    calls = []

    def callback(callback_store):
        assert callback_store is store
        calls.append(store.engine.epoch)
        return 2 if len(calls) < 3 else None

    store.epoch_deadline_callback(callback)
    stop = threading.Event()
    thread = threading.Thread(target=ticker, args=(store.engine, stop), daemon=True)
    thread.start()
    try:
        with pytest.raises(Trap) as info:
            exports["spin"](store)
    finally:
        stop.set()
        thread.join()
    assert info.value.trap_code == TrapCode.INTERRUPT
    assert len(calls) == 3
    assert calls[1] >= calls[0] + 2 and calls[2] >= calls[1] + 2


def test_a_callback_exception_propagates_and_epoch_deadline_trap_restores(backend):
    store, exports = epoch_instance(backend)

    class Budget(Exception):
        pass

    def callback(_):
        raise Budget("over budget")

    store.epoch_deadline_callback(callback)
    with pytest.raises(Budget):
        exports["seven"](store)  # deadline 0: the callback runs on entry
    store.epoch_deadline_callback(lambda _: 5)
    assert exports["seven"](store) == 7  # extended to epoch + 5
    store.set_epoch_deadline(0)
    store.epoch_deadline_trap()
    with pytest.raises(Trap, match="interrupt"):
        exports["seven"](store)
    store.epoch_deadline_callback(lambda _: "soon")
    with pytest.raises(WasmcoreError, match="non-negative int"):
        exports["seven"](store)


def test_epoch_settings_are_checked(backend):
    store, _ = instance(backend, "(module)")
    with pytest.raises(WasmcoreError, match="epoch interruption is not configured"):
        store.set_epoch_deadline(1)
    store, _ = epoch_instance(backend)
    with pytest.raises(ValueError):
        store.set_epoch_deadline(-1)
    with pytest.raises(TypeError):
        store.epoch_deadline_callback(3)


def test_deeply_nested_loops_are_interrupted(backend):
    # 24 nested loops, each branched back to: the interp compiles this as a state machine
    body = "(nop)"
    for k in range(1, 25):
        body = f"(loop $l{k} {body} (br_if $l{k} (i32.const 1)))"
    store, exports = instance(backend, f'(module (func (export "run") {body}))',
                              epoch_interruption=True)
    assert_interrupted_from_a_timer(store, exports["run"])


def test_ctrl_c_reaches_a_spinning_guest_with_epochs_on(backend):
    """SIGINT's KeyboardInterrupt (a Python-level handler) interrupts a loop on every backend,
    native code included, and leaves the store usable."""
    store, exports = epoch_instance(backend)
    store.set_epoch_deadline(1 << 40)
    main = threading.main_thread().ident
    timer = threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT))
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            exports["spin"](store)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert exports["seven"](store) == 7


RESUME_WAT = """(module
  (import "host" "tick" (func $tick))
  (memory (export "memory") 1)
  (func $mix (param $n i32) (result i32) (local $i i32) (local $acc i32) (local $f f64)
    (local.set $acc (i32.add (local.get $acc) (i32.const 5)))  ;; once, not at each resume
    (loop $l
      (if (i32.eq (local.get $i) (i32.const 100)) (then (call $tick)))
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $i)))
      (local.set $f (f64.add (local.get $f) (f64.const 1.5)))
      (i32.store (i32.shl (i32.and (local.get $i) (i32.const 255)) (i32.const 2)) (local.get $acc))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i32.add (i32.add (local.get $acc) (i32.trunc_f64_s (local.get $f)))
             (i32.load (i32.const 4))))
  (func (export "mix") (param i32) (result i32) (call $mix (local.get 0)))
  (func (export "stacked") (param $n i32) (result i32) (local $i i32)
    ;; a value below the loop on the operand stack: that check rejoins instead
    (i32.const 1000)
    (loop $l (result i32)
      (local.set $i (i32.add (local.get $i) (i32.const 3)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))
      (local.get $i))
    (i32.add))
  (func (export "fill") (param $n i32) (local $i i32)
    (loop $l
      (i32.store8 (i32.add (i32.const 2048) (local.get $i)) (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))))"""


def expected_mix(n):
    acc, f, mem = 5, 0.0, {}
    for i in range(n):
        acc = (acc * 31 + i) & 0xFFFFFFFF
        f += 1.5
        mem[i & 255] = acc
    r = (acc + int(f) + mem.get(1, 0)) & 0xFFFFFFFF
    return r - (1 << 32) if r >> 31 else r


def resume_instance(backend, **settings):
    engine = make_engine(backend, **settings)
    store = wasmcore.Store(engine)
    tick = wasmcore.Func(store, wasmcore.FuncType([], []), engine.increment_epoch)
    return store, wasmcore.Instance(store, module(engine, RESUME_WAT), [tick]).exports(store)


def run_resume_exports(store, exports):
    assert exports["mix"](store, 300) == expected_mix(300)
    assert exports["stacked"](store, 50) == 1000 + 51
    exports["fill"](store, 40)
    assert bytes(exports["memory"].read(store, 2048, 2088)) == bytes(range(40))


@pytest.mark.parametrize("fuel", [False, True], ids=["epochs", "epochs+fuel"])
def test_code_continues_correctly_after_the_callback_extends_the_deadline(backend, fuel):
    """The deadline is first reached at a loop header (the host ticks at iteration 100), then
    at every check (the callback leaves it reached): the code must go on with every local,
    the memory and the fuel as they were (llvm continues in a second copy of the function,
    see FunctionTranslator.epoch_check)."""
    settings = {"consume_fuel": True} if fuel else {}
    store, exports = resume_instance(backend, epoch_interruption=True, **settings)
    if fuel:
        store.set_fuel(10**9)
    calls = []

    def callback(_store):
        calls.append(1)
        store.engine.increment_epoch()
        return 0  # the deadline stays reached: the next check calls back again

    store.set_epoch_deadline(1)
    store.epoch_deadline_callback(callback)
    run_resume_exports(store, exports)
    assert len(calls) >= 199  # the loop headers after the tick, then every entry and header
    if fuel:  # the callbacks change nothing about the fuel the code consumes
        plain_store, plain = resume_instance(backend, consume_fuel=True)
        plain_store.set_fuel(10**9)
        run_resume_exports(plain_store, plain)
        assert store.get_fuel() == plain_store.get_fuel() < 10**9 - 3000
