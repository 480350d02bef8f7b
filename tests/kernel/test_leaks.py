"""Nothing of a dropped module, store or engine stays behind, on every backend: the objects
are freed (weak references die after `gc.collect()`) and the process's resident memory stops
growing after a warm-up.

Measured on x86-64 Linux (llvmlite 0.50) on llvm, RSS growth per cycle after a warm-up of 100:
- compile and drop a small module: ~84 KiB before (llvmlite never freed the O2 module pass
  manager; a process-wide table kept the first module of each signature), ~1.5 KiB now;
- a store with an instance of one module, called once, then dropped: ~0 KiB before and now;
- Linker.instantiate of a small WASI module with its store dropped: ~21-24 KiB, the store
  never freed while the Linker lived (its per-store cache); ~0 KiB now (the Linker keeps
  per-store host functions in the store's stash).
The bound below leaves a wide margin over what a fixed leak costs and catches a regression
of the size of the ones fixed."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import sys
import weakref

import pytest

import wasmcore as w

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc/self/statm")

WARM_UP = 100
CYCLES = 1000
MAX_GROWTH_PER_CYCLE = 16 * 1024  # bytes

_libc_name = ctypes.util.find_library("c")
_malloc_trim = getattr(ctypes.CDLL(_libc_name), "malloc_trim", None) if _libc_name else None


def rss() -> int:
    """Resident bytes after a full collection (and glibc giving free heap pages back, so
    what freed objects leave behind as free lists does not count as growth)."""
    gc.collect()
    if _malloc_trim is not None:
        _malloc_trim(0)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def engine_for(backend: str) -> w.Engine:
    config = w.Config()
    config.backend = backend
    return w.Engine(config)


def small_module(k: int) -> bytes:
    """A module with each part binding touches: memory, a mutable global, a funcref table
    with an element segment, call_indirect, an imported host function. `k` makes each one
    different (as separately written modules are)."""
    return w.wat2wasm(f'''(module
      (type $t (func (param i32) (result i32)))
      (import "host" "add" (func $add (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (global $g (mut i32) (i32.const {k}))
      (table 2 funcref) (elem (i32.const 0) $inc $load)
      (func $inc (type $t) (call $add (local.get 0) (global.get $g)))
      (func $load (type $t) (i32.load (local.get 0)))
      (func (export "run") (param i32 i32) (result i32)
        (global.set $g (i32.add (global.get $g) (i32.const 1)))
        (call_indirect (type $t) (local.get 0) (local.get 1))))''')


def add_function(store) -> w.Func:
    ty = w.FuncType([w.ValType.i32(), w.ValType.i32()], [w.ValType.i32()])
    return w.Func(store, ty, lambda a, b: a + b)


def leftovers(refs) -> int:
    gc.collect()
    return sum(ref() is not None for ref in refs)


def per_cycle(before: int, after: int) -> float:
    return (after - before) / CYCLES


def test_dropped_modules_are_freed(backend):
    engine = engine_for(backend)
    wasm = [small_module(k) for k in range(WARM_UP + CYCLES)]

    def cycle(k):
        module = w.Module(engine, wasm[k])
        return weakref.ref(module), weakref.ref(module._compiled)

    for k in range(WARM_UP):
        cycle(k)
    before = rss()
    refs = [ref for k in range(WARM_UP, WARM_UP + CYCLES) for ref in cycle(k)]
    after = rss()
    assert leftovers(refs) == 0
    growth = per_cycle(before, after)
    assert growth < MAX_GROWTH_PER_CYCLE, f"{growth / 1024:.1f} KiB per compiled module"


def test_dropped_stores_and_instances_are_freed(backend):
    engine = engine_for(backend)
    module = w.Module(engine, small_module(0))

    def cycle():
        store = w.Store(engine)
        instance = w.Instance(store, module, [add_function(store)])
        run = instance.exports(store)["run"]
        assert run(store, 5, 0) == 6  # through the table to the host function
        return weakref.ref(store), weakref.ref(instance), weakref.ref(instance._instance)

    for _ in range(WARM_UP):
        cycle()
    before = rss()
    refs = [ref for _ in range(CYCLES) for ref in cycle()]
    after = rss()
    assert leftovers(refs) == 0
    growth = per_cycle(before, after)
    assert growth < MAX_GROWTH_PER_CYCLE, f"{growth / 1024:.1f} KiB per store"


WASI_WAT = '''(module
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (table 1 funcref) (elem (i32.const 0) $random)
  (func (export "_start") (drop (call $random (i32.const 16) (i32.const 8)))))'''


def wasi_cycle(engine, module, linker=None):
    store = w.Store(engine)
    store.set_wasi(w.WasiConfig())
    if linker is None:
        linker = w.Linker(engine)
        linker.define_wasi()
    instance = linker.instantiate(store, module)
    instance.exports(store)["_start"](store)
    return weakref.ref(store), weakref.ref(instance._instance)


def test_dropped_wasi_stores_are_freed(backend):
    engine = engine_for(backend)
    module = w.Module(engine, WASI_WAT)
    for _ in range(WARM_UP):
        wasi_cycle(engine, module)
    before = rss()
    refs = [ref for _ in range(CYCLES) for ref in wasi_cycle(engine, module)]
    after = rss()
    assert leftovers(refs) == 0
    growth = per_cycle(before, after)
    assert growth < MAX_GROWTH_PER_CYCLE, f"{growth / 1024:.1f} KiB per WASI store"


def test_stores_instantiated_by_a_shared_linker_are_freed(backend):
    engine = engine_for(backend)
    module = w.Module(engine, WASI_WAT)
    linker = w.Linker(engine)
    linker.define_wasi()
    refs = [ref for _ in range(CYCLES) for ref in wasi_cycle(engine, module, linker)]
    assert leftovers(refs) == 0


def test_dropped_engines_are_freed_with_their_state():
    """The llvm engine's state (canonical type ids) goes with the engine."""
    engine_state = pytest.importorskip("wasmcore_jit_llvm._engine").engine_state

    refs = []
    for k in range(20):
        engine = engine_for("llvm")
        store = w.Store(engine)
        module = w.Module(engine, small_module(k))
        w.Instance(store, module, [add_function(store)]).exports(store)["run"](store, 1, 0)
        refs += [weakref.ref(engine), weakref.ref(engine_state(engine)), weakref.ref(module)]
        del engine, store, module
    assert leftovers(refs) == 0
