"""Store limits: wasmtime-py's `store.set_limits(...)`, and Wasmtime's `StoreLimits` /
`StoreLimitsBuilder` through `store.limiter(...)`."""

from __future__ import annotations

import pytest

import wasmcore
from wasmcore import LinkError, Trap, WasmcoreError
from wasmcore.api.store import StoreLimits, StoreLimitsBuilder

from tests.limits._util import make_engine, module

GROWER = """(module
  (memory (export "mem") 1)
  (table (export "tab") 2 funcref)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "tgrow") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))"""
PAGE = 65536


def setup(backend, wat=GROWER, **limits):
    engine = make_engine(backend)
    store = wasmcore.Store(engine)
    if limits:
        store.set_limits(**limits)
    return store, module(engine, wat)


def test_memory_size_refuses_growth(backend):
    store, mod = setup(backend, memory_size=3 * PAGE)
    exports = wasmcore.Instance(store, mod, []).exports(store)
    assert exports["grow"](store, 2) == 1
    assert exports["grow"](store, 1) == -1
    assert exports["mem"].size(store) == 3
    with pytest.raises(WasmcoreError, match="failed to grow"):
        exports["mem"].grow(store, 1)  # the host API is bound by the limits too
    assert exports["grow"](store, 0) == 3


def test_table_elements_refuses_growth(backend):
    store, mod = setup(backend, table_elements=5)
    exports = wasmcore.Instance(store, mod, []).exports(store)
    assert exports["tgrow"](store, 3) == 2
    assert exports["tgrow"](store, 1) == -1
    assert exports["tab"].size(store) == 5


def test_too_many_instances_tables_and_memories_are_refused(backend):
    store, mod = setup(backend, instances=2)
    wasmcore.Instance(store, mod, [])
    wasmcore.Instance(store, mod, [])
    with pytest.raises(LinkError, match="instance count too high"):
        wasmcore.Instance(store, mod, [])
    store, mod = setup(backend, memories=1)
    wasmcore.Instance(store, mod, [])
    with pytest.raises(LinkError, match="memory count too high"):
        wasmcore.Instance(store, mod, [])
    store, mod = setup(backend, tables=1)
    wasmcore.Instance(store, mod, [])
    with pytest.raises(LinkError, match="table count too high"):
        wasmcore.Instance(store, mod, [])
    # a refused instantiation does not count
    store, mod = setup(backend, memories=1, instances=2)
    wasmcore.Instance(store, mod, [])
    with pytest.raises(LinkError):
        wasmcore.Instance(store, mod, [])
    wasmcore.Instance(store, module(store.engine, "(module)"), [])


def test_initial_sizes_beyond_the_limits_fail_instantiation(backend):
    store, mod = setup(backend, "(module (memory 3))", memory_size=2 * PAGE)
    with pytest.raises(LinkError, match="memory minimum size of 3 pages exceeds memory limits"):
        wasmcore.Instance(store, mod, [])
    store, mod = setup(backend, "(module (table 10 funcref))", table_elements=4)
    with pytest.raises(LinkError, match="table minimum size of 10 elements"):
        wasmcore.Instance(store, mod, [])


def test_negative_values_leave_a_limit_unchanged(backend):
    store, mod = setup(backend, memory_size=2 * PAGE)
    store.set_limits(instances=5)  # memory_size=-1: still 2 pages
    exports = wasmcore.Instance(store, mod, []).exports(store)
    assert exports["grow"](store, 1) == 1
    assert exports["grow"](store, 1) == -1
    with pytest.raises(TypeError):
        store.set_limits(memory_size="big")


def test_limits_set_after_instantiation_apply(backend):
    store, mod = setup(backend)
    exports = wasmcore.Instance(store, mod, []).exports(store)
    assert exports["grow"](store, 1) == 1
    store.set_limits(memory_size=2 * PAGE)
    assert exports["grow"](store, 1) == -1


def test_store_limits_builder_and_trap_on_grow_failure(backend):
    store, mod = setup(backend, "(module (memory (export \"mem\") 1 4) (table 1 3 funcref)"
                       " (func (export \"grow\") (param i32) (result i32) (memory.grow (local.get 0)))"
                       " (func (export \"tgrow\") (param i32) (result i32)"
                       "   (table.grow (ref.null func) (local.get 0))))")
    limits = (StoreLimitsBuilder().memory_size(2 * PAGE).table_elements(10).instances(1)
              .trap_on_grow_failure(True).build())
    assert isinstance(limits, StoreLimits) and limits.instances == 1
    store.limiter(limits)
    exports = wasmcore.Instance(store, mod, []).exports(store)
    assert exports["grow"](store, 1) == 1
    with pytest.raises(Trap, match="memory growth to 196608 bytes exceeds the store limit"):
        exports["grow"](store, 1)
    with pytest.raises(Trap, match="table growth failed"):  # beyond the type's maximum of 3
        exports["tgrow"](store, 5)
    with pytest.raises(LinkError, match="instance count"):
        wasmcore.Instance(store, mod, [])
    store.limiter(None)  # no limits: growth and instantiation are free again
    assert exports["grow"](store, 1) == 2
    wasmcore.Instance(store, mod, [])


def test_store_limits_validate_their_values():
    with pytest.raises(ValueError, match="memory_size"):
        StoreLimits(memory_size=-5)
    with pytest.raises(TypeError):
        wasmcore.Store().limiter(object())
    assert wasmcore.StoreLimits is StoreLimits and wasmcore.StoreLimitsBuilder is StoreLimitsBuilder
