"""`Store`: owns instances and their runtime objects, host data, limits and WASI config.

Resource control lives here (see docs/resource-control.md): the fuel and epoch-deadline state
every backend reads (`store.vm`, a `VMState`), and the store limits (`StoreLimits`) that
memories, tables and the allocator consult."""

from __future__ import annotations

from typing import Any, Callable

import weakref

from wasmcore.api.engine import Engine
from wasmcore.errors import Trap, TrapCode, WasmcoreError
from wasmcore.plugin import Stash

_PAGE = 65536


# The fuel and deadline generated code works with stay below 2**30: CPython's int fast paths
# (compare-and-jump, add, subtract) only take single-digit ints.
ACTIVE_FUEL = 1 << 29


class VMState:
    """The per-store state generated code reads on its fast path (docs/resource-control.md).

    - `fuel`: the active fuel, an int in (-2**29, 2**29] between checks (it may go negative
      inside wasm: out of fuel is checked at function entry, loop headers and after bulk
      operations, where `fuel <= 0` calls `out_of_fuel`). The rest of the store's fuel waits
      in `fuel_reserve`, as in Wasmtime; `out_of_fuel(fuel)` refills from it and returns the
      new active fuel, or traps. Backends may cache `fuel` in a local: they write it back
      before every call and on return, and reload it after calls.
    - `epoch_deadline`: the epoch at which code is interrupted, compared with `epoch.value`
      (the engine's counter) at function entry and loop headers; `epoch_deadline_reached()`
      returns the deadline to continue with, or traps. It is the true deadline clamped to
      2**29 ticks ahead (`deadline` holds the true one).
    """

    __slots__ = ("fuel", "fuel_reserve", "epoch_deadline", "deadline", "epoch",
                 "epoch_callback", "store_ref", "__weakref__")

    def __init__(self, store: "Store"):
        import weakref

        self.fuel = self.fuel_reserve = 0  # wasmtime: a store starts with no fuel
        self.epoch_deadline = self.deadline = 0  # wasmtime: traps at once until one is set
        self.epoch = store.engine._epoch_counter
        self.epoch_callback: Callable[[Any], Any] | None = None
        self.store_ref = weakref.ref(store)

    # --- fuel ------------------------------------------------------------------------------------
    @property
    def remaining_fuel(self) -> int:
        return self.fuel + self.fuel_reserve

    def set_remaining_fuel(self, fuel: int) -> None:
        self.fuel = min(fuel, ACTIVE_FUEL)
        self.fuel_reserve = fuel - self.fuel

    def out_of_fuel(self, fuel: int) -> int:
        """A check found the (cached) active fuel `fuel <= 0`: refill from the reserve and
        return the new active fuel, or record it and trap if the store's fuel is spent."""
        total = fuel + self.fuel_reserve
        if total <= 0:
            self.fuel, self.fuel_reserve = fuel, 0
            raise Trap(TrapCode.OUT_OF_FUEL)
        self.set_remaining_fuel(total)
        return self.fuel

    # --- epochs ----------------------------------------------------------------------------------
    def set_deadline(self, deadline: int) -> None:
        self.deadline = deadline
        self.epoch_deadline = min(deadline, self.epoch.value + ACTIVE_FUEL)

    def epoch_deadline_reached(self) -> int:
        """Called when `epoch.value >= (a cached) epoch_deadline`: the deadline to continue
        with, or a trap. It may have moved since it was cached (a host call set a new one)."""
        current = self.epoch.value
        if current < self.deadline:
            self.set_deadline(self.deadline)
            return self.epoch_deadline
        callback = self.epoch_callback
        if callback is None:
            raise Trap(TrapCode.INTERRUPT)
        delta = callback(self.store_ref())
        if delta is None:
            raise Trap(TrapCode.INTERRUPT)
        if not isinstance(delta, int) or isinstance(delta, bool) or delta < 0:
            raise WasmcoreError(f"epoch deadline callback must return a non-negative int or "
                                f"None, got {delta!r}")
        self.set_deadline(self.epoch.value + delta)
        return self.epoch_deadline


class StoreLimits:
    """Store resource limits, after Wasmtime's `StoreLimits` (build one with
    `StoreLimitsBuilder`). None means unlimited. `memory_size` (bytes) and `table_elements`
    bound each memory / table; `instances`, `tables`, `memories` bound how many the store's
    instances create. With `trap_on_grow_failure`, a refused `memory.grow`/`table.grow` traps
    instead of returning -1."""

    __slots__ = ("memory_size", "table_elements", "instances", "tables", "memories",
                 "trap_on_grow_failure", "_instance_count", "_table_count", "_memory_count")

    def __init__(self, memory_size: int | None = None, table_elements: int | None = None,
                 instances: int | None = None, tables: int | None = None,
                 memories: int | None = None, trap_on_grow_failure: bool = False):
        for name, value in (("memory_size", memory_size), ("table_elements", table_elements),
                            ("instances", instances), ("tables", tables), ("memories", memories)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or value < 0):
                raise ValueError(f"store limit {name} must be a non-negative int or None, "
                                 f"got {value!r}")
        self.memory_size = memory_size
        self.table_elements = table_elements
        self.instances = instances
        self.tables = tables
        self.memories = memories
        self.trap_on_grow_failure = bool(trap_on_grow_failure)
        self._instance_count = self._table_count = self._memory_count = 0

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in
                           ("memory_size", "table_elements", "instances", "tables", "memories",
                            "trap_on_grow_failure"))
        return f"StoreLimits({fields})"

    # --- the limiter protocol (MemoryInstance, TableInstance and the allocator call these) ----
    def memory_growing(self, current: int, desired: int, maximum: int | None) -> bool:
        """May a memory grow from `current` to `desired` bytes? `maximum` is in pages."""
        if self.memory_size is not None and desired > self.memory_size:
            return self._refuse(f"memory growth to {desired} bytes exceeds the store limit of "
                                f"{self.memory_size} bytes")
        return True

    def table_growing(self, current: int, desired: int, maximum: int | None) -> bool:
        if self.table_elements is not None and desired > self.table_elements:
            return self._refuse(f"table growth to {desired} elements exceeds the store limit "
                                f"of {self.table_elements} elements")
        return True

    def grow_failed(self, what: str) -> None:
        """A growth beyond the type's maximum: a trap with trap_on_grow_failure."""
        self._refuse(f"{what} growth failed")

    def _refuse(self, message: str) -> bool:
        if self.trap_on_grow_failure:
            raise Trap(f"forcing a growth failure to be a trap: {message}")
        return False

    def check_instance(self, store: Any, module: Any) -> None:
        """Before allocating an instance of `module` (a DecodedModule): the counts, and the
        initial sizes of its memories and tables."""
        from wasmcore.errors import LinkError

        memories, tables = len(module.memories), len(module.tables)
        if self.instances is not None and self._instance_count + 1 > self.instances:
            raise LinkError(f"resource limit exceeded: instance count too high at "
                            f"{self._instance_count + 1} (limit {self.instances})")
        if self.tables is not None and self._table_count + tables > self.tables:
            raise LinkError(f"resource limit exceeded: table count too high at "
                            f"{self._table_count + tables} (limit {self.tables})")
        if self.memories is not None and self._memory_count + memories > self.memories:
            raise LinkError(f"resource limit exceeded: memory count too high at "
                            f"{self._memory_count + memories} (limit {self.memories})")
        for memory in module.memories:
            if self.memory_size is not None and memory.limits.min * _PAGE > self.memory_size:
                raise LinkError(f"memory minimum size of {memory.limits.min} pages exceeds "
                                f"memory limits (limit {self.memory_size} bytes)")
        for table in module.tables:
            if self.table_elements is not None and table.limits.min > self.table_elements:
                raise LinkError(f"table minimum size of {table.limits.min} elements exceeds "
                                f"table limits (limit {self.table_elements} elements)")
        self._instance_count += 1
        self._table_count += tables
        self._memory_count += memories


class StoreLimitsBuilder:
    """Wasmtime's builder: `StoreLimitsBuilder().memory_size(1 << 20).instances(2).build()`."""

    def __init__(self) -> None:
        self._fields: dict[str, Any] = {}

    def _set(self, name: str, value: Any) -> "StoreLimitsBuilder":
        self._fields[name] = value
        return self

    def memory_size(self, limit: int) -> "StoreLimitsBuilder":
        return self._set("memory_size", limit)

    def table_elements(self, limit: int) -> "StoreLimitsBuilder":
        return self._set("table_elements", limit)

    def instances(self, limit: int) -> "StoreLimitsBuilder":
        return self._set("instances", limit)

    def tables(self, limit: int) -> "StoreLimitsBuilder":
        return self._set("tables", limit)

    def memories(self, limit: int) -> "StoreLimitsBuilder":
        return self._set("memories", limit)

    def trap_on_grow_failure(self, trap: bool) -> "StoreLimitsBuilder":
        return self._set("trap_on_grow_failure", trap)

    def build(self) -> StoreLimits:
        return StoreLimits(**self._fields)


class Store:
    """All wasm objects live in a store: `Store(engine=None, data=None)`. `data` is free for the
    host; `stash` holds plugin state keyed by `wasmcore.plugin.StashKey`.

    `close()` (or leaving `with Store(engine) as store:`) ends the store: every instance's
    memories and tables go back to the allocator through `wasmcore_release` (a pooling
    allocator reuses the slot), and the store can no longer instantiate. A store that is
    simply dropped is released the same way when it is collected."""

    def __init__(self, engine: Engine | None = None, data: Any = None):
        if engine is not None and not isinstance(engine, Engine):
            raise TypeError("expected an Engine")
        self.engine = engine if engine is not None else Engine()
        self.data = data
        self.stash = Stash()
        self.instances: list = []
        self.wasi_config: Any = None
        # One limiter for the store's life: memories and tables keep a reference to it, so
        # limits set later still apply to them.
        self._limiter = StoreLimits()
        self.vm = VMState(self)
        self._allocations: list = []
        # What the finalizer hands back if the store is collected rather than closed: each
        # allocation's memories and slot, without its tables (a table's functions reach the
        # store, and the finalizer's arguments must not, or the store is never collected).
        self._receipts: list = []
        self._closed = False
        self._finalizer = weakref.finalize(self, _release_allocations, self.engine,
                                           self._receipts)

    def set_wasi(self, wasi: Any) -> None:
        """Give this store's WASI functions their configuration (a `WasiConfig`)."""
        from wasmcore.wasi import WASI_CONTEXT, WasiConfig

        if not isinstance(wasi, WasiConfig):
            raise TypeError("expected a WasiConfig")
        self.wasi_config = wasi
        self.stash.pop(WASI_CONTEXT, None)

    # --- life cycle ------------------------------------------------------------------------------
    def close(self) -> None:
        """Release every instance's memories and tables now (idempotent). Using the store's
        instances afterwards traps (their memories are empty) or raises."""
        if self._closed:
            return
        self._closed = True
        self._finalizer.detach()
        self._receipts.clear()
        _release_allocations(self.engine, self._allocations, self)
        self.instances.clear()
        self.stash.clear()

    @property
    def closed(self) -> bool:
        return self._closed

    def _track(self, allocation: Any) -> None:
        """Keep an instance's allocation to hand back on close or collection."""
        self._allocations.append(allocation)
        self._receipts.append(type(allocation)(allocation.memories, [], allocation.slot))

    def _check_open(self) -> None:
        if self._closed:
            raise WasmcoreError("the store is closed")

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def gc(self) -> None:
        """Reference counting frees unreachable externrefs already; kept for wasmtime-py."""

    # --- fuel ----------------------------------------------------------------------------------
    def set_fuel(self, fuel: int) -> None:
        """Set the fuel left (wasmtime-py): one unit per wasm operator, as Wasmtime charges."""
        if not self.engine.config.consume_fuel:
            raise WasmcoreError("fuel is not configured in this store")
        if not isinstance(fuel, int) or isinstance(fuel, bool) or fuel < 0:
            raise ValueError(f"fuel must be a non-negative int, got {fuel!r}")
        self.vm.set_remaining_fuel(fuel)

    def get_fuel(self) -> int:
        """The fuel left; never negative (a block may overdraw it before the next check)."""
        if not self.engine.config.consume_fuel:
            raise WasmcoreError("fuel is not configured in this store")
        return max(self.vm.remaining_fuel, 0)

    # --- epochs --------------------------------------------------------------------------------
    def set_epoch_deadline(self, ticks_beyond_current: int) -> None:
        """Interrupt wasm once the engine's epoch reaches the current epoch plus `ticks`."""
        if not self.engine.config.epoch_interruption:
            raise WasmcoreError("epoch interruption is not configured in this store")
        if not isinstance(ticks_beyond_current, int) or ticks_beyond_current < 0:
            raise ValueError(f"epoch deadline must be a non-negative int, got "
                             f"{ticks_beyond_current!r}")
        self.vm.set_deadline(self.engine.epoch + ticks_beyond_current)

    def epoch_deadline_trap(self) -> None:
        """Trap when the deadline is reached (the default)."""
        self.vm.epoch_callback = None

    def epoch_deadline_callback(self, callback: Callable[["Store"], int | None]) -> None:
        """Call `callback(store)` when the deadline is reached: it returns how many ticks to
        extend the deadline by (from the current epoch) and execution continues, or None to
        trap with `TrapCode.INTERRUPT`; an exception it raises propagates unchanged."""
        if not callable(callback):
            raise TypeError("expected a callable")
        self.vm.epoch_callback = callback

    # --- limits --------------------------------------------------------------------------------
    def set_limits(self, memory_size: int = -1, table_elements: int = -1, instances: int = -1,
                   tables: int = -1, memories: int = -1) -> None:
        """wasmtime-py's `set_limits`: a negative value leaves that limit unchanged."""
        values = {"memory_size": memory_size, "table_elements": table_elements,
                  "instances": instances, "tables": tables, "memories": memories}
        for name, value in values.items():
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"store limit {name} must be an int, got {value!r}")
        for name, value in values.items():
            if value >= 0:
                setattr(self._limiter, name, value)

    def limiter(self, limits: StoreLimits | None) -> None:
        """Apply `limits` (a `StoreLimits`, e.g. from `StoreLimitsBuilder`; None: no limits).
        The values are copied into the store's limiter, so they also bound the memories and
        tables that exist already."""
        if limits is not None and not isinstance(limits, StoreLimits):
            raise TypeError("expected a StoreLimits")
        source = limits if limits is not None else StoreLimits()
        for name in ("memory_size", "table_elements", "instances", "tables", "memories",
                     "trap_on_grow_failure"):
            setattr(self._limiter, name, getattr(source, name))

    @property
    def limits(self) -> StoreLimits:
        """The store's limiter (its counts of instances, tables and memories included)."""
        return self._limiter


def _release_allocations(engine: Engine, allocations: list, store: "Store | None" = None) -> None:
    """Hand each allocation back through `wasmcore_release` (store is None when the store
    was collected rather than closed)."""
    while allocations:
        engine.plugins.release(engine, store, allocations.pop())
